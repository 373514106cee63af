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

from adamkit.optax._alias import adagrad, adam, adamax, adamw, nadam, radam, rmsprop, sgd
from adamkit.optax._transform import (
    STATE_TYPES,
    AdagradState,
    AdamaxState,
    AdamState,
    NadamState,
    RadamState,
    RmspropState,
    SgdState,
    scale_by_rule,
)

__all__ = ["scale_by_rule", "adam", "adamw", "adamax", "nadam", "radam", "sgd", "rmsprop",
           "adagrad", "STATE_TYPES", "AdamState", "NadamState", "AdamaxState", "RadamState",
           "SgdState", "RmspropState", "AdagradState"]
