"""adamkit.keras.ScheduleFreeAdamW against keras.optimizers.ScheduleFreeAdamW on the backend
KERAS_BACKEND names (``python -m tests.keras.schedule_free_cases`` prints one JSON line of the
largest relative differences per case; test_keras_schedule_free.py runs it on JAX, where each update goes
through ``stateless_apply`` under ``jax.jit``). float64 variables; the learning rates and warmup
lengths are exact in float32, where Keras keeps the learning rate.
"""

import json
import sys

import keras
from tests.keras.keras_parity_cases import _relative, _start, run

import adamkit.keras as akk

CASES = {
    "defaults": {},
    "lr,betas,eps": {"learning_rate": 2**-6, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3},
    "warmup,weight_decay": {"learning_rate": 2**-6, "warmup_steps": 4, "weight_decay": 0.1},
}


def differences(arguments: dict) -> float:
    ours = run(akk.ScheduleFreeAdamW(**arguments), dtype="float64")
    theirs = run(keras.optimizers.ScheduleFreeAdamW(**arguments), dtype="float64")
    moved = max(float(abs(e - s).max()) for e, s in zip(theirs, _start("float64")))
    assert moved > 1e-3, f"{arguments} barely moved ({moved})"
    return _relative(ours, theirs)


if __name__ == "__main__":
    print(json.dumps({"backend": keras.backend.backend(),
                      "differences": {name: differences(a) for name, a in CASES.items()}}))
    sys.exit(0)
