"""adamkit.keras's Lion, Lamb, ADOPT and AdEMAMix on one backend: against keras.optimizers where
Keras has the optimizer (Lion, Lamb), and against the NumPy float64 rule for every one.

Imported by the torch-backend test in-process, and run as a script under the JAX backend by the same
test (the backend is fixed when keras is imported), where each step is ``stateless_apply`` under
``jax.jit`` (a traced step and learning rate), as in keras_parity_cases.
"""

from __future__ import annotations

import inspect
import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from tests.keras.keras_parity_cases import STEPS, _start, case_id, differences, make, run  # noqa: E402

import adamkit.keras as akk  # noqa: E402
from adamkit.rules.hyperparameters import ALIASES  # noqa: E402

LR = 2.0**-7  # exact in float32: Keras keeps the learning rate in a float32 variable

# (class, arguments for both, adamkit-only arguments): against keras.optimizers
PEER_CASES = [
    ("Lion", {"learning_rate": LR}, {}),
    ("Lion", {"learning_rate": LR, "beta_1": 0.8, "beta_2": 0.95, "weight_decay": 0.25}, {}),
    ("Lamb", {"learning_rate": LR}, {}),
    ("Lamb", {"learning_rate": LR, "beta_1": 0.8, "epsilon": 1e-3, "weight_decay": 0.25}, {}),
]

# (class, arguments): against the rule in NumPy float64
RULE_CASES = [
    ("Lion", {"learning_rate": LR, "weight_decay": 0.25}),
    ("Lamb", {"learning_rate": LR, "weight_decay": 0.25, "decay_in_trust_ratio": True}),
    ("ADOPT", {"learning_rate": LR}),
    ("ADOPT", {"learning_rate": LR, "nesterov": True, "use_clipping": False, "weight_decay": 0.25}),
    ("AdEMAMix", {"learning_rate": LR}),
    ("AdEMAMix", {"learning_rate": LR, "beta_3": 0.999, "mix_alpha": 8.0, "alpha_warmup": 20,
                  "beta3_warmup": 30, "weight_decay": 0.25}),
]


def rule_case_id(case) -> str:
    return case_id((*case, {}))


def _numpy_reference(name: str, arguments: dict) -> list[np.ndarray]:
    """The rule in float64 on the gradients keras_parity_cases computes, with the class's defaults
    and Keras's decoupled weight decay."""
    cls = getattr(akk, name)
    defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()
                if p.default is not inspect.Parameter.empty}
    rule = cls.rule
    hp = {k: v for k, v in {**defaults, **arguments}.items()
          if ALIASES.get(k, k) in rule.takes or k in rule.takes}
    hp = rule.validate({**hp, "weight_decay_mode": "decoupled",
                        "weight_decay": arguments.get("weight_decay", 0.0)})
    values = [v.astype(np.float64) for v in _start("float64")]
    states = [rule.init(v, hp, np) for v in values]
    for t in range(1, STEPS + 1):
        grads = [np.sin(3 * v) + (v - 0.5) for v in values]
        for i, g in enumerate(grads):
            values[i], states[i] = rule.update(values[i], g, states[i], t, hp, np)
    return values


def rule_difference(case) -> float:
    """Largest relative difference (to |value| + 1e-3) of adamkit.keras in float64 from the rule."""
    name, arguments = case
    actual = run(make(akk, name, arguments), dtype="float64")
    expected = _numpy_reference(name, arguments)
    return max(float(np.max(np.abs(a - e) / (np.abs(e) + 1e-3))) for a, e in zip(actual, expected))


if __name__ == "__main__":  # the JAX-backend run: one JSON line
    print(json.dumps({"backend": keras.backend.backend(),
                      "peers": {case_id(c): differences(c) for c in PEER_CASES},
                      "rules": {rule_case_id(c): rule_difference(c) for c in RULE_CASES}}))
    sys.exit(0)
