"""Tuning: each optimizer's own search space, a stated budget, the default among the candidates."""

import numpy as np
import pytest

from adamkit.lab.engine import OPTIMIZERS
from adamkit.lab.race_tuning import SEARCH_SPACES, sample, tune
from adamkit.rules import HYPERPARAMETERS

LR_RANGE = HYPERPARAMETERS["lr"].search


def test_every_optimizer_has_a_search_space():
    assert set(SEARCH_SPACES) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", ["adam", "momentum", "rmsprop", "sgd"])
def test_samples_stay_in_range_and_start_with_the_default(name):
    draws = sample(name, 200, np.random.default_rng(0), lab_lr=0.05)
    assert draws["lr"][0] == 0.05
    assert np.all((draws["lr"][1:] >= LR_RANGE[0]) & (draws["lr"][1:] <= LR_RANGE[1]))
    for key, h in SEARCH_SPACES[name].items():
        low, high = h.search
        assert np.all((draws[key][1:] >= low) & (draws[key][1:] <= high)), key
    assert set(draws) == {"lr", *SEARCH_SPACES[name]}


def test_tuning_beats_or_matches_the_default_and_is_reproducible():
    a = tune("rosenbrock", "sgd", steps=200, budget=24, n_starts=2)
    b = tune("rosenbrock", "sgd", steps=200, budget=24, n_starts=2)
    assert a.best == b.best and a.best_score == b.best_score
    assert a.best_score <= a.default_score
    assert a.default["lr"] == 0.001  # the lab default for the sgd family on Rosenbrock
    report = a.to_json()
    assert report["budget"]["runs"] == 48 and report["searched"] == ["lr"]


def test_noise_seeds_multiply_the_runs():
    t = tune("quadratic", "adam", steps=30, budget=8, n_starts=3, n_seeds=2, noise=0.1)
    assert t.to_json()["budget"]["runs"] == 8 * 3 * 2
    clean = tune("quadratic", "adam", steps=30, budget=8, n_starts=3, n_seeds=2)
    assert clean.n_seeds == 1  # without noise a second seed would repeat the same run


def test_a_diverging_configuration_never_wins():
    t = tune("rosenbrock", "sgd", steps=300, budget=40, n_starts=3)
    # SGD lr above ~2.5e-3 diverges from the Rosenbrock start; the winner must be below that
    assert t.best["lr"] < 3e-3 and np.isfinite(t.best_score)
