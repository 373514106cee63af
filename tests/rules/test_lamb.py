"""The LAMB rule against optax's ``lamb`` and Keras's ``Lamb`` in float64, and across namespaces.

Tolerance 1e-12 relative to |param| + 1e-3 after 25 steps: the implementations round the same
formula in different orders (optax scales the update by ratio then lr, Keras multiplies
ratio·lr·update, the rule lr·ratio then the update), each step a few ulps apart; the trust ratio
multiplies those by ~||p||/||u|| (up to ~10 here).
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

from adamkit.errors import HyperparameterError
from adamkit.rules._numerics import in_place
from adamkit.rules.lamb import LAMB, trust_ratio

TOLERANCE = 1e-12

OPTAX_CASES = [
    ({"lr": 0.01}, {"learning_rate": 0.01}),
    ({"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-2}, {"learning_rate": 0.01, "b1": 0.5, "b2": 0.9,
                                                      "eps": 1e-2}),
    ({"lr": 0.01, "eps": 1e-8, "eps_root": 1e-3}, {"learning_rate": 0.01, "eps": 1e-8, "eps_root": 1e-3}),
    # the decay inside the trust ratio (the paper's Algorithm 2): large enough to dominate u
    ({"lr": 0.01, "weight_decay": 0.5}, {"learning_rate": 0.01, "weight_decay": 0.5}),
    ({"lr": 0.01, "weight_decay": 1e-2}, {"learning_rate": 0.01, "weight_decay": 1e-2}),
]


@pytest.mark.parametrize("hp,theirs", OPTAX_CASES, ids=str)
def test_numpy_rule_equals_optax_lamb_in_float64(hp, theirs):
    params, grads = problem()
    ours = run_rule(LAMB, hp, params, grads)
    peer = run_optax(optax.lamb(**theirs), params, grads)
    assert moved(peer, params) > 0.05
    agree(ours, peer, TOLERANCE, f"lamb vs optax {theirs}")


def test_maximize_is_lamb_on_the_negated_gradient():
    params, grads = problem(1)
    ours = run_rule(LAMB, {"lr": 0.01, "maximize": True, "weight_decay": 0.1}, params, grads)
    peer = run_optax(optax.lamb(0.01, weight_decay=0.1), params, negated(grads))
    agree(ours, peer, TOLERANCE, "lamb maximize vs optax")


def test_l2_mode_is_optax_lamb_after_adding_the_decay_to_the_gradient():
    params, grads = problem(2)
    ours = run_rule(LAMB, {"lr": 0.01, "weight_decay": 0.1, "weight_decay_mode": "l2"}, params, grads)
    peer = run_optax(optax.chain(optax.add_decayed_weights(0.1), optax.lamb(0.01)), params, grads)
    agree(ours, peer, TOLERANCE, "lamb l2 vs optax chain")


def _edge_problem():
    """A tensor that starts at 0 (a fresh bias: ||p|| = 0 on the first step) and one whose gradient
    is always 0 (||u|| = 0 without decay): both take the ratio 1 in optax and Keras."""
    params, grads = problem(3, shapes=((4,), (3,), (2, 2)))
    params[0] = np.zeros(4)
    for gs in grads:
        gs[1] = np.zeros(3)
    return params, grads


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_zero_norms_take_the_ratio_one_as_optax(wd):
    params, grads = _edge_problem()
    ours = run_rule(LAMB, {"lr": 0.01, "weight_decay": wd}, params, grads)
    peer = run_optax(optax.lamb(0.01, weight_decay=wd), params, grads)
    agree(ours, peer, TOLERANCE, f"lamb zero norms vs optax wd={wd}")
    if wd == 0:
        np.testing.assert_array_equal(ours[1], params[1])  # no gradient, no decay: it stays


def test_trust_ratio_edges():
    zero, one = np.zeros(3), np.ones(3)
    assert trust_ratio(zero, one, np) == 1 and trust_ratio(one, zero, np) == 1
    assert trust_ratio(zero, zero, np) == 1
    assert trust_ratio(np.full(4, 3.0), np.full(4, 0.5), np) == 6.0


# Keras turns its learning rate and betas into float32 tensors before casting them to the variable's
# float64: values exact in float32 keep its run comparable to the last digits.
LR = 2.0**-6


@KERAS_WARNING
@pytest.mark.parametrize("hp,theirs", [
    ({"betas": (0.90625, 0.9990234375)}, {"beta_1": 0.90625, "beta_2": 0.9990234375}),
    ({"betas": (0.75, 0.9921875), "eps": 2.0**-10}, {"beta_1": 0.75, "beta_2": 0.9921875,
                                                     "epsilon": 2.0**-10}),
    # Keras decays every variable (p - p·wd·lr) before its step, outside the trust ratio
    ({"betas": (0.90625, 0.9990234375), "weight_decay": 0.5, "decay_in_trust_ratio": False},
     {"beta_1": 0.90625, "beta_2": 0.9990234375, "weight_decay": 0.5}),
], ids=str)
def test_numpy_rule_equals_keras_lamb_in_float64(hp, theirs):
    import keras

    params, grads = problem(4)
    ours = run_rule(LAMB, {"lr": LR, "eps": 1e-7, **hp}, params, grads)
    peer = run_keras(keras.optimizers.Lamb(learning_rate=LR, **theirs), params, grads)
    assert moved(peer, params) > 0.05
    agree(ours, peer, TOLERANCE, f"lamb vs keras {theirs}")


@KERAS_WARNING
def test_keras_zero_norm_edges():
    import keras

    params, grads = _edge_problem()
    hp = {"betas": (0.90625, 0.9990234375)}
    ours = run_rule(LAMB, {"lr": LR, "eps": 1e-7, **hp}, params, grads)
    peer = run_keras(keras.optimizers.Lamb(learning_rate=LR, beta_1=0.90625, beta_2=0.9990234375),
                     params, grads)
    agree(ours, peer, TOLERANCE, "lamb zero norms vs keras")


def test_the_two_decays_differ_and_independent_needs_the_keras_placement():
    params, grads = problem(5)
    inside = run_rule(LAMB, {"lr": 0.01, "weight_decay": 0.5}, params, grads)
    before = run_rule(LAMB, {"lr": 0.01, "weight_decay": 0.5, "decay_in_trust_ratio": False},
                      params, grads)
    assert max(np.max(np.abs(a - b)) for a, b in zip(inside, before, strict=True)) > 1e-3
    with pytest.raises(HyperparameterError, match="invalid weight_decay_mode 'independent'"):
        LAMB.validate(weight_decay_mode="independent")
    LAMB.validate(weight_decay_mode="independent", decay_in_trust_ratio=False)


NAMESPACE_CASES = [{}, {"lr": 0.01, "weight_decay": 0.1}, {"maximize": True, "eps_root": 1e-4},
                   {"weight_decay": 0.1, "decay_in_trust_ratio": False},
                   {"weight_decay": 0.1, "weight_decay_mode": "l2"}]


@pytest.mark.parametrize("hp", NAMESPACE_CASES, ids=str)
def test_torch_namespace_equals_numpy_and_in_place_is_bitwise_functional(hp):
    params, grads = problem(6)
    reference = run_rule(LAMB, hp, params, grads)
    functional = run_rule(LAMB, hp, params, grads, xp=torch)
    writing = run_rule(LAMB, hp, params, grads, xp=in_place(torch))
    # torch and NumPy sum the norms' squares in different orders: ulps, compounded over 25 steps
    agree(functional, reference, 1e-13, f"lamb torch vs numpy {hp}")
    for a, b in zip(writing, functional, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hp", NAMESPACE_CASES, ids=str)
def test_jax_numpy_under_jit_equals_numpy(hp):
    params, grads = problem(7)
    agree(run_rule_jit(LAMB, hp, params, grads), run_rule(LAMB, hp, params, grads), 1e-13,
          f"lamb jax.jit vs numpy {hp}")


@KERAS_WARNING
def test_keras_ops_namespace_equals_numpy():
    from keras import ops

    params, grads = _edge_problem()
    hp = {"lr": 0.01, "weight_decay": 0.1}
    agree(run_rule(LAMB, hp, params, grads, xp=ops), run_rule(LAMB, hp, params, grads), 1e-14,
          "lamb keras.ops vs numpy")


def test_defaults_are_optax_lamb():
    assert LAMB.defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-6, "eps_root": 0.0,
                             "weight_decay": 0.0, "maximize": False, "weight_decay_mode": "decoupled",
                             "decay_in_trust_ratio": True}
