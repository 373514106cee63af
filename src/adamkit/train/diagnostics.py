r"""Inside Adam (``--diagnostics``): what each layer's step really is, over training.

Every ``every`` optimizer steps, per parameter tensor ("layer"):

- **effective step** ``|lr * m_hat / (sqrt(v_hat) + eps)|`` per coordinate, and the **effective
  learning rate** ``lr / (sqrt(v_hat) + eps)``, both from ``optimizer.internals(param)``: the
  optimizer's own state, decoded from whatever ``state_precision`` stores (fp32, bf16, 8-bit
  codes), read through ``adamkit.rules.adam_internals``, the same code that defines the update,
  with the group's current hyperparameters; summarized as the 5/25/50/75/95th percentiles over the
  layer's coordinates (a fixed random sample of at most ``max_coords`` = 4096 of them, which
  puts each percentile within about ±1.5 percentile points);
- **update ratio** ``RMS(p_after - p_before) / RMS(p_before)``: the step actually taken, measured
  on the weights (so weight decay, clipping and schedules are included); any optimizer;
- **eps share**: the fraction of coordinates whose ε is more than half the denominator, where
  Adam has stopped adapting and behaves like momentum SGD with step ``lr/eps``.

This is what the seeds' "Adam's adaptive learning rates" slide meant to plot: Keras's callback
reads ``optimizer.learning_rate``, the constant α, which is the same for every coordinate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_Q = np.array(QUANTILES)


def _quantiles(values: torch.Tensor) -> list[float]:
    """``QUANTILES`` of ``values``, interpolating linearly between order statistics (NumPy's
    default method), with one sort and no per-call set-up (np.quantile's dominated the cost)."""
    v = np.sort(values.detach().reshape(-1).double().numpy())
    pos = _Q * (v.size - 1)
    lo = pos.astype(np.int64)
    hi = np.minimum(lo + 1, v.size - 1)
    return (v[lo] + (v[hi] - v[lo]) * (pos - lo)).tolist()


def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt()) if t.numel() else 0.0


class Diagnostics:
    """Samples the optimizer's internals every ``every`` steps; picklable state for checkpoints."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, optimizer_name: str,
                 every: int, max_coords: int = 4096):
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.optimizer, self.every = optimizer, max(1, int(every))
        # Adam's internals come from the optimizer's public internals(param) (adamkit's Adam,
        # AdamW and SparseAdam have it); other optimizers get the update ratio only.
        self.adam_like = (optimizer_name in ("adam", "adamw", "sparse_adam")
                          and callable(getattr(optimizer, "internals", None)))
        gen = torch.Generator().manual_seed(0)  # its own RNG: sampling must not change training
        self.sample = {
            n: (torch.randperm(p.numel(), generator=gen)[:max_coords] if p.numel() > max_coords
                else None)
            for n, p in self.params
        }
        self.records: list[dict] = []
        self._before: dict[str, torch.Tensor] | None = None

    def wants(self, step: int) -> bool:
        return step == 1 or step % self.every == 0

    def before(self) -> None:
        self._before = {n: p.detach().clone() for n, p in self.params}

    def _pick(self, name: str, t: torch.Tensor) -> torch.Tensor:
        flat = t.reshape(-1)
        idx = self.sample[name]
        return flat if idx is None else flat[idx]

    def after(self, step: int) -> None:
        before, self._before = self._before, None
        if before is None:
            raise RuntimeError("Diagnostics.after() without before()")
        layers = {}
        internals = getattr(self.optimizer, "internals", None)
        for name, p in self.params:
            entry: dict[str, Any] = {"update_ratio": None}
            old = before[name]
            ref = _rms(old)
            if ref > 0:
                entry["update_ratio"] = _rms(p.detach() - old) / ref
            if self.adam_like and internals is not None and self.optimizer.state.get(p):
                inner = internals(p)
                entry["effective_step"] = _quantiles(self._pick(name, inner["update"]).abs())
                entry["effective_lr"] = _quantiles(self._pick(name, inner["effective_lr"]))
                entry["eps_share"] = float(inner["eps_dominates"].double().mean())
            layers[name] = entry
        self.records.append({"step": step, "layers": layers})

    # -- persistence --------------------------------------------------------------------------
    def state(self) -> dict:
        return {"records": self.records}

    def load_state(self, state: dict) -> None:
        self.records = list(state["records"])

    def to_json(self) -> dict:
        return {
            "quantiles": list(QUANTILES),
            "every": self.every,
            "layers": [n for n, _ in self.params],
            "shapes": {n: list(p.shape) for n, p in self.params},
            "adam_internals": self.adam_like,
            "records": self.records,
        }
