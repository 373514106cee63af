"""Numerics shared by every rule, on any array namespace: moment averages, gradient preparation.

Written once so that no two optimizers can drift apart on these pieces. ``xp`` is ``numpy``,
``torch``, ``jax.numpy``, ``keras.ops``, or :func:`in_place` of a torch namespace. The helpers are
pure under every namespace but that last one: under ``in_place(torch)`` those that update a
value (a moment, the param) write the result into the param or state array they are given, as
torch.optim's for-loop does (see "the in-place torch namespace" below). Besides:

- under torch the rules call torch's own fused primitives (``lerp``, ``addcmul``, ``addcdiv``,
  ``add(alpha=)``), which round in their own order, so adamkit.torch is bitwise equal to
  torch.optim; every other namespace gets the same expression in the same order;
- nothing branches on an array's value: a decision is taken in Python only on a Python number or
  a concrete NumPy array, so the rules trace under ``jax.jit`` (a traced value takes the general
  branch, which gives the same numbers).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def is_torch(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "torch"


def _is_number(value: Any) -> bool:
    return isinstance(value, float | int)


def is_static(value: Any, constant: float) -> bool:
    """``value`` is known, without looking into a traced array, to equal ``constant`` everywhere."""
    if _is_number(value):
        return value == constant
    return isinstance(value, np.ndarray) and bool(np.all(value == constant))


def _torch_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch (and in a form dynamo traces)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def compiling(xp: Any) -> bool:
    """Whether torch's dynamo is tracing this call (torch.compile): tensors then stay tensors,
    as torch.optim keeps them (``_get_value``), so the step traces into one graph."""
    return is_torch(xp) and xp.compiler.is_compiling()


def value_of(x: Any) -> Any:
    """A 0-dim torch tensor as a Python number (torch.optim's ``_get_value``); else ``x``.

    A tensor stays one while dynamo traces (torch.compile), and when it requires grad (a step
    with ``differentiable=True`` differentiates through it: ``.item()`` would cut the graph)."""
    if _torch_tensor(x) and x.ndim == 0 and not x.requires_grad and \
            not sys.modules["torch"].compiler.is_compiling():
        return x.item()
    return x


def scalar_ones(xp: Any) -> Any:
    """A 0-dim 1 for a scalar state (NAdam's ``mu_product``): under torch in torch.optim's scalar
    dtype (float64 when that is the default dtype, else float32: ``_get_scalar_dtype``, so a
    bfloat16 default keeps it float32); elsewhere the namespace's default float."""
    if is_torch(xp):
        dtype = xp.float64 if xp.get_default_dtype() == xp.float64 else xp.float32
        return xp.ones((), dtype=dtype)
    return xp.ones(())


# -- the in-place torch namespace ------------------------------------------------------------------
#
# The rules are functional: they return a new param and new state. torch.optim's for-loop updates
# the param and its moments in place, and copying the rule's fresh tensors back would cost the
# torch front end a new tensor and an extra pass over memory per moment (measured: 3.3x torch's
# for-loop step on 256k-element params, one thread). So a caller that owns the param and state may
# say, at the call site, that the rule may write into them: it passes ``in_place(torch)`` as ``xp``
# instead of ``torch``. Under that namespace (and only under it) the helpers whose first argument is
# the value being updated, a moment (``ema``, ``ema_square``, ``decay_add``) or the param
# (``addcdiv``, ``move_param``, the decay in ``prepare``), write into that argument with torch's own
# in-place ops (``lerp_``, ``mul_``, ``addcmul_``, ``add_``, ``addcdiv_``): the same bits as the
# functional ops, without the copy. Rules pass them only their state, their param or a fresh
# temporary, never the gradient. Where a scalar is a tensor (torch's tensor ``lr``, betas that
# require grad) the helper stays functional: torch's in-place ops take a Python number there.


class InPlace:
    """A torch array namespace under which the rules' helpers write into the param and state.

    Attribute access goes to the wrapped namespace (``torch``, or the foreach namespace of
    :mod:`adamkit.torch.fused.foreach`), and ``__name__`` is its ``"torch"``, so every function a
    rule calls on ``xp`` is torch's own. Build it with :func:`in_place`.
    """

    def __init__(self, xp: Any) -> None:
        self.wrapped = xp
        self.__name__ = "torch"

    def __getattr__(self, name: str) -> Any:  # only for names not set on the instance
        value = getattr(self.wrapped, name)
        setattr(self, name, value)  # cached: later look-ups are plain attribute reads
        return value

    def __repr__(self) -> str:
        return f"in_place({getattr(self.wrapped, '__name__', self.wrapped)!r})"


_IN_PLACE_OF: dict[int, InPlace] = {}


def in_place(xp: Any) -> InPlace:
    """``xp`` (a torch namespace) as the namespace that lets a rule update param and state in place.

    ``rule.update(param, grad, state, step, hp, in_place(torch))`` may write its results into
    ``param`` and the arrays of ``state`` (and return them); ``grad`` and ``hp`` stay untouched.
    What it returns anew (RAdam's ``param - move``, AMSGrad's maximum, ...) the caller copies back.
    A ValueError for a namespace other than torch's (the helpers spell torch's in-place methods).
    """
    if isinstance(xp, InPlace):
        return xp
    if not is_torch(xp):
        raise ValueError(f"in_place: invalid namespace {getattr(xp, '__name__', xp)!r}; valid: torch "
                         "(or a namespace named 'torch', as the foreach one)")
    wrapped = _IN_PLACE_OF.get(id(xp))
    if wrapped is None or wrapped.wrapped is not xp:
        wrapped = _IN_PLACE_OF[id(xp)] = InPlace(xp)
    return wrapped


def _in_place(xp: Any, scalar: Any) -> bool:
    """Whether a helper writes into its first argument: the in-place namespace and a Python scalar."""
    return isinstance(xp, InPlace) and _is_number(scalar)


def add(x: Any, y: Any, alpha: Any, xp: Any) -> Any:
    """``x + alpha*y`` (torch.add(x, y, alpha=alpha))."""
    if is_torch(xp) and _is_number(alpha):
        return xp.add(x, y, alpha=alpha)
    return x + alpha * y


def move_param(param: Any, direction: Any, scale: Any, xp: Any) -> Any:
    """``param + scale·direction`` (torch's ``param.add_(direction, alpha=scale)``); ``param``
    is the param (updated in place under :func:`in_place`)."""
    if _in_place(xp, scale):
        return param.add_(direction, alpha=scale)
    return add(param, direction, scale, xp)


def decay_add(average: Any, value: Any, decay: Any, scale: Any, xp: Any) -> Any:
    """``decay·average + scale·value`` (torch's ``mul_(decay).add_(value, alpha=scale)``);
    ``average`` is a buffer of the state (updated in place under :func:`in_place`)."""
    if _in_place(xp, decay) and _is_number(scale):
        return average.mul_(decay).add_(value, alpha=scale)
    return add(average * decay, value, scale, xp)


def addcmul(x: Any, a: Any, b: Any, value: Any, xp: Any) -> Any:
    """``x + value*a*b`` (torch.addcmul)."""
    if is_torch(xp) and _is_number(value):
        return xp.addcmul(x, a, b, value=value)
    return x + value * a * b


def addcdiv(x: Any, a: Any, b: Any, value: Any, xp: Any) -> Any:
    """``x + value*a/b`` (torch.addcdiv); ``x`` is the param or a temporary (updated in place
    under :func:`in_place`)."""
    if _in_place(xp, value):
        return x.addcdiv_(a, b, value=value)
    if is_torch(xp) and _is_number(value):
        return xp.addcdiv(x, a, b, value=value)
    return x + (value * a) / b


def lerp(start: Any, end: Any, weight: Any, xp: Any) -> Any:
    """``start + weight·(end - start)`` as torch's ``lerp`` rounds it (from ``end`` when
    ``|weight| >= 0.5``, so a weight of 1 gives ``end`` exactly); ``start`` is the param or a
    state array (updated in place under :func:`in_place`). Schedule-free AdamW's moves
    between its sequences are lerps in torch's code."""
    if _in_place(xp, weight):
        return start.lerp_(end, weight)
    if is_torch(xp) and _is_number(weight):
        return xp.lerp(start, end, weight)
    if _is_number(weight):
        if abs(weight) < 0.5:
            return start + weight * (end - start)
        return end - (end - start) * (1 - weight)
    return where(abs(weight) < 0.5, start + weight * (end - start),
                 end - (end - start) * (1 - weight), xp)


def ema(average: Any, value: Any, beta: Any, xp: Any) -> Any:
    """Exponential moving average ``beta*average + (1-beta)*value`` (torch's ``lerp`` form);
    ``average`` is a moment of the state (updated in place under :func:`in_place`)."""
    if _in_place(xp, beta):
        return average.lerp_(value, 1 - beta)
    if is_torch(xp) and _is_number(beta):
        return xp.lerp(average, value, 1 - beta)
    return average + (1 - beta) * (value - average)


def ema_square(average: Any, grad: Any, beta: Any, xp: Any) -> Any:
    """Second-moment average ``beta*average + (1-beta)*grad**2`` (torch's mul_/addcmul_ order);
    ``average`` is a moment of the state (updated in place under :func:`in_place`)."""
    if _in_place(xp, beta):
        return average.mul_(beta).addcmul_(grad, grad, value=1 - beta)
    return addcmul(average * beta, grad, grad, 1 - beta, xp)


def bias_correction(beta: Any, step: Any) -> Any:
    """``1 - beta**step``: in float64 for a Python or NumPy ``beta`` and an integer ``step``.

    A traced ``beta`` or ``step`` (jax under ``jit``) gives an array of the namespace's float type.
    """
    if _is_number(beta) and isinstance(step, int):
        return 1.0 - float(beta) ** step
    if isinstance(beta, np.ndarray | float | int) and isinstance(step, int):
        return 1.0 - np.asarray(beta, dtype=np.float64) ** step
    return 1 - beta**step


def as_scalar_or_array(value: Any, like: Any, xp: Any) -> Any:
    """A hyperparameter in a form that broadcasts against ``like`` in namespace ``xp``.

    Python floats pass through (cheapest, and what torch.optim uses). Under torch a 0-dim tensor
    (torch's tensor ``lr``) becomes its Python value where torch.optim converts it too (not while
    dynamo traces, nor when it requires grad: see :func:`value_of`), and NumPy arrays become
    tensors of ``like``'s dtype. Elsewhere NumPy arrays become arrays of ``like``'s dtype; the
    namespace's own arrays (traced ones included) pass through.
    """
    if _is_number(value) or getattr(xp, "__name__", "") == "numpy":
        return value
    if is_torch(xp):
        if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
            return value if compiling(xp) or getattr(value, "requires_grad", False) else value.item()
        return xp.as_tensor(value, dtype=like.dtype, device=like.device)
    if isinstance(value, np.ndarray | np.generic):
        convert = getattr(xp, "asarray", None) or xp.convert_to_tensor  # jax.numpy / keras.ops
        return convert(value, dtype=like.dtype)
    return value


def weight_decay_terms(hp: dict) -> tuple[Any, Any]:
    """``(l2, decay)``: ``grad += l2·param`` and ``param *= decay``, from ``weight_decay_mode``.

    - ``"l2"``: ``l2 = weight_decay`` (torch ``Adam(weight_decay=)``);
    - ``"decoupled"``: ``decay = 1 - lr·weight_decay`` (torch ``AdamW``);
    - ``"independent"``: ``decay = 1 - lr_factor·weight_decay``, where ``lr_factor`` is the
      schedule's multiplier (Loshchilov & Hutter, arXiv:1711.05101, Algorithm 2: the decay is not
      scaled by the base learning rate).

    Without weight decay they are the Python numbers 0 and 1, which the rules skip.
    """
    wd = value_of(hp.get("weight_decay", 0))
    if is_static(wd, 0):
        return 0, 1
    mode = hp.get("weight_decay_mode", "l2")
    if mode == "l2":
        return wd, 1
    scale = value_of(hp["lr"]) if mode == "decoupled" else hp.get("lr_factor", 1.0)
    return 0, 1 - scale * wd


def prepare(param: Any, grad: Any, hp: dict, xp: Any) -> tuple[Any, Any]:
    """Sign and weight decay, before a rule's own math (see :func:`weight_decay_terms`).

    ``maximize``: ascend, i.e. use ``-grad``.
    """
    if hp.get("maximize"):
        grad = -grad
    l2, decay = weight_decay_terms(hp)
    if not is_static(l2, 0):
        grad = add(grad, param, as_scalar_or_array(l2, param, xp), xp)
    if not is_static(decay, 1):
        decay = as_scalar_or_array(decay, param, xp)
        param = param.mul_(decay) if _in_place(xp, decay) else param * decay
    return param, grad


def where(condition: Any, a: Any, b: Any, xp: Any) -> Any:
    """Elementwise choice that also takes a plain bool (torch.where does not)."""
    if isinstance(condition, bool | np.bool_):
        return a if condition else b
    if getattr(xp, "__name__", "") == "numpy":
        return xp.where(xp.asarray(condition), a, b)
    return xp.where(condition, a, b)
