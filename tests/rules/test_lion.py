"""The Lion rule against optax's ``lion`` and Keras's ``Lion``, in float64, and across namespaces.

Lion moves every coordinate by exactly ±lr, so two correct float64 implementations agree to a
few ulps of the params (the interpolation whose sign is taken is nowhere near 0 on these random
gradients); the tolerances below are 1e-13 relative to |param| + 1e-3.
"""

import numpy as np
import optax
import pytest
import torch
from tests.rules.peers import (
    KERAS_WARNING,
    agree,
    moved,
    negated,
    problem,
    run_keras,
    run_optax,
    run_rule,
    run_rule_jit,
)

from adamkit.rules._numerics import in_place
from adamkit.rules.lion import LION

TOLERANCE = 1e-13
# (rule hyperparameters, optax's lion arguments); lr and wd exact in binary, so optax's
# -lr·(sign + wd·p) and the rule's p·(1 - lr·wd) - lr·sign round alike up to an ulp.
OPTAX_CASES = [
    ({"lr": 0.0625}, {"learning_rate": 0.0625, "weight_decay": 0.0}),
    ({"lr": 0.0625, "betas": (0.5, 0.75)}, {"learning_rate": 0.0625, "b1": 0.5, "b2": 0.75,
                                             "weight_decay": 0.0}),
    ({"lr": 0.0625, "weight_decay": 0.5}, {"learning_rate": 0.0625, "weight_decay": 0.5}),
    ({"lr": 0.01, "weight_decay": 1e-3}, {"learning_rate": 0.01}),  # optax's default decay
]


@pytest.mark.parametrize("hp,theirs", OPTAX_CASES, ids=str)
def test_numpy_rule_equals_optax_lion_in_float64(hp, theirs):
    params, grads = problem()
    ours = run_rule(LION, hp, params, grads)
    peer = run_optax(optax.lion(**theirs), params, grads)
    assert moved(peer, params) > 0.1
    agree(ours, peer, TOLERANCE, f"lion vs optax {theirs}")


def test_maximize_is_lion_on_the_negated_gradient():
    params, grads = problem(1)
    ours = run_rule(LION, {"lr": 0.0625, "maximize": True, "weight_decay": 0.25}, params, grads)
    peer = run_optax(optax.lion(0.0625, weight_decay=0.25), params, negated(grads))
    agree(ours, peer, TOLERANCE, "lion maximize vs optax")


@KERAS_WARNING
@pytest.mark.parametrize("hp,theirs", [
    ({"lr": 2.0**-6}, {"learning_rate": 2.0**-6}),
    ({"lr": 2.0**-6, "betas": (0.8, 0.95)}, {"learning_rate": 2.0**-6, "beta_1": 0.8, "beta_2": 0.95}),
    # Keras decays every variable by p - p·wd·lr before its step: the rule's decoupled mode
    ({"lr": 2.0**-6, "weight_decay": 0.5}, {"learning_rate": 2.0**-6, "weight_decay": 0.5}),
], ids=str)
def test_numpy_rule_equals_keras_lion_in_float64(hp, theirs):
    import keras

    params, grads = problem(2)
    ours = run_rule(LION, hp, params, grads)
    peer = run_keras(keras.optimizers.Lion(**theirs), params, grads)
    assert moved(peer, params) > 0.1
    agree(ours, peer, TOLERANCE, f"lion vs keras {theirs}")


def test_first_step_by_hand():
    # exp_avg = 0: the step is -lr·sign(g), and the momentum becomes (1-β2)·g.
    p, g = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.3, -0.0, -4.0, 2.0])
    hp = LION.validate(lr=0.1, betas=(0.9, 0.99))
    new_p, state = LION.update(p, g, LION.init(p, hp, np), 1, hp, np)
    np.testing.assert_array_equal(new_p, p - 0.1 * np.sign(g))
    np.testing.assert_allclose(state["exp_avg"], 0.01 * g, rtol=1e-15)


TORCH_CASES = [{}, {"lr": 0.01, "weight_decay": 0.1}, {"maximize": True, "betas": (0.5, 0.9)},
               {"lr": 0.01, "weight_decay": 0.1, "weight_decay_mode": "l2"}]


@pytest.mark.parametrize("hp", TORCH_CASES, ids=str)
def test_torch_namespace_equals_numpy_and_in_place_is_bitwise_functional(hp):
    params, grads = problem(3)
    reference = run_rule(LION, hp, params, grads)
    functional = run_rule(LION, hp, params, grads, xp=torch)
    writing = run_rule(LION, hp, params, grads, xp=in_place(torch))
    agree(functional, reference, 1e-15, f"lion torch vs numpy {hp}")
    for a, b in zip(writing, functional, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hp", TORCH_CASES, ids=str)
def test_jax_numpy_under_jit_equals_numpy(hp):
    params, grads = problem(4)
    agree(run_rule_jit(LION, hp, params, grads), run_rule(LION, hp, params, grads), 1e-14,
          f"lion jax.jit vs numpy {hp}")


@KERAS_WARNING
def test_keras_ops_namespace_equals_numpy():
    from keras import ops

    params, grads = problem(5)
    hp = {"lr": 0.01, "weight_decay": 0.1}
    agree(run_rule(LION, hp, params, grads, xp=ops), run_rule(LION, hp, params, grads), 1e-14,
          "lion keras.ops vs numpy")


def test_defaults_are_the_authors():
    assert LION.defaults == {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0, "maximize": False,
                             "weight_decay_mode": "decoupled"}
