r"""Adagrad (Duchi et al., JMLR 2011), with learning-rate decay, as torch.optim.Adagrad.

::

    clr   = lr / (1 + (t-1)·lr_decay)
    sum   = sum + g²                    (starts at initial_accumulator_value)
    param = param - clr · g / (sqrt(sum) + ε)

``eps_mode="root"`` puts ε inside the root, ``g / sqrt(sum + ε)``: Keras's Adagrad and optax's.
``"paper"`` (default) is torch's ``sqrt(sum) + ε``.
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._numerics import addcdiv, addcmul, as_scalar_or_array, prepare
from adamkit.rules._rule import Rule

TAKES = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize",
         "weight_decay_mode", "eps_mode")
EPS_MODES = ("paper", "root")


def init(param: Any, hp: dict, xp: Any) -> dict:
    value = as_scalar_or_array(hp["initial_accumulator_value"], param, xp)
    return {"sum": xp.zeros_like(param) + value}


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    clr = as_scalar_or_array(hp["lr"] / (1 + (step - 1) * hp["lr_decay"]), param, xp)
    total = addcmul(state["sum"], grad, grad, 1, xp)
    eps = as_scalar_or_array(hp["eps"], grad, xp)
    std = xp.sqrt(total + eps) if hp.get("eps_mode") == "root" else xp.sqrt(total) + eps
    return addcdiv(param, grad, std, -clr, xp), {"sum": total}


ADAGRAD = Rule("adagrad", init, update, TAKES, {"lr": 1e-2, "eps": 1e-10}, ("sum",),
               choices={"eps_mode": EPS_MODES})
