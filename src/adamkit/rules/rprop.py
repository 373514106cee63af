r"""Rprop (Riedmiller & Braun, ICNN 1993), as torch.optim.Rprop: a step size per coordinate, grown
while the gradient keeps its sign and shrunk when it flips; only the gradient's sign moves the
parameter.

::

    s         = g · prev                                   (the sign agreement)
    step_size = clamp(step_size · (η+ if s > 0, η- if s < 0, 1 if s = 0), min, max)
    g         = 0 where s < 0                              (no move after a flip ...)
    param     = param - sign(g) · step_size
    prev      = g                                          (... and none counted next step)

``step_size`` starts at ``lr`` and ``prev`` at 0, so the first step moves every coordinate by
``clamp(lr)``. Written in torch's order (the factor from the product's sign, ``mul``, ``clamp``,
then ``param - 1·(sign(g)·step_size)``, which rounds as torch's ``addcmul``), so the torch path is
torch's for-loop to the bit. torch's sign of a NaN is 0, so a NaN gradient leaves its coordinate
and step size unchanged, and the next step counts as ``s = 0`` (``prev`` is the NaN): every
namespace here does the same (optax's ``rprop`` propagates the NaN).

optax's ``rprop`` (0.2.8) computes the same update but emits it one step late (its first update
is 0: google-deepmind/optax PR #1725); it also keeps ``sign(g)·step_size`` instead of ``g`` as
``prev`` (the sign agreement differs only where a product underflows to 0) and leaves a step size
unclamped while ``s = 0``, which shows only when ``lr`` lies outside ``[min, max]`` (torch clamps
it on the first step). This rule is torch's and the paper's.
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    as_scalar_or_array,
    is_torch,
    move_param,
    prepare,
    where,
)
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import Range

TAKES = ("lr", "etas", "step_sizes", "maximize")
STATE_KEYS = ("prev", "step_size")
ETA_MINUS = Range(0.0, 1.0, low_open=True, high_open=True)
ETA_PLUS = Range(1.0, low_open=True)


def _check(owner: str, hp: dict) -> None:
    """torch's condition on the pair, ``0 < η- < 1 < η+``, in torch's words, then adamkit's."""
    eta_minus, eta_plus = hp["etas"]
    if not (ETA_MINUS.contains(eta_minus) and ETA_PLUS.contains(eta_plus)):
        raise HyperparameterError(f"{owner}: Invalid eta values: {eta_minus}, {eta_plus}; valid: "
                                  "0 < etas[0] < 1 < etas[1] (eta_minus, eta_plus)")


def _number(x: Any) -> bool:
    return isinstance(x, float | int)


def _clamp(x: Any, low: Any, high: Any, xp: Any) -> Any:
    if is_torch(xp):
        return xp.clamp(x, low, high)
    return xp.clip(x, low, high)


def _sign(x: Any, xp: Any) -> Any:
    """torch's sign: -1, 0 or 1, and 0 for a NaN (NumPy's and jax's give NaN), so a NaN gradient
    leaves its coordinate where it is, as torch's Rprop does."""
    if is_torch(xp):
        return xp.sign(x)
    one = xp.ones_like(x)
    return where(x > 0, one, where(x < 0, -one, xp.zeros_like(x), xp), xp)


def init(param: Any, hp: dict, xp: Any) -> dict:
    lr = as_scalar_or_array(hp["lr"], param, xp)
    # torch's full_like (lr rounded once to the param's dtype); a batch of lr broadcast elsewhere
    torch_number = is_torch(xp) and _number(lr)
    step_size = xp.full_like(param, lr) if torch_number else xp.zeros_like(param) + lr
    return {"prev": xp.zeros_like(param), "step_size": step_size}


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)  # maximize (Rprop has no weight decay)
    eta_minus, eta_plus = (as_scalar_or_array(e, grad, xp) for e in hp["etas"])
    low, high = (as_scalar_or_array(s, grad, xp) for s in hp["step_sizes"])
    product = grad * state["prev"]
    # torch maps sign(product) > 0, < 0, = 0 to η+, η-, 1; torch's sign of a NaN is 0, so a NaN
    # product leaves the step size as it is.
    # Built on ones in the gradient's dtype (a where of two Python numbers would take the default
    # dtype); keras.ops's where and clip make a Python number float32, so there the factors and
    # bounds are arrays of the gradient's dtype.
    one = xp.ones_like(product)
    if not is_torch(xp) and getattr(xp, "__name__", "") != "numpy":
        eta_minus, eta_plus, low, high = (one * v for v in (eta_minus, eta_plus, low, high))
    factor = where(product > 0, eta_plus, where(product < 0, eta_minus, one, xp), xp)
    step_size = _clamp(state["step_size"] * factor, low, high, xp)
    grad = where(product < 0, 0.0, grad, xp)  # torch: where the factor is η-, i.e. s < 0
    # sign(g)·step_size is exact (sign is -1, 0 or 1), so param - 1·(it) rounds once, as torch's
    # param.addcmul_(sign(g), step_size, value=-1).
    param = move_param(param, _sign(grad, xp) * step_size, -1, xp)
    return param, {"prev": grad, "step_size": step_size}


RPROP = Rule("rprop", init, update, TAKES, {"lr": 1e-2}, STATE_KEYS, check=_check)

DECLARATIONS = (Declaration(
    RPROP, "Rprop (Riedmiller & Braun): the gradient's sign, a step size per coordinate", "adaptive",
    "#17BECF", "+",
    torch=Api("Rprop", "lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, "
              "foreach=None, maximize=False, differentiable=False", peer="torch.optim.Rprop"),
    keras=Api("Rprop", "learning_rate=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)"),
    optax=Api("rprop", peer="optax.rprop", base="adamkit.optax.rprop:rprop",
              state={"step_size": "step_sizes"}),
    numpy=Api("Rprop"),
    train_lr=1e-3, phase_axis="eta_plus=1.05:2:20", searched=("eta_minus", "eta_plus")),)
