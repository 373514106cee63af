"""PyTorch front end: drop-in replacements for ``torch.optim`` (same arguments, defaults, state).

>>> import torch, adamkit.torch
>>> model = torch.nn.Linear(3, 1)
>>> opt = adamkit.torch.Adam(model.parameters(), lr=1e-3)   # instead of torch.optim.Adam

Every class is built from its declaration in :mod:`adamkit.rules.registry` (see
:mod:`adamkit.torch.optimizers`); one registered later is here too (``adamkit.torch.<Name>``).
``for_rule("adamw")`` gives the class of a rule.
"""

from typing import Any

from adamkit.rules import registry
from adamkit.torch._base import RuleOptimizer
from adamkit.torch.fused import GroupPath, PathReason
from adamkit.torch.optimizers import class_named, for_rule
from adamkit.torch.sparse_adam import SparseAdam

globals().update({name: class_named(name) for name in registry.api_names("torch")})


def __getattr__(name: str) -> Any:
    try:
        return class_named(name)  # declared after this module was imported
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *registry.api_names("torch")})


__all__ = ["RuleOptimizer", "GroupPath", "PathReason", "SparseAdam", "for_rule",
           *registry.api_names("torch")]
