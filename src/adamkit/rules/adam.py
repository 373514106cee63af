r"""Adam (Kingma & Ba, arXiv:1412.6980), with AMSGrad, three ε placements and three weight decays.

With ``g`` the prepared gradient (sign and weight decay applied, see ``_numerics.prepare``)::

    exp_avg    = β1·exp_avg + (1-β1)·g              (m_t)
    exp_avg_sq = β2·exp_avg_sq + (1-β2)·g²          (v_t)
    v          = max(max_exp_avg_sq, exp_avg_sq) if amsgrad else exp_avg_sq
    param      = param - (lr / bias_correction1) · exp_avg / denominator

    bias_correction1 = 1 - β1^t,  bias_correction2 = 1 - β2^t   (float64)

``eps_mode`` says where ε goes (``denominator`` is written in the units of v̂ = v / bias_correction2):

- ``"paper"``: ``sqrt(v̂) + ε``: Algorithm 1 of the paper and torch.optim (default).
- ``"hat"``:   ``(sqrt(v) + ε) / sqrt(bias_correction2)``, i.e. TF/Keras's "epsilon hat":
  ``param -= lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + ε)`` (Keras default ε is 1e-7). The
  effective ε grows by 1/sqrt(1-β2^t) early in training (≈31.6x at t=1 for β2=0.999).
- ``"root"``:  ``sqrt(v̂ + ε)``: optax's ``eps_root`` (with optax's outer eps = 0).

AdamW is Adam with ``weight_decay_mode="decoupled"`` and ``weight_decay=1e-2`` (torch's defaults).
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._numerics import (
    addcdiv,
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    prepare,
)
from adamkit.rules._rule import NONNEG, UNIT_OPEN_HIGH, Rule

ADAM_DEFAULTS = {
    "lr": 1e-3,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "weight_decay": 0,
    "amsgrad": False,
    "maximize": False,
    "decoupled_weight_decay": False,
    "weight_decay_mode": "l2",
    "eps_mode": "paper",
    "lr_factor": 1.0,
}
ADAM_RANGES = {"lr": NONNEG, "betas": UNIT_OPEN_HIGH, "eps": NONNEG, "weight_decay": NONNEG}


def init(param: Any, hp: dict, xp: Any) -> dict:
    state = {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
    if hp["amsgrad"]:
        state["max_exp_avg_sq"] = xp.zeros_like(param)
    return state


def denominator(v: Any, bias_correction2: Any, hp: dict, xp: Any) -> Any:
    """The divisor of ``exp_avg / bias_correction1``, for each ``eps_mode`` (see module doc)."""
    eps = as_scalar_or_array(hp["eps"], v, xp)
    bc2 = as_scalar_or_array(bias_correction2, v, xp)
    mode = hp["eps_mode"]
    if mode == "paper":
        return xp.sqrt(v) / bc2**0.5 + eps
    if mode == "hat":
        return (xp.sqrt(v) + eps) / bc2**0.5
    return xp.sqrt(v / bc2 + eps)


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = hp["betas"]
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    new_state = {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    v = exp_avg_sq
    if hp["amsgrad"]:
        v = new_state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], exp_avg_sq)
    step_size = as_scalar_or_array(hp["lr"] / bias_correction(beta1, step), param, xp)
    denom = denominator(v, bias_correction(beta2, step), hp, xp)
    return addcdiv(param, exp_avg, denom, -step_size, xp), new_state


def internals(state: dict, step: int, hp: dict, xp: Any) -> dict:
    """What Adam does to each coordinate after ``step`` updates, from its state.

    ``m_hat`` and ``v_hat`` are the bias-corrected moments; ``effective_lr = lr / denominator`` is
    the per-coordinate step size Adam actually uses; ``update = effective_lr * m_hat`` is the move
    (weight decay excluded). ``eps_dominates`` marks coordinates where ε is more than half the
    denominator, i.e. where Adam has degraded into momentum SGD with step lr/ε.
    """
    beta1, beta2 = hp["betas"]
    v = state["max_exp_avg_sq"] if hp["amsgrad"] else state["exp_avg_sq"]
    bc1 = as_scalar_or_array(bias_correction(beta1, step), v, xp)
    bc2 = bias_correction(beta2, step)
    m_hat = state["exp_avg"] / bc1
    denom = denominator(v, bc2, hp, xp)
    effective_lr = as_scalar_or_array(hp["lr"], v, xp) / denom
    sqrt_v_hat = xp.sqrt(v / as_scalar_or_array(bc2, v, xp))
    return {
        "m_hat": m_hat,
        "v_hat": v / as_scalar_or_array(bc2, v, xp),
        "effective_lr": effective_lr,
        "update": effective_lr * m_hat,
        "eps_dominates": sqrt_v_hat < denom - sqrt_v_hat,
    }


ADAM = Rule("adam", init, update, ADAM_DEFAULTS, ADAM_RANGES)
ADAMW = Rule(
    "adamw",
    init,
    update,
    {**ADAM_DEFAULTS, "weight_decay": 1e-2, "weight_decay_mode": "decoupled"},
    ADAM_RANGES,
)
