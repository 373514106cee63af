"""The engine: batched runs equal single-configuration runs of the NumPy front end; divergence."""

import numpy as np
import pytest

import adamkit.numpy as ak
from adamkit.errors import UsageError
from adamkit.lab import functions as F
from adamkit.lab.engine import OPTIMIZERS, optimizer_spec, run
from adamkit.rules import registry


def single_run(fn_name, rule_name, start, steps, **hp):
    """The reference: one configuration, the front end used as the seeds' class is used."""
    fn = F.get(fn_name)
    opt = ak.for_rule(rule_name)(**hp)
    p = np.array(start, dtype=float)
    path = [p.copy()]
    for _ in range(steps):
        p = opt.update(p, fn.grad(p))
        path.append(p.copy())
    return np.array(path)


SWEEPS = {
    "sgd": {"lr": [1e-4, 5e-4, 1e-3]},
    "momentum": {"lr": [1e-4, 5e-4, 1e-3], "momentum": [0.5, 0.9, 0.95]},
    "nesterov": {"lr": [1e-4, 3e-4, 1e-3]},
    "rmsprop": {"lr": [1e-3, 1e-2, 3e-2], "alpha": [0.9, 0.99, 0.999]},
    "adagrad": {"lr": [0.01, 0.1, 0.5]},
    "adam": {"lr": [1e-3, 1e-2, 1e-1], "beta1": [0.0, 0.9, 0.99], "beta2": [0.9, 0.99, 0.999]},
    "adamw": {"lr": [1e-3, 1e-2, 1e-1], "weight_decay": [0.0, 1e-2, 1e-1]},
    "amsgrad": {"lr": [1e-3, 1e-2, 1e-1], "eps": [1e-8, 1e-4, 1e-1]},
    "adamax": {"lr": [1e-3, 1e-2, 1e-1]},
    "nadam": {"lr": [1e-3, 1e-2, 1e-1], "momentum_decay": [4e-3, 1e-2, 0.0]},
    "radam": {"lr": [1e-3, 3e-3, 5e-3], "beta2": [0.9, 0.99, 0.999]},
}


def sweep_of(name):
    """SWEEPS' hand-picked sweep, else (an optimizer declared since) three lrs around the lab's
    and three values of the first hyperparameter it searches, over that one's search interval."""
    if name in SWEEPS:
        return SWEEPS[name]
    from adamkit.lab.engine import lab_lr
    from adamkit.lab.race_tuning import search_space

    lr = lab_lr(F.get("rosenbrock"), name)
    sweep = {"lr": [lr / 2, lr, 2 * lr]}
    for key, h in list(search_space(name).items())[:1]:
        low, high = h.search
        sweep[key] = [low + (high - low) * q for q in (0.25, 0.5, 0.75)]  # inside: β1 > 0 etc.
    return sweep


RACEABLE = [n for n in OPTIMIZERS if registry.variant(n).shape == "any"]


