r"""Schedule-free AdamW (Defazio et al., "The Road Less Scheduled", arXiv:2405.15682).

Three sequences: ``z`` takes AdamW's steps (without momentum), ``x`` is a weighted average of the
``z`` iterates (what one evaluates) and ``y`` interpolates the two (where the gradient is taken).
The param holds ``y`` while training; the state keeps ``z`` (so ``x = (y - (1-β1)·z)/β1`` needs no
storage). With ``t`` the step (1 on the first) and ``g`` the gradient at ``y``::

    lr_t       = lr·min(t/warmup_steps, 1)                       (lr when warmup_steps = 0)
    lr_max     = max(lr_max, lr_t)
    weight     = t^r · lr_max^weight_lr_power;   weight_sum += weight;   c = weight/weight_sum
    exp_avg_sq = β2·exp_avg_sq + (1-β2)·g²
    u          = g / (sqrt(exp_avg_sq / (1-β2^t)) + ε)  + wd·y     (weight_decay_on="z")
    z'         = z - lr_t·u
    x'         = (1-c)·x + c·z'
    y'         = β1·x' + (1-β1)·z'  =  lerp(y, z, c) + lr_t·(β1·(1-c) - 1)·u

(``c = 0`` while ``weight_sum`` is 0.) The last line is the schedulefree package's in-place
form, and under torch the rule runs its ops in its order (``mul_``/``addcmul_``, ``div``,
``sqrt``, ``add``, ``lerp_``, ``add_``, ``sub_``), so it is bitwise equal to
``schedulefree.AdamWScheduleFree(foreach=False)``. The three libraries differ in conventions, each a
setting here:

- schedulefree (torch): the defaults (``lr=0.0025``, ``weight_lr_power=2``, ``r=0``).
- optax's ``contrib.schedule_free_adamw``: ``warmup_lag=True`` when it warms up (its AdamW
  scales the z step by a schedule counted from 0, its average's weight by one counted from 1:
  ``lr·min((t-1)/W, 1)`` and ``lr·min(t/W, 1)``); ``r=0``.
- Keras's ``ScheduleFreeAdamW``: ``weight_lr_power=0`` and ``r=0`` (``c = 1/t``), and its weight
  decay is the base optimizer's, ``y *= 1 - lr·wd`` before the step with the un-warmed lr
  (``weight_decay_on="y"``; z is not decayed).

``weight_decay_mode="decoupled"`` (default) is the decay above (on z, or on y); ``"l2"`` adds
``wd·y`` to the gradient before the second moment instead (torch's Adam's L2; no reference has it).

``weight_sum`` and ``lr_max`` are scalars of the state (0-dim arrays; torch's reference keeps them
per parameter group, by these names). :func:`eval_params` and :func:`train_params` are the
switch between ``y`` and ``x`` (the reference's ``eval()``/``train()``, optax's
``schedule_free_eval_params``): every front end moves its params through them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    as_scalar_or_array,
    bias_correction,
    ema_square,
    is_static,
    is_torch,
    lerp,
    move_param,
    prepare,
    value_of,
    where,
)
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import numbers

TAKES = ("lr", "betas", "eps", "weight_decay", "weight_decay_mode", "weight_decay_on",
         "warmup_steps", "r", "weight_lr_power", "warmup_lag")
WEIGHT_DECAY_MODES = ("decoupled", "l2")
STATE_KEYS = ("z", "exp_avg_sq", "weight_sum", "lr_max")
SCALAR_KEYS = ("weight_sum", "lr_max")


def _is_number(x: Any) -> bool:
    return isinstance(x, float | int) and not isinstance(x, bool)


def _check(owner: str, hp: dict) -> None:
    """β1 > 0: the average ``x = (y - (1-β1)·z)/β1`` divides by it (optax says so too); where the
    decay goes (``weight_decay_on``) is a choice of the decoupled decay only."""
    beta1 = numbers(hp["betas"][0])
    if beta1 is not None and bool(np.any(beta1 <= 0)):
        raise HyperparameterError(
            f"{owner}: invalid betas[0] {hp['betas'][0]!r}; valid range (0, 1): the average "
            "x = (y - (1-β1)·z)/β1 needs β1 > 0")
    if hp["weight_decay_mode"] == "l2" and hp["weight_decay_on"] != "z":
        raise HyperparameterError(
            f"{owner}: invalid weight_decay_on {hp['weight_decay_on']!r} with weight_decay_mode="
            "'l2' (the decay joins the gradient); valid: 'z', or weight_decay_mode='decoupled'")


def _copy(param: Any, xp: Any) -> Any:
    return xp.clone(param) if is_torch(xp) else xp.copy(param)


def _scalar_zero(param: Any, xp: Any) -> Any:
    """A 0-dim 0 for ``weight_sum``/``lr_max``: float64 on the CPU under torch (the reference
    keeps Python floats), the param's dtype elsewhere (optax's state), float64 in NumPy."""
    if is_torch(xp):
        return xp.zeros((), dtype=xp.float64)
    if getattr(xp, "__name__", "") == "numpy":
        return np.zeros(())
    return xp.zeros((), dtype=param.dtype)


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"z": _copy(param, xp), "exp_avg_sq": xp.zeros_like(param),
            "weight_sum": _scalar_zero(param, xp), "lr_max": _scalar_zero(param, xp)}


def _warmup(step: Any, warmup_steps: Any, xp: Any) -> Any:
    """``min(step/warmup_steps, 1)``: a Python number when both are (the reference's
    ``(k+1)/warmup_steps`` while ``k < warmup_steps``, else 1.0), an array otherwise."""
    if is_static(warmup_steps, 0):
        return 1.0
    if _is_number(warmup_steps) and isinstance(step, int):
        return step / warmup_steps if step < warmup_steps else 1.0
    return xp.minimum(step / warmup_steps, 1.0)


def learning_rates(step: Any, hp: dict, xp: Any) -> tuple[Any, Any]:
    """``(lr of the z step, lr of the average's weight)`` at step ``step``: both
    ``lr·min(t/warmup_steps, 1)`` (the reference's ``group['lr']*sched``, its ``scheduled_lr``),
    the first one step behind with ``warmup_lag`` (optax)."""
    lr, warm = value_of(hp["lr"]), hp["warmup_steps"]
    lr_avg = lr * _warmup(step, warm, xp)
    return (lr * _warmup(step - 1, warm, xp) if hp.get("warmup_lag") else lr_avg), lr_avg


def _as_state(value: Any, old: Any, xp: Any) -> Any:
    """A new scalar in the form the old one had (a Python number computed from a torch tensor
    goes back into a tensor of the same dtype)."""
    if is_torch(xp) and _is_number(value) and not _is_number(old):
        return xp.tensor(value, dtype=old.dtype, device=old.device)
    return value


def averaging_weight(state: dict, step: Any, lr_t: Any, hp: dict, xp: Any) -> tuple[Any, Any, Any]:
    """``(c, weight_sum, lr_max)`` after step ``step``: ``c`` is the new ``z``'s weight in ``x``.

    In Python floats when the state and hyperparameters are numbers (torch's reference computes
    them so, in float64), else in the state's arrays; ``c = 0`` while ``weight_sum`` is 0 (an lr
    of 0 with ``weight_lr_power > 0``), as the reference and optax do.
    """
    old_sum, old_max = value_of(state["weight_sum"]), value_of(state["lr_max"])
    r, power = hp["r"], hp["weight_lr_power"]
    plain = _is_number(lr_t) and _is_number(old_max)
    lr_max = max(lr_t, old_max) if plain else xp.maximum(old_max, lr_t)
    weight = (step**r) * (lr_max**power)
    weight_sum = old_sum + weight
    if _is_number(weight_sum):
        c = weight / weight_sum if weight_sum != 0 else 0.0
    else:
        empty = weight_sum == 0
        c = where(empty, 0 * weight, weight / where(empty, 1, weight_sum, xp), xp)
    return c, weight_sum, lr_max


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    beta1, beta2 = hp["betas"]
    wd = value_of(hp["weight_decay"])
    lr_step, lr_avg = learning_rates(step, hp, xp)
    c, weight_sum, lr_max = averaging_weight(state, step, lr_avg, hp, xp)

    mode = hp.get("weight_decay_mode", "decoupled")
    decay_y = mode == "decoupled" and hp.get("weight_decay_on", "z") == "y"
    decay_z = mode == "decoupled" and not decay_y and not is_static(wd, 0)
    if mode == "l2" or decay_y:  # l2: g += wd·y; y: Keras's base optimizer, y *= 1 - lr·wd first
        param, grad = prepare(param, grad, {"weight_decay": wd, "weight_decay_mode": mode,
                                            "lr": value_of(hp["lr"])}, xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    bc2 = as_scalar_or_array(bias_correction(beta2, step), exp_avg_sq, xp)
    denom = xp.sqrt(exp_avg_sq / bc2) + as_scalar_or_array(hp["eps"], exp_avg_sq, xp)
    u = grad / denom
    if decay_z:
        u = move_param(u, param, as_scalar_or_array(wd, param, xp), xp)  # u is a fresh temporary
    z = state["z"]
    y_scale = lr_step * (beta1 * (1 - c) - 1)  # in the reference's order: lr*(beta1*(1-ckp1)-1)
    param = lerp(param, z, as_scalar_or_array(c, param, xp), xp)  # the old z: before z moves
    param = move_param(param, u, as_scalar_or_array(y_scale, param, xp), xp)
    z = move_param(z, u, as_scalar_or_array(-lr_step, z, xp), xp)
    return param, {"z": z, "exp_avg_sq": exp_avg_sq,
                   "weight_sum": _as_state(weight_sum, state["weight_sum"], xp),
                   "lr_max": _as_state(lr_max, state["lr_max"], xp)}


def eval_params(y: Any, z: Any, beta1: Any, xp: Any) -> Any:
    """``x = (y - (1-β1)·z)/β1``, spelt as the reference's ``eval()``: ``lerp(y, z, 1 - 1/β1)``
    (``y`` is the param: written in place under the in-place namespace, ``rules.in_place(torch)``)."""
    return lerp(y, z, as_scalar_or_array(1 - 1 / beta1, y, xp), xp)


def train_params(x: Any, z: Any, beta1: Any, xp: Any) -> Any:
    """``y = β1·x + (1-β1)·z``, spelt as the reference's ``train()``: ``lerp(x, z, 1 - β1)``."""
    return lerp(x, z, as_scalar_or_array(1 - beta1, x, xp), xp)


SCHEDULE_FREE_ADAMW = Rule(
    "schedule_free_adamw", init, update, TAKES,
    {"lr": 0.0025, "weight_decay": 0.0, "weight_decay_mode": "decoupled"}, STATE_KEYS, check=_check,
    choices={"weight_decay_mode": WEIGHT_DECAY_MODES})


DECLARATIONS = (Declaration(
    SCHEDULE_FREE_ADAMW, "Schedule-free AdamW (Defazio et al.): no lr schedule, an average x of "
    "the z steps", "adaptive", "#882255", "p",
    torch=Api("AdamWScheduleFree", "lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, "
              "warmup_steps=0, r=0.0, weight_lr_power=2.0, foreach=True",
              peer="schedulefree.AdamWScheduleFree",
              base="adamkit.torch.schedule_free:ScheduleFree"),
    keras=Api("ScheduleFreeAdamW", "learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, "
              "warmup_steps=0", peer="keras.optimizers.ScheduleFreeAdamW",
              fixed={"weight_lr_power": 0.0, "r": 0.0, "weight_decay_on": "y"}),
    optax=Api("schedule_free_adamw", "learning_rate=0.0025, warmup_steps=None, b1=0.9, b2=0.999, "
              "eps=1e-8, weight_decay=0.0, weight_lr_power=2.0, state_dtype=None",
              peer="optax.contrib.schedule_free_adamw",
              base="adamkit.optax.schedule_free:schedule_free_adamw"),
    numpy=Api("AdamWScheduleFree"),
    train_lr=2.5e-3, phase_axis="beta1=0.5:0.99:20"),)
