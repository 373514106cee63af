"""adamkit.keras.Muon equals keras.optimizers.Muon (torch backend here, JAX under jit in a
subprocess): the Muon rule on matrices with Keras's reading fixed (buf = μ·buf + g, ||X|| + 1e-7,
the iteration in float32), AdamW (ε-hat) on the rest, routed as Keras routes them."""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest
from tests.keras.matrix_cases import CASES, case_id, differences

import adamkit.keras as akk

ROOT = Path(__file__).resolve().parents[2]
OURS = [c for c in CASES if c[0] == "Muon"]
# float32 both sides, the same iteration and Adam step in another op order; the five
# Newton-Schulz steps (coefficients up to 4.8) amplify float32 rounding: 1.4e-5 of how far a
# variable moved seen over 20 steps (torch and JAX backends). The sum against the EMA momentum,
# or another routing, moves it by 1e-2 or more.
TOLERANCE = 5e-5


def test_signature_is_keras_s():
    ours = list(inspect.signature(akk.Muon).parameters.values())
    theirs = [p for p in inspect.signature(keras.optimizers.Muon).parameters.values()
              if p.kind is not p.VAR_KEYWORD]
    named = {p.name: p.default for p in ours}
    for p in theirs:
        assert named.get(p.name, p.default) == p.default, p.name
    assert [p.name for p in ours[:len(theirs)]] == [p.name for p in theirs]


@pytest.mark.parametrize("case", OURS, ids=case_id)
def test_equals_keras_optimizer(case):
    found = differences(case)
    assert found["difference"] < TOLERANCE, found


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "tests.keras.matrix_cases", "Muon"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_equals_keras_on_jax_under_jit(jax_results):
    assert jax_results["backend"] == "jax"
    for case in OURS:
        assert jax_results["differences"][case_id(case)]["difference"] < TOLERANCE, case
