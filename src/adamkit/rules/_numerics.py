"""Numerics shared by every rule: moment averages, bias correction, gradient preparation.

Written once so that no two optimizers can drift apart on these pieces.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _is_number(value: Any) -> bool:
    return isinstance(value, float | int)


# The four primitives torch.optim is written in. Under torch, the rules call torch's own kernels
# (which round in their own order, e.g. fused multiply-add), so adamkit.torch is bitwise equal to
# torch.optim; under NumPy, the same expression in the same order.


def add(x: Any, y: Any, alpha: Any, xp: Any) -> Any:
    """``x + alpha*y`` (torch.add(x, y, alpha=alpha))."""
    if xp is not np and _is_number(alpha):
        return xp.add(x, y, alpha=alpha)
    return x + alpha * y


def addcmul(x: Any, a: Any, b: Any, value: Any, xp: Any) -> Any:
    """``x + value*a*b`` (torch.addcmul)."""
    if xp is not np and _is_number(value):
        return xp.addcmul(x, a, b, value=value)
    return x + value * a * b


def addcdiv(x: Any, a: Any, b: Any, value: Any, xp: Any) -> Any:
    """``x + value*a/b`` (torch.addcdiv)."""
    if xp is not np and _is_number(value):
        return xp.addcdiv(x, a, b, value=value)
    return x + (value * a) / b


def ema(average: Any, value: Any, beta: Any, xp: Any) -> Any:
    """Exponential moving average ``beta*average + (1-beta)*value`` (torch's ``lerp`` form)."""
    if xp is not np and _is_number(beta):
        return xp.lerp(average, value, 1 - beta)
    return average + (1 - beta) * (value - average)


def ema_square(average: Any, grad: Any, beta: Any, xp: Any) -> Any:
    """Second-moment average ``beta*average + (1-beta)*grad**2`` (torch's mul_/addcmul_ order)."""
    return addcmul(average * beta, grad, grad, 1 - beta, xp)


def bias_correction(beta: Any, step: int) -> Any:
    """``1 - beta**step`` in float64 (a Python float, or a float64 array for array-valued beta)."""
    if isinstance(beta, float | int):
        return 1.0 - float(beta) ** step
    return 1.0 - np.asarray(beta, dtype=np.float64) ** step


def as_scalar_or_array(value: Any, like: Any, xp: Any) -> Any:
    """A hyperparameter in a form that broadcasts against ``like`` in namespace ``xp``.

    Python floats pass through (cheapest, and what torch.optim uses); a 0-dim tensor (torch's tensor
    ``lr``) becomes its Python value at the point where torch.optim converts it too; NumPy arrays
    become tensors of ``like``'s dtype when the namespace is torch.
    """
    if isinstance(value, float | int) or xp is np:
        return value
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return xp.as_tensor(value, dtype=like.dtype, device=like.device)


def prepare(param: Any, grad: Any, hp: dict, xp: Any) -> tuple[Any, Any]:
    """Sign and weight decay, before a rule's own math.

    - ``maximize``: ascend, i.e. use ``-grad``.
    - ``weight_decay_mode="l2"``: ``grad += weight_decay * param`` (torch ``Adam(weight_decay=)``).
    - ``"decoupled"``: ``param *= 1 - lr * weight_decay`` (torch ``AdamW``).
    - ``"independent"``: ``param *= 1 - lr_factor * weight_decay``, where ``lr_factor`` is the
      schedule's multiplier (Loshchilov & Hutter, arXiv:1711.05101, Algorithm 2: decay is not scaled
      by the base learning rate).
    """
    if hp.get("maximize"):
        grad = -grad
    wd = hp.get("weight_decay", 0)
    if _is_zero(wd):
        return param, grad
    wd = as_scalar_or_array(wd, param, xp)
    mode = hp.get("weight_decay_mode", "l2")
    if mode == "l2":
        grad = add(grad, param, wd, xp)
    elif mode == "decoupled":
        param = param * (1 - as_scalar_or_array(hp["lr"], param, xp) * wd)
    else:
        param = param * (1 - as_scalar_or_array(hp.get("lr_factor", 1.0), param, xp) * wd)
    return param, grad


def _is_zero(value: Any) -> bool:
    return isinstance(value, float | int) and value == 0 or bool(np.all(np.asarray(value) == 0))


def where(condition: Any, a: Any, b: Any, xp: Any) -> Any:
    """Elementwise choice that also takes a plain bool (torch.where does not)."""
    if isinstance(condition, bool | np.bool_):
        return a if condition else b
    return xp.where(xp.asarray(condition) if xp is np else condition, a, b)