@pytest.mark.parametrize("name", RACEABLE)
def test_batched_paths_equal_single_configuration_front_end(name):
    rule_name, fixed, _ = optimizer_spec(name)
    sweep = {k: np.array(v) for k, v in sweep_of(name).items()}
    starts = np.array([[-1.5, 2.5], [0.5, -0.5], [-1.0, 1.0]])
    result = run("rosenbrock", name, steps=60, start=starts, **sweep)
    assert result.path.shape == (3, 61, 2) and result.loss.shape == (3, 61)
    for c in range(3):
        hp = {**fixed, **{k: float(v[c]) for k, v in sweep.items()}}
        if "beta1" in hp or "beta2" in hp:
            beta1, beta2 = ak.for_rule(rule_name).rule.defaults["betas"]
            hp["betas"] = (hp.pop("beta1", beta1), hp.pop("beta2", beta2))
        expected = single_run("rosenbrock", rule_name, starts[c], 60, **hp)
        np.testing.assert_allclose(result.path[c], expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(result.loss[c], F.get("rosenbrock").value(expected), rtol=1e-12)


def test_seed_examples_reproduce():
    # (x - 2)^2 from 8.0 with lr 0.1 for 50 steps: the seeds' hand-written Adam and SGD loops
    result_adam = run("parabola", "adam", steps=50, start=8.0, lr=0.1)
    result_sgd = run("parabola", "sgd", steps=50, start=8.0, lr=0.1)
    x_sgd, x_adam, m, v = 8.0, 8.0, 0.0, 0.0
    sgd_traj, adam_traj = [x_sgd], [x_adam]
    for t in range(1, 51):
        x_sgd -= 0.1 * 2 * (x_sgd - 2)
        sgd_traj.append(x_sgd)
        g = 2 * (x_adam - 2)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x_adam -= 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        adam_traj.append(x_adam)
    np.testing.assert_allclose(result_sgd.path[0, :, 0], sgd_traj, rtol=1e-12)
    np.testing.assert_allclose(result_adam.path[0, :, 0], adam_traj, rtol=1e-12)
    # Himmelblau from (-4, 4) with lr 0.01: the seeds' animation ends near a minimum
    him = run("himmelblau", "adam", steps=1000, start=(-4, 4), lr=0.01)
    assert him.distance_to_minimum()[0] < 1e-3 and not him.diverged[0]


def test_sweep_shapes_and_configs():
    lr = np.logspace(-4, -1, 7)
    result = run("quadratic", "adam", steps=5, lr=lr, beta1=0.8)
    assert result.path.shape == (7, 6, 2) and result.swept == ("lr",)
    assert result.config(3)["lr"] == pytest.approx(lr[3])
    assert result.config(3)["betas"] == [0.8, 0.999]
    assert result.summary(2)["hyperparameters"]["lr"] == pytest.approx(lr[2])


def test_divergence_is_flagged_not_crashed():
    lr = np.array([1e-4, 1e-3, 0.01, 0.1])  # SGD on Rosenbrock blows up for the large ones
    result = run("rosenbrock", "sgd", steps=200, start=(-1.5, 2.5), lr=lr)
    assert result.diverged.tolist() == [False, False, True, True]
    assert result.diverged_step[0] == -1 and result.diverged_step[3] >= 1
    t = result.diverged_step[3]
    assert np.isnan(result.path[3, t + 1 :]).all() and np.isnan(result.loss[3, -1])
    assert np.isfinite(result.path[0]).all()
    summary = result.summary(3)
    assert summary["diverged"] is True and summary["final_loss"] is None


def test_escaping_the_window_counts_as_divergence():
    # the saddle is unbounded below: a path that escapes it leaves the window for good
    result = run("saddle", "adam", steps=400, start=(-1.5, 0.05), lr=0.1)
    assert result.diverged[0] and result.diverged_step[0] > 0


def test_internals_for_the_adam_family():
    result = run("rosenbrock", "adam", steps=20, lr=np.array([0.01, 0.02]), internals=True)
    ins = result.internals
    assert set(ins) == {"m_hat", "v_hat", "effective_lr", "update"}
    assert ins["m_hat"].shape == (2, 20, 2)
    # the move each step is exactly the recorded update
    np.testing.assert_allclose(np.diff(result.path, axis=1), -ins["update"], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(ins["effective_lr"], 0.01 * np.array([1, 2])[:, None, None]
                               / (np.sqrt(ins["v_hat"]) + 1e-8), rtol=1e-12)
    other = run("rosenbrock", "momentum", steps=5, internals=True)
    assert set(other.internals) == {"momentum_buffer"}
    for name in RACEABLE:  # every raceable optimizer's state records as (C, steps, dim)
        r = run("rosenbrock", name, steps=4, lr=np.array([1e-3, 2e-3, 3e-3]), internals=True)
        assert all(v.shape == (3, 4, 2) for v in r.internals.values()), name
        assert bool(r.internals) == (name != "sgd"), name  # plain SGD keeps no state


def test_gradient_noise_is_seeded():
    a = run("quadratic", "sgd", steps=20, noise=0.5, seed=1)
    b = run("quadratic", "sgd", steps=20, noise=0.5, seed=1)
    c = run("quadratic", "sgd", steps=20, noise=0.5, seed=2)
    clean = run("quadratic", "sgd", steps=20)
    assert np.array_equal(a.path, b.path) and not np.array_equal(a.path, c.path)
    assert not np.array_equal(a.path, clean.path)


def test_expression_functions_run():
    result = run("x**2 + 10*sin(y)", "adam", steps=50, lr=0.1, start=(1.0, 1.0))
    assert result.path.shape == (1, 51, 2) and result.loss[0, -1] < result.loss[0, 0]
    assert result.distance_to_minimum() is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "adamm"}, "unknown optimizer 'adamm'; valid: .*adam, adamax"),
        ({"optimizer": "sgd", "beta1": 0.9}, "sgd has no betas"),
        ({"optimizer": "adam", "momentum": 0.9}, "unknown hyperparameter momentum for adam"),
        ({"optimizer": "adam", "lr": [0.1, 0.2], "eps": [1, 2, 3]}, "same length C"),
        ({"optimizer": "adam", "start": (1.0, 2.0, 3.0)}, "start must have shape"),
        ({"optimizer": "adam", "lr": -1.0}, "Invalid learning rate: -1.0"),
        ({"optimizer": "adam", "steps": -1}, "steps"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    optimizer = kwargs.pop("optimizer")
    with pytest.raises(ValueError, match=match):
        run("rosenbrock", optimizer, **{"steps": 3, **kwargs})


def test_unknown_function_lists_valid_names():
    with pytest.raises(UsageError, match="valid: ackley"):
        run("rosenbrok", "adam", steps=1)


@pytest.mark.parametrize("steps", [0, 1, 32, 33, 100])
def test_without_the_path_the_final_loss_and_divergence_are_the_same(steps):
    """record_path=False (phase diagrams, tuning) keeps only the start and the end, so memory
    does not grow with the steps; the results drawn from it are identical."""
    kw = dict(steps=steps, noise=0.3, lr=np.logspace(-5, 0.5, 30), momentum=np.linspace(0, 0.99, 30))
    full = run("rosenbrock", "sgd", **kw)
    lean = run("rosenbrock", "sgd", record_path=False, **kw)
    assert lean.path.shape == (30, 2, 2) and lean.steps == full.steps == steps
    assert np.array_equal(lean.diverged_step, full.diverged_step)
    assert np.array_equal(lean.final_loss(), full.final_loss(), equal_nan=True)
    assert np.array_equal(lean.path[:, [0, -1]], full.path[:, [0, -1]], equal_nan=True)
    assert steps < 32 or full.diverged.any()


@pytest.mark.parametrize("optimizer, hp", [
    ("adam", {}),
    ("amsgrad", {"beta1": np.linspace(0, 0.99, 4), "beta2": 0.0}),
    ("adamw", {"weight_decay": 0.1, "eps_mode": "hat", "eps": 1e-3}),
    ("adam", {"lr": np.logspace(-3, 0.7, 4), "beta2": np.linspace(0, 0.999, 4),
              "eps_mode": "root"}),
])
def test_internals_after_the_loop_equal_opt_internals_at_every_step(optimizer, hp):
    """run() computes Adam's internals from the recorded moments after the loop; they must be
    bit-for-bit what opt.internals() says after each update (the engine's earlier way)."""
    from adamkit import rules
    from adamkit.lab.engine import _batch_hyperparameters, _column

    fn, steps = F.get("rosenbrock"), 300
    result = run(fn, optimizer, steps=steps, internals=True, **hp)
    rule_name, fixed, family = optimizer_spec(optimizer)
    full = {**fixed, **hp}
    full.setdefault("lr", fn.default_lr(family))
    checked, _, C = _batch_hyperparameters(full, rules.get(rule_name), optimizer)
    opt = ak.for_rule(rule_name)(**{k: _column(v, C) for k, v in checked.items()})
    params = np.broadcast_to(np.asarray(fn.start, float), (C, 2)).copy()
    with np.errstate(all="ignore"):
        for t in range(steps):
            params = opt.update(params, fn.grad(params))
            want = opt.internals()
            for k in ("m_hat", "v_hat", "effective_lr", "update"):
                got = result.internals[k][:, t]
                assert np.array_equal(got, np.broadcast_to(want[k], got.shape), equal_nan=True), (k, t)


def test_a_rule_that_reads_whole_tensors_races_each_configuration_on_its_own():
    """LAMB's trust ratio is a norm over the tensor: a batch of configurations must not share it."""
    assert not registry.declaration("lamb").rule.elementwise
    lrs = np.array([0.01, 0.05, 0.2])
    batch = run("booth", "lamb", steps=25, start=(1.0, 1.0), lr=lrs)
    fn = F.get("booth")
    for c, lr in enumerate(lrs):
        opt = ak.for_rule("lamb")(lr=lr)
        p = np.array([1.0, 1.0])
        for t in range(25):
            p = opt.update(p, fn.grad(p[None])[0])
            np.testing.assert_array_equal(batch.path[c, t + 1], p)
