"""Keras's ScheduleFreeAdamW against the NumPy rule, on the backend KERAS_BACKEND names (run as
``python -m tests.rules.schedule_free_keras_cases`` by test_schedule_free.py, one process per
backend: Keras fixes its backend at import). Prints one JSON line: the largest absolute
differences of y (the variable), z (Keras's ``momentum``) and v (``velocity``) per case.

float64 variables (JAX_ENABLE_X64=1 on jax). Keras keeps the learning rate in a float32 variable
and, on the torch backend, computes the warmup factor t/W in float32, so the cases use a
learning rate and warmup lengths exact in float32 (2^-6, 4): the comparison stays at float64's
rounding.
"""

import json
import os

import keras
import numpy as np

from adamkit.rules.schedule_free import SCHEDULE_FREE_ADAMW as RULE

STEPS = 30

# (Keras's arguments, the rule's settings): Keras averages with weight 1/t (weight_lr_power=0) and
# decays the variable y before the step (weight_decay_on="y").
CASES = {
    "other defaults": ({"learning_rate": 2**-8}, {"lr": 2**-8}),
    "lr,betas,eps": ({"learning_rate": 2**-6, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3},
                     {"lr": 2**-6, "betas": (0.8, 0.99), "eps": 1e-3}),
    "warmup": ({"learning_rate": 2**-6, "warmup_steps": 4}, {"lr": 2**-6, "warmup_steps": 4}),
    "weight_decay,warmup": ({"learning_rate": 2**-6, "warmup_steps": 4, "weight_decay": 0.1},
                            {"lr": 2**-6, "warmup_steps": 4, "weight_decay": 0.1,
                             "weight_decay_on": "y"}),
}


def differences(keras_kwargs, rule_settings):
    rng = np.random.default_rng(7)
    shapes = [(4, 3), (5,)]
    x0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(STEPS)]
    variables = [keras.Variable(x, dtype="float64") for x in x0]
    opt = keras.optimizers.ScheduleFreeAdamW(**keras_kwargs)
    hp = RULE.validate({"lr": 0.0025, "weight_lr_power": 0.0, **rule_settings})
    ys = [x.copy() for x in x0]
    states = [RULE.init(y, hp, np) for y in ys]
    worst = {"y": 0.0, "z": 0.0, "v": 0.0}
    for t, gs in enumerate(grads, 1):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), v)
                             for g, v in zip(gs, variables)])
        for i, g in enumerate(gs):
            ys[i], states[i] = RULE.update(ys[i], g, states[i], t, hp, np)
            index = opt._get_variable_index(variables[i])
            for key, theirs, ours in (("y", variables[i], ys[i]),
                                      ("z", opt._momentums[index], states[i]["z"]),
                                      ("v", opt._velocities[index], states[i]["exp_avg_sq"])):
                assert keras.backend.standardize_dtype(theirs.dtype) == "float64"
                diff = np.max(np.abs(np.asarray(keras.ops.convert_to_numpy(theirs)) - ours))
                worst[key] = max(worst[key], float(diff))
    return worst


def main():
    out = {name: differences(*case) for name, case in CASES.items()}
    print(json.dumps({"backend": keras.backend.backend(), "pid": os.getpid(), "differences": out}))


if __name__ == "__main__":
    main()
