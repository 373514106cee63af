"""adamkit.optax.muon is optax.contrib.muon: its signature, and equal updates under jax.jit on a
pytree of matrices (the Muon step) and other params (its AdamW, Nesterov's by default), 20 steps."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax import contrib

import adamkit.optax as ako
from adamkit.errors import HyperparameterError

STEPS = 20
CASES = [
    {"learning_rate": 0.01},
    {"learning_rate": 0.02, "nesterov": False, "weight_decay": 0.1, "adam_weight_decay": 0.05},
    {"learning_rate": 0.01, "consistent_rms": 0.2, "beta": 0.9, "adam_learning_rate": 0.003},
    {"learning_rate": 0.01, "adaptive": True, "preconditioning": "aol", "ns_coeffs": "dion"},
    {"learning_rate": optax.linear_schedule(0.02, 0.005, 10), "preconditioning": "schatten",
     "weight_decay": 0.1, "weight_decay_mask": {"w": True, "v": False, "b": True}},
]


def params():
    rng = np.random.default_rng(0)
    return {"w": jnp.asarray(rng.standard_normal((6, 4)), jnp.float32),
            "v": jnp.asarray(rng.standard_normal((3, 5)), jnp.float32),
            "b": jnp.asarray(rng.standard_normal(4), jnp.float32)}


def run(opt):
    x = params()
    state = opt.init(x)
    step = jax.jit(opt.update)
    rng = np.random.default_rng(1)
    for _ in range(STEPS):
        grads = jax.tree.map(lambda p: jnp.asarray(rng.standard_normal(p.shape), p.dtype), x)
        updates, state = step(grads, state, x)
        x = optax.apply_updates(x, updates)
    return x


def test_signature_is_optax_s():
    ours, theirs = inspect.signature(ako.muon), inspect.signature(contrib.muon)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_updates_equal_optax_s_under_jit(kwargs):
    ours, theirs, x0 = run(ako.muon(**kwargs)), run(contrib.muon(**kwargs)), params()
    for key in x0:
        moved = np.max(np.abs(np.asarray(theirs[key]) - np.asarray(x0[key])))
        # float32 both sides, the same iteration in another op order: 1e-5 of the move
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-5 * moved)


def test_reshaped_muon_params_are_refused_in_one_line():
    with pytest.raises(HyperparameterError, match="muon_weight_dimension_numbers is not supported"):
        ako.muon(0.01, muon_weight_dimension_numbers=contrib.MuonDimensionNumbers())
