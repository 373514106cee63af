"""The ADOPT rule against optax's ``contrib.adopt`` in float64, by hand, and across namespaces.

Tolerance 1e-12 relative to |param| + 1e-3 after 25 steps: optax averages as (1-β)·x + β·m, the
rule as m + (1-β)·(x - m) (torch's lerp form), a few ulps apart per step. optax has no weight
decay or maximize: those cases chain optax's own ``add_decayed_weights`` where the rule's mode
puts the decay, or negate the gradients.
"""

import numpy as np
import optax
import pytest
import torch
from optax import contrib
from tests.rules.peers import agree, moved, negated, problem, run_optax, run_rule, run_rule_jit

from adamkit.rules._numerics import in_place
from adamkit.rules.adopt import ADOPT

TOLERANCE = 1e-12

OPTAX_CASES = [
    ({}, {}),
    ({"betas": (0.5, 0.9)}, {"b1": 0.5, "b2": 0.9}),
    ({"nesterov": True}, {"nesterov": True}),
    ({"use_clipping": False}, {"use_clipping": False}),
    ({"use_clipping": False, "nesterov": True, "betas": (0.8, 0.99)},
     {"use_clipping": False, "nesterov": True, "b1": 0.8, "b2": 0.99}),
    ({"eps": 0.5}, {"eps": 0.5}),  # large enough that max(sqrt(v), ε) takes ε
]


@pytest.mark.parametrize("hp,theirs", OPTAX_CASES, ids=str)
@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_numpy_rule_equals_optax_adopt_in_float64(hp, theirs, scale):
    # scale 1e-3: small gradients, so the normalized ones are not clipped only where ε matters
    params, grads = problem(0, scale=scale)
    ours = run_rule(ADOPT, {"lr": 0.05, **hp}, params, grads)
    peer = run_optax(contrib.adopt(0.05, **theirs), params, grads)
    assert moved(peer, params) > 1e-3
    agree(ours, peer, TOLERANCE, f"adopt vs optax {theirs} scale {scale}")


@pytest.mark.parametrize("bound", [0.5, 3.0])
def test_a_constant_clip_bound_is_optax_clip_value_fn_returning_it(bound):
    params, grads = problem(6)
    ours = run_rule(ADOPT, {"lr": 0.05, "clip_bound": bound}, params, grads)
    peer = run_optax(contrib.adopt(0.05, clip_value_fn=lambda count: bound), params, grads)
    agree(ours, peer, TOLERANCE, f"adopt clip_bound {bound} vs optax")


def test_maximize_is_adopt_on_the_negated_gradient():
    params, grads = problem(1)
    ours = run_rule(ADOPT, {"lr": 0.05, "maximize": True, "nesterov": True}, params, grads)
    peer = run_optax(contrib.adopt(0.05, nesterov=True), params, negated(grads))
    agree(ours, peer, TOLERANCE, "adopt maximize vs optax")


@pytest.mark.parametrize("mode", ["l2", "decoupled"])
def test_weight_decay_is_optax_add_decayed_weights_where_the_mode_puts_it(mode):
    params, grads = problem(2)
    wd, lr = 0.25, 0.05
    if mode == "l2":  # into the gradient, before everything
        tx = optax.chain(optax.add_decayed_weights(wd), contrib.adopt(lr))
    else:  # added to the update, scaled by -lr with it: p·(1 - lr·wd) - lr·u, first step included
        tx = optax.chain(contrib.scale_by_adopt(), optax.add_decayed_weights(wd),
                         optax.scale_by_learning_rate(lr))
    ours = run_rule(ADOPT, {"lr": lr, "weight_decay": wd, "weight_decay_mode": mode}, params, grads)
    agree(ours, run_optax(tx, params, grads), TOLERANCE, f"adopt {mode} decay vs optax chain")


def test_first_two_steps_by_hand():
    b1, b2, eps, lr = 0.9, 0.9999, 1e-6, 0.1
    p0 = np.array([1.0, -2.0, 0.5, 0.0])
    g1 = np.array([0.5, -3.0, 1e-9, 2.0])
    g2 = np.array([-1.0, 4.0, 1.0, 2.0])
    hp = ADOPT.validate(lr=lr)
    state = ADOPT.init(p0, hp, np)
    p1, state = ADOPT.update(p0, g1, state, 1, hp, np)
    np.testing.assert_array_equal(p1, p0)  # the first step only sets v
    np.testing.assert_array_equal(state["exp_avg"], 0)
    np.testing.assert_array_equal(state["exp_avg_sq"], g1 * g1)
    p2, state = ADOPT.update(p1, g2, state, 2, hp, np)
    normalized = np.clip(g2 / np.maximum(np.abs(g1), eps), -1.0, 1.0)  # bound (2-1)^¼ = 1
    m = (1 - b1) * normalized
    np.testing.assert_allclose(state["exp_avg"], m, rtol=1e-15)
    np.testing.assert_allclose(state["exp_avg_sq"], b2 * g1**2 + (1 - b2) * g2**2, rtol=1e-15)
    np.testing.assert_allclose(p2, p1 - lr * m, rtol=1e-15)
    # coordinate 2: v = 1e-18 < ε², so ε divides and the clip takes 1e3 down to 1
    assert normalized[2] == 1.0


NAMESPACE_CASES = [{}, {"nesterov": True, "weight_decay": 0.1},
                   {"use_clipping": False, "maximize": True},
                   {"weight_decay": 0.1, "weight_decay_mode": "decoupled", "eps": 0.5}]


@pytest.mark.parametrize("hp", NAMESPACE_CASES, ids=str)
def test_torch_namespace_equals_numpy_and_in_place_is_bitwise_functional(hp):
    params, grads = problem(3)
    reference = run_rule(ADOPT, hp, params, grads)
    functional = run_rule(ADOPT, hp, params, grads, xp=torch)
    writing = run_rule(ADOPT, hp, params, grads, xp=in_place(torch))
    agree(functional, reference, 1e-14, f"adopt torch vs numpy {hp}")
    for a, b in zip(writing, functional, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hp", NAMESPACE_CASES, ids=str)
def test_jax_numpy_under_jit_with_a_traced_step_equals_numpy(hp):
    # The traced step takes optax's branch-free first step (β1 = 1, β2 = 0): the same numbers.
    params, grads = problem(4)
    agree(run_rule_jit(ADOPT, hp, params, grads), run_rule(ADOPT, hp, params, grads), 1e-13,
          f"adopt jax.jit vs numpy {hp}")


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")
def test_keras_ops_namespace_equals_numpy():
    from keras import ops

    params, grads = problem(5)
    hp = {"nesterov": True, "weight_decay": 0.1}
    agree(run_rule(ADOPT, hp, params, grads, xp=ops), run_rule(ADOPT, hp, params, grads), 1e-14,
          "adopt keras.ops vs numpy")


def test_defaults_are_optax_adopt():
    assert ADOPT.defaults == {"lr": 1e-3, "betas": (0.9, 0.9999), "eps": 1e-6, "weight_decay": 0.0,
                              "maximize": False, "weight_decay_mode": "l2", "nesterov": False,
                              "use_clipping": True, "clip_bound": None}
