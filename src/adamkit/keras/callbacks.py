"""A Keras callback that records Adam's real per-layer step sizes during ``fit``.

The source documents' ``LearningRateTracker`` plots ``optimizer.learning_rate``, a constant: Adam's
step size is per coordinate, ``effective_lr = lr / denominator`` (``lr / (sqrt(v̂) + ε)`` in the
paper's placement). This callback reads it from the optimizer's state through
:func:`adamkit.rules.adam_internals` (the rule's own definition, in the optimizer's ``eps_mode``)
and keeps, per layer and per recorded step, the median and the 10th/90th percentiles over the
layer's coordinates, and the fraction of coordinates where ε dominates the denominator.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import keras
import numpy as np

from adamkit.keras.schedules import to_numpy


class EffectiveStepSizes(keras.callbacks.Callback):
    """Record per-layer effective step sizes every ``every`` batches (needs an adamkit.keras
    Adam-family optimizer: Adam, AdamW).

    After ``fit``: ``steps`` (optimizer steps recorded), and dicts keyed by the layer's ``path``
    (``"sequential/dense_1"``) of lists aligned with ``steps``: ``median``, ``p10``, ``p90``,
    ``eps_dominated`` (fraction of the layer's coordinates).
    """

    def __init__(self, every: int = 1) -> None:
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"EffectiveStepSizes: invalid every {every!r}; valid: an integer >= 1")
        self.every = every
        self.steps: list[int] = []
        self.median: dict[str, list[float]] = defaultdict(list)
        self.p10: dict[str, list[float]] = defaultdict(list)
        self.p90: dict[str, list[float]] = defaultdict(list)
        self.eps_dominated: dict[str, list[float]] = defaultdict(list)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "internals"):
            raise ValueError(f"EffectiveStepSizes needs an adamkit.keras optimizer, not "
                             f"{type(optimizer).__name__}")
        step = int(to_numpy(optimizer.iterations))
        if step == 0 or step % self.every:
            return
        self.steps.append(step)
        by_layer: dict[str, list] = defaultdict(list)
        for variable in self.model.trainable_variables:
            layer = variable.path.rsplit("/", 1)[0]
            by_layer[layer].append(optimizer.internals(variable))
        for layer, parts in by_layer.items():
            lr = np.concatenate([p["effective_lr"].ravel() for p in parts])
            dominated = np.concatenate([p["eps_dominates"].ravel() for p in parts])
            low, mid, high = np.percentile(lr, [10, 50, 90])
            self.median[layer].append(float(mid))
            self.p10[layer].append(float(low))
            self.p90[layer].append(float(high))
            self.eps_dominated[layer].append(float(dominated.mean()))
