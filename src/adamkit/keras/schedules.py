"""adamkit's schedules (``step -> factor``, :mod:`adamkit.schedules`) as Keras learning rates.

``AdamkitSchedule(0.01, Cosine(1000))`` is a ``keras.optimizers.schedules.LearningRateSchedule``
giving ``0.01 · Cosine(1000)(step)``. adamkit's schedules are plain Python on an integer step, so
the step is read as an int (torch backend), or, under ``jax.jit``, the factor is computed on the
host by ``jax.pure_callback``: one definition of each schedule, on every backend.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
from keras import ops

from adamkit import schedules


def to_numpy(value: Any) -> np.ndarray:
    """A tensor or a Keras variable as a NumPy array (torch tensors directly: Keras's converter
    warns under NumPy 2 with this torch)."""
    value = value.value if isinstance(value, keras.Variable) else value
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(ops.convert_to_numpy(value))


def _schedule_config(schedule: Any) -> dict[str, Any]:
    """A frozen-dataclass schedule as plain data (Warmup's ``then`` nested)."""
    fields = {f.name: getattr(schedule, f.name) for f in dataclasses.fields(schedule)}
    if "then" in fields:
        fields["then"] = _schedule_config(fields["then"])
    return {"class_name": type(schedule).__name__, "config": fields}


def _schedule_from_config(data: dict[str, Any]) -> Any:
    fields = dict(data["config"])
    if "then" in fields:
        fields["then"] = _schedule_from_config(fields["then"])
    return getattr(schedules, data["class_name"])(**fields)


@keras.saving.register_keras_serializable(package="adamkit")
class AdamkitSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``initial_learning_rate · schedule(step)`` for an :mod:`adamkit.schedules` schedule."""

    def __init__(self, initial_learning_rate: float, schedule: Any) -> None:
        if isinstance(schedule, dict):  # from get_config
            schedule = _schedule_from_config(schedule)
        self.initial_learning_rate = float(initial_learning_rate)
        self.schedule = schedule

    def factor(self, step: int) -> float:
        return float(self.schedule(step))

    def __call__(self, step: Any) -> Any:
        if keras.backend.backend() == "jax":
            import jax

            raw = step.value if isinstance(step, keras.Variable) else step
            if isinstance(raw, jax.core.Tracer):
                factor = jax.pure_callback(
                    lambda s: np.float32(self.factor(int(s))),
                    jax.ShapeDtypeStruct((), np.float32), raw)
                return self.initial_learning_rate * factor
        return self.initial_learning_rate * self.factor(int(to_numpy(step)))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "schedule": _schedule_config(self.schedule)}


def initial_learning_rate(learning_rate: Any) -> float:
    """The learning rate at step 0: the number itself, or the schedule's first value."""
    if isinstance(learning_rate, int | float):
        return float(learning_rate)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(to_numpy(learning_rate(0)))
    return float(to_numpy(learning_rate()))  # a callable without arguments
