r"""Adamax: Adam with the infinity norm (Kingma & Ba, arXiv:1412.6980, Section 7.1), as torch.optim.

::

    exp_avg = β1·exp_avg + (1-β1)·g
    exp_inf = max(β2·exp_inf, |g| + ε)
    param   = param - lr / (1 - β1^t) · exp_avg / exp_inf

torch adds ε inside the max (so exp_inf is never 0), not to the denominator: ``eps_mode="paper"``
(default; the paper's Adamax has no ε, "paper" is torch's placement in every rule).
``eps_mode="hat"`` is Keras's: ε added to the max, outside it, the bias correction in the step size
(as Adam's "hat")::

    exp_inf = max(β2·exp_inf, |g|)
    param   = param - lr / (1 - β1^t) · exp_avg / (exp_inf + ε)
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import addcdiv, as_scalar_or_array, bias_correction, ema, prepare
from adamkit.rules._rule import Rule

TAKES = ("lr", "betas", "eps", "weight_decay", "maximize", "weight_decay_mode", "eps_mode")
EPS_MODES = ("paper", "hat")


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"exp_avg": xp.zeros_like(param), "exp_inf": xp.zeros_like(param)}


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = hp["betas"]
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    eps = as_scalar_or_array(hp["eps"], grad, xp)
    hat = hp.get("eps_mode") == "hat"
    exp_inf = xp.maximum(
        state["exp_inf"] * as_scalar_or_array(beta2, grad, xp),
        xp.abs(grad) if hat else xp.abs(grad) + eps,
    )
    step_size = as_scalar_or_array(hp["lr"] / bias_correction(beta1, step), param, xp)
    norm = exp_inf + eps if hat else exp_inf
    return addcdiv(param, exp_avg, norm, -step_size, xp), {"exp_avg": exp_avg, "exp_inf": exp_inf}


ADAMAX = Rule("adamax", init, update, TAKES, {"lr": 2e-3}, ("exp_avg", "exp_inf"),
               choices={"eps_mode": EPS_MODES})

DECLARATIONS = (Declaration(
    ADAMAX, "Adam with the infinity norm", "adaptive", "#CC79A7", "D",
    torch=Api("Adamax", "lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *, "
              "maximize=False, differentiable=False, capturable=False", peer="torch.optim.Adamax"),
    keras=Api("Adamax", "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, "
              "eps_mode='hat'", peer="keras.optimizers.Adamax"),
    optax=Api("adamax", "learning_rate, b1=0.9, b2=0.999, eps=1e-8", peer="optax.adamax",
              state={"exp_avg": "mu", "exp_inf": "nu"}),
    numpy=Api("Adamax"),
    train_lr=3e-3, phase_axis="beta1=0:0.99:20"),)
