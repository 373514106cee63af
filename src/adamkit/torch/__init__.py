"""PyTorch front end: drop-in replacements for ``torch.optim`` (same arguments, defaults, state).

>>> import torch, adamkit.torch
>>> model = torch.nn.Linear(3, 1)
>>> opt = adamkit.torch.Adam(model.parameters(), lr=1e-3)   # instead of torch.optim.Adam
"""

from adamkit.torch._base import RuleOptimizer
from adamkit.torch.fused import GroupPath, PathReason
from adamkit.torch.optimizers import SGD, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop
from adamkit.torch.sparse_adam import SparseAdam

BY_RULE = {c.rule.name: c for c in (Adam, AdamW, Adamax, NAdam, RAdam, SGD, RMSprop, Adagrad)}

__all__ = ["RuleOptimizer", "GroupPath", "PathReason", "BY_RULE", "Adam", "AdamW", "Adamax",
           "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad", "SparseAdam"]
