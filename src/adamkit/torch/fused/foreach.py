r"""The multi-tensor fallback: every rule over lists of tensors, through ``torch._foreach_*``.

Where no fused kernel takes a bucket (Triton missing on a CUDA machine, a dtype the kernels do
not take), a per-tensor Python loop would launch every elementwise op once per tensor. Here the
rule itself runs once for all of them: :func:`step_foreach` calls ``rule.update`` with arrays
that are :class:`TensorList`\ s (one tensor per param) and a namespace, :data:`FOREACH`, whose
functions take and return them. So there is still one definition of each rule.

The namespace answers to the name ``torch`` (``rules._numerics.is_torch``): the rules' helpers
then spell each step with torch's own fused primitives, which have foreach forms
(``lerp``, ``addcmul``, ``addcdiv``, ``add(alpha=)``). :func:`step_foreach` passes it as
``in_place(FOREACH)`` (``rules._numerics.in_place``), the in-place namespace: so the rule is not
pure here, by the caller's explicit leave: the helpers write the new moments and param into the
TensorLists of param and state they are given (``lerp_``, ``mul_``, ``addcmul_``, ``add_``,
``addcdiv_``), as on the rule's torch path: the same operations in the same order, one
multi-tensor launch each. Whatever the rule returns that is not the caller's own tensors
(AMSGrad's maximum, RAdam's ``param - move``, Adagrad's sum, ...) is copied back with
``torch._foreach_copy_``. The gradients are never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from adamkit.rules._numerics import in_place
from adamkit.rules._rule import Rule

Scalar = float | int


class TensorList:
    """Tensors that act as one array: arithmetic and functions are ``torch._foreach_*`` ops.

    An operand is another TensorList of as many tensors (elementwise, tensor by tensor) or a
    Python number (the same for every tensor).
    """

    __slots__ = ("tensors",)

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        self.tensors = list(tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __repr__(self) -> str:
        return f"TensorList({len(self.tensors)} tensors)"

    @property
    def dtype(self) -> torch.dtype:
        return self.tensors[0].dtype

    @property
    def device(self) -> torch.device:
        return self.tensors[0].device

    # -- arithmetic ---------------------------------------------------------------------------

    def __add__(self, other: Any) -> TensorList:
        return TensorList(torch._foreach_add(self.tensors, _operand(other)))

    __radd__ = __add__

    def __sub__(self, other: Any) -> TensorList:
        return TensorList(torch._foreach_sub(self.tensors, _operand(other)))

    def __rsub__(self, other: Any) -> TensorList:
        return TensorList(torch._foreach_add(torch._foreach_neg(self.tensors), _number(other)))

    def __mul__(self, other: Any) -> TensorList:
        return TensorList(torch._foreach_mul(self.tensors, _operand(other)))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> TensorList:
        return TensorList(torch._foreach_div(self.tensors, _operand(other)))

    def __rtruediv__(self, other: Any) -> TensorList:
        # as torch's Tensor.__rtruediv__: number · reciprocal(tensor)
        return TensorList(torch._foreach_mul(torch._foreach_reciprocal(self.tensors), _number(other)))

    def __neg__(self) -> TensorList:
        return TensorList(torch._foreach_neg(self.tensors))

    # -- in place (the rules' helpers under the in_place(FOREACH) namespace) ---------------------

    def mul_(self, other: Any) -> TensorList:
        torch._foreach_mul_(self.tensors, _operand(other))
        return self

    def add_(self, other: Any, alpha: Scalar = 1) -> TensorList:
        if isinstance(other, TensorList):
            torch._foreach_add_(self.tensors, other.tensors, alpha=alpha)
        else:
            torch._foreach_add_(self.tensors, _number(other) * alpha)
        return self

    def lerp_(self, end: TensorList, weight: Scalar) -> TensorList:
        torch._foreach_lerp_(self.tensors, end.tensors, weight)
        return self

    def addcmul_(self, a: TensorList, b: TensorList, value: Scalar = 1) -> TensorList:
        torch._foreach_addcmul_(self.tensors, a.tensors, b.tensors, value=value)
        return self

    def addcdiv_(self, a: TensorList, b: TensorList, value: Scalar = 1) -> TensorList:
        torch._foreach_addcdiv_(self.tensors, a.tensors, b.tensors, value=value)
        return self


def _number(x: Any) -> Scalar:
    if isinstance(x, TensorList) or torch.is_tensor(x):
        raise TypeError(f"foreach: expected a Python number, got {type(x).__name__}")
    return x


def _operand(x: Any) -> Any:
    return x.tensors if isinstance(x, TensorList) else _number(x)


class _Foreach:
    """The array namespace of :class:`TensorList` (see the module's doc): the functions the
    rules and ``rules._numerics`` call on ``xp``."""

    __name__ = "torch"  # the rules' helpers take torch's fused primitives (module doc)
    compiler = torch.compiler
    float32, float64 = torch.float32, torch.float64

    @staticmethod
    def add(x: TensorList, y: Any, alpha: Scalar = 1) -> TensorList:
        if isinstance(y, TensorList):
            return TensorList(torch._foreach_add(x.tensors, y.tensors, alpha=alpha))
        return x + _number(y) * alpha

    @staticmethod
    def lerp(start: TensorList, end: TensorList, weight: Scalar) -> TensorList:
        return TensorList(torch._foreach_lerp(start.tensors, end.tensors, weight))

    @staticmethod
    def addcmul(x: TensorList, a: TensorList, b: TensorList, value: Scalar = 1) -> TensorList:
        return TensorList(torch._foreach_addcmul(x.tensors, a.tensors, b.tensors, value=value))

    @staticmethod
    def addcdiv(x: TensorList, a: TensorList, b: TensorList, value: Scalar = 1) -> TensorList:
        return TensorList(torch._foreach_addcdiv(x.tensors, a.tensors, b.tensors, value=value))

    @staticmethod
    def sqrt(x: TensorList) -> TensorList:
        return TensorList(torch._foreach_sqrt(x.tensors))

    @staticmethod
    def abs(x: TensorList) -> TensorList:
        return TensorList(torch._foreach_abs(x.tensors))

    @staticmethod
    def maximum(a: TensorList, b: TensorList) -> TensorList:
        return TensorList(torch._foreach_maximum(a.tensors, b.tensors))

    @staticmethod
    def zeros_like(x: TensorList) -> TensorList:
        out = [torch.empty_like(t) for t in x.tensors]
        torch._foreach_zero_(out)
        return TensorList(out)

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        """Elementwise choice (``rules._numerics.where`` decides a Python bool itself)."""
        if isinstance(condition, bool):
            return a if condition else b
        conds = condition.tensors if isinstance(condition, TensorList) else None
        if conds is None:
            raise TypeError("foreach where: the condition is a bool or a TensorList")
        n = len(conds)
        a_ts = a.tensors if isinstance(a, TensorList) else [a] * n
        b_ts = b.tensors if isinstance(b, TensorList) else [b] * n
        return TensorList([torch.where(c, x, y) for c, x, y in zip(conds, a_ts, b_ts, strict=True)])


FOREACH = _Foreach()


def step_foreach(rule: Rule, params: list[torch.Tensor], grads: list[torch.Tensor],
                 states: list[dict], step: int, hp: dict) -> None:
    """One step of ``rule`` for every param, in place, as multi-tensor ops.

    ``states[i]`` is param ``i``'s state dict (its float moments, in the param's dtype; keys
    the rule does not keep, as ``step``, are left alone). Every param takes the same ``step``:
    a 0-dim scalar state (NAdam's ``mu_product``) is read from the first state and the new
    value written to every state. A state the rule makes on its first update (SGD's momentum
    buffer) is put in each dict.
    """
    if not params:
        return
    keys = [k for k in rule.state_keys if k in states[0]]
    scalar_keys = [k for k in keys if states[0][k].ndim == 0]
    state: dict[str, Any] = {}
    for key in keys:
        state[key] = states[0][key] if key in scalar_keys else TensorList([s[key] for s in states])
    with torch.no_grad():  # writes into params and state (in_place): the namespace says so
        new_param, new_state = rule.update(TensorList(params), TensorList(grads), state, step, hp,
                                           in_place(FOREACH))
        _copy_back(params, new_param)
        for key, value in new_state.items():
            if key in scalar_keys:
                torch._foreach_copy_([s[key] for s in states], [value] * len(states))
            elif key in state:
                _copy_back(state[key].tensors, value)
            else:  # made on this update
                for s, tensor in zip(states, value.tensors, strict=True):
                    s[key] = tensor


def _copy_back(targets: list[torch.Tensor], value: TensorList) -> None:
    """Write ``value`` into ``targets`` unless it already is them (updated in place)."""
    fresh = [(t, v) for t, v in zip(targets, value.tensors, strict=True) if v is not t]
    if fresh:
        torch._foreach_copy_([t for t, _ in fresh], [v for _, v in fresh])

