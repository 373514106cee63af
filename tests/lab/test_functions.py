"""Test functions: analytic gradients against central differences, minima, windows, noise."""

import numpy as np
import pytest

from adamkit.errors import UsageError
from adamkit.lab import functions as F


def central_difference(fn, P, h=1e-6):
    grad = np.empty_like(P)
    for i in range(P.shape[-1]):
        e = np.zeros(P.shape[-1])
        e[i] = h
        grad[..., i] = (fn.value(P + e) - fn.value(P - e)) / (2 * h)
    return grad


def sample_points(fn, n=64, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([w[0] for w in fn.window])
    hi = np.array([w[1] for w in fn.window])
    return lo + (hi - lo) * rng.random((n, fn.dim))


@pytest.mark.parametrize("name", F.names())
def test_gradient_matches_finite_differences(name):
    fn = F.get(name)
    P = sample_points(fn)
    analytic = fn.grad(P)
    numeric = central_difference(fn, P)
    scale = np.maximum(1.0, np.abs(numeric))
    assert np.all(np.abs(analytic - numeric) <= 1e-5 * scale), name


@pytest.mark.parametrize("name", F.names())
def test_known_minima_are_stationary_with_the_stated_value(name):
    fn = F.get(name)
    for m in fn.minima:
        assert np.allclose(fn.grad(m), 0.0, atol=1e-7), (name, m)
        assert np.isclose(fn.value(m), fn.f_min, atol=1e-9), (name, m)
        lo = np.array([w[0] for w in fn.window])
        hi = np.array([w[1] for w in fn.window])
        assert np.all((lo <= m) & (m <= hi)), "minimum must lie inside the plotting window"
    # a minimum is lower than every sampled point of its window
    if fn.f_min is not None:
        assert np.all(fn.value(sample_points(fn, 500)) >= fn.f_min - 1e-9)


@pytest.mark.parametrize("name", F.names())
def test_start_is_inside_the_window_and_shapes_are_batched(name):
    fn = F.get(name)
    assert len(fn.start) == fn.dim == len(fn.window)
    for s, (lo, hi) in zip(fn.start, fn.window, strict=True):
        assert lo <= s <= hi
    P = sample_points(fn, 12).reshape(3, 4, fn.dim)
    assert fn.value(P).shape == (3, 4)
    assert fn.grad(P).shape == (3, 4, fn.dim)
    out = np.empty_like(P)
    assert fn.grad(P, out=out) is out


def test_seed_formulas():
    # the seeds' Rosenbrock and Himmelblau gradients, written out as the seeds write them
    rb, hb = F.get("rosenbrock"), F.get("himmelblau")
    x, y = -1.5, 2.5
    assert np.allclose(rb.grad([x, y]), [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
    x, y = -4.0, 4.0
    assert np.allclose(
        hb.grad([x, y]),
        [
            4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
            2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7),
        ],
    )
    assert F.get("parabola").grad([8.0])[0] == 12.0


def test_nearest_minimum_distance():
    hb = F.get("himmelblau")
    d = hb.nearest_minimum_distance(np.array([[3.0, 2.0], [3.0, 3.0]]))
    assert np.allclose(d, [0.0, 1.0])
    assert F.get("saddle").nearest_minimum_distance(np.zeros(2)) is None


def test_unknown_name_lists_valid_ones():
    with pytest.raises(UsageError, match="unknown function 'rosenbrok'; valid: ackley, beale"):
        F.get("rosenbrok")


def test_aliases_and_window_override():
    assert F.get("Styblinski-Tang").name == "styblinski_tang"
    fn = F.get("rosenbrock", window=[(-3, 3), (-2, 4)])
    assert fn.window == ((-3.0, 3.0), (-2.0, 4.0))
    with pytest.raises(UsageError, match="window"):
        F.get("rosenbrock", window=[(1, 0), (0, 1)])


def test_gradient_noise_is_seeded_and_scaled():
    g = np.zeros((20000, 2))
    a = F.GradientNoise(0.5, seed=3)(g.copy())
    b = F.GradientNoise(0.5, seed=3)(g.copy())
    c = F.GradientNoise(0.5, seed=4)(g.copy())
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(a.std() - 0.5) < 0.01 and abs(a.mean()) < 0.01
    assert np.array_equal(F.GradientNoise(0.0)(g.copy()), g)
    with pytest.raises(UsageError, match="noise scale"):
        F.GradientNoise(-1.0)
