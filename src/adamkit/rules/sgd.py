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
from adamkit.rules._declaration import Api, Declaration, Variant
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

DECLARATIONS = (Declaration(
    SGD, "plain gradient descent", "sgd", "#000000", "X",
    variants=(
        Variant("momentum", "SGD with heavy-ball momentum 0.9", {"momentum": 0.9}, "#D55E00", "*",
                phase_axis="momentum=0:0.99:20"),
        Variant("nesterov", "SGD with Nesterov momentum 0.9", {"momentum": 0.9, "nesterov": True},
                "#E69F00", "<", phase_axis="momentum=0.05:0.99:20"),
    ),
    torch=Api("SGD", "lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, "
              "maximize=False, foreach=None, differentiable=False, fused=None",
              peer="torch.optim.SGD", traits={"accepts_sparse": True}),
    keras=Api("SGD", "learning_rate=0.01, momentum=0.0, nesterov=False", peer="keras.optimizers.SGD"),
    optax=Api("sgd", peer="optax.sgd", base="adamkit.optax._alias:sgd",
              state={"momentum_buffer": "trace"}, traits={"state_type": "SgdState"}),
    numpy=Api("SGD"),
    # plain SGD's 1e-3 barely moves in a few epochs: the trainer's SGD takes momentum 0.9 and 0.05
    train_lr=5e-2, train_settings={"momentum": 0.9}, phase_axis="momentum=0:0.99:20",
    searched=()),)
