"""adamkit.keras.Rprop and ASGD (Keras has neither: Keras's learning_rate, the vocabulary's other
names): 100 steps equal to the NumPy float64 rule (itself torch.optim's, tests/rules) on the torch
backend and on the JAX backend under ``jax.jit`` (a subprocess), their configs round trip.

With the learning rate and decay exact in float32 (Keras keeps them so) the runs are the same
operations in float64: largest relative difference seen 0 on torch, 3.4e-16 on JAX (``TOLERANCE`` 1e-13).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.keras.rule_reference import CASES, case_id, difference

import adamkit.keras as akk

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-13


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_equals_the_rule_over_100_steps(case):
    assert difference(case) < TOLERANCE


def test_the_jax_backend_under_jit_equals_the_rule():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "tests.keras.rule_reference"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    assert set(out["differences"]) == {case_id(c) for c in CASES}
    assert max(out["differences"].values()) < TOLERANCE, out


@pytest.mark.parametrize("cls,kwargs", [(akk.Rprop, {"etas": (0.3, 1.5), "step_sizes": (1e-4, 2.0)}),
                                        (akk.ASGD, {"lambd": 0.01, "eta_power": 0.6, "t0": 5.0})])
def test_config_round_trips(cls, kwargs):
    opt = cls(learning_rate=0.05, **kwargs)
    again = cls.from_config(opt.get_config())
    assert again.keras_arguments == opt.keras_arguments
    assert float(again.learning_rate) == pytest.approx(0.05)
