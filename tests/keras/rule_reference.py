"""The NumPy float64 rule on keras_parity_cases' problem: the reference for the Keras classes whose
peer Keras lacks (Rprop, ASGD), on either backend.

Run as a script (``python -m tests.keras.rule_reference``) under another backend, it prints one
JSON line: the backend and, per case, the largest relative difference of adamkit.keras's float64
run (under ``jax.jit`` on the JAX backend) from the reference.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from keras import ops  # noqa: E402
from tests.keras.keras_parity_cases import STEPS, _grads, _start, run  # noqa: E402

import adamkit.keras as akk  # noqa: E402
from adamkit.keras.schedules import to_numpy  # noqa: E402
from adamkit.rules import registry  # noqa: E402

# (Keras class, its arguments, the rule's hyperparameters): lr and decay exact in float32, as
# Keras keeps learning_rate in a float32 variable and decays by 1 - wd·lr in float32.
CASES = [
    ("Rprop", {"learning_rate": 0.0625}, {"lr": 0.0625}),
    ("Rprop", {"learning_rate": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.25)},
     {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.25)}),
    ("ASGD", {"learning_rate": 0.0625, "t0": 20, "lambd": 0.125, "eta_power": 0.5},
     {"lr": 0.0625, "t0": 20, "lambd": 0.125, "eta_power": 0.5}),
    ("ASGD", {"learning_rate": 0.0625, "t0": 0, "weight_decay": 0.0625},
     {"lr": 0.0625, "t0": 0, "weight_decay": 0.0625, "weight_decay_mode": "decoupled"}),
]


def case_id(case) -> str:
    return f"{case[0]}({', '.join(f'{k}={v}' for k, v in case[1].items())})"


def reference(name: str, hp: dict, steps: int = STEPS) -> list[np.ndarray]:
    """The rule in NumPy float64 on the same gradients: keras_parity_cases._grads (scale 1) of the
    current values, through the backend's ops as the Keras run computes them (the JAX backend's
    ``ops.sin`` rounds to float32)."""
    rule = registry.by_api("keras", name).rule
    hp = rule.validate(hp)
    values = [v.astype(np.float64) for v in _start("float64")]
    states = [rule.init(v, hp, np) for v in values]
    for t in range(1, steps + 1):
        grads = _grads([ops.convert_to_tensor(v, dtype="float64") for v in values], 1.0)
        for i, (v, g) in enumerate(zip(values, grads, strict=True)):
            grad = np.asarray(to_numpy(g), np.float64)
            values[i], states[i] = rule.update(v, grad, states[i], t, hp, np)
    return values


def difference(case) -> float:
    name, theirs, ours = case
    actual = run(getattr(akk, name)(**theirs), dtype="float64")
    expected = reference(name, ours)
    moved = max(float(np.max(np.abs(e - s))) for e, s in zip(expected, _start("float64")))
    assert moved > 1e-3, f"{case_id(case)} barely moved ({moved})"
    return max(float(np.max(np.abs(a - e) / (np.abs(e) + 1e-3))) for a, e in zip(actual, expected))


if __name__ == "__main__":
    print(json.dumps({"backend": keras.backend.backend(),
                      "differences": {case_id(c): difference(c) for c in CASES}}))
    sys.exit(0)
