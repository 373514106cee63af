"""The gradients a step uses, prepared in one place: sparse ones checked (and densified where the
rule allows), the non-finite guard (``nonfinite=``), then clipping (``clip_global_norm`` over every
param, ``clip_value``/``clip_norm`` per group). ``param.grad`` itself is never changed.
"""

from __future__ import annotations

from typing import Any

import torch

from adamkit import clipping

Work = list[tuple[dict, list[torch.Tensor], list[torch.Tensor]]]  # (group, params, their grads)


def param_name(p: torch.Tensor, group_index: int, group: dict) -> str:
    """How an error names ``p``: its name in the group (named parameters), where it is, its shape."""
    index = next(i for i, q in enumerate(group["params"]) if q is p)
    names = group.get("param_names")
    where = f"param_groups[{group_index}]['params'][{index}]"
    label = f"parameter '{names[index]}' ({where})" if names else f"parameter {where}"
    return f"{label} of shape {tuple(p.shape)}"


def prepare(owner: str, groups: list[dict], all_groups: list[dict], options: dict,
            accepts_sparse: bool) -> Work | None:
    """The params with a gradient in each of ``groups`` and the gradients the rule gets; None
    when ``nonfinite="skip"`` skips this step. ``all_groups`` (the optimizer's) name a param in an
    error; ``options`` holds the optimizer-wide ``nonfinite`` and ``clip_global_norm``."""
    index = {id(g): i for i, g in enumerate(all_groups)}
    work = [(group, [p for p in group["params"] if p.grad is not None]) for group in groups]
    grads = {p: _checked(owner, p, index[id(group)], group, accepts_sparse)
             for group, params in work for p in params}
    if grads and not _finite_or_handled(grads, all_groups, options["nonfinite"]):
        return None
    if options["clip_global_norm"] is not None and grads:
        clipped = clipping.clip(list(grads.values()),
                                {"clip_global_norm": options["clip_global_norm"]}, torch)
        grads = dict(zip(grads, clipped, strict=True))
    out = []
    for group, params in work:
        group_grads = [grads[p] for p in params]
        if params and (group["clip_value"] is not None or group["clip_norm"] is not None):
            group_grads = clipping.clip(group_grads, group, torch)
        out.append((group, params, group_grads))
    return out


def _checked(owner: str, p: torch.Tensor, group_index: int, group: dict,
             accepts_sparse: bool) -> torch.Tensor:
    grad = p.grad
    assert grad is not None  # callers pass only params with a gradient
    if grad.is_sparse:
        if not accepts_sparse:
            raise RuntimeError(
                f"{owner} does not support sparse gradients, but "
                f"{param_name(p, group_index, group)} has one; use adamkit.torch.SparseAdam "
                "(or SGD/Adagrad, which accept them)"
            )
        if group.get("weight_decay"):
            raise RuntimeError(f"weight_decay is not compatible with the sparse gradient of "
                               f"{param_name(p, group_index, group)}")
        grad = grad.to_dense()
    return grad


def _finite_or_handled(grads: dict, all_groups: list[dict], mode: Any) -> bool:
    """False when a non-finite gradient means this step is skipped (``nonfinite="skip"``);
    ``nonfinite="raise"`` raises naming the first such param."""
    if mode is None:
        return True
    finite = torch.stack([torch.isfinite(g).all() for g in grads.values()])
    if bool(finite.all()):
        return True
    if mode == "skip":
        return False
    first_bad = next(p for p, ok in zip(grads, finite.tolist(), strict=True) if not ok)
    gi = next(i for i, g in enumerate(all_groups) if any(q is first_bad for q in g["params"]))
    raise FloatingPointError(
        f"non-finite gradient (NaN or Inf) in {param_name(first_bad, gi, all_groups[gi])}"
        " with nonfinite='raise'"
    )
