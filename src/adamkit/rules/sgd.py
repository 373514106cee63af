r"""SGD with momentum, dampening and Nesterov momentum, as torch.optim.SGD.

::

    buf   = g                                   on the first step (no dampening, as torch)
    buf   = momentum·buf + (1-dampening)·g      afterwards
    d     = g + momentum·buf if nesterov else buf      (d = g when momentum = 0)
    param = param - lr·d

"Momentum" in the source documents is this rule with momentum = 0.9.
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules._numerics import (
    add,
    as_scalar_or_array,
    decay_add,
    is_static,
    move_param,
    prepare,
)
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import Range

TAKES = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "weight_decay_mode")


def _uses_momentum(hp: dict) -> bool:
    """Whether the momentum buffer exists: decided on a known value; a traced one keeps it."""
    return not is_static(hp["momentum"], 0)


def _check(owner: str, hp: dict) -> None:
    if hp["nesterov"] and (not Range(0.0, low_open=True).contains(hp["momentum"])
                           or not is_static(hp["dampening"], 0)):
        raise HyperparameterError(f"{owner}: nesterov=True requires momentum > 0 and dampening = 0")


def init(param: Any, hp: dict, xp: Any) -> dict:
    # torch creates the buffer from the first gradient; until then the state is empty.
    return {}


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    new_state: dict = {}
    if _uses_momentum(hp):
        momentum = as_scalar_or_array(hp["momentum"], grad, xp)
        if state.get("momentum_buffer") is None:
            buf = grad + 0 * momentum  # a fresh array, broadcast like the momentum batch
        else:
            dampening = as_scalar_or_array(hp["dampening"], grad, xp)
            buf = decay_add(state["momentum_buffer"], grad, momentum, 1 - dampening, xp)
        new_state["momentum_buffer"] = buf
        grad = add(grad, buf, momentum, xp) if hp["nesterov"] else buf
    return move_param(param, grad, -as_scalar_or_array(hp["lr"], param, xp), xp), new_state


SGD = Rule("sgd", init, update, TAKES, state_keys=("momentum_buffer",), counts_steps=False,
           check=_check)
