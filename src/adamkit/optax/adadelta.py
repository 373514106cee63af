"""``adadelta``, as ``optax.adadelta``: optax's chain around the rule's direction.

optax decays before the direction (``add_decayed_weights``: ``g + wd·param``, torch's L2 decay, so
the decayed gradient enters both averages), then Adadelta's ratio of root-mean-squares, then the
learning rate. The generic declared chain puts the decay after the direction (AdamW's way), hence
this function. ``learning_rate=None`` is optax's own: no scaling at all, so the update is
``+delta`` (optax's ``scale_by_learning_rate(None)`` is the identity).
"""

from __future__ import annotations

from typing import Any

import optax

from adamkit.optax._transform import scale_by_rule


def adadelta(learning_rate: Any = None, rho: Any = 0.9, eps: Any = 1e-6, weight_decay: Any = 0.0,
             weight_decay_mask: Any = None) -> optax.GradientTransformationExtraArgs:
    """Adadelta, as ``optax.adadelta`` (rule ``adadelta``): ``-learning_rate · sqrt(e_x + eps) /
    sqrt(e_g + eps) · g`` with ``g`` decayed first by ``weight_decay`` (masked by
    ``weight_decay_mask``); the state keeps optax's names ``e_g`` and ``e_x``."""
    return optax.chain(optax.add_decayed_weights(weight_decay, weight_decay_mask),
                       scale_by_rule("adadelta", rho=rho, eps=eps),
                       optax.scale_by_learning_rate(learning_rate))
