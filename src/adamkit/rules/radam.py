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

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    prepare,
    where,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize",
         "weight_decay_mode")


def rectification(beta2: Any, step: Any, xp: Any) -> tuple[Any, Any]:
    """(ρ_t > 5, r_t): whether the adaptive step is used, and its rectification factor.

    r_t is only defined where ρ_t > 5 (with ρ_∞ <= 4, e.g. β2 = 0.6, its formula divides by 0):
    elsewhere it is 1, unused.
    """
    bc2 = bias_correction(beta2, step)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bc2
    use_adaptive = rho_t > 5.0
    if isinstance(use_adaptive, bool):
        if not use_adaptive:
            return False, 1.0
    else:  # arrays: the formula sees harmless values where the adaptive step is not used
        rho_t = where(use_adaptive, rho_t, 6.0, xp)
        rho_inf = where(use_adaptive, rho_inf, 6.0, xp)
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return use_adaptive, rect**0.5


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = hp["betas"]
    lr = as_scalar_or_array(hp["lr"], param, xp)
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    bias_corrected_exp_avg = exp_avg / as_scalar_or_array(bias_correction(beta1, step), grad, xp)
    use_adaptive, rect = rectification(beta2, step, xp)
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


RADAM = Rule("radam", init, update, TAKES, state_keys=("exp_avg", "exp_avg_sq"))

DECLARATIONS = (Declaration(
    RADAM, "Adam with variance rectification (Liu et al.)", "radam", "#7A5C00", "P",
    torch=Api("RAdam", "lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, "
              "decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False, "
              "differentiable=False", peer="torch.optim.RAdam"),
    keras=Api("RAdam", "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7"),  # Keras has none
    optax=Api("radam", peer="optax.radam", base="adamkit.optax._alias:radam",
              state={"exp_avg": "mu", "exp_avg_sq": "nu"}),
    numpy=Api("RAdam"),
    train_lr=3e-3, phase_axis="beta1=0:0.99:20"),)
