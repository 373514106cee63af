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


# torch.optim's classes adamkit does not stand in for, and why (one line each)
NOT_HERE = {"LBFGS": "LBFGS is a line search over closures, not a per-element update rule: use "
                     "torch.optim.LBFGS"}


def __getattr__(name: str) -> Any:
    if name in NOT_HERE:
        raise AttributeError(f"adamkit.torch has no {name}: {NOT_HERE[name]}")
    try:
        return class_named(name)  # declared after this module was imported
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *registry.api_names("torch")})


__all__ = ["RuleOptimizer", "GroupPath", "PathReason", "SparseAdam", "for_rule",
           *registry.api_names("torch")]
