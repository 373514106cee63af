"""AdEMAMix as ``optax.contrib.ademamix``, whose ``alpha`` and ``b3`` may be schedules.

optax calls a schedule with the count *before* the step (its ``count_m2``, equal to ``count``).
The rule takes α and β3 as numbers (or traced arrays) and has the paper's warmups built in
(``alpha_warmup``, ``beta3_warmup``); a callable here is evaluated each step and handed to the rule
as that step's value, so any optax schedule works as it does in optax.

``mu_dtype`` is the dtype both averages (``m1``, ``m2``) are stored in: the step computes with them
promoted to the gradient's dtype and rounds the stored copies, every step (optax's ``ademamix``
makes its initial zeros in ``mu_dtype`` and then keeps what the arithmetic promotes them to).
"""

from __future__ import annotations

from typing import Any

import jax
import optax

from adamkit.optax._transform import scale_by_rule

RULE = "ademamix"


def scale_by_ademamix(b1: Any = 0.9, b2: Any = 0.999, b3: Any = 0.9999, alpha: Any = 5.0,
                      eps: Any = 1e-8, eps_root: Any = 0.0,
                      mu_dtype: Any = None) -> optax.GradientTransformationExtraArgs:
    """The direction ``(m̂1 + α·m2) / (sqrt(v̂ + eps_root) + eps)`` (rule ``ademamix``, lr = 1)."""
    fixed = {"betas": (b1, b2), "eps": eps, "eps_root": eps_root}
    constant = {"beta3": 0.9999 if callable(b3) else b3, "mix_alpha": 5.0 if callable(alpha) else alpha}
    base = scale_by_rule(RULE, **fixed, **constant)
    stored = None if mu_dtype is None else jax.dtypes.canonicalize_dtype(mu_dtype)
    scheduled = callable(b3) or callable(alpha)

    def store(state: Any) -> Any:
        if stored is None:
            return state
        return state._replace(**{name: jax.tree.map(lambda x: x.astype(stored), getattr(state, name))
                                 for name in ("m1", "m2")})

    def init_fn(params: Any) -> Any:
        return store(base.init(params))

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple:
        now = dict(constant)
        if callable(alpha):
            now["mix_alpha"] = alpha(state.count)
        if callable(b3):
            now["beta3"] = b3(state.count)
        step = scale_by_rule(RULE, **fixed, **now) if scheduled else base
        updates, state = step.update(updates, state, params, **extra_args)
        return updates, store(state)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def ademamix(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, b3: Any = 0.9999, alpha: Any = 5.0,
             eps: Any = 1e-8, eps_root: Any = 0.0, mu_dtype: Any = None, weight_decay: Any = 0.0,
             mask: Any = None) -> optax.GradientTransformationExtraArgs:
    """AdEMAMix, as ``optax.contrib.ademamix``:
    ``-learning_rate · ((m̂1 + α·m2)/(sqrt(v̂ + eps_root) + eps) + weight_decay·param)``."""
    return optax.chain(scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype),
                       optax.add_decayed_weights(weight_decay, mask),
                       optax.scale_by_learning_rate(learning_rate))
