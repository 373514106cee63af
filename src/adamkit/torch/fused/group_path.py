"""Which path a param group takes: the fused engine, or the per-tensor rule path and why.

``optimizer.paths()`` returns one :class:`GroupPath` per param group (``None`` for a group not
stepped yet)::

    [str(p) for p in opt.paths()]  # ['fused engine', 'rule path (small group (10 < 32768 elements))']
    opt.paths()[1].reason is PathReason.SMALL_GROUP  # True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal

import torch

from adamkit.torch.fused.specs import SPECS

# fused=None: the engine takes a group of 2+ tensors, or one tensor of AUTO_MIN_NUMEL+ elements:
# the rule path costs tens of microseconds per tensor in Python, the engine a fixed ~0.1 ms per
# call, so a single small tensor is the one case the rule path wins
# (benchmarks/results/design_measurements.md#fused-auto-min-numel).
AUTO_MIN_NUMEL = 1 << 15


class PathReason(enum.Enum):
    """Why a param group took the per-tensor rule path."""

    RULE = "rule"  # the optimizer's rule has no fused kernel
    FUSED_FALSE = "fused=False"  # the user asked for the rule path
    OPTION = "option"  # nonfinite= or clip_*=: the rule path applies them
    NOT_SCALAR = "not a scalar"  # a hyperparameter given as an array
    SMALL_GROUP = "small group"  # fused=None, one tensor of fewer than AUTO_MIN_NUMEL elements
    PARAM = "param"  # a param the kernels do not take (dtype, device, layout, precision)
    DIFFERENTIABLE = "differentiable"  # differentiable=True: autograd records the rule, not kernels


@dataclass(frozen=True)
class GroupPath:
    """The path one param group took on its last step: ``kind`` is ``"engine"``, ``"foreach"``
    (CUDA params without Triton: the rule itself over lists of tensors) or ``"rule"``;
    for the rule path, ``reason`` says why and ``detail`` the specifics (``"clip_global_norm"``,
    ``"a torch.bfloat16 param on cpu"``, ...). ``str()`` gives a line for a table."""

    kind: Literal["engine", "foreach", "rule"]
    reason: PathReason | None = None
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "foreach":
            return f"foreach ({self.detail})"
        return "fused engine" if self.kind == "engine" else f"rule path ({self.detail})"


ENGINE = GroupPath("engine")
# CUDA params without the Triton kernels: the rule over lists of tensors (torch._foreach_*)
FOREACH = GroupPath("foreach", None, "CUDA without Triton: pip install adamkit[gpu]")


def rule_path(reason: PathReason, detail: str | None = None) -> GroupPath:
    return GroupPath("rule", reason, reason.value if detail is None else detail)


def settings_verdict(rule: str, group: dict, defaults: dict) -> GroupPath | None:
    """The rule path and why, when ``group``'s settings (and the optimizer's ``defaults``, where
    the options over all groups live) rule the engine out; None when they do not (its params are
    looked at when the layout is built)."""
    if rule not in SPECS:
        return rule_path(PathReason.RULE, f"rule {rule!r}")
    if group.get("differentiable"):
        return rule_path(PathReason.DIFFERENTIABLE, "differentiable=True (autograd records the rule)")
    if group.get("fused") is False:
        return rule_path(PathReason.FUSED_FALSE)
    for key in ("nonfinite", "clip_value", "clip_norm", "clip_global_norm"):
        if group.get(key) is not None or defaults.get(key) is not None:
            return rule_path(PathReason.OPTION, key)
    for key in ("lr", "weight_decay", "eps", "eps_root", "momentum", "dampening", "alpha",
                "lr_decay", "momentum_decay"):
        if not _is_scalar(group.get(key, 0.0)):
            return rule_path(PathReason.NOT_SCALAR, f"{key} is not a scalar")
    if not all(map(_is_scalar, group.get("betas", ()))):
        return rule_path(PathReason.NOT_SCALAR, "betas are not scalars")
    return None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, float | int) or torch.is_tensor(value) and value.ndim == 0
