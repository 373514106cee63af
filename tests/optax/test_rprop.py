"""adamkit.optax.rprop: optax.rprop's signature, torch's and the paper's iteration.

optax 0.2.8's own rprop emits each update one step late (google-deepmind/optax PR #1725, see
tests/rules/test_rprop.py), so the references here are torch.optim.Rprop (float64, under
``jax.jit``: bitwise, largest difference seen 0) and the update optax computes and keeps in its
state (``prev_updates``, to the rounding of ``p ± step``: 1e-15).
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import adamkit.optax as ako
from adamkit.errors import HyperparameterError

CASES = [
    {"learning_rate": 0.01},
    {"learning_rate": 0.05, "eta_minus": 0.3, "eta_plus": 1.7},
    {"learning_rate": 0.05, "min_step_size": 1e-3, "max_step_size": 0.08},
]


def test_signature_is_optax_s():
    ours = inspect.signature(ako.rprop).parameters.values()
    theirs = inspect.signature(optax.rprop).parameters.values()
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


def _problem(seed=0, steps=20):
    rng = np.random.default_rng(seed)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=(4,)), "s": np.asarray(0.7)}
    grads = [{k: rng.normal(size=np.shape(v)) for k, v in params.items()} for _ in range(steps)]
    return params, grads


def _run_ours(tx, params, grads):
    """The params after each step, float64, each update under jit."""
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        state = tx.init(p)
        update = jax.jit(tx.update)
        out = []
        for g in grads:
            u, state = update({k: jnp.asarray(v, jnp.float64) for k, v in g.items()}, state, p)
            p = optax.apply_updates(p, u)
            out.append({k: np.asarray(v) for k, v in p.items()})
        return out


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_equals_torch_rprop_in_float64_under_jit(kwargs):
    params, grads = _problem()
    ours = _run_ours(ako.rprop(**kwargs), params, grads)[-1]
    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()}
    opt = torch.optim.Rprop(list(tensors.values()), lr=kwargs["learning_rate"], foreach=False,
                            etas=(kwargs.get("eta_minus", 0.5), kwargs.get("eta_plus", 1.2)),
                            step_sizes=(kwargs.get("min_step_size", 1e-6),
                                        kwargs.get("max_step_size", 50.0)))
    for g in grads:
        for k, t in tensors.items():
            t.grad = torch.tensor(g[k], dtype=torch.float64)
        opt.step()
    for k, t in tensors.items():
        np.testing.assert_array_equal(ours[k], t.numpy())
        assert not np.allclose(ours[k], params[k])


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_each_update_is_the_one_optax_computes_on_that_step(kwargs):
    params, grads = _problem(1, steps=10)
    ours = [params] + _run_ours(ako.rprop(**kwargs), params, grads)
    with jax.enable_x64(True):
        tx = optax.scale_by_rprop(**kwargs)
        state = tx.init({k: jnp.asarray(v, jnp.float64) for k, v in params.items()})
        for t, g in enumerate(grads, start=1):
            emitted, state = tx.update({k: jnp.asarray(v, jnp.float64) for k, v in g.items()}, state)
            for k in params:
                kept = -np.asarray(state.prev_updates[k])  # optax's descent step, before scale(-1)
                np.testing.assert_allclose(ours[t][k] - ours[t - 1][k], kept, rtol=0, atol=1e-15)
                if t == 1:
                    assert np.all(np.asarray(emitted[k]) == 0)  # optax's own: one step late


def test_inject_hyperparams_equals_the_plain_function():
    params, grads = _problem(2, steps=8)
    plain = _run_ours(ako.rprop(0.02, eta_plus=1.5), params, grads)[-1]
    injected = _run_ours(optax.inject_hyperparams(ako.rprop)(0.02, eta_plus=1.5), params, grads)[-1]
    for k in params:
        np.testing.assert_array_equal(plain[k], injected[k])


def test_state_is_one_named_tuple_with_the_step_sizes():
    params = {k: jnp.asarray(v, jnp.float32) for k, v in _problem()[0].items()}
    state = ako.rprop(0.01).init(params)
    assert state._fields == ("count", "prev", "step_sizes")
    np.testing.assert_array_equal(state.step_sizes["w"], np.full((3, 4), 0.01, np.float32))
    assert state.step_sizes["w"].dtype == jnp.float32


def test_etas_out_of_order_are_refused():
    with pytest.raises(HyperparameterError, match="Invalid eta values: 1.5, 1.2"):
        ako.rprop(0.01, eta_minus=1.5)
