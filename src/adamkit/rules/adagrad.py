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

from adamkit.rules._declaration import Api, Declaration
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

DECLARATIONS = (Declaration(
    ADAGRAD, "Adagrad (Duchi et al.)", "adagrad", "#8B8B00", "h",
    torch=Api("Adagrad", "lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, "
              "eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None",
              peer="torch.optim.Adagrad", traits={"accepts_sparse": True, "eager_state": True}),
    keras=Api("Adagrad", "learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, *, "
              "eps_mode='root'", peer="keras.optimizers.Adagrad"),
    optax=Api("adagrad", peer="optax.adagrad", base="adamkit.optax._alias:adagrad",
              state={"sum": "sum_of_squares"}),
    numpy=Api("Adagrad"),
    train_lr=3e-2, phase_axis="initial_accumulator_value=0:1:20"),)
