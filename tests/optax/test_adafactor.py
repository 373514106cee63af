"""adamkit.optax.adafactor is optax.adafactor: its signature, and equal updates under jax.jit on a
pytree mixing factored and whole second moments, over 30 steps, for each of optax's options."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import adamkit.optax as ako

STEPS = 30
CASES = [
    {},
    {"learning_rate": 0.01, "min_dim_size_to_factor": 2},
    {"learning_rate": 0.05, "min_dim_size_to_factor": 3, "momentum": 0.9, "weight_decay_rate": 0.01,
     "decay_rate": 0.5, "weight_decay_mask": {"w": True, "b": False, "t": True}},
    {"multiply_by_parameter_scale": False, "clipping_threshold": None, "min_dim_size_to_factor": 1},
    {"learning_rate": optax.linear_schedule(0.1, 0.01, 20), "factored": False, "eps": 1e-3},
]


def params():
    rng = np.random.default_rng(0)
    return {"w": jnp.asarray(rng.standard_normal((6, 4)), jnp.float32),
            "b": jnp.asarray(rng.standard_normal(4), jnp.float32),
            "t": jnp.asarray(rng.standard_normal((6, 2, 5)), jnp.float32)}


def run(opt):
    x = params()
    state = opt.init(x)
    step = jax.jit(opt.update)
    rng = np.random.default_rng(1)
    for _ in range(STEPS):
        grads = jax.tree.map(lambda p: jnp.asarray(rng.standard_normal(p.shape), p.dtype), x)
        updates, state = step(grads, state, x)
        x = optax.apply_updates(x, updates)
    return x, state


def test_signature_is_optax_s():
    ours, theirs = inspect.signature(ako.adafactor), inspect.signature(optax.adafactor)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_updates_equal_optax_s_under_jit(kwargs):
    ours, our_state = run(ako.adafactor(**kwargs))
    theirs, their_state = run(optax.adafactor(**kwargs))
    x0 = params()
    for key in x0:
        moved = np.max(np.abs(np.asarray(theirs[key]) - np.asarray(x0[key])))
        # float32 both sides; the second moment's averages in another op order (lerp against
        # optax's β·v + (1-β)·g²): 1e-5 of the move over 30 steps
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-5 * moved)
    first = their_state[0]  # optax's FactoredState, field for field (placeholders included)
    for field in ("v_row", "v_col", "v"):
        for key in x0:
            a, b = getattr(our_state[0], field)[key], getattr(first, field)[key]
            assert a.shape == b.shape, (field, key)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-30)
