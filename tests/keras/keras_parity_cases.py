"""One table of (class, arguments) run through adamkit.keras and keras.optimizers on one backend.

Imported by the torch-backend tests in-process, and run as a script under the JAX backend by
test_keras_jax_backend.py (the backend is fixed when keras is imported). Under JAX the steps run
through ``stateless_apply`` inside ``jax.jit``, as Keras's JAX trainer does, so the rules see a
traced step and traced learning rate.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from keras import ops  # noqa: E402

import adamkit.keras as akk  # noqa: E402
from adamkit.keras.schedules import to_numpy  # noqa: E402

STEPS = 100


def _cosine_decay():
    return keras.optimizers.schedules.CosineDecay(0.01, 50)


# (class name, arguments for both, adamkit-only arguments)
CASES = [
    ("Adam", {"learning_rate": 0.01}, {}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True, "beta_2": 0.99}, {}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.1}, {}),
    ("Adam", {"learning_rate": 0.01, "clipnorm": 0.3}, {}),
    ("Adam", {"learning_rate": 0.01, "clipvalue": 0.05}, {}),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.3}, {}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9,
              "ema_overwrite_frequency": 7}, {}),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}, {}),
    ("Adam", {"learning_rate": 0.01, "loss_scale_factor": 8.0}, {}),
    ("Adam", {"learning_rate": "cosine"}, {}),
    ("AdamW", {"learning_rate": 0.01}, {}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05, "amsgrad": True}, {}),
    ("Nadam", {"learning_rate": 0.01}, {}),
    ("SGD", {"learning_rate": 0.05}, {}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}, {}),
    # ε where Keras puts it by default (eps_mode "root", "root", "hat"); ε large enough to matter
    ("RMSprop", {"learning_rate": 0.01}, {}),
    ("RMSprop", {"learning_rate": 0.01, "epsilon": 1e-2}, {}),
    ("RMSprop", {"learning_rate": 0.01, "epsilon": 1e-2, "centered": True, "momentum": 0.5}, {}),
    ("Adagrad", {"learning_rate": 0.05}, {}),
    ("Adagrad", {"learning_rate": 0.05, "epsilon": 1e-2}, {}),
    ("Adamax", {"learning_rate": 0.01}, {}),
    ("Adamax", {"learning_rate": 0.01, "epsilon": 0.1}, {}),
    # torch's placement is a keyword away: with ε = 0 the two agree
    ("RMSprop", {"learning_rate": 0.01, "epsilon": 0.0}, {"eps_mode": "paper"}),
    ("Adagrad", {"learning_rate": 0.05, "epsilon": 0.0}, {"eps_mode": "paper"}),
    ("Adamax", {"learning_rate": 0.01, "epsilon": 0.0}, {"eps_mode": "paper"}),
]


def case_id(case) -> str:
    name, shared, ours = case
    return f"{name}({', '.join(f'{k}={v}' for k, v in {**shared, **ours}.items())})"


def _start(dtype="float32"):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=(4,)).astype(dtype)]


def _grads(values, scale):
    # Depends on the current values, not quadratic: the moments see gradients of every scale.
    return [scale * (ops.sin(3 * v) + (v - 0.5)) for v in values]


def run(optimizer, steps: int = STEPS, dtype: str = "float32") -> list[np.ndarray]:
    """``steps`` updates of two variables; the final values (EMA averages folded in)."""
    variables = [keras.Variable(v, dtype=dtype) for v in _start(dtype)]
    scale = optimizer.loss_scale_factor or 1.0  # gradients arrive scaled, as from a scaled loss
    optimizer.build(variables)
    if keras.backend.backend() == "jax":
        import jax

        @jax.jit
        def step(optimizer_values, values):
            return optimizer.stateless_apply(optimizer_values, _grads(values, scale), values)

        values = [v.value for v in variables]
        optimizer_values = [v.value for v in optimizer.variables]
        for _ in range(steps):
            values, optimizer_values = step(optimizer_values, values)
        for variable, value in zip(variables, values):
            variable.assign(value)
        for variable, value in zip(optimizer.variables, optimizer_values):
            variable.assign(value)
    else:
        for _ in range(steps):
            optimizer.apply(_grads([v.value for v in variables], scale), variables)
    optimizer.finalize_variable_values(variables)
    return [to_numpy(v) for v in variables]


def make(module, name, arguments):
    arguments = dict(arguments)
    if arguments.get("learning_rate") == "cosine":
        arguments["learning_rate"] = _cosine_decay()
    return getattr(module, name)(**arguments)


def _relative(actual, expected) -> float:
    return max(float(np.max(np.abs(a - e) / (np.abs(e) + 1e-3))) for a, e in zip(actual, expected))


def differences(case) -> dict[str, float]:
    """How far adamkit.keras is from keras.optimizers on ``case``, in float64 and float32, beside
    Keras's own float32 error (its float32 run against its float64 run).

    Keras computes β^t and the decay factor in float32; the rules compute them in float64. So in
    float32 the two differ by about Keras's own rounding error, while in float64 they agree to
    the last digits when the math is the same.
    """
    name, shared, ours = case
    runs = {}
    for dtype in ("float32", "float64"):
        runs[dtype] = (run(make(akk, name, {**shared, **ours}), dtype=dtype),
                       run(make(keras.optimizers, name, shared), dtype=dtype))
    moved = max(float(np.max(np.abs(e - s))) for e, s in zip(runs["float32"][1], _start()))
    assert moved > 1e-3, f"{case_id(case)} barely moved ({moved})"
    return {"float64": _relative(*runs["float64"]), "float32": _relative(*runs["float32"]),
            "keras_float32_error": _relative(runs["float32"][1], runs["float64"][1])}


if __name__ == "__main__":  # used by the JAX-backend test: one JSON line of differences
    print(json.dumps({"backend": keras.backend.backend(),
                      "differences": {case_id(c): differences(c) for c in CASES}}))
    sys.exit(0)
