r"""RMSprop (Hinton, Lecture 6e), with centering (Graves, arXiv:1308.0850) and momentum, as torch.

::

    square_avg = α·square_avg + (1-α)·g²
    grad_avg   = α·grad_avg + (1-α)·g                        (centered only)
    avg        = sqrt(square_avg - grad_avg²) + ε  if centered else  sqrt(square_avg) + ε
    buf        = momentum·buf + g/avg;  param -= lr·buf      (momentum > 0)
    param      = param - lr·g/avg                            (otherwise)

``eps_mode="root"`` puts ε inside the root, ``avg = sqrt(square_avg (- grad_avg²) + ε)``: Keras's
RMSprop and optax's ``eps_in_sqrt=True``. ``"paper"`` (default) is torch's ``sqrt(·) + ε``.
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    addcdiv,
    addcmul,
    as_scalar_or_array,
    ema,
    ema_square,
    is_static,
    move_param,
    prepare,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize",
         "weight_decay_mode", "eps_mode")
EPS_MODES = ("paper", "root")


def _uses_momentum(hp: dict) -> bool:
    """Whether the momentum buffer exists: decided on a known value; a traced one keeps it."""
    return not is_static(hp["momentum"], 0)


def init(param: Any, hp: dict, xp: Any) -> dict:
    state = {"square_avg": xp.zeros_like(param)}
    if _uses_momentum(hp):
        state["momentum_buffer"] = xp.zeros_like(param)
    if hp["centered"]:
        state["grad_avg"] = xp.zeros_like(param)
    return state


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    alpha = as_scalar_or_array(hp["alpha"], grad, xp)
    square_avg = ema_square(state["square_avg"], grad, alpha, xp)
    new_state = {"square_avg": square_avg}
    if hp["centered"]:
        grad_avg = new_state["grad_avg"] = ema(state["grad_avg"], grad, alpha, xp)
        avg = addcmul(square_avg, grad_avg, grad_avg, -1, xp)
    else:
        avg = square_avg
    eps = as_scalar_or_array(hp["eps"], grad, xp)
    avg = xp.sqrt(avg + eps) if hp.get("eps_mode") == "root" else xp.sqrt(avg) + eps
    lr = as_scalar_or_array(hp["lr"], param, xp)
    if _uses_momentum(hp):
        momentum = as_scalar_or_array(hp["momentum"], grad, xp)
        buf = addcdiv(state["momentum_buffer"] * momentum, grad, avg, 1, xp)
        new_state["momentum_buffer"] = buf
        return move_param(param, buf, -lr, xp), new_state
    return addcdiv(param, grad, avg, -lr, xp), new_state


RMSPROP = Rule("rmsprop", init, update, TAKES, {"lr": 1e-2},
               ("square_avg", "momentum_buffer", "grad_avg"), choices={"eps_mode": EPS_MODES})

DECLARATIONS = (Declaration(
    RMSPROP, "RMSprop (Hinton)", "adaptive", "#8E44AD", ">",
    torch=Api("RMSprop", "lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, "
              "capturable=False, foreach=None, maximize=False, differentiable=False",
              peer="torch.optim.RMSprop"),
    keras=Api("RMSprop", "learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, "
              "*, eps_mode='root'", peer="keras.optimizers.RMSprop"),
    optax=Api("rmsprop", peer="optax.rmsprop", base="adamkit.optax._alias:rmsprop",
              state={"square_avg": "nu", "grad_avg": "mu", "momentum_buffer": "trace"}),
    numpy=Api("RMSprop"),
    train_lr=1e-3, phase_axis="alpha=0.8:0.999:20"),)
