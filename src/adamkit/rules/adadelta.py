r"""Adadelta (Zeiler, arXiv:1212.5701), as torch.optim.Adadelta, Keras's and optax's.

::

    square_avg = ρ·square_avg + (1-ρ)·g²
    delta      = sqrt(acc_delta + ε) / sqrt(square_avg + ε) · g
    acc_delta  = ρ·acc_delta + (1-ρ)·delta²
    param      = param - lr·delta

The step is the ratio of two root-mean-squares, of the past updates and of the gradients, so it
carries the parameter's units without a learning rate (the paper has none: ``lr = 1``, torch's
default; Keras defaults to 1e-3). ρ is the vocabulary's ``alpha``, the decay of a squared
average as in RMSprop; torch, Keras and optax call it ``rho`` (a declared alias), and torch
checks ``0 <= rho <= 1`` with its own message, which this rule's check gives.

The three libraries agree on the formula and on ε inside both roots; they differ in defaults
(torch and optax: lr 1, ρ 0.9, ε 1e-6; Keras: 1e-3, 0.95, 1e-7) and weight decay (torch and
optax: L2, ``g += wd·param``; Keras: decoupled, ``param -= lr·wd·param``).
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import as_scalar_or_array, ema_square, move_param, prepare
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import Range

TAKES = ("lr", "alpha", "eps", "weight_decay", "maximize", "weight_decay_mode")
STATE_KEYS = ("square_avg", "acc_delta")
RHO_RANGE = Range(0.0, 1.0)


def _check(owner: str, hp: dict) -> None:
    """torch's bound on ρ (an average's decay: at most 1), in torch's words, then adamkit's."""
    if not RHO_RANGE.contains(hp["alpha"]):
        raise HyperparameterError(f"{owner}: Invalid rho value: {hp['alpha']}; valid range of rho "
                                  f"(alpha): {RHO_RANGE}")


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"square_avg": xp.zeros_like(param), "acc_delta": xp.zeros_like(param)}


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    rho = as_scalar_or_array(hp["alpha"], grad, xp)
    eps = as_scalar_or_array(hp["eps"], grad, xp)
    # torch's order: the squared-gradient average first, then the update from the *old* acc_delta
    # (read before ema_square may write it), then acc_delta from that update.
    square_avg = ema_square(state["square_avg"], grad, rho, xp)
    delta = xp.sqrt(state["acc_delta"] + eps) / xp.sqrt(square_avg + eps) * grad
    acc_delta = ema_square(state["acc_delta"], delta, rho, xp)
    lr = as_scalar_or_array(hp["lr"], param, xp)
    return move_param(param, delta, -lr, xp), {"square_avg": square_avg, "acc_delta": acc_delta}


ADADELTA = Rule("adadelta", init, update, TAKES, {"lr": 1.0, "alpha": 0.9, "eps": 1e-6},
                STATE_KEYS, check=_check)

DECLARATIONS = (Declaration(
    ADADELTA, "Adadelta (Zeiler): steps in the parameter's own units", "adagrad", "#E67E22", "4",
    # torch's groups say "rho" (the vocabulary's alpha), so checkpoints load both ways
    torch=Api("Adadelta", "lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, "
              "capturable=False, maximize=False, differentiable=False", peer="torch.optim.Adadelta",
              base="adamkit.torch.group_names:TorchGroupNames", traits={"group_names": {"alpha": "rho"}}),
    keras=Api("Adadelta", "learning_rate=0.001, rho=0.95, epsilon=1e-7", peer="keras.optimizers.Adadelta"),
    optax=Api("adadelta", peer="optax.adadelta", base="adamkit.optax.adadelta:adadelta",
              state={"square_avg": "e_g", "acc_delta": "e_x"}),
    numpy=Api("Adadelta"),
    train_lr=1.0, phase_axis="alpha=0.5:0.99:20"),)
