r"""Adafactor (Shazeer & Stern, arXiv:1804.04235): a factored second moment, relative step sizes.

For a param of two or more axes the second moment is kept as two averages, over the rows and over
the columns of its two factored axes (``row_var``, ``col_var``: torch's names and shapes, each with
the reduced axis kept as 1), and rebuilt as their outer product; other params keep it whole
(``variance``). With ``g`` the prepared gradient (sign, weight decay) and ``t`` the step::

    w        = (t - decay_offset)^beta2_decay     (1 - β2_t; -0.8: the paper's; offset: optax's)
    row_var  = lerp(row_var, mean(g², cols), w);  col_var = lerp(col_var, mean(g², rows), w)
    V̂        = row_var·col_var / mean(row_var)                  (variance = lerp(variance, g², w))
    U        = g / sqrt(V̂);   Û = U / max(1, RMS(U)/d)
    ρ        = min(lr, 1/sqrt(t)) if relative_step else lr
    α        = max(ε2, RMS(p))·ρ if param_scale else ρ
    p        = p - α·Û         (with beta1 > 0: m = β1·m + (1-β1)·α·Û, p = p - m)

The libraries read the paper differently; each reading is a setting, so each front end equals its
library:

- ``eps_clamp=True`` (torch): ε1 clamps, ``max(mean(row_var), ε1)`` and ``V̂ -> max(V̂, ε1²)``;
  ``eps1=None`` is the param dtype's machine epsilon. ``False`` (paper, Keras, optax): ε1 is added
  to g² before it is averaged, and nothing is clamped.
- ``relative_step``: torch and Keras take ``ρ = min(lr, 1/sqrt(t))`` (Keras's ``relative_step``
  flag changes nothing: its step takes that minimum either way); optax scales by lr alone.
- Weight decay: torch's is decoupled, ``p *= 1 - lr·wd`` with α taken from the param before it;
  Keras decays first and takes α after (``rms_after_decay=True``); optax adds ``wd·p`` to the
  update, unscaled (``weight_decay_mode="independent"``).
- Factoring: torch and Keras factor the last two axes of every param of two or more axes; optax the
  two largest, and only when both are at least ``min_dim_size_to_factor`` long (128).
- ``beta1``: optax's ``momentum``, an average of the scaled update (``exp_avg``); 0 (off) by default.

Under torch the arithmetic is torch.optim.Adafactor's, op for op (the RMS and clipping scalars read
back as Python floats), so ``update(xp=torch)`` is bitwise torch's for-loop step. The averages are
torch's ``lerp`` with the weight ``w`` given as such (``1 - (1 - w)`` is not ``w`` in floats).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._matrix import (
    as_float,
    eager_torch,
    machine_eps,
    maximum,
    mean,
    minimum,
    move,
    norm,
    prepare_decoupled,
    rms,
    size,
)
from adamkit.rules._numerics import (
    as_scalar_or_array,
    ema,
    is_static,
    is_torch,
    lerp,
    value_of,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "beta2_decay", "eps1", "eps2", "d", "weight_decay", "maximize", "weight_decay_mode",
         "relative_step", "param_scale", "rms_after_decay", "eps_clamp", "decay_offset",
         "min_dim_size_to_factor", "factor_axes", "beta1")
STATE_KEYS = ("row_var", "col_var", "variance", "exp_avg")


def factored_axes(shape: tuple, hp: dict) -> tuple[int, int] | None:
    """The two axes ``(a, b)``, ``a < b``, whose second moment is factored, or None (kept whole).

    ``row_var`` averages over ``b``, ``col_var`` over ``a``. "largest" picks as optax does
    (``numpy.argsort`` of the shape, so ties fall alike).
    """
    if len(shape) < 2:
        return None
    if hp["factor_axes"] == "last":
        a, b = len(shape) - 2, len(shape) - 1
    else:
        order = np.argsort(shape)
        a, b = sorted((int(order[-2]), int(order[-1])))
    if min(shape[a], shape[b]) < float(hp["min_dim_size_to_factor"]):
        return None
    return a, b


def _zeros(shape: tuple, like: Any, xp: Any) -> Any:
    if is_torch(xp):
        return like.new_zeros(shape)
    return xp.zeros(shape, dtype=like.dtype)


def _reduced(shape: tuple, axis: int) -> tuple:
    return tuple(1 if i == axis else n for i, n in enumerate(shape))


def _uses_momentum(hp: dict) -> bool:
    return not is_static(hp["beta1"], 0)


def init(param: Any, hp: dict, xp: Any) -> dict:
    shape = tuple(param.shape)
    axes = factored_axes(shape, hp)
    if axes is None:
        state = {"variance": xp.zeros_like(param)}
    else:
        a, b = axes
        state = {"row_var": _zeros(_reduced(shape, b), param, xp),
                 "col_var": _zeros(_reduced(shape, a), param, xp)}
    if _uses_momentum(hp):
        state["exp_avg"] = xp.zeros_like(param)
    return state


def _mean_square(grad: Any, axis: int, eps1: Any, hp: dict, xp: Any) -> Any:
    """``mean(g², axis)`` (kept as 1): torch's ``norm(dim).square_().div_(n)``; with
    ``eps_clamp=False``, ``mean(g² + ε1)`` (Keras, optax)."""
    if hp["eps_clamp"] and is_torch(xp):
        return xp.norm(grad, dim=axis, keepdim=True).square_().div_(grad.size(axis))
    square = grad * grad
    if not hp["eps_clamp"]:
        square = square + eps1
    return mean(square, xp, axis, keepdims=True)


def _rsqrt(x: Any, xp: Any) -> Any:
    return x.rsqrt_() if is_torch(xp) else 1 / xp.sqrt(x)


def _clamp(x: Any, low: Any, xp: Any) -> Any:
    return x.clamp_(min=low) if is_torch(xp) else xp.maximum(x, low)


def _scaled_gradient(grad: Any, state: dict, weight: Any, eps1: Any, hp: dict,
                     xp: Any) -> tuple[Any, dict]:
    """``U = g / sqrt(V̂)`` and the new second-moment state."""
    axes = factored_axes(tuple(grad.shape), hp)
    if axes is None:
        square = grad * grad
        if not hp["eps_clamp"]:
            square = square + eps1
        variance = lerp(state["variance"], square, weight, xp)
        new = {"variance": variance}
        if not hp["eps_clamp"]:
            return grad / xp.sqrt(variance), new
        estimate = variance.clone() if is_torch(xp) else variance  # torch: avoid writing into it
    else:
        a, b = axes
        row_var = lerp(state["row_var"], _mean_square(grad, b, eps1, hp, xp), weight, xp)
        col_var = lerp(state["col_var"], _mean_square(grad, a, eps1, hp, xp), weight, xp)
        new = {"row_var": row_var, "col_var": col_var}
        row_mean = mean(row_var, xp, a, keepdims=True)
        if not hp["eps_clamp"]:  # Keras's order: (r / mean r)·c, then g / sqrt
            return grad / xp.sqrt((row_var / row_mean) * col_var), new
        last_two = (a, b) == (grad.ndim - 2, grad.ndim - 1)
        estimate = xp.matmul(row_var, col_var) if last_two else row_var * col_var
        estimate = estimate / _clamp(row_mean, eps1, xp)
    # torch: var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
    return _rsqrt(_clamp(estimate, eps1 * eps1, xp), xp) * grad, new


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    t = as_float(step)
    offset = value_of(hp["decay_offset"])
    counted = t if is_static(offset, 0) else t - as_scalar_or_array(offset, param, xp)
    weight = counted ** as_scalar_or_array(value_of(hp["beta2_decay"]), param, xp)  # 1 - β2_t
    lr = hp["lr"] if eager_torch(xp) else as_scalar_or_array(value_of(hp["lr"]), param, xp)
    rho = minimum(lr, 1 / (t**0.5), xp) if hp["relative_step"] else lr
    eps1 = hp["eps1"] if hp["eps1"] is not None else machine_eps(param, xp)
    eps1 = as_scalar_or_array(value_of(eps1), param, xp)
    eps2 = as_scalar_or_array(value_of(hp["eps2"]), param, xp)
    scale_rms = rms(param, xp) if hp["param_scale"] and not hp["rms_after_decay"] else None
    param, grad = prepare_decoupled(param, grad, hp, xp)  # in place under torch: RMS read first
    if hp["param_scale"] and hp["rms_after_decay"]:
        scale_rms = rms(param, xp)
    alpha = maximum(eps2, scale_rms, xp) * rho if scale_rms is not None else rho
    u, new_state = _scaled_gradient(grad, state, weight, eps1, hp, xp)
    d = as_scalar_or_array(value_of(hp["d"]), param, xp)
    clip = maximum(1.0, norm(u, xp) / ((size(u) ** 0.5) * d), xp)
    if not _uses_momentum(hp):
        return move(param, u, -alpha / clip, xp), new_state
    step_vector = u * (alpha / clip)
    new_state["exp_avg"] = ema(state["exp_avg"], step_vector,
                               as_scalar_or_array(value_of(hp["beta1"]), param, xp), xp)
    return move(param, new_state["exp_avg"], -1.0, xp), new_state


ADAFACTOR = Rule("adafactor", init, update, TAKES,
                 {"lr": 1e-2, "weight_decay_mode": "decoupled", "beta1": 0.0}, STATE_KEYS,
                 elementwise=False)  # RMS(p), RMS(U) and the factored means read whole tensors


DECLARATIONS = (Declaration(
    ADAFACTOR, "Adafactor (Shazeer & Stern): a factored second moment, relative step sizes",
    "adaptive", "#4B0082", "3",
    # torch's eps pair lives in its param groups as torch keeps it (adamkit.torch.adafactor);
    # the class takes the rule's eps1 and eps2 besides, keyword-only
    torch=Api("Adafactor", "lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *, "
              "foreach=None, maximize=False", peer="torch.optim.Adafactor",
              translate=lambda given: _torch_eps(given), base="adamkit.torch.adafactor:TorchEpsPair"),
    # Keras adds ε1 to g² and decays before it reads RMS(p); its relative_step=False changes
    # nothing (its step takes min(lr, 1/sqrt(t)) either way), so the rule's stays True
    keras=Api("Adafactor", "learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, "
              "clip_threshold=1.0, relative_step=True", peer="keras.optimizers.Adafactor",
              fixed={"eps_clamp": False, "rms_after_decay": True, "relative_step": True}),
    # optax's chain: the rule's direction, then optax's lr, RMS(p), momentum and decay
    optax=Api("adafactor", peer="optax.adafactor", base="adamkit.optax.adafactor:adafactor"),
    numpy=Api("Adafactor"),
    train_lr=1e-2),)  # a vector (a lab point) takes the unfactored second moment, as torch


def _torch_eps(given: dict) -> dict:
    from adamkit.torch.adafactor import translate  # the torch front end's, imported when used

    return translate(given)
