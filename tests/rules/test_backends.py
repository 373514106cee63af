"""Every rule on every array namespace: jax.numpy under ``jit`` and keras.ops equal the float64
NumPy reference to float32 rounding, with the same code (adamkit.rules)."""

import os

import numpy as np
import pytest

from adamkit import rules

# One configuration table for every rule: the defaults and the options that change the math.
CASES = [
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("adam", {"eps_mode": "hat", "eps": 1e-7, "weight_decay": 0.05,
              "weight_decay_mode": "decoupled"}),
    ("adam", {"eps_mode": "root", "eps": 1e-6, "weight_decay": 0.05,
              "weight_decay_mode": "independent"}),
    ("adam", {"eps": 1e-3, "eps_root": 1e-2, "amsgrad": True}),  # optax's eps and eps_root
    ("adamw", {}),
    ("adamw", {"eps_root": 1e-4}),
    ("adamax", {"weight_decay": 0.1}),
    ("adamax", {"eps_mode": "hat", "eps": 0.1}),  # Keras's: ε outside the max
    ("nadam", {}),
    ("nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", {}),
    ("radam", {"betas": (0.9, 0.9)}),  # the rectification switches on at step 3, under jit too
    ("sgd", {"lr": 0.01}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5}),
    ("rmsprop", {"eps_mode": "root", "eps": 1e-2}),  # Keras's and optax's: ε inside the root
    ("rmsprop", {"eps_mode": "root", "eps": 1e-2, "centered": True, "momentum": 0.5}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("adagrad", {"eps_mode": "root", "eps": 1e-2}),
]
STEPS = 8


def _data():
    rng = np.random.default_rng(0)
    param = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(STEPS)]
    return param, grads


def _reference(rule, hp):
    param, grads = _data()
    state = rule.init(param, hp, np)
    for step, g in enumerate(grads, start=1):
        param, state = rule.update(param, g, state, step, hp, np)
    return param, state


def _close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(("name", "options"), CASES, ids=str)
def test_jax_numpy_under_jit_equals_the_numpy_reference(name, options):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rule = rules.get(name)
    hp = rule.validate(options)
    expected, expected_state = _reference(rule, hp)
    # the step is a traced integer: nothing in the rule may branch on its value
    update = jax.jit(lambda p, g, state, step: rule.update(p, g, state, step, hp, jnp))
    param, grads = _data()
    param = jnp.asarray(param, dtype=jnp.float32)
    state = rule.init(param, hp, jnp)
    for step, g in enumerate(grads, start=1):
        param, state = update(param, jnp.asarray(g, dtype=jnp.float32), state, jnp.int32(step))
    _close(param, expected)
    assert set(state) == set(expected_state)
    for key in state:
        _close(state[key], expected_state[key])


@pytest.mark.parametrize(("name", "options"), CASES, ids=str)
def test_keras_ops_equal_the_numpy_reference(name, options):
    os.environ.setdefault("KERAS_BACKEND", "torch")  # no TensorFlow here; torch is installed
    keras = pytest.importorskip("keras")
    ops = keras.ops
    rule = rules.get(name)
    hp = rule.validate(options)
    expected, _ = _reference(rule, hp)
    param, grads = _data()
    param = ops.convert_to_tensor(param, dtype="float32")
    state = rule.init(param, hp, ops)
    for step, g in enumerate(grads, start=1):
        param, state = rule.update(param, ops.convert_to_tensor(g, dtype="float32"), state, step, hp,
                                   ops)
    _close(param.detach().numpy() if hasattr(param, "detach") else param, expected)


def test_jax_batched_hyperparameters_broadcast_like_numpy():
    """A NumPy array of learning rates (C configurations) runs as jax arrays, row by row."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rule = rules.get("adam")
    lr = np.array([[1e-3], [1e-2], [1e-1]])
    hp = rule.validate({"lr": lr})
    param, grads = _data()
    ref, ref_state = param.copy(), rule.init(param, hp, np)
    got, state = jnp.asarray(param, dtype=jnp.float32), rule.init(jnp.zeros((3, 4)), hp, jnp)
    for step, g in enumerate(grads, start=1):
        ref, ref_state = rule.update(ref, g, ref_state, step, hp, np)
        got, state = rule.update(got, jnp.asarray(g, dtype=jnp.float32), state, step, hp, jnp)
    _close(got, ref)


@pytest.mark.parametrize(("name", "options"), CASES, ids=str)
def test_torch_in_place_updates_give_the_functional_bits_and_touch_nothing_else(name, options):
    """Under the in-place namespace ``in_place(torch)`` the torch front end's rule step writes the
    param and moments where they are, as torch.optim does: the same bits as the functional step,
    the gradient untouched; under plain ``torch`` a rule never changes its inputs."""
    torch = pytest.importorskip("torch")
    from adamkit.rules._numerics import in_place
    rule = rules.get(name)
    hp = rule.validate(options)
    param, grads = _data()
    functional = torch.tensor(param, dtype=torch.float32)
    param_in_place = functional.clone()
    f_state = rule.init(functional, hp, torch)
    i_state = {k: v.clone() for k, v in f_state.items()}
    for step, g in enumerate(grads, start=1):
        grad = torch.tensor(g, dtype=torch.float32)
        inputs = (functional, dict(f_state))
        copies = (functional.clone(), {k: v.clone() for k, v in f_state.items()})
        functional, f_state = rule.update(functional, grad, f_state, step, hp, torch)
        assert torch.equal(inputs[0], copies[0])  # plain torch: inputs unchanged
        assert all(torch.equal(v, copies[1][k]) for k, v in inputs[1].items())
        grad_before = grad.clone()
        new, new_state = rule.update(param_in_place, grad, i_state, step, hp, in_place(torch))
        assert torch.equal(grad, grad_before)
        assert torch.equal(new, functional)
        assert (new is param_in_place) == (name != "radam")  # RAdam's last step: its own expression
        if new is not param_in_place:
            param_in_place.copy_(new)
        for key, value in new_state.items():
            assert torch.equal(value, f_state[key]), key
            if key in i_state and value is not i_state[key]:
                i_state[key].copy_(value)
            i_state[key] = i_state.get(key, value)


def test_the_in_place_namespace_is_torch_and_only_torch():
    """``in_place(torch)`` forwards to torch and answers to its name (the helpers take torch's
    primitives); wrapping it again gives the same object; any other namespace is refused."""
    torch = pytest.importorskip("torch")
    from adamkit.rules._numerics import in_place, is_torch

    xp = in_place(torch)
    assert is_torch(xp) and xp.__name__ == "torch" and xp.sqrt is torch.sqrt
    assert in_place(xp) is xp and in_place(torch) is xp
    with pytest.raises(ValueError, match="invalid namespace 'numpy'; valid: torch"):
        in_place(np)
