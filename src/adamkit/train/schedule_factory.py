"""``--schedule`` for the trainer: ``adamkit.schedules`` with the run's lengths filled in.

The trainer steps the schedule once per optimizer step. Schedules that are naturally per epoch
(``step``, ``exponential``, ``seed-exp-decay``: torch's StepLR/ExponentialLR and the seeds' Keras
callback count epochs) see the epoch number instead: ``factor(step // steps_per_epoch)``.
``cosine`` and ``onecycle`` given without arguments span the whole run; ``--warmup-epochs W``
prepends a linear warm-up of W epochs. Any spec ``adamkit.schedules.parse`` reads is accepted,
e.g. ``step:10,0.5`` (x0.5 every 10 epochs) or ``cosine:total_steps=500``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch.optim.lr_scheduler import LambdaLR

from adamkit import schedules
from adamkit.errors import UsageError, choice

PER_EPOCH = ("step", "exponential", "seed-exp-decay")
WHOLE_RUN = ("cosine", "onecycle")


@dataclass(frozen=True)
class PerEpoch:
    """A per-epoch schedule driven by optimizer steps: ``factor = inner(step // steps_per_epoch)``."""

    inner: Any
    steps_per_epoch: int

    def __call__(self, step: int) -> float:
        return self.inner(step // self.steps_per_epoch)


def make(spec: str, steps_per_epoch: int, total_steps: int, warmup_epochs: float = 0.0):
    """The ``step -> factor`` function for ``spec``, or None for a constant learning rate."""
    name, _, args = spec.partition(":")
    if name not in schedules.SCHEDULES or "+" in spec and name != "warmup":
        raise choice("schedule", spec, schedules.SCHEDULES)
    if not (math.isfinite(warmup_epochs) and warmup_epochs >= 0):  # NaN fails both
        raise UsageError(f"--warmup-epochs must be a finite number >= 0, got {warmup_epochs}")
    warm = round(warmup_epochs * steps_per_epoch)
    if warm >= total_steps:
        raise UsageError(f"--warmup-epochs {warmup_epochs} covers the whole run; "
                         f"valid: less than --epochs")
    if name in WHOLE_RUN and not args:
        schedule = schedules.SCHEDULES[name](total_steps=total_steps - warm)
    elif name == "warmup" and not args:
        raise UsageError("schedule warmup needs a length; use --warmup-epochs W, or warmup:STEPS")
    else:
        schedule = schedules.parse(spec)
    if name in PER_EPOCH:
        schedule = PerEpoch(schedule, steps_per_epoch)
    if warm:
        schedule = schedules.Warmup(warm, schedule)
    if name == "constant" and not warm:
        return None
    return schedule


class PlainStateLambdaLR(LambdaLR):
    """torch's LambdaLR whose state_dict leaves out the schedule (rebuilt from the config on
    resume), so a checkpoint holds only plain values and loads with ``weights_only=True``."""

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.pop("lr_lambdas", None)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict({**state_dict, "lr_lambdas": [None] * len(self.lr_lambdas)})


def build(spec: str, optimizer, steps_per_epoch: int, total_steps: int, warmup_epochs: float = 0.0):
    """A torch LR scheduler for ``spec`` (stepped once per optimizer step), or None."""
    schedule = make(spec, steps_per_epoch, total_steps, warmup_epochs)
    if schedule is None:
        return None
    return PlainStateLambdaLR(optimizer, lr_lambda=schedule)
