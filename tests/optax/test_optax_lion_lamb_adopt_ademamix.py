"""adamkit.optax's lion, lamb, adopt and ademamix equal optax's (optax.lion, optax.lamb,
optax.contrib.adopt, optax.contrib.ademamix): signatures, and 60 steps under ``jax.jit`` on a
nested pytree with gradients that depend on the params, in float32 (the default) and float64.

Tolerances: float32 2e-5 relative / 2e-6 absolute after 60 steps (the libraries round the same
formulas in different orders); float64 1e-11 relative to |param| + 1e-3.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax import contrib

import adamkit.optax as ako
from adamkit.errors import HyperparameterError

STEPS = 60
MASK = {"dense": {"kernel": True, "bias": False}, "extra": [True, False]}

# (adamkit function, optax's, arguments for both)
CASES = [
    ("lion", optax.lion, {"learning_rate": 3e-3}),
    ("lion", optax.lion, {"learning_rate": 3e-3, "b1": 0.8, "b2": 0.95, "weight_decay": 0.1}),
    ("lion", optax.lion, {"learning_rate": 3e-3, "weight_decay": 0.1, "mask": MASK}),
    ("lamb", optax.lamb, {"learning_rate": 1e-2}),
    ("lamb", optax.lamb, {"learning_rate": 1e-2, "weight_decay": 0.1, "eps": 1e-3, "eps_root": 1e-4}),
    ("lamb", optax.lamb, {"learning_rate": 1e-2, "weight_decay": 0.1,
                          "mask": lambda p: jax.tree.map(lambda x: x.ndim > 1, p)}),
    ("adopt", contrib.adopt, {"learning_rate": 1e-2}),
    ("adopt", contrib.adopt, {"learning_rate": 1e-2, "b1": 0.8, "b2": 0.99, "nesterov": True}),
    ("adopt", contrib.adopt, {"learning_rate": 1e-2, "use_clipping": False, "eps": 1e-2}),
    ("adopt", contrib.adopt, {"learning_rate": 1e-2, "clip_value_fn": lambda count: 0.2 * count**0.5}),
    ("ademamix", contrib.ademamix, {"learning_rate": 1e-2}),
    ("ademamix", contrib.ademamix, {"learning_rate": 1e-2, "b3": 0.99, "alpha": 2.0, "eps_root": 1e-6,
                                    "weight_decay": 0.1, "mask": MASK}),
    ("ademamix", contrib.ademamix, {"learning_rate": 1e-2, "b3": optax.linear_schedule(0.9, 0.999, 50),
                                    "alpha": optax.linear_schedule(0.0, 5.0, 30)}),
]


def case_id(case):
    shown = (f"{k}={'schedule' if callable(v) else v}" for k, v in case[2].items())
    return f"{case[0]}({', '.join(shown)})"


def _params(dtype):
    rng = np.random.default_rng(0)
    return {"dense": {"kernel": jnp.asarray(rng.normal(size=(3, 4)), dtype),
                      "bias": jnp.asarray(rng.normal(size=(4,)), dtype)},
            "extra": [jnp.asarray(1.5, dtype), jnp.asarray(rng.normal(size=(2,)), dtype)]}


def _loss(params):
    # not separable, not quadratic: the moments see gradients of every scale
    return sum(jnp.sum((p - 0.5) ** 2 + 0.1 * jnp.sin(3 * p)) for p in jax.tree.leaves(params))


def _run(tx, dtype):
    params = _params(dtype)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(_loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for _ in range(STEPS):
        params, state = step(params, state)
    return params


def _leaves(tree):
    return [np.asarray(x, np.float64) for x in jax.tree.leaves(tree)]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_equals_optax_in_float32_under_jit(case):
    name, peer, kwargs = case
    ours, theirs = _run(getattr(ako, name)(**kwargs), jnp.float32), _run(peer(**kwargs), jnp.float32)
    start = _leaves(_params(jnp.float32))
    assert max(np.max(np.abs(t - s)) for t, s in zip(_leaves(theirs), start, strict=True)) > 1e-2
    for a, e in zip(_leaves(ours), _leaves(theirs), strict=True):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_equals_optax_in_float64(case):
    name, peer, kwargs = case
    with jax.enable_x64(True):
        ours, theirs = _run(getattr(ako, name)(**kwargs), jnp.float64), _run(peer(**kwargs), jnp.float64)
        found = max(float(np.max(np.abs(a - e) / (np.abs(e) + 1e-3)))
                    for a, e in zip(_leaves(ours), _leaves(theirs), strict=True))
    print(f"MAXDIFF optax float64 {case_id(case)} {found:.3g}")
    assert found < 1e-11


@pytest.mark.parametrize(("name", "peer", "differs"), [
    ("lion", optax.lion, {}),
    ("lamb", optax.lamb, {}),
    ("adopt", contrib.adopt, {"clip_value_fn": None}),  # optax's default is a lambda: None here
    ("ademamix", contrib.ademamix, {}),
])
def test_signature_is_optax(name, peer, differs):
    ours = inspect.signature(getattr(ako, name)).parameters
    theirs = inspect.signature(peer).parameters
    assert list(ours) == list(theirs)
    for key, parameter in theirs.items():
        assert ours[key].kind == parameter.kind, key
        assert ours[key].default == differs.get(key, parameter.default), key


def test_state_names_are_optax_where_they_mean_the_same():
    params = _params(jnp.float32)
    assert ako.lion(1e-3).init(params)[0]._fields == ("count", "mu")
    assert ako.adopt(1e-3).init(params)[0]._fields == ("count", "mu", "nu")
    assert ako.lamb(1e-3).init(params)[0]._fields == ("count", "mu", "nu")
    assert ako.ademamix(1e-3).init(params)[0]._fields == ("count", "m1", "m2", "nu")


def test_refusals_name_the_value():
    with pytest.raises(HyperparameterError, match="Invalid beta parameter at index 0: 1.5"):
        ako.adopt(1e-3, b1=1.5)
    with pytest.raises(ValueError, match="params"):
        tx = ako.lamb(1e-3)
        tx.update(_params(jnp.float32), tx.init(_params(jnp.float32)))


@pytest.mark.parametrize(("name", "peer", "static"), [
    ("lion", optax.lion, ()), ("adopt", contrib.adopt, ("clip_value_fn",)),
    ("ademamix", contrib.ademamix, ()), ("lamb", optax.lamb, ())])
def test_under_inject_hyperparams(name, peer, static):
    # numeric hyperparameters traced under jit, as optax.inject_hyperparams makes them (optax's
    # adopt would inject its clip_value_fn too: static there)
    kwargs = {"learning_rate": 1e-2, "b1": 0.8, "b2": 0.999}
    ours = _run(optax.inject_hyperparams(getattr(ako, name))(**kwargs), jnp.float32)
    theirs = _run(optax.inject_hyperparams(peer, static_args=static)(**kwargs), jnp.float32)
    for a, e in zip(_leaves(ours), _leaves(theirs), strict=True):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=2e-6)


def test_ademamix_keeps_both_averages_in_mu_dtype():
    # adamkit rounds the stored m1, m2 every step; optax makes its zeros in mu_dtype only (its
    # float32 arithmetic promotes them after), so the two part by bfloat16's rounding (2^-8)
    kwargs = {"learning_rate": 1e-2, "b3": 0.99, "alpha": optax.linear_schedule(0.0, 5.0, 30)}
    tx = ako.ademamix(mu_dtype=jnp.bfloat16, **kwargs)
    params = _params(jnp.float32)
    state = tx.init(params)
    updates, state = jax.jit(tx.update)(jax.grad(_loss)(params), state, params)
    assert {x.dtype for x in jax.tree.leaves((state[0].m1, state[0].m2))} == {jnp.dtype(jnp.bfloat16)}
    assert {x.dtype for x in jax.tree.leaves(state[0].nu)} == {jnp.dtype(jnp.float32)}
    ours, full = _run(tx, jnp.float32), _run(ako.ademamix(**kwargs), jnp.float32)
    for a, e in zip(_leaves(ours), _leaves(full), strict=True):
        np.testing.assert_allclose(a, e, rtol=2e-2, atol=2e-2)
