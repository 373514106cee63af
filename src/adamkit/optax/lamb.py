"""LAMB as ``optax.lamb``: the chain optax composes, with the rule's pieces.

optax's ``lamb`` is ``scale_by_adam``, ``add_decayed_weights``, ``scale_by_trust_ratio``,
``scale_by_learning_rate``. The trust ratio needs the real params (``||p|| / ||u||``), which
:func:`~adamkit.optax.scale_by_rule` does not see (it runs a rule on a zero param, lr = 1). So the
chain is written out here: the direction ``r`` is the LAMB rule's own (on a zero param the ratio is
1, so the rule moves it by ``-r`` exactly), the decay is optax's ``add_decayed_weights`` (its
``mask`` semantics exactly), and the ratio is the rule's :func:`adamkit.rules.lamb.trust_ratio` on
the params the chain is given (1 where a norm is 0, as optax).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from adamkit.optax._transform import scale_by_rule
from adamkit.rules.lamb import trust_ratio


def scale_by_trust_ratio() -> optax.GradientTransformation:
    """Each update times ``||param|| / ||update||`` of its own tensor (1 where a norm is 0)."""

    def update_fn(updates: Any, state: Any, params: Any = None) -> tuple:
        if params is None:
            raise ValueError("adamkit.optax.lamb: the trust ratio needs the params; call "
                             "update(grads, state, params)")
        scaled = jax.tree.map(lambda u, p: u * trust_ratio(p, u, jnp).astype(u.dtype), updates, params)
        return scaled, state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def lamb(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-6, eps_root: Any = 0.0,
         weight_decay: Any = 0.0, mask: Any = None) -> optax.GradientTransformationExtraArgs:
    """LAMB, as ``optax.lamb``: ``-learning_rate · ratio · (r + weight_decay·param)`` per tensor,
    ``r = m̂ / (sqrt(v̂ + eps_root) + eps)`` (rule ``lamb``)."""
    return optax.chain(
        scale_by_rule("lamb", betas=(b1, b2), eps=eps, eps_root=eps_root),
        optax.add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(),
        optax.scale_by_learning_rate(learning_rate))
