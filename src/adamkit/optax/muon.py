"""Muon as ``optax.contrib.muon``: the rule on matrices, AdamW on every other param.

For the matrices: the Muon rule's direction with optax's reading as settings (an EMA momentum with
bias correction, ``||X|| + eps``, the iteration in the param's dtype, ``sqrt(max(1, fan_out/fan_in))``
for a jax weight (in, out), or ``consistent_rms·sqrt(max(fan_in, fan_out))``), then optax's
``add_decayed_weights`` and ``scale_by_learning_rate``, as optax chains them. Every other param goes
to :func:`adamkit.optax.adamw` with the ``adam_*`` arguments, ``eps`` and ``nesterov``, as optax's.
``muon_weight_dimension_numbers`` (reshaping other params into matrices) is refused: the rule
orthogonalizes 2-D params only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from adamkit.errors import HyperparameterError
from adamkit.optax._alias import adamw
from adamkit.rules.muon import MUON

# Newton-Schulz coefficients by name, as optax names them: Jordan's one triple, and the per-step
# ones of Ahn et al., "Dion: Distributed Orthonormalized Updates" (arXiv:2504.05295).
PRESETS: dict[str, Any] = {
    "standard": (3.4445, -4.7750, 2.0315),
    "dion": ((4.0848, -6.8946, 2.9270), (3.9505, -6.3029, 2.6377), (3.7418, -5.5913, 2.3037),
             (2.8769, -3.1427, 1.2046), (2.8366, -3.0525, 1.2012)),
}


class MuonState(NamedTuple):
    """optax's state of the Muon direction: ``count`` and ``mu``, the momentum of each matrix (the
    rule's ``momentum_buffer``)."""

    count: Any
    mu: Any


def scale_by_muon(mu_dtype: Any = None, **settings: Any) -> optax.GradientTransformation:
    """The rule's direction on matrices (lr = 1: the rule moves a zero param by minus it), with
    ``mu`` kept in ``mu_dtype`` (computed in the gradient's, as optax does)."""
    hp = MUON.validate({**settings, "lr": 1.0, "weight_decay": 0.0})

    def init_fn(params: Any) -> MuonState:
        mu = jax.tree.map(lambda p: jnp.zeros_like(p, dtype=mu_dtype or p.dtype), params)
        return MuonState(jnp.zeros([], jnp.int32), mu)

    def update_fn(updates: Any, state: MuonState, params: Any = None) -> tuple:
        del params  # the direction needs none
        count = optax.safe_increment(state.count)

        leaves, treedef = jax.tree.flatten(updates)
        directions, buffers = [], []
        for grad, mu in zip(leaves, jax.tree.leaves(state.mu), strict=True):
            buffer = {"momentum_buffer": mu.astype(grad.dtype)}
            moved, new = MUON.update(jnp.zeros_like(grad), grad, buffer, count, hp, jnp)
            directions.append(-moved)  # the rule moved a zero param by minus the direction
            buffers.append(new["momentum_buffer"].astype(mu.dtype))
        directions, mu = jax.tree.unflatten(treedef, directions), jax.tree.unflatten(treedef, buffers)
        return directions, MuonState(count, mu)

    return optax.GradientTransformation(init_fn, update_fn)


def muon(learning_rate: Any, ns_coeffs: Any = (3.4445, -4.7750, 2.0315), ns_steps: Any = 5,
         beta: Any = 0.95, eps: Any = 1e-8, weight_decay: Any = 0.0, weight_decay_mask: Any = None,
         mu_dtype: Any = None, *, nesterov: bool = True, adaptive: bool = False,
         preconditioning: str = "frobenius", adam_b1: Any = 0.9, adam_b2: Any = 0.999,
         adam_eps_root: Any = 0.0, adam_weight_decay: Any = 0.0, adam_learning_rate: Any = None,
         muon_weight_dimension_numbers: Any = None,
         consistent_rms: Any = None) -> optax.GradientTransformationExtraArgs:
    """Muon, as ``optax.contrib.muon`` (same arguments, same defaults): rule ``muon``."""
    if muon_weight_dimension_numbers is not None:
        raise HyperparameterError("muon: muon_weight_dimension_numbers is not supported; valid: None "
                                  "(2-D params take the Muon step, every other AdamW)")
    if isinstance(ns_coeffs, str):
        if ns_coeffs not in PRESETS:
            raise HyperparameterError(f"muon: invalid ns_coeffs {ns_coeffs!r}; valid: "
                                      f"{', '.join(PRESETS)}, or the coefficients")
        ns_coeffs = PRESETS[ns_coeffs]
    if isinstance(ns_coeffs[0], tuple | list) and len(ns_coeffs) > ns_steps:
        raise HyperparameterError(f"muon: {len(ns_coeffs)} per-step ns_coeffs for ns_steps={ns_steps}; "
                                  "valid: at most ns_steps rows (optax's rule)")
    scaling = ({"adjust_lr_fn": "original_transposed"} if consistent_rms is None else
               {"adjust_lr_fn": "match_rms_adamw", "rms_rate": consistent_rms})
    direction = scale_by_muon(
        mu_dtype, ns_coefficients=ns_coeffs, ns_steps=ns_steps, momentum=beta, eps=eps,
        nesterov=nesterov, adaptive=adaptive, preconditioning=preconditioning, momentum_mode="ema",
        bias_correction=True, eps_clamp=False, ns_dtype="param", **scaling)
    matrices = optax.chain(direction, optax.add_decayed_weights(weight_decay, weight_decay_mask),
                           optax.scale_by_learning_rate(learning_rate))
    others = adamw(learning_rate if adam_learning_rate is None else adam_learning_rate, adam_b1,
                   adam_b2, eps, adam_eps_root, mu_dtype, weight_decay=adam_weight_decay,
                   nesterov=nesterov)
    return optax.partition({"muon": matrices, "adam": others}, _labels)


def _labels(params: Any) -> Any:
    return jax.tree.map(lambda p: "muon" if p.ndim == 2 else "adam", params)
