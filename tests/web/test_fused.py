"""The fused sweep path is a second spelling of the Adam rule and of the functions' gradients."""

import numpy as np
import pytest

from adamkit.lab import fused, run
from adamkit.lab.functions import FUNCTIONS

pytest.importorskip("numba")


@pytest.mark.parametrize("name", sorted(fused.FUNCTION_IDS))
def test_kernel_values_and_gradients_are_the_functions(name):
    fn = FUNCTIONS[name]
    rng = np.random.default_rng(1)
    lo, hi = np.array(fn.window).T
    points = lo + (hi - lo) * rng.random((50, 2))
    f, g = fused.value_and_grad(name, points)
    np.testing.assert_allclose(f, fn.value(points), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, fn.grad(points), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("optimizer, settings", [
    ("adam", {}), ("adamw", {}), ("amsgrad", {}), ("adam", {"eps_mode": "hat", "eps": 1e-3}),
    ("adam", {"eps_mode": "root", "eps": 1e-4}), ("adam", {"weight_decay": 0.05}),
    ("adamw", {"weight_decay_mode": "independent", "weight_decay": 0.01}),
])
@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "ackley", "saddle"])
def test_final_losses_equal_the_engine(name, optimizer, settings):
    fn = FUNCTIONS[name]
    lr = np.tile(np.logspace(-3, -1.3, 5), 4)
    beta1 = np.repeat([0.0, 0.5, 0.9, 0.99], 5)
    # 150 steps at moderate lr. The two spellings round differently in the last bit (NumPy's
    # array power vs a scalar one); Adam with β1 = 0 zig-zags across Rosenbrock's valley and grows
    # that to ~1e-8 relative, hence rtol 1e-6 (the first steps are bitwise equal, tested below).
    got, diverged, engine = fused.final_losses(fn, optimizer, steps=150, start=fn.start, lr=lr,
                                               beta1=beta1, **settings)
    want = run(fn, optimizer, steps=150, lr=lr, beta1=beta1, **settings)
    assert engine == "fused"
    np.testing.assert_array_equal(diverged, want.diverged)
    np.testing.assert_allclose(got, want.final_loss(), rtol=1e-6, atol=1e-12)


def test_first_steps_are_bitwise_the_rule_and_divergence_matches():
    fn = FUNCTIONS["rosenbrock"]
    lr = np.array([1e-3, 0.05, 0.2, 30.0])
    got, diverged, _ = fused.final_losses(fn, "adam", steps=5, start=fn.start, lr=lr)
    want = run(fn, "adam", steps=5, lr=lr)
    np.testing.assert_array_equal(got[~diverged], want.final_loss()[~want.diverged])
    far, div_far, _ = fused.final_losses(fn, "sgd", steps=50, start=fn.start, lr=np.array([0.5]))
    assert div_far[0] and np.isnan(far[0])  # sgd is not fused: the engine answers, same contract


def test_uncovered_cases_go_through_the_engine():
    _, _, engine = fused.final_losses(FUNCTIONS["rosenbrock"], "nadam", steps=3, start=(0, 0), lr=np.array([0.1, 0.2]))
    assert engine == "engine"
