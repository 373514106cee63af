"""One training run's configuration: a flat dataclass that round-trips through JSON and checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Everything that determines a run's numbers (plus where it writes and how it talks).

    ``threads`` is part of it because CPU kernels may sum in a different order with a different
    thread count: bitwise-equal resumes need the same count, so it is stored and restored. It
    defaults to 1: on a 2-core machine shared with other jobs, two OpenMP threads that wait on
    each other ran the digits recipe 10-25x and an MNIST epoch 6x slower (measured); on an idle
    machine ``--threads 2`` can be faster for the convolutional models.

    ``flush_denormal`` sets ``torch.set_flush_denormal``: subnormal floats (below ~1.2e-38), which
    appear once a model fits its batches almost perfectly (softmax tails, tiny gradients), are
    flushed to zero. Without it, a CNN step on 28x28 inputs slowed from 11 to 169 ms (measured)
    once the loss fell below 1e-3; the values flushed are far below anything that moves a weight.
    """

    recipe: str = "digits"
    dataset: str = "digits"
    model: str = "digits-cnn"
    optimizer: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] | None = None
    eps: float | None = None
    weight_decay: float | None = None
    momentum: float | None = None
    amsgrad: bool | None = None
    nesterov: bool | None = None
    eps_mode: str | None = None
    weight_decay_mode: str | None = None
    state_precision: str | None = None  # adamkit's fp32 (default) | bf16 | 8bit moments
    clip_global_norm: float | None = None
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    epochs: int = 10
    batch_size: int = 32
    eval_batch_size: int = 1000
    seed: int = 0
    threads: int = 1
    flush_denormal: bool = True
    data_dir: str = "data"
    dataset_options: dict = dataclasses.field(default_factory=dict)
    diagnostics: bool = False
    diagnostics_every: int = 0  # 0: about 50 samples over the run, at most every 20 steps

    def optimizer_options(self) -> dict:
        from adamkit.train.optim_factory import OPTION_FLAGS

        return {k: getattr(self, k) for k in OPTION_FLAGS}

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["betas"] is not None:
            d["betas"] = list(d["betas"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if d.get("betas") is not None:
            d["betas"] = tuple(d["betas"])
        return cls(**d)
