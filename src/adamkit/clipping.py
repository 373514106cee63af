"""Gradient clipping, applied by the front ends before a rule sees the gradient.

- ``clip_value``: each element into ``[-clip_value, clip_value]`` (torch ``clip_grad_value_``).
- ``clip_norm``: each tensor's L2 norm to at most ``clip_norm``.
- ``clip_global_norm``: all gradients scaled together so their joint L2 norm is at most
  ``clip_global_norm``, with torch ``clip_grad_norm_``'s factor ``max_norm / (total + 1e-6)``.

Clipping is applied to the gradient the rule uses; ``param.grad`` itself is left as the user set it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adamkit.errors import HyperparameterError

CLIP_OPTIONS = ("clip_value", "clip_norm", "clip_global_norm")


def validate(options: dict) -> None:
    for name in CLIP_OPTIONS:
        value = options.get(name)
        if value is not None and not value > 0:
            raise HyperparameterError(f"invalid {name} {value!r}; valid: a number > 0, or None (off)")


def _scale(norm: Any, max_norm: float, xp: Any) -> Any:
    factor = max_norm / (norm + 1e-6)
    return xp.minimum(factor, xp.ones_like(factor)) if hasattr(factor, "shape") else min(factor, 1.0)


def clip(grads: Sequence[Any], options: dict, xp: Any) -> list[Any]:
    """The gradients after every clipping option set in ``options`` (value, then norm, then global)."""
    out = list(grads)
    if options.get("clip_value") is not None:
        c = options["clip_value"]
        out = [xp.clip(g, -c, c) for g in out]
    if options.get("clip_norm") is not None:
        out = [g * _scale(_norm(g, xp), options["clip_norm"], xp) for g in out]
    if options.get("clip_global_norm") is not None and out:
        total = _norm(xp.stack([_norm(g, xp) for g in out]), xp)  # torch's norm of norms
        factor = _scale(total, options["clip_global_norm"], xp)
        out = [g * factor for g in out]
    return out


def _norm(g: Any, xp: Any) -> Any:
    return xp.linalg.vector_norm(g) if xp.__name__ == "torch" else xp.sqrt(xp.sum(xp.abs(g) ** 2))
