"""One declaration and an optimizer is everywhere: a toy registered at run time is found in every
front end (torch, Keras, optax, NumPy), in ``adamkit race``, the page, ``adamkit tune`` and
``adamkit train --optimizer``; and the registry refuses what would make two names collide."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from adamkit import cli, rules
from adamkit.errors import UsageError
from adamkit.rules import Api, Declaration, Rule, Variant, registry


def _init(param, hp, xp):
    return {}


def _update(param, grad, state, step, hp, xp):
    """Sign descent: every coordinate moves by lr against the sign of its gradient."""
    return param - hp["lr"] * xp.sign(grad), {}


TOY = Declaration(
    Rule("toysign", _init, _update, ("lr",), {"lr": 0.01}, counts_steps=False),
    "sign descent (a test's toy)", "adaptive", "#123456", "8",
    variants=(Variant("toysign_slow", "sign descent, lr 1e-3", {"lr": 1e-3}, "#654321", "p"),),
    torch=Api("ToySign", "lr=1e-2, *, foreach=None"),
    keras=Api("ToySign", "learning_rate=0.01"),
    optax=Api("toysign", "learning_rate"),
    numpy=Api("ToySign"),
    train_lr=1e-3, searched=(),
)


@pytest.fixture
def toy():
    with registry.registered(TOY) as declared:
        yield declared
    assert "toysign" not in registry.declarations()


def _expected(start, grads, lr):
    x = np.array(start, dtype=np.float64)
    for g in grads:
        x = x - lr * np.sign(g)
    return x


def test_front_ends_build_the_toy_from_its_declaration(toy):
    import torch

    import adamkit.numpy as akn
    import adamkit.optax as ako
    import adamkit.torch as akt

    grads = [np.array([0.5, -2.0, 0.0]), np.array([-1.0, 3.0, 1.0])]
    expected = _expected([1.0, 2.0, 3.0], grads, 0.1)

    x = akn.ToySign(lr=0.1)
    p = np.array([1.0, 2.0, 3.0])
    for g in grads:
        p = x.update(p, g)
    np.testing.assert_array_equal(p, expected)

    assert list(inspect.signature(akt.ToySign).parameters)[:3] == ["params", "lr", "foreach"]
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    opt = akt.ToySign([w], 0.1)  # torch's positional lr
    for g in grads:
        w.grad = torch.from_numpy(g)
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), expected)
    assert akt.for_rule("toysign") is akt.ToySign

    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    try:
        tx = ako.toysign(0.1)
        params = jnp.array([1.0, 2.0, 3.0])
        state = tx.init(params)
        for g in grads:
            updates, state = jax.jit(tx.update)(jnp.asarray(g), state, params)
            params = optax.apply_updates(params, updates)
        np.testing.assert_allclose(np.asarray(params), expected, rtol=0, atol=1e-15)
    finally:
        jax.config.update("jax_enable_x64", False)


# Keras's own conversions warn under NumPy 2 with this torch (as in tests/keras/conftest.py)
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_keras_builds_the_toy(toy, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    import keras

    import adamkit.keras as akk
    from adamkit.keras.schedules import to_numpy

    opt = akk.ToySign(learning_rate=0.1)
    v = keras.Variable(np.array([1.0, 2.0, 3.0], dtype="float32"))
    grads = [np.array([0.5, -2.0, 0.0]), np.array([-1.0, 3.0, 1.0])]
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), v)])
    np.testing.assert_allclose(to_numpy(v), _expected([1, 2, 3], grads, 0.1),
                               rtol=0, atol=1e-6)
    again = akk.ToySign.from_config(opt.get_config())
    assert float(again.learning_rate) == pytest.approx(0.1)


def test_the_lab_the_page_and_race_show_the_toy(toy, tmp_path):
    from adamkit.lab.engine import optimizer_names, run
    from adamkit.lab.style import optimizer_style
    from adamkit.web import api

    assert {"toysign", "toysign_slow"} <= set(optimizer_names())
    assert optimizer_style("toysign") == {"color": "#123456", "marker": "8"}
    meta = api.meta()
    shown = {o["name"]: o for o in meta["optimizers"]}
    assert shown["toysign_slow"]["color"] == "#654321" and shown["toysign"]["rule"] == "toysign"
    result = run("booth", "toysign_slow", steps=5, start=(1.0, 1.0))
    start = np.array([1.0, 1.0])
    grads = []
    for _ in range(5):  # booth's gradient along the expected path
        x, y = start
        g = np.array([2 * (x + 2 * y - 7) + 4 * (2 * x + y - 5), 4 * (x + 2 * y - 7) + 2 * (2 * x + y - 5)])
        grads.append(g)
        start = start - 1e-3 * np.sign(g)
    np.testing.assert_allclose(result.path[0, -1], start, rtol=0, atol=1e-12)

    out = tmp_path / "race"
    code = cli.main(["race", "--function", "booth", "--optimizers", "toysign,adam", "--steps", "20",
                     "--out", str(out)])
    assert code == 0
    raced = json.loads((out / "race.json").read_text())
    assert "toysign" in json.dumps(raced)


def test_tune_and_train_take_the_toy(toy, tmp_path):
    pytest.importorskip("optuna")
    out = tmp_path / "tune"
    code = cli.main(["tune", "--function", "booth", "--steps", "20", "--optimizers", "toysign,adam",
                     "--strategy", "random", "--trials", "3", "--out", str(out), "--no-plots"])
    assert code == 0
    best = json.loads((out / "best.json").read_text())
    assert "toysign" in json.dumps(best)

    from adamkit.train import names, optim_factory

    assert "toysign" in names.OPTIMIZERS and optim_factory.default_settings("toysign")["lr"] == 1e-3
    run = tmp_path / "train"
    code = cli.main(["train", "--optimizer", "toysign", "--dataset", "digits", "--model", "mlp",
                     "--epochs", "1", "--out", str(run), "--no-plots"])
    assert code == 0
    summary = json.loads((run / "summary.json").read_text())
    assert "toysign" in json.dumps(summary)


def test_collisions_and_bad_declarations_are_refused(toy):
    with pytest.raises(UsageError, match="'toysign' is declared already"):
        registry.register(TOY)
    clash = Declaration(Rule("other", _init, _update, ("lr",)), "x", "adaptive", "#000001", "1",
                        torch=Api("Adam"))
    with pytest.raises(UsageError, match="torch name 'Adam' is declared already"):
        registry.register(clash)
    with pytest.raises(UsageError, match="invalid shape 'cube'; valid: any, matrix"):
        registry.register(Declaration(Rule("cube", _init, _update, ("lr",)), "x", "adaptive",
                                      "#000002", "2", shape="cube"))
    with pytest.raises(UsageError, match="unknown optimizer 'nope'"):
        rules.get("nope")
