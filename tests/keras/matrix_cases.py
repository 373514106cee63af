"""adamkit.keras's Adafactor and Muon beside keras.optimizers' on the same variables and gradients.

Run as a module (``python -m tests.keras.matrix_cases Muon``) it prints, as JSON, the largest
differences of every case on the backend KERAS_BACKEND names: tests/keras/test_adafactor.py and
test_muon.py run it on the JAX backend in a subprocess (the backend is fixed at import), each
update through ``stateless_apply`` under ``jax.jit`` there.
"""

from __future__ import annotations

import json
import os

import numpy as np

STEPS = 20
# (optimizer, kwargs) for both libraries
CASES = [
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.5, "weight_decay": 0.1, "clip_threshold": 2.0}),
    ("Adafactor", {"beta_2_decay": -0.5, "epsilon_1": 1e-3, "epsilon_2": 1e-2, "relative_step": False}),
    ("Muon", {"learning_rate": 0.01}),
    ("Muon", {"learning_rate": 0.02, "nesterov": False, "weight_decay": 0.1, "adam_weight_decay": 0.05,
              "adam_lr_ratio": 0.5, "rms_rate": None}),
    ("Muon", {"learning_rate": 0.01, "muon_a": 2.0, "muon_b": -1.5, "muon_c": 0.5, "ns_steps": 8,
              "exclude_layers": ["head"], "exclude_embeddings": False, "epsilon": 1e-4}),
]
NAMES = ["dense_kernel", "bias", "embedding_table", "head_kernel", "conv_kernel"]
SHAPES = [(4, 3), (3,), (5, 2), (3, 2), (2, 3, 4)]


def case_id(case) -> str:
    return f"{case[0]}-{case[1]}"


def _start(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(dtype):
    rng = np.random.default_rng(1)
    return [[(10.0 ** rng.uniform(-1, 1)) * rng.standard_normal(s).astype(dtype) for s in SHAPES]
            for _ in range(STEPS)]


def run(optimizer, dtype="float32", jit=False):
    """The variables after STEPS updates (eagerly, or under jax.jit through stateless_apply)."""
    import keras

    variables = [keras.Variable(v, name=n) for v, n in zip(_start(dtype), NAMES, strict=True)]
    grads = [[keras.ops.convert_to_tensor(g) for g in step] for step in _grads(dtype)]
    if not jit:
        for step in grads:
            optimizer.apply(step, variables)
        return [keras.ops.convert_to_numpy(v.value) for v in variables]
    import jax

    optimizer.build(variables)
    values = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    apply = jax.jit(optimizer.stateless_apply)
    for step in grads:
        values, state = apply(state, step, values)
    return [np.asarray(v) for v in values]


def differences(case, jit=False) -> dict:
    """Largest difference to Keras's, as a fraction of how far Keras's variable moved."""
    import keras

    import adamkit.keras as akk

    name, kwargs = case
    ours = run(getattr(akk, name)(**kwargs), jit=jit)
    theirs = run(getattr(keras.optimizers, name)(**kwargs), jit=jit)
    start = _start("float32")
    return {"moved": min(float(np.max(np.abs(t - s))) for t, s in zip(theirs, start, strict=True)),
            "difference": max(float(np.max(np.abs(o - t)) / np.max(np.abs(t - s)))
                              for o, t, s in zip(ours, theirs, start, strict=True))}


if __name__ == "__main__":
    import sys

    import keras

    wanted = [c for c in CASES if c[0] in sys.argv[1:]]  # the optimizers named on the command line
    print(json.dumps({"backend": keras.backend.backend(), "env": os.environ.get("KERAS_BACKEND"),
                      "differences": {case_id(c): differences(c, jit=True) for c in wanted}}))
