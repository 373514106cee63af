"""One training run's configuration: a flat dataclass that round-trips through JSON and checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from adamkit.train import recipes

# fields that belong to one optimizer: a recipe's are dropped when the optimizer changes
OPTIMIZER_FIELDS = ("betas", "eps", "weight_decay", "momentum", "amsgrad", "nesterov",
                    "eps_mode", "weight_decay_mode", "state_precision")


@dataclass
class TrainConfig:
    """Everything that determines a run's numbers (plus where it writes and how it talks).

    ``threads`` is ``torch.set_num_threads``'s count; None (the default) keeps torch's own
    count (the machine's cores, or ``OMP_NUM_THREADS``). The count a run used is recorded in
    ``summary.json`` and in every checkpoint, and a resume uses it again: CPU kernels may sum in a
    different order with a different count, and resumes are bitwise. On a machine shared with
    other jobs, ``threads=1`` can be much faster than threads that wait on each other.

    ``flush_denormal`` sets ``torch.set_flush_denormal``: subnormal floats (below ~1.2e-38), which
    appear once a model fits its batches almost perfectly (softmax tails, tiny gradients), are
    flushed to zero. Without it a CNN step slowed about 15-fold once the loss fell below 1e-3
    (benchmarks/results/design_measurements.md#flush-denormal); the values flushed are far below anything
    that moves a weight.
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
    threads: int | None = None  # None: torch's default count
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


def resolve(recipe: str | None, given: dict) -> TrainConfig:
    """A recipe's defaults overridden by the fields in ``given`` (what the user set).

    ``recipe`` None means the given data set's fast recipe (digits when none is given). A data set
    given without a model gets its own fast recipe's model; an optimizer that differs from the
    recipe's drops the recipe's options it does not take (SGD has no betas).
    """
    from adamkit.train import optim_factory

    base = recipes.get(recipe or recipes.default_for(given.get("dataset", recipes.DEFAULT_RECIPE)))
    if "dataset" in given and "model" not in given and given["dataset"] != base["dataset"]:
        base["model"] = recipes.RECIPES[recipes.default_for(given["dataset"])]["model"]
    final_optimizer = given.get("optimizer", base.get("optimizer", "adam"))
    if final_optimizer != base.get("optimizer"):
        accepted = optim_factory.accepted_options(final_optimizer)
        for key in OPTIMIZER_FIELDS:
            if key in base and key not in accepted:
                del base[key]
    return TrainConfig.from_dict({**base, **given})
