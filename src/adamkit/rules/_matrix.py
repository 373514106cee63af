"""Numerics of the matrix optimizers (Adafactor, Muon) on any array namespace.

These optimizers reduce a whole tensor to a scalar (an RMS, a Frobenius norm) inside the step.
torch.optim reads those scalars back as Python floats (``.item()``) and does the scalar arithmetic
in float64, so under torch (not while dynamo traces) the helpers here do the same, for the same
bits; elsewhere (NumPy, jax.numpy under ``jit``, keras.ops) the scalars stay arrays of the
namespace, so nothing branches on a value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from adamkit.rules._numerics import (
    InPlace,
    _is_number,
    compiling,
    is_static,
    is_torch,
    move_param,
    prepare,
    value_of,
)


def _keras(xp: Any) -> bool:
    return hasattr(xp, "convert_to_tensor")


def eager_torch(xp: Any) -> bool:
    """torch outside dynamo: scalars may be read back as Python floats, as torch.optim does."""
    return is_torch(xp) and not compiling(xp)


def size(x: Any) -> int:
    """The number of elements (a Python int: shapes are static under ``jit``)."""
    return math.prod(tuple(x.shape))


def mean(x: Any, xp: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """``xp.mean``; on keras.ops a sum over the count, since its torch backend's ``mean`` of a
    float64 tensor computes in float32 (``result_type(torch.float64, "float32")`` is float32)."""
    if _keras(xp):
        count = size(x) if axis is None else x.shape[axis]
        return xp.sum(x, axis=axis, keepdims=keepdims) / count
    return xp.mean(x, axis=axis, keepdims=keepdims)


def norm(x: Any, xp: Any) -> Any:
    """The 2-norm of all of ``x``: a Python float under eager torch (torch's ``x.norm(2).item()``),
    else a 0-dim array of the namespace."""
    if eager_torch(xp):
        return x.norm(2).item()
    return xp.sqrt(xp.sum(x * x))


def rms(x: Any, xp: Any) -> Any:
    """Root mean square of all of ``x`` (torch's ``x.norm(2).item() / numel**0.5`` under torch)."""
    if eager_torch(xp):
        return x.norm(2).item() / (x.numel() ** 0.5)
    return xp.sqrt(mean(x * x, xp))


def _builtin(a: Any, b: Any, xp: Any) -> bool:
    """Python's ``min``/``max`` apply: two Python numbers, or under eager torch a number and a
    0-dim tensor (torch's tensor ``lr``: torch.optim's ``min(lr, 1/sqrt(t))`` keeps the tensor)."""
    def scalar(x: Any) -> bool:
        return _is_number(x) or (eager_torch(xp) and getattr(x, "ndim", None) == 0)

    return scalar(a) and scalar(b)


def _keras_pair(a: Any, b: Any, xp: Any) -> tuple[Any, Any]:
    """keras.ops makes a Python number float32 before it meets a float64 tensor (its torch
    backend's ``maximum`` even returns float32 for two float64 scalars): numbers are given the
    other operand's dtype first."""
    if _is_number(a):
        a = xp.convert_to_tensor(a, dtype=b.dtype)
    if _is_number(b):
        b = xp.convert_to_tensor(b, dtype=a.dtype)
    return a, b


def maximum(a: Any, b: Any, xp: Any) -> Any:
    """``max(a, b)`` of two scalars: Python's on Python numbers, the namespace's otherwise."""
    if _builtin(a, b, xp):
        return max(a, b)
    if _keras(xp):
        a, b = _keras_pair(a, b, xp)
        return xp.where(a >= b, a, b)
    return xp.maximum(a, b)


def minimum(a: Any, b: Any, xp: Any) -> Any:
    """``min(a, b)`` of two scalars, as :func:`maximum`."""
    if _builtin(a, b, xp):
        return min(a, b)
    if _keras(xp):
        a, b = _keras_pair(a, b, xp)
        return xp.where(a <= b, a, b)
    return xp.minimum(a, b)


def move(param: Any, direction: Any, scale: Any, xp: Any) -> Any:
    """``param + scale·direction``, as ``_numerics.move_param``; under eager torch a 0-dim tensor
    ``scale`` (from torch's tensor lr) goes to torch's ``add(alpha=)`` as torch.optim passes it."""
    if eager_torch(xp) and getattr(scale, "ndim", None) == 0:
        if isinstance(xp, InPlace):
            return param.add_(direction, alpha=scale)
        return xp.add(param, direction, alpha=scale)
    return move_param(param, direction, scale, xp)


def prepare_decoupled(param: Any, grad: Any, hp: dict, xp: Any) -> tuple[Any, Any]:
    """``_numerics.prepare``, but under eager torch with torch's tensor ``lr`` the decoupled decay
    is torch's ``param.mul_(1 - lr * weight_decay)`` in tensor arithmetic (prepare reads lr as a
    Python float, which rounds the factor otherwise)."""
    lr, wd = hp.get("lr"), value_of(hp.get("weight_decay", 0))
    if (eager_torch(xp) and getattr(lr, "ndim", None) == 0 and not is_static(wd, 0)
            and hp.get("weight_decay_mode") == "decoupled"):
        factor = 1 - lr * wd
        param = param.mul_(factor) if isinstance(xp, InPlace) else param * factor
        hp = {**hp, "weight_decay": 0}
    return prepare(param, grad, hp, xp)


def as_float(step: Any) -> Any:
    """A step count as a float: a Python float from an int, an array's float otherwise."""
    if isinstance(step, int | np.integer):
        return float(step)
    return step * 1.0


def machine_eps(x: Any, xp: Any) -> float:
    """The machine epsilon of ``x``'s dtype (torch's ``finfo(param.dtype).eps``)."""
    finfo = getattr(xp, "finfo", None)
    if finfo is not None and not hasattr(xp, "convert_to_tensor"):  # numpy, torch, jax.numpy
        return float(finfo(x.dtype).eps)
    from keras import backend  # keras.ops: a backend tensor, a dtype keras names

    return float(np.finfo(backend.standardize_dtype(x.dtype)).eps)


def swap_last(x: Any, xp: Any) -> Any:
    """``x`` with its last two axes swapped (a matrix's transpose)."""
    if x.ndim == 2:
        return x.T
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return xp.transpose(x, axes) if not is_torch(xp) else x.transpose(-2, -1)


# -- bfloat16 ---------------------------------------------------------------------------------------
#
# torch's Muon runs its Newton-Schulz iteration in bfloat16 whatever the param's dtype. torch,
# jax.numpy and keras.ops have the dtype; NumPy has not, so the NumPy reference emulates it: every
# value torch holds in bfloat16 is computed in float32 and rounded to the nearest bfloat16 (ties to
# even), the rounding torch's conversion does. Matrix products are computed in float32 and rounded
# once, as torch's CPU kernels accumulate bfloat16 products in float32.


def round_bf16(x: np.ndarray) -> np.ndarray:
    """``x`` (any float array) rounded to bfloat16's 8-bit significand, returned as float32."""
    f = np.ascontiguousarray(x, dtype=np.float32)
    bits = f.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) \
        & np.uint32(0xFFFF0000)
    out = rounded.view(np.float32)
    return np.where(np.isnan(f), f, out)
