"""adamkit.optax.schedule_free_adamw against optax.contrib.schedule_free_adamw: signature, updates
under jax.jit, interchangeable states, eval params, inject_hyperparams.

Tolerances: float64 (``jax.enable_x64``) 1e-13 abs + 1e-12 rel over 40 steps (optax computes y
from x and z where the rule lerps, and its warmup ramp is float32 even under x64, so the warmed-up
case uses lr 2^-6 and 4 warmup steps, exact in float32); float32 2e-6 (rounding of y, z).
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import adamkit.optax as ako
from adamkit.errors import HyperparameterError

STEPS = 40
CASES = [
    {},
    {"learning_rate": 2**-6, "warmup_steps": 4, "weight_decay": 0.1},
    {"b1": 0.8, "b2": 0.99, "eps": 1e-3, "weight_lr_power": 1.0, "learning_rate": 0.05},
    {"learning_rate": 2**-6, "warmup_steps": 4, "weight_lr_power": 0.0},
]


def _params(dtype):
    rng = np.random.default_rng(0)
    return {"dense": {"kernel": jnp.asarray(rng.normal(size=(3, 4)), dtype),
                      "bias": jnp.asarray(rng.normal(size=(4,)), dtype)},
            "extra": [jnp.asarray(1.5, dtype), jnp.asarray(rng.normal(size=(2,)), dtype)]}


def _loss(params):
    leaves = jax.tree.leaves(params)
    return sum(jnp.sum((p - 0.5) ** 2 + 0.1 * jnp.sin(3 * p)) for p in leaves)


def _run(tx, params, steps=STEPS, state=None):
    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(_loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params) if state is None else state
    for _ in range(steps):
        params, state = step(params, state)
    return params, state


def _close(actual, expected, atol, rtol):
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), atol=atol, rtol=rtol)


def test_signature_is_optaxs():
    theirs = inspect.signature(optax.contrib.schedule_free_adamw).parameters.values()
    ours = inspect.signature(ako.schedule_free_adamw).parameters.values()
    assert [(p.name, p.default, p.kind) for p in ours] == [(p.name, p.default, p.kind) for p in theirs]
    assert "schedule_free_eval_params" in ako.__all__


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(c) or "defaults")
def test_equals_optax_in_float64_under_jit(case):
    with jax.enable_x64(True):
        params = _params(jnp.float64)
        ours, our_state = _run(ako.schedule_free_adamw(**case), params)
        theirs, their_state = _run(optax.contrib.schedule_free_adamw(**case), params)
        assert jax.tree.structure(our_state) == jax.tree.structure(their_state)
        _close(ours, theirs, 1e-13, 1e-12)
        _close(our_state, their_state, 1e-13, 1e-12)
        _close(ako.schedule_free_eval_params(our_state, ours),
               optax.contrib.schedule_free_eval_params(their_state, theirs), 1e-13, 1e-12)


def test_equals_optax_in_float32():
    case = {"learning_rate": 0.01, "warmup_steps": 5, "weight_decay": 0.05}
    params = _params(jnp.float32)
    ours, our_state = _run(ako.schedule_free_adamw(**case), params)
    theirs, their_state = _run(optax.contrib.schedule_free_adamw(**case), params)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(ours))
    _close(ours, theirs, 2e-6, 2e-6)
    _close(our_state.z, their_state.z, 2e-6, 2e-6)


def test_states_are_interchangeable():
    """optax's state goes on in adamkit's update and the other way round, and each library's
    eval params read the other's state."""
    case = {"learning_rate": 2**-6, "warmup_steps": 4, "weight_decay": 0.1}
    ours_tx, optax_tx = ako.schedule_free_adamw(**case), optax.contrib.schedule_free_adamw(**case)
    with jax.enable_x64(True):
        params = _params(jnp.float64)
        half, half_state = _run(optax_tx, params, STEPS // 2)
        continued, continued_state = _run(ours_tx, half, STEPS // 2, half_state)
        reference, reference_state = _run(optax_tx, params)
        _close(continued, reference, 1e-13, 1e-12)
        half, half_state = _run(ours_tx, params, STEPS // 2)
        continued, continued_state = _run(optax_tx, half, STEPS // 2, half_state)
        _close(continued, reference, 1e-13, 1e-12)
        _close(optax.contrib.schedule_free_eval_params(continued_state, continued),
               ako.schedule_free_eval_params(reference_state, reference), 1e-13, 1e-12)


def test_state_dtype_as_optax():
    params = _params(jnp.bfloat16)
    state = ako.schedule_free_adamw(state_dtype=jnp.float32).init(params)
    theirs = optax.contrib.schedule_free_adamw(state_dtype=jnp.float32).init(params)
    assert [x.dtype for x in jax.tree.leaves(state)] == [x.dtype for x in jax.tree.leaves(theirs)]
    ours, _ = _run(ako.schedule_free_adamw(state_dtype=jnp.float32), params, 5)
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree.leaves(ours))


def test_inject_hyperparams_takes_a_traced_learning_rate():
    make = optax.inject_hyperparams
    ours, _ = _run(make(ako.schedule_free_adamw)(learning_rate=0.02, weight_decay=0.1),
                   _params(jnp.float32), 10)
    theirs, _ = _run(make(optax.contrib.schedule_free_adamw)(learning_rate=0.02, weight_decay=0.1),
                     _params(jnp.float32), 10)
    _close(ours, theirs, 2e-6, 2e-6)


def test_refusals_are_one_line():
    with pytest.raises(HyperparameterError, match="invalid learning_rate \\(a schedule\\); valid: a number"):
        ako.schedule_free_adamw(optax.constant_schedule(0.1))
    with pytest.raises(HyperparameterError, match=r"betas\[0\] 0.0; valid range \(0, 1\)"):
        ako.schedule_free_adamw(b1=0.0)
    with pytest.raises(ValueError, match="invalid state \\(no b1 and z\\)"):
        ako.schedule_free_eval_params(optax.adam(1e-3).init({"w": jnp.ones(2)}), {"w": jnp.ones(2)})
