"""The same table on Keras's JAX backend, in a subprocess (the backend is fixed at import), each
update through ``stateless_apply`` under ``jax.jit``: a traced step, learning rate and schedule."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.keras.keras_parity_cases import CASES, case_id
from tests.keras.test_keras_parity import assert_equal_to_rounding

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "tests.keras.keras_parity_cases"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_subprocess_ran_on_the_jax_backend(jax_results):
    assert jax_results["backend"] == "jax"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_equals_keras_optimizer_on_jax_under_jit(jax_results, case):
    assert_equal_to_rounding(jax_results["differences"][case_id(case)])
