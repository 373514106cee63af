"""Search spaces: read from the declarations, ParameterGrid's order, errors that name the value."""

from __future__ import annotations

import numpy as np
import pytest

from adamkit.errors import UsageError
from adamkit.rules.hyperparameters import HYPERPARAMETERS
from adamkit.tune import space

ParameterGrid = pytest.importorskip("sklearn.model_selection").ParameterGrid

SEEDS_GRID = {"learning_rate": [0.001, 0.01, 0.1], "beta_1": [0.9, 0.95], "beta_2": [0.999, 0.9999]}
GRIDS = [
    SEEDS_GRID,
    {"lr": [0.1, 0.01], "eps": [1e-8, 1e-7], "beta2": [0.99, 0.999], "amsgrad": [False, True]},
    [{"lr": [1e-3, 1e-2], "beta1": [0.9]}, {"lr": [0.5], "momentum": [0.0, 0.9]}, {}],
]


@pytest.mark.parametrize("grid", GRIDS)
def test_the_grid_is_parameter_grids_configurations_in_its_order(grid):
    assert space.parameter_grid(grid) == list(ParameterGrid(grid))


def test_an_optimizers_grid_renames_keras_names_and_keeps_the_order():
    grids = space.parse_grids(SEEDS_GRID)
    spaces = space.build(["adam"], grids, "grid", {"adam": {"lr", "beta1", "beta2", "eps"}})
    expected = [{"beta1": p["beta_1"], "beta2": p["beta_2"], "lr": p["learning_rate"]}
                for p in ParameterGrid(SEEDS_GRID)]
    assert spaces["adam"].grid == expected


def test_names_an_optimizer_does_not_take_are_left_out_of_its_space():
    grids = space.parse_grids({"lr": "1e-3,1e-2", "beta1": "0.8,0.9"})
    spaces = space.build(["adam", "sgd"], grids, "grid",
                         {"adam": {"lr", "beta1", "beta2"}, "sgd": {"lr", "momentum"}})
    assert len(spaces["adam"].grid) == 4 and spaces["sgd"].grid == [{"lr": 1e-3}, {"lr": 1e-2}]


def test_dimensions_read_their_scale_from_the_declarations():
    assert space.parse_dimension("lr", "1e-4:1e-1") == space.Interval(1e-4, 0.1)
    assert space.parse_dimension("lr", "1e-3:1e-1:3") == pytest.approx((1e-3, 1e-2, 1e-1))
    betas = space.parse_dimension("beta2", "0.9:0.999:3")  # 1 - value log-spaced
    assert betas == pytest.approx((0.9, 0.99, 0.999))
    assert space.parse_dimension("amsgrad", "true,false") == (True, False)
    assert space.parse_dimension("eps_mode", "paper,hat") == ("paper", "hat")


def test_one_minus_log_dimensions_are_searched_as_one_minus_value():
    sp = space.build(["adam"], space.parse_grids({"beta1": "0:0.99", "lr": "1e-4:1"}), "tpe",
                     {"adam": {"lr", "beta1"}})["adam"]
    dists = sp.distributions()
    assert set(dists) == {"1-beta1", "lr"}
    assert dists["1-beta1"].log and dists["1-beta1"].low == pytest.approx(0.01)
    config = {"beta1": 0.95, "lr": 0.01}
    assert sp.from_params(sp.to_params(config)) == pytest.approx(config)


def test_random_configurations_stay_in_their_intervals():
    sp = space.build(["adam"], [{}], "random", {"adam": {"lr", "eps", "beta1", "beta2"}})["adam"]
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = sp.random_config(rng)
        for name, value in c.items():
            low, high = HYPERPARAMETERS[name].search
            assert low <= value <= high, name


@pytest.mark.parametrize("given, words", [
    ({"learning_rat": "1e-3"}, ["'learning_rat'", "valid:", "lr"]),
    ({"lr": "1e-1:1e-3"}, ["empty range", "'1e-1:1e-3'"]),
    ({"lr": "0.1:0.1"}, ["empty range", "'0.1:0.1'"]),
    ({"beta1": "0.9,1.5"}, ["beta1", "1.5", "valid range"]),
    ({"lr": "fast"}, ["'fast'", "not a number"]),
    ({"lr": []}, ["empty list"]),
    ({"eps_mode": "paper,nowhere"}, ["'nowhere'", "valid: paper, hat, root"]),
    ({"lr": "1e-3:1:0"}, ["invalid count", "'0'"]),
])
def test_bad_dimensions_are_one_line_errors_naming_the_value(given, words):
    with pytest.raises(UsageError) as info:
        space.parse_grids(given)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_a_grid_needs_values_and_a_name_must_apply_to_some_optimizer():
    with pytest.raises(UsageError, match="needs a list of values for lr"):
        space.build(["adam"], space.parse_grids({"lr": "1e-3:1"}), "grid", {"adam": {"lr"}})
    with pytest.raises(UsageError, match="momentum does not apply to adam"):
        space.build(["adam"], space.parse_grids({"momentum": "0.9"}), "tpe", {"adam": {"lr"}})
    with pytest.raises(UsageError, match="a list of grids needs --strategy grid"):
        space.build(["adam"], space.parse_grids([{"lr": "0.1"}, {"lr": "0.2"}]), "tpe",
                    {"adam": {"lr"}})
