"""optax front end: adamkit's rules as optax ``GradientTransformationExtraArgs``.

>>> import jax.numpy as jnp, optax, adamkit.optax as ako
>>> tx = ako.adam(1e-3)                          # optax.adam(1e-3), from rule ``adam``
>>> params = {"w": jnp.ones(3)}
>>> state = tx.init(params)
>>> updates, state = tx.update({"w": jnp.ones(3)}, state, params)
>>> params = optax.apply_updates(params, updates)

Pure and ``jit``-able; numeric hyperparameters work under ``optax.inject_hyperparams``. The
package is ``adamkit.optax``; inside it ``import optax`` is the real optax (absolute imports).
"""

from __future__ import annotations

from typing import Any

from adamkit.optax._declared import function_named
from adamkit.optax._transform import scale_by_rule, state_type
from adamkit.optax.schedule_free import schedule_free_eval_params  # optax.contrib's companion
from adamkit.rules import registry

# Every function is built from its declaration (adamkit.rules.registry); one declared later is here too.
globals().update({name: function_named(name) for name in registry.api_names("optax")})
# each optimizer's state type by its name (AdamState, ...), as optax exports its state types
globals().update({state_type(d.rule).__name__: state_type(d.rule)
                  for d in registry.declarations().values() if d.optax is not None})


def __getattr__(name: str) -> Any:
    try:
        return function_named(name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


__all__ = ["scale_by_rule", "state_type", "schedule_free_eval_params", *registry.api_names("optax")]
