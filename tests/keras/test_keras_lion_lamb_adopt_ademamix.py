"""adamkit.keras's Lion and Lamb equal keras.optimizers', and Lion, Lamb, ADOPT, AdEMAMix equal
the NumPy float64 rule: on the torch backend here, on the JAX backend (under ``jax.jit``) in a
subprocess; and their signatures and configs.

Tolerances: against Keras, keras_parity_cases' (float64 2e-5, float32 Keras's own float32 error
plus 2e-5); against the float64 rule, 1e-12 relative after 100 steps (the learning rate is exact in
float32, so Keras's float32 learning-rate variable does not round it). On the JAX backend 1e-6:
there keras.ops.sin returns float32 for a float64 input (Keras's promotion with floatx float32),
so the test's own gradients, sin(3v) + v - 0.5, arrive rounded to float32 (measured 1e-8 to 3e-7).
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
from tests.keras.new_optimizer_cases import PEER_CASES, RULE_CASES, rule_case_id, rule_difference
from tests.keras.test_keras_parity import assert_equal_to_rounding

import adamkit.keras as akk

ROOT = Path(__file__).resolve().parents[2]
RULE_TOLERANCE = 1e-12
JAX_RULE_TOLERANCE = 1e-6


@pytest.mark.parametrize("case", PEER_CASES, ids=case_id)
def test_equals_keras_optimizer(case):
    found = differences(case)
    print(f"MAXDIFF keras torch-backend {case_id(case)} {found}")
    assert_equal_to_rounding(found)


@pytest.mark.parametrize("case", RULE_CASES, ids=rule_case_id)
def test_equals_the_float64_rule(case):
    found = rule_difference(case)
    print(f"MAXDIFF keras torch-backend {rule_case_id(case)} vs rule {found:.3g}")
    assert found < RULE_TOLERANCE


@pytest.mark.parametrize("name", ["Lion", "Lamb"])
def test_signature_is_keras(name):
    ours = inspect.signature(getattr(akk, name)).parameters
    theirs = inspect.signature(getattr(keras.optimizers, name)).parameters
    own = [k for k in theirs if k not in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                                          "use_ema", "ema_momentum", "ema_overwrite_frequency",
                                          "loss_scale_factor", "gradient_accumulation_steps", "name",
                                          "kwargs")]
    assert list(ours)[:len(own)] == own
    for key in own:
        assert ours[key].default == theirs[key].default, key


@pytest.mark.parametrize("name", ["Lion", "Lamb", "ADOPT", "AdEMAMix"])
def test_config_round_trip(name):
    # the learning rate exact in float32: Keras's config holds its float32 variable's value
    made = getattr(akk, name)(learning_rate=2.0**-7, weight_decay=0.1)
    again = getattr(akk, name).from_config(made.get_config())
    assert again.get_config() == made.get_config()
    assert again.hyperparameters == made.hyperparameters


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "tests.keras.new_optimizer_cases"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_the_jax_backend_under_jit(jax_results):
    assert jax_results["backend"] == "jax"
    for key, found in jax_results["peers"].items():
        print(f"MAXDIFF keras jax-backend {key} {found}")
        assert_equal_to_rounding(found)
    for key, found in jax_results["rules"].items():
        print(f"MAXDIFF keras jax-backend {key} vs rule {found:.3g}")
        assert found < JAX_RULE_TOLERANCE, key
