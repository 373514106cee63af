"""adamkit.optax.adadelta equals optax.adadelta: signature, 100 steps on a nested pytree under
``jax.jit`` in float32 (and float64 with x64: 1e-13 relative, the same operations in another
order; largest seen below), decay with and without a mask, ``learning_rate=None`` as optax's, a
schedule through ``inject_hyperparams``, and the state's names ``e_g``/``e_x``."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.optax.test_optax_parity import MASK, _assert_trees_close, _params, _run

import adamkit.optax as ako
from adamkit.errors import HyperparameterError

CASES = [
    {"learning_rate": 1.0},
    {"learning_rate": 0.5, "rho": 0.8, "eps": 1e-4},
    {"learning_rate": 1.0, "weight_decay": 0.1},
    {"learning_rate": 1.0, "weight_decay": 0.1, "weight_decay_mask": MASK},
    {"learning_rate": None},  # optax: no scaling at all, the update is +delta
]


def test_signature_is_optax_s():
    ours = inspect.signature(ako.adadelta).parameters.values()
    theirs = inspect.signature(optax.adadelta).parameters.values()
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_equals_optax_adadelta_over_100_steps_under_jit(kwargs):
    expected, _ = _run(optax.adadelta(**kwargs))
    actual, _ = _run(ako.adadelta(**kwargs))
    _assert_trees_close(actual, expected)
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)), actual, _params()))
    assert max(float(m) for m in moved) > 1e-3


def _float64(tree):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), tree)


@pytest.mark.parametrize("kwargs", CASES[:3], ids=str)
def test_equals_optax_adadelta_in_float64(kwargs):
    with jax.enable_x64(True):
        params = _float64(_params())
        grads_of = jax.jit(jax.grad(lambda p: sum(jnp.sum((x - 0.5) ** 2 + 0.1 * jnp.sin(3 * x))
                                                  for x in jax.tree.leaves(p))))
        out = []
        for tx in (optax.adadelta(**kwargs), ako.adadelta(**kwargs)):
            p, state = params, tx.init(params)
            update = jax.jit(tx.update)
            for _ in range(50):
                u, state = update(grads_of(p), state, p)
                p = optax.apply_updates(p, u)
            out.append(p)
        for a, e in zip(jax.tree.leaves(out[1]), jax.tree.leaves(out[0]), strict=True):
            assert float(jnp.max(jnp.abs(a - e) / (jnp.abs(e) + 1e-3))) < 1e-13


def test_a_schedule_through_inject_hyperparams_equals_optax():
    schedule = optax.linear_schedule(1.0, 0.1, 100)
    expected, _ = _run(optax.inject_hyperparams(optax.adadelta)(schedule, rho=0.8))
    actual, _ = _run(optax.inject_hyperparams(ako.adadelta)(schedule, rho=0.8))
    _assert_trees_close(actual, expected)


def test_state_keeps_optax_s_names():
    params = _params()
    state = ako.adadelta(1.0).init(params)
    inner = next(s for s in state if hasattr(s, "e_g"))
    assert jax.tree.structure(inner.e_g) == jax.tree.structure(params)
    assert jax.tree.structure(inner.e_x) == jax.tree.structure(params)
    np.testing.assert_array_equal(jax.tree.leaves(inner.e_x)[0], 0.0)


def test_rho_above_one_is_refused():
    with pytest.raises(HyperparameterError, match="Invalid rho value: 1.5"):
        ako.adadelta(1.0, rho=1.5)
