r"""RAdam: Adam with the variance rectification of Liu et al. (arXiv:1908.03265), as torch.optim.

::

    ρ_∞ = 2/(1-β2) - 1,   ρ_t = ρ_∞ - 2·t·β2^t / (1-β2^t)
    if ρ_t > 5:  param -= lr · m̂ · sqrt(1-β2^t)/(sqrt(v)+ε) · r_t,
                 r_t = sqrt((ρ_t-4)(ρ_t-2)ρ_∞ / ((ρ_∞-4)(ρ_∞-2)ρ_t))
    else:        param -= lr · m̂          (momentum SGD while the variance estimate is unreliable)

With β2 = 0.999 the switch happens after the 5th step. Note torch's ε placement here is the
"hat" form (ε added to sqrt(v), not sqrt(v̂)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adamkit.rules._numerics import (
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    prepare,
    where,
)
from adamkit.rules._rule import NONNEG, UNIT_OPEN_HIGH, Rule

DEFAULTS = {
    "lr": 1e-3,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "weight_decay": 0,
    "decoupled_weight_decay": False,
    "maximize": False,
    "weight_decay_mode": "l2",
    "lr_factor": 1.0,
}


def rectification(beta2: Any, step: int) -> tuple[Any, Any]:
    """(ρ_t > 5, r_t): whether the adaptive step is used, and its rectification factor."""
    bc2 = bias_correction(beta2, step)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bc2
    use_adaptive = rho_t > 5.0
    safe_rho = np.maximum(rho_t, 5.0 + 1e-12) if not isinstance(rho_t, float) else max(rho_t, 5.0)
    rect = ((safe_rho - 4) * (safe_rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe_rho))
    return use_adaptive, rect**0.5


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = hp["betas"]
    lr = as_scalar_or_array(hp["lr"], param, xp)
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    bias_corrected_exp_avg = exp_avg / as_scalar_or_array(bias_correction(beta1, step), grad, xp)
    use_adaptive, rect = rectification(beta2, step)
    if isinstance(use_adaptive, bool) and not use_adaptive:
        move = bias_corrected_exp_avg * lr
    else:
        bc2_sqrt = as_scalar_or_array(bias_correction(beta2, step) ** 0.5, grad, xp)
        eps = as_scalar_or_array(hp["eps"], grad, xp)
        adaptive_lr = bc2_sqrt / (xp.sqrt(exp_avg_sq) + eps)
        adaptive = bias_corrected_exp_avg * lr * adaptive_lr * as_scalar_or_array(rect, grad, xp)
        move = where(use_adaptive, adaptive, bias_corrected_exp_avg * lr, xp)
    return param - move, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}


RADAM = Rule(
    "radam", init, update, DEFAULTS,
    {"lr": NONNEG, "betas": UNIT_OPEN_HIGH, "eps": NONNEG, "weight_decay": NONNEG},
)
