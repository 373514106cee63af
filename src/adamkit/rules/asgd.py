r"""ASGD, averaged SGD (Polyak & Juditsky, SIAM J. Control Optim. 1992), as torch.optim.ASGD.

SGD with a slowly decaying step size and the running average of the iterates, which is what
averaging SGD is for (``ax``: read it as the solution; the params themselves keep SGD's noise)::

    param = param·(1 - λ·η) - η·g                  (η: this step's size, from the last step)
    ax    = param                                   while μ = 1 (up to step t0 + 2)
    ax    = ax + μ·(param - ax)                     afterwards: the mean of the iterates from t0 + 2
    η     = lr / (1 + λ·lr·t)^α                     for the next step (η starts at lr)
    μ     = 1 / max(1, t - t0)                      for the next step (μ starts at 1)

State, as torch's: ``eta`` and ``mu`` are 0-dim arrays (under torch in torch's scalar dtype,
float32 unless the default dtype is float64, as torch rounds them), ``ax`` is like the param.

Hyperparameters: λ is ``lambd`` (torch's name), α is ``eta_power``, not the vocabulary's
``alpha`` (RMSprop's squared-gradient decay, a different quantity: torch's ASGD front end spells
it ``alpha``), t0 is ``t0``. Weight decay is torch's L2 (``g += wd·param``) or any other mode.

Written in torch's order (``param.mul_(1-λη).add_(g, alpha=-η)``, ``ax.add_((param-ax)·μ)``,
η and μ in Python floats from the step count), so the torch path is torch's for-loop to the bit.
Where μ is known to be 1 ax is a copy of the param, as torch's; a μ only known at run time (jax
under ``jit``) takes ``where(μ = 1, param, ...)``, the same numbers. With a traced step or an
array among the hyperparameters, η and μ are computed in the state's dtype (an int32 count would
otherwise make μ float32).
"""

from __future__ import annotations

from typing import Any

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    as_scalar_or_array,
    decay_add,
    is_static,
    is_torch,
    prepare,
    scalar_ones,
    value_of,
    where,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "lambd", "eta_power", "t0", "weight_decay", "maximize", "weight_decay_mode")
STATE_KEYS = ("eta", "mu", "ax")


def _number(x: Any) -> bool:
    return isinstance(x, float | int)


def _copy(x: Any, xp: Any) -> Any:
    return x.clone() if is_torch(xp) else xp.copy(x)


def _scalar_state(like: Any, value: Any, xp: Any) -> Any:
    """``value`` in the dtype (and shape, for a batch of configurations) of the state ``like``:
    torch's ``eta.copy_(value)``, one rounding to the state's dtype."""
    if is_torch(xp) and _number(value):
        return xp.full_like(like, value)
    return xp.zeros_like(like) + value


def _at_least_one(x: Any, xp: Any) -> Any:
    if _number(x):
        return max(1, x)
    return x.clamp(min=1) if is_torch(xp) else xp.maximum(x, 1)


def init(param: Any, hp: dict, xp: Any) -> dict:
    # torch: its scalar dtype, beside the param (torch.optim's); elsewhere the param's own dtype
    # (NumPy float64, a float64 jax or Keras variable's average not rounded to float32).
    one = scalar_ones(xp).to(param.device) if is_torch(xp) else xp.ones((), dtype=param.dtype)
    return {"eta": one * as_scalar_or_array(hp["lr"], one, xp), "mu": one,
            "ax": xp.zeros_like(param)}


def update(param: Any, grad: Any, state: dict, step: int, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    eta = value_of(state["eta"])  # torch eager: a Python float, as torch's _get_value
    lambd = as_scalar_or_array(hp["lambd"], param, xp)
    param = decay_add(param, grad, 1 - lambd * eta, -eta, xp)

    mu = value_of(state["mu"])
    ax = state["ax"]
    if is_static(mu, 1):
        ax = _copy(param, xp)
    elif _number(mu):  # torch eager, mu != 1: the 0-dim tensor itself, as torch multiplies
        ax = ax + (param - ax) * state["mu"]
    else:
        ax = where(mu == 1, param, ax + (param - ax) * mu, xp)

    like = state["eta"]
    scalars = [value_of(as_scalar_or_array(hp[k], like, xp)) for k in ("lr", "lambd", "eta_power", "t0")]
    if not (all(map(_number, scalars)) and isinstance(step, int)):
        # an array among them or a traced step (jit; a float32 learning rate, an int32 count): η
        # and μ in the state's dtype, as they are in Python floats (torch's own) where all are numbers
        scalars = [v if _number(v) else xp.zeros_like(like) + v for v in scalars]
        step = xp.zeros_like(like) + step
    lr, lambd, power, t0 = scalars
    new_eta = lr / (1 + lambd * lr * step) ** power
    new_mu = 1 / _at_least_one(step - t0, xp)
    return param, {"eta": _scalar_state(like, new_eta, xp),
                   "mu": _scalar_state(state["mu"], new_mu, xp), "ax": ax}


ASGD = Rule("asgd", init, update, TAKES, {"lr": 1e-2}, STATE_KEYS)

# torch's ASGD calls eta_power alpha (the vocabulary's alpha is RMSprop's decay): its signature and
# param groups say alpha, the rule reads eta_power (adamkit.torch.group_names).
TORCH_NAMES = {"eta_power": "alpha"}


def _from_torch(given: dict[str, Any]) -> dict[str, Any]:
    theirs = {v: k for k, v in TORCH_NAMES.items()}
    return {theirs.get(k, k): v for k, v in given.items()}


DECLARATIONS = (Declaration(
    ASGD, "averaged SGD (Polyak & Juditsky): a decaying step and the iterates' average", "sgd",
    "#7F7F7F", "1",
    torch=Api("ASGD", "lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None, "
              "maximize=False, differentiable=False, capturable=False", peer="torch.optim.ASGD",
              translate=_from_torch, base="adamkit.torch.group_names:TorchGroupNames",
              traits={"group_names": TORCH_NAMES}),
    # Keras has no ASGD: Keras's learning_rate, the vocabulary's names for the rest
    keras=Api("ASGD", "learning_rate=0.01, lambd=1e-4, eta_power=0.75, t0=1e6"),
    optax=Api("asgd", base="adamkit.optax.asgd:asgd"),
    numpy=Api("ASGD"),
    train_lr=0.1, phase_axis="lambd=1e-4:1:20:log", searched=("lambd",)),)
