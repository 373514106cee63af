"""adamkit.keras.Adadelta equals keras.optimizers.Adadelta: signature, config, and 100 steps on the
torch backend in float64 and float32 (tests/keras/keras_parity_cases.py's run and tolerances), one
case on the JAX backend (a subprocess: the backend is fixed at import) through ``stateless_apply``
under ``jax.jit``.

Keras writes the ratio as (rms(Δ)·g)/rms(v) and its decay factor 1 - wd·lr in float32; the rule
computes rms(Δ)/rms(v)·g (torch's order) in the variable's dtype: float64 runs agree to ~1e-15
without weight decay (largest seen 1.7e-15 relative), 2.4e-6 with it (Keras's float32 decay
factor), float32 ones within Keras's own float32 error (largest 2.1e-6).
"""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest
from tests.keras.keras_parity_cases import case_id, differences
from tests.keras.test_keras_parity import assert_equal_to_rounding

import adamkit.keras as akk

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    ("Adadelta", {"learning_rate": 1.0}, {}),
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-4}, {}),
    ("Adadelta", {"learning_rate": 1.0, "weight_decay": 0.05}, {}),
    ("Adadelta", {"learning_rate": 1.0, "clipnorm": 0.3}, {}),
]


def test_signature_and_config_are_keras_s():
    ours = inspect.signature(akk.Adadelta).parameters
    theirs = inspect.signature(keras.optimizers.Adadelta).parameters
    own = ["learning_rate", "rho", "epsilon"]  # Keras's base options come through **options
    assert list(ours)[:3] == own and [ours[n].default for n in own] == [theirs[n].default for n in own]
    assert akk.Adadelta(weight_decay=0.1, clipnorm=1.0, name="a").weight_decay == 0.1
    opt = akk.Adadelta(learning_rate=0.5, rho=0.8, epsilon=1e-5)
    assert (opt.rho, opt.epsilon) == (0.8, 1e-5)  # Keras's attributes
    config = opt.get_config()
    assert (config["rho"], config["epsilon"]) == (0.8, 1e-5)
    again = akk.Adadelta.from_config(config)
    assert (again.rho, again.epsilon, float(again.learning_rate)) == (0.8, 1e-5, 0.5)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_equals_keras_adadelta_over_100_steps(case):
    found = differences(case)
    assert_equal_to_rounding(found)
    if "weight_decay" not in case[1]:
        assert found["float64"] < 1e-13, found


JAX_SCRIPT = """
import json
from tests.keras.keras_parity_cases import differences
import keras
print(json.dumps({"backend": keras.backend.backend(),
                  "found": differences(("Adadelta", {"learning_rate": 0.5, "rho": 0.9}, {}))}))
"""


def test_equals_keras_adadelta_on_the_jax_backend_under_jit():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", JAX_SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    assert_equal_to_rounding(out["found"])
    assert out["found"]["float64"] < 1e-13, out
