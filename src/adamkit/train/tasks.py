"""Loss and metrics per task (classification, segmentation, regression), batch and whole-set."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from adamkit.train.datasets import CLASSIFICATION, REGRESSION, SEGMENTATION


def loss(task: str, output: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    """Cross-entropy on logits; per-pixel binary cross-entropy on logits; mean squared error."""
    if task == CLASSIFICATION:
        return F.cross_entropy(output, target, reduction=reduction)
    if task == SEGMENTATION:
        return F.binary_cross_entropy_with_logits(output, target, reduction=reduction)
    return F.mse_loss(output, target, reduction=reduction)


def correct(task: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """Number of right predictions in a batch (pixels for segmentation); None for regression."""
    if task == CLASSIFICATION:
        return (output.argmax(1) == target).sum()
    if task == SEGMENTATION:
        return ((output > 0) == (target > 0.5)).sum()
    return None


def units_per_example(task: str, target: torch.Tensor) -> int:
    """How many loss terms one example contributes (pixels for segmentation, outputs else)."""
    if task == CLASSIFICATION:
        return 1
    return int(target[0].numel())


@torch.no_grad()
def evaluate(model, task: str, x: torch.Tensor, y: torch.Tensor, batch_size: int,
             device: torch.device | None = None) -> dict:
    """Mean loss and accuracy on (x, y) in eval mode; regression adds R², segmentation IoU.
    ``device``: where the model is (batches go there; the sums stay on the CPU)."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64)
    right = torch.zeros((), dtype=torch.int64)
    inter = torch.zeros((), dtype=torch.float64)
    union = torch.zeros((), dtype=torch.float64)
    sse = torch.zeros((), dtype=torch.float64)
    for i in range(0, len(x), batch_size):
        out, tgt = model(x[i : i + batch_size].to(device or x.device)).cpu(), y[i : i + batch_size]
        loss_sum += loss(task, out, tgt, reduction="sum").double()
        hits = correct(task, out, tgt)
        if hits is not None:
            right += hits
        if task == SEGMENTATION:
            pred, truth = out > 0, tgt > 0.5
            inter += (pred & truth).sum()
            union += (pred | truth).sum()
        if task == REGRESSION:
            sse += ((out - tgt).double() ** 2).sum()
    model.train(was_training)
    units = len(x) * units_per_example(task, y)
    result = {"loss": float(loss_sum) / units, "accuracy": None}
    if task != REGRESSION:
        result["accuracy"] = int(right) / units
    if task == SEGMENTATION:
        result["iou"] = float(inter / union) if union > 0 else 1.0
    if task == REGRESSION:
        sst = float(((y.double() - y.double().mean()) ** 2).sum())
        result["r2"] = 1.0 - float(sse) / sst if sst > 0 else None
    return result
