"""torch.optim's own checks, with torch's errors, in one place: what the constructor flags may be
(``foreach``, ``fused``, ``capturable``, ``differentiable``), what a tensor ``lr`` may be, and
which params ``fused=True`` may step.

adamkit raises the exception torch raises, with torch's message inside (then adamkit's valid
values), so code written against torch.optim's errors keeps working; torch's optimizer database
checks it (``tests/torch/test_optim_db.py``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.optimizer import _device_dtype_check_for_fused

from adamkit.errors import HyperparameterError


def check_flags(owner: str, *, foreach: bool | None, fused: bool | None, capturable: bool,
                differentiable: bool) -> None:
    """torch's checks of the step flags (torch's order), then adamkit's refusal of ``capturable``
    (CUDA graph capture). ``differentiable=True`` is taken, on the per-tensor rule path: the fused
    kernels do not record autograd, so ``fused=True`` with it is torch's error."""
    if fused and differentiable:
        raise RuntimeError(f"{owner}: `fused` does not support `differentiable`; valid: "
                           "fused=None or False with differentiable=True (the rule path, which "
                           "autograd records)")
    if fused and foreach:
        raise RuntimeError(f"{owner}: `fused` and `foreach` cannot be `True` together.")
    if capturable:
        raise ValueError(f"{owner}: capturable=True (CUDA graph capture) is not supported; "
                         "valid: False (use torch.optim for graph capture)")


def check_tensor_lr(owner: str, lr: Any) -> None:
    """torch's rule: a tensor lr has one element (of any shape; the step uses its value)."""
    if torch.is_tensor(lr) and lr.numel() != 1:
        raise HyperparameterError(f"{owner}: Tensor lr must be 1-element; got one of shape "
                                  f"{tuple(lr.shape)} (one lr per param group)")


def check_fused_params(owner: str, groups: list[dict], state: Any) -> None:
    """``fused=True`` groups on the rule path: params torch's fused kernels refuse (not floating
    point, an unsupported device such as ``meta``) raise torch's RuntimeError, checked as torch
    checks them (a param's first step); others (bfloat16 on the CPU, clipping) take the rule path."""
    for group in groups:
        if not group.get("fused"):
            continue
        for p in group["params"]:
            if p.grad is None or state.get(p):
                continue
            try:
                _device_dtype_check_for_fused(p)
            except RuntimeError as exc:
                raise RuntimeError(f"{owner}: {exc}; adamkit's kernels take float32 and float64 "
                                   "params on the CPU, and CUDA params; valid: fused=None or "
                                   "False") from None
