r"""SparseAdam: Adam on the rows a sparse gradient touches, as ``torch.optim.SparseAdam``.

torch's SparseAdam is Adam with TF/Keras's "epsilon hat" placement, applied only to the rows
present in the (coalesced) gradient: for those rows, with t the parameter's step count,

    exp_avg    = β1·exp_avg + (1-β1)·g
    exp_avg_sq = β2·exp_avg_sq + (1-β2)·g²
    param     -= lr·sqrt(1-β2^t)/(1-β1^t) · exp_avg / (sqrt(exp_avg_sq) + eps)

and rows absent from the gradient keep their parameters and moments (the moments are not
decayed: "lazy" Adam). So this class does no math: it gathers the touched rows of param,
``exp_avg`` and ``exp_avg_sq``, calls ``adamkit.rules.get("adam").update`` with
``eps_mode="hat"``, and scatters the result back. Duplicate indices are summed first
(``coalesce``), as torch does, since the update is not linear in the gradient.

Same constructor arguments, defaults, validation and state (``step`` a Python int, ``exp_avg``,
``exp_avg_sq``) as torch's, plus:

- ``weight_decay`` (default 0): decoupled weight decay (AdamW's ``param *= 1 - lr·weight_decay``)
  applied lazily, i.e. only to the rows the gradient touches, at the moment they are touched.
  torch's SparseAdam has no weight decay; L2 decay added to a sparse gradient would densify it.
- dense gradients are accepted and treated as touching every row (the same update on the whole
  tensor), so one optimizer can train a model whose embedding is sparse and whose other layers
  are dense. torch's SparseAdam raises on them.

Numerics: equal to torch's up to rounding (torch writes the moment update as
``old + (1-β)·(new - old)``, the rule as ``β·old + (1-β)·new``; both are exact formulas). A
float32 *tensor* ``lr`` is used at its float32 value in both, but torch then computes the step size
in float32 tensor arithmetic, the rule in float64.

Reference: torch.optim.SparseAdam; Kingma & Ba, arXiv:1412.6980, Section 2 (the ε-hat form).
"""

from __future__ import annotations

from typing import Any

import torch

from adamkit import rules
from adamkit.torch._base import decoded_internals
from adamkit.torch.fused import codecs


class SparseAdam(torch.optim.Optimizer):
    """Lazy Adam for sparse gradients (``nn.Embedding(sparse=True)``); see the module docstring."""

    def __init__(
        self,
        params: Any,
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError(f"SparseAdam: Tensor lr must be 1-element; got one of shape "
                             f"{tuple(lr.shape)}")
        # torch's SparseAdam is stricter than Adam here (lr and eps must be > 0): keep its ranges,
        # and its messages (then the valid range).
        if not lr > 0.0:
            raise ValueError(f"SparseAdam: Invalid learning rate: {lr}; valid range of lr: (0, inf)")
        if not eps > 0.0:
            raise ValueError(f"SparseAdam: Invalid epsilon value: {eps}; valid range of eps: (0, inf)")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"SparseAdam: Invalid beta parameter at index {i}: {beta}; "
                                 f"valid range of betas[{i}]: [0, 1)")
        if not weight_decay >= 0.0:
            raise ValueError(f"SparseAdam: Invalid weight_decay value: {weight_decay}; "
                             "valid range of weight_decay: [0, inf)")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize,
                    "weight_decay": weight_decay}
        super().__init__(params, defaults)
        sparse, complex_ = [], []
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.is_sparse:
                    sparse.append([gi, pi])
                if p.is_complex():
                    complex_.append([gi, pi])
        if sparse:
            raise ValueError(
                f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors"
            )
        if complex_:
            raise ValueError(
                f"Complex params at indices {complex_}: SparseAdam does not support complex parameters"
            )

    @staticmethod
    def _hyperparameters(group: dict) -> dict:
        lr = group["lr"]
        return rules.get("adam").validate(
            lr=float(lr) if isinstance(lr, torch.Tensor) else lr,
            betas=tuple(group["betas"]),
            eps=group["eps"],
            maximize=group.get("maximize", False),
            weight_decay=group.get("weight_decay", 0.0),
            weight_decay_mode="decoupled",
            eps_mode="hat",
        )

    def internals(self, param: torch.Tensor) -> dict[str, torch.Tensor]:
        """Adam's internals for ``param`` (``m_hat``, ``v_hat``, ``effective_lr``, ``update``,
        ``eps_dominates``) with the ε-hat placement, as :meth:`RuleOptimizer.internals
        <adamkit.torch.RuleOptimizer.internals>` (a ValueError for a param without state)."""
        for group in self.param_groups:
            if any(q is param for q in group["params"]):
                state = self.state.get(param)
                if not state:
                    raise ValueError(f"SparseAdam.internals(): the parameter of shape "
                                     f"{tuple(param.shape)} has no optimizer state yet")
                hp = self._hyperparameters(group)
                read = rules.internals_of(rules.get("adam"), "SparseAdam")
                return decoded_internals(read, param, state, hp)
        raise ValueError(f"SparseAdam: the tensor of shape {tuple(param.shape)} is not a "
                         "parameter of this optimizer")

    def state_bytes(self, param: torch.Tensor | None = None) -> int:
        """Bytes of the moment tensors held for ``param`` (every param when None)."""
        states = self.state.values() if param is None else [self.state.get(param, {})]
        return sum(codecs.state_bytes(s) for s in states)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        rule = rules.get("adam")
        for group in self.param_groups:
            hp = self._hyperparameters(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                grad = p.grad
                if grad.is_sparse:
                    grad = grad.coalesce()  # the update is non-linear: indices must be unique
                    values = grad._values()
                    if values.numel() == 0:
                        continue  # torch counts the step but moves nothing
                    rows = tuple(grad._indices())
                else:
                    values, rows = grad, (...,)
                moments = {"exp_avg": state["exp_avg"][rows], "exp_avg_sq": state["exp_avg_sq"][rows]}
                new_param, new_moments = rule.update(p[rows], values, moments, state["step"], hp, torch)
                p[rows] = new_param
                state["exp_avg"][rows] = new_moments["exp_avg"]
                state["exp_avg_sq"][rows] = new_moments["exp_avg_sq"]
        return loss
