"""adamkit.keras.Adafactor equals keras.optimizers.Adafactor (torch backend here, JAX under jit in a
subprocess): Keras's reading of the paper is fixed by the declaration (ε1 added to g², RMS(p) after
the decay, relative_step a no-op as in Keras)."""

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
OURS = [c for c in CASES if c[0] == "Adafactor"]
# float32 both sides, the same formula in another op order: 3e-6 (torch) and 8e-6 (JAX, under
# jit) of how far a variable moved seen over 20 steps; a misplaced ε1, decay or clip moves it
# by 1e-3 or more.
TOLERANCE = 3e-5


def test_signature_is_keras_s():
    ours = list(inspect.signature(akk.Adafactor).parameters.values())
    theirs = [p for p in inspect.signature(keras.optimizers.Adafactor).parameters.values()
              if p.kind is not p.VAR_KEYWORD]
    named = {p.name: p.default for p in ours}
    for p in theirs:
        assert named.get(p.name, p.default) == p.default, p.name
    assert [p.name for p in ours[:6]] == [p.name for p in theirs[:6]]


@pytest.mark.parametrize("case", OURS, ids=case_id)
def test_equals_keras_optimizer(case):
    found = differences(case)
    assert found["difference"] < TOLERANCE, found


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "tests.keras.matrix_cases", "Adafactor"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_equals_keras_on_jax_under_jit(jax_results):
    assert jax_results["backend"] == "jax"
    for case in OURS:
        assert jax_results["differences"][case_id(case)]["difference"] < TOLERANCE, case
