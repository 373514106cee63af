"""The AdEMAMix rule against optax's ``contrib.ademamix`` in float64, its warmups against the paper's
closed form and optax's schedules, and across namespaces.

Tolerance 1e-12 relative to |param| + 1e-3 after 25 steps: optax averages as (1-β)·g + β·m, the
rule as m + (1-β)·(g - m), and optax adds the decay to the update where the rule multiplies the
param by 1 - lr·wd: a few ulps per step.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from optax import contrib
from tests.rules.peers import agree, moved, negated, problem, run_optax, run_rule, run_rule_jit

from adamkit.rules._numerics import in_place
from adamkit.rules.ademamix import ADEMAMIX, schedules

TOLERANCE = 1e-12

OPTAX_CASES = [
    ({}, {}),
    ({"betas": (0.8, 0.99), "beta3": 0.999, "mix_alpha": 2.0},
     {"b1": 0.8, "b2": 0.99, "b3": 0.999, "alpha": 2.0}),
    ({"eps": 1e-3, "eps_root": 1e-4}, {"eps": 1e-3, "eps_root": 1e-4}),
    ({"weight_decay": 0.5}, {"weight_decay": 0.5}),
    ({"mix_alpha": 0.0, "beta3": 0.5}, {"alpha": 0.0, "b3": 0.5}),  # α = 0: Adam's step
]


@pytest.mark.parametrize("hp,theirs", OPTAX_CASES, ids=str)
def test_numpy_rule_equals_optax_ademamix_in_float64(hp, theirs):
    params, grads = problem()
    ours = run_rule(ADEMAMIX, {"lr": 0.01, **hp}, params, grads)
    peer = run_optax(contrib.ademamix(0.01, **theirs), params, grads)
    assert moved(peer, params) > 0.05
    agree(ours, peer, TOLERANCE, f"ademamix vs optax {theirs}")


def test_maximize_is_ademamix_on_the_negated_gradient():
    params, grads = problem(1)
    ours = run_rule(ADEMAMIX, {"lr": 0.01, "maximize": True, "weight_decay": 0.1}, params, grads)
    peer = run_optax(contrib.ademamix(0.01, weight_decay=0.1), params, negated(grads))
    agree(ours, peer, TOLERANCE, "ademamix maximize vs optax")


def _paper_alpha(t, alpha, warmup):
    """Algorithm 1 of the paper: min(t·α/T, α)."""
    return min(t * alpha / warmup, alpha)


def _closed_form_beta3(t, beta1, beta3, warmup, eps=1e-8):
    """Algorithm 1 of the paper, exp(ln β1·ln β3 / ((1 - t/T)·ln β3 + (t/T)·ln β1)) for t < T,
    with the authors' code's ln(β + eps) (eps = 0: the paper's own, capped at β3 by its min)."""
    if t >= warmup:
        return beta3
    a, l1, l3 = t / warmup, math.log(beta1 + eps), math.log(beta3 + eps)
    return math.exp(l1 * l3 / ((1 - a) * l3 + a * l1))


def test_warmups_are_the_papers_closed_forms():
    hp = ADEMAMIX.validate(betas=(0.9, 0.999), beta3=0.9999, mix_alpha=8.0, alpha_warmup=100,
                           beta3_warmup=200)
    for t in (1, 2, 50, 99, 100, 101, 199, 200, 201, 5000):
        alpha, beta3 = schedules(hp, t, np)
        assert alpha == pytest.approx(_paper_alpha(t, 8.0, 100), rel=1e-15)
        # the half-life interpolation is the closed form, algebraically: to rounding
        assert beta3 == pytest.approx(_closed_form_beta3(t, 0.9, 0.9999, 200), rel=1e-13)
        # The 1e-8 inside ln(β) moves ln(0.9999) by 1e-4 of itself: the paper's form without it
        # is within 2e-6 (and the authors' value may pass β3 by 1e-8 just before T).
        paper = min(_closed_form_beta3(t, 0.9, 0.9999, 200, eps=0.0), 0.9999)
        assert beta3 == pytest.approx(paper, rel=2e-6)
    assert schedules(hp, 200, np) == (8.0, 0.9999)  # exactly the final values from T on


def test_warmups_for_arrays_of_configurations_equal_each_configuration():
    betas3, alphas = np.array([0.999, 0.9999, 0.99999]), np.array([2.0, 5.0, 8.0])
    hp = ADEMAMIX.validate(beta3=betas3, mix_alpha=alphas, alpha_warmup=10, beta3_warmup=10)
    for t in (1, 5, 10):
        alpha, beta3 = schedules(hp, t, np)
        for i in range(3):
            one = ADEMAMIX.validate(beta3=float(betas3[i]), mix_alpha=float(alphas[i]),
                                    alpha_warmup=10, beta3_warmup=10)
            a, b = schedules(one, t, np)
            assert alpha[i] == pytest.approx(a, rel=1e-15) and beta3[i] == pytest.approx(b, rel=1e-15)


def _optax_warmups(alpha, beta1, beta3, alpha_warmup, beta3_warmup):
    """The authors' warmups as optax schedules: optax calls them with the count before the step."""
    def half_life(b):
        return jnp.log(0.5) / jnp.log(b + 1e-8) - 1

    def alpha_schedule(count):
        t = jnp.asarray(count, jnp.float64) + 1  # jax divides int32 in float32, x64 or not
        return jnp.where(t < alpha_warmup, t / alpha_warmup * alpha, alpha)

    def beta3_schedule(count):
        t = jnp.asarray(count, jnp.float64) + 1
        a = t / beta3_warmup
        warm = 0.5 ** (1 / ((1 - a) * half_life(beta1) + a * half_life(beta3) + 1))
        return jnp.where(t < beta3_warmup, warm, beta3)

    return alpha_schedule, beta3_schedule


@pytest.mark.parametrize("warmups", [(10, 15), (30, 30), (5, None), (None, 12)], ids=str)
def test_warmups_equal_optax_with_the_same_schedules(warmups):
    alpha_warmup, beta3_warmup = warmups
    params, grads = problem(2)
    hp = {"lr": 0.01, "betas": (0.9, 0.999), "beta3": 0.999, "mix_alpha": 5.0,
          "alpha_warmup": alpha_warmup, "beta3_warmup": beta3_warmup}
    ours = run_rule(ADEMAMIX, hp, params, grads)
    alpha, beta3 = _optax_warmups(5.0, 0.9, 0.999, alpha_warmup or 1, beta3_warmup or 1)
    peer = run_optax(contrib.ademamix(0.01, b1=0.9, b2=0.999,
                                      b3=beta3 if beta3_warmup else 0.999,
                                      alpha=alpha if alpha_warmup else 5.0), params, grads)
    constant = run_rule(ADEMAMIX, {**hp, "alpha_warmup": None, "beta3_warmup": None}, params, grads)
    assert max(np.max(np.abs(a - c)) for a, c in zip(ours, constant, strict=True)) > 1e-5  # warmups act
    agree(ours, peer, TOLERANCE, f"ademamix warmups {warmups} vs optax schedules")


NAMESPACE_CASES = [{}, {"weight_decay": 0.1, "eps_root": 1e-6},
                   {"maximize": True, "alpha_warmup": 10, "beta3_warmup": 20},
                   {"weight_decay": 0.1, "weight_decay_mode": "l2", "beta3_warmup": 5}]


@pytest.mark.parametrize("hp", NAMESPACE_CASES, ids=str)
def test_torch_namespace_equals_numpy_and_in_place_is_bitwise_functional(hp):
    params, grads = problem(3)
    reference = run_rule(ADEMAMIX, hp, params, grads)
    functional = run_rule(ADEMAMIX, hp, params, grads, xp=torch)
    writing = run_rule(ADEMAMIX, hp, params, grads, xp=in_place(torch))
    agree(functional, reference, 1e-14, f"ademamix torch vs numpy {hp}")
    for a, b in zip(writing, functional, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hp", NAMESPACE_CASES, ids=str)
def test_jax_numpy_under_jit_with_a_traced_step_equals_numpy(hp):
    # a traced step computes the warmups in jax (float64 here), chosen by where
    params, grads = problem(4)
    agree(run_rule_jit(ADEMAMIX, hp, params, grads), run_rule(ADEMAMIX, hp, params, grads), 1e-13,
          f"ademamix jax.jit vs numpy {hp}")


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")
def test_keras_ops_namespace_equals_numpy():
    from keras import ops

    params, grads = problem(5)
    hp = {"weight_decay": 0.1, "alpha_warmup": 10, "beta3_warmup": 20}
    agree(run_rule(ADEMAMIX, hp, params, grads, xp=ops), run_rule(ADEMAMIX, hp, params, grads), 1e-14,
          "ademamix keras.ops vs numpy")


def test_defaults_are_optax_ademamix():
    assert ADEMAMIX.defaults == {
        "lr": 1e-3, "betas": (0.9, 0.999), "beta3": 0.9999, "mix_alpha": 5.0, "alpha_warmup": None,
        "beta3_warmup": None, "eps": 1e-8, "eps_root": 0.0, "weight_decay": 0.0, "maximize": False,
        "weight_decay_mode": "decoupled"}
