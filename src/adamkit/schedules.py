"""Learning-rate schedules as pure ``step -> factor`` functions.

A schedule multiplies the base learning rate: ``lr_t = lr * schedule(t)``. ``t`` counts from 0
and can be an optimizer step or an epoch, whichever the caller steps it with. Each schedule is a
small frozen dataclass (so it pickles inside a checkpoint and prints its parameters). Use one from
the NumPy front end (``adamkit.numpy.Adam(schedule=...)``) or with torch through
:func:`torch_scheduler`, and from the command line through :func:`parse`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Protocol

from adamkit.errors import UsageError, choice


class Schedule(Protocol):
    def __call__(self, step: int) -> float: ...


def _need(schedule: Any, field: str, ok: bool, valid: str) -> None:
    """A UsageError naming the schedule, the bad value and the valid ones unless ``ok``: checked
    when the schedule is built, so a bad spec fails before training, not at the step it breaks."""
    if not ok:
        name = next((k for k, c in SCHEDULES.items() if c is type(schedule)), type(schedule).__name__)
        raise UsageError(f"schedule {name}: {field}={getattr(schedule, field)!r} is out of range; "
                         f"valid: {valid}")


def _positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


@dataclass(frozen=True)
class Constant:
    """factor = 1."""

    def __call__(self, step: int) -> float:
        return 1.0


@dataclass(frozen=True)
class StepDecay:
    """factor = gamma ** (step // step_size), as torch's StepLR."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        _need(self, "step_size", self.step_size >= 1, ">= 1")
        _need(self, "gamma", _positive(self.gamma), "a finite number > 0")

    def __call__(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class Exponential:
    """factor = gamma ** step, as torch's ExponentialLR."""

    gamma: float

    def __post_init__(self):
        _need(self, "gamma", _positive(self.gamma), "a finite number > 0")

    def __call__(self, step: int) -> float:
        return self.gamma**step


@dataclass(frozen=True)
class Cosine:
    """Half a cosine from 1 to ``min_factor`` over ``total_steps``, then flat (SGDR without restarts)."""

    total_steps: int
    min_factor: float = 0.0

    def __post_init__(self):
        _need(self, "total_steps", self.total_steps >= 1, ">= 1")
        _need(self, "min_factor", math.isfinite(self.min_factor) and self.min_factor >= 0,
              "a finite number >= 0")

    def __call__(self, step: int) -> float:
        progress = min(step, self.total_steps) / self.total_steps
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class Warmup:
    """Linear warm-up from ``1/(warmup_steps+1)`` to 1 over ``warmup_steps``, then ``then``.

    ``then`` is called with the steps counted from the end of the warm-up.
    """

    warmup_steps: int
    then: Any = Constant()

    def __post_init__(self):
        _need(self, "warmup_steps", self.warmup_steps >= 0, ">= 0")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / (self.warmup_steps + 1)
        return self.then(step - self.warmup_steps)


@dataclass(frozen=True)
class OneCycle:
    """Smith's one-cycle policy (arXiv:1708.07120) as torch's OneCycleLR with cosine annealing.

    The factor is relative to the *peak* learning rate: it rises from ``1/div_factor`` to 1 over
    ``pct_start`` of the steps, then falls to ``1/(div_factor*final_div_factor)``.
    """

    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4

    def __post_init__(self):
        _need(self, "total_steps", self.total_steps >= 1, ">= 1")
        _need(self, "pct_start", 0 <= self.pct_start <= 1, "0 to 1")
        _need(self, "div_factor", _positive(self.div_factor), "a finite number > 0")
        _need(self, "final_div_factor", _positive(self.final_div_factor), "a finite number > 0")

    def __call__(self, step: int) -> float:
        start, peak = 1 / self.div_factor, 1.0
        end = start / self.final_div_factor
        up = float(self.pct_start * self.total_steps) - 1
        down = float(self.total_steps) - 1
        step = min(step, self.total_steps - 1)
        if step <= up:
            return _cosine_between(start, peak, step / up if up > 0 else 1.0)
        return _cosine_between(peak, end, (step - up) / (down - up))


def _cosine_between(a: float, b: float, fraction: float) -> float:
    return b + (a - b) / 2.0 * (math.cos(math.pi * fraction) + 1)


@dataclass(frozen=True)
class SeedExpDecay:
    """The source documents' Keras schedule: constant until ``start``, then ``exp(-rate)`` per step.

    Their ``lr_schedule(epoch, lr)`` returns ``lr * exp(-0.1)`` for every epoch >= 50 and Keras feeds
    back the previous lr, so the decay compounds: factor = exp(-rate * max(0, epoch - start + 1)).
    """

    start: int = 50
    rate: float = 0.1

    def __post_init__(self):
        _need(self, "start", self.start >= 0, ">= 0")
        _need(self, "rate", math.isfinite(self.rate) and self.rate >= 0, "a finite number >= 0")

    def __call__(self, step: int) -> float:
        return math.exp(-self.rate * max(0, step - self.start + 1))


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "cosine": Cosine,
    "warmup": Warmup,
    "onecycle": OneCycle,
    "seed-exp-decay": SeedExpDecay,
}


def parse(spec: str) -> Schedule:
    """A schedule from text, e.g. ``"cosine:total_steps=1000"``, ``"step:10,0.5"``,
    ``"warmup:100+cosine:900"`` (warm-up then another schedule), ``"seed-exp-decay"``.
    """
    if "+" in spec:
        head, tail = spec.split("+", 1)
        first = parse(head)
        if not isinstance(first, Warmup):
            raise UsageError(f"only a warmup can be followed by '+': {spec!r}")
        return Warmup(first.warmup_steps, parse(tail))
    name, _, arg_text = spec.partition(":")
    if name not in SCHEDULES:
        raise choice("schedule", name, SCHEDULES)
    cls = SCHEDULES[name]
    names = [f.name for f in fields(cls) if f.name != "then"]  # "then" comes after a '+'
    kwargs: dict[str, Any] = {}
    for i, item in enumerate(a for a in arg_text.split(",") if a):
        key, eq, value = item.partition("=")
        if not eq:
            if i >= len(names):
                raise UsageError(f"schedule {name} takes at most {len(names)} argument(s), "
                                 f"got {spec!r}; valid: {', '.join(names) or 'none'}")
            key, value = names[i], item
        if key not in names:
            raise UsageError(f"schedule {name}: unknown argument {key!r}; valid: {', '.join(names)}")
        is_count = key.endswith("steps") or key in ("step_size", "start")
        try:
            kwargs[key] = int(value) if is_count else float(value)
        except ValueError:
            whole = " (a whole number is needed)" if is_count else ""
            raise UsageError(f"schedule {name}: {key}={value!r} is not a number{whole}") from None
    try:
        return cls(**kwargs)
    except TypeError:
        required = [f.name for f in fields(cls) if f.default is f.default_factory]  # type: ignore[misc]
        raise UsageError(f"schedule {name} needs {', '.join(required)}, e.g. {name}:100") from None


def torch_scheduler(optimizer: Any, schedule: Schedule, last_epoch: int = -1) -> Any:
    """A ``torch.optim.lr_scheduler.LRScheduler`` that sets ``lr = initial_lr * schedule(t)``."""
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lr_lambda=schedule, last_epoch=last_epoch)
