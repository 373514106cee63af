"""adamkit.keras as Keras uses optimizers: config and .keras round trips, schedules, the callback,
errors (torch backend)."""

import keras
import numpy as np
import pytest
from tests.keras.keras_parity_cases import _grads, _start, run

import adamkit.keras as akk
from adamkit import schedules
from adamkit.keras.schedules import to_numpy

ALL = ["Adam", "AdamW", "Adamax", "Nadam", "RAdam", "SGD", "RMSprop", "Adagrad"]


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype="float32"))[:, None]


@pytest.mark.parametrize("name", ALL)
def test_keras_defaults_and_config_round_trip(name):
    opt = getattr(akk, name)()
    config = opt.get_config()
    if name in dir(keras.optimizers):  # the same arguments and defaults as Keras's class
        theirs = getattr(keras.optimizers, name)().get_config()
        for key, value in theirs.items():
            if key != "name":
                assert config[key] == pytest.approx(value), key
    again = getattr(akk, name).from_config(config)
    assert again.get_config() == config


def test_keras_schedule_and_adamkit_schedule_give_the_same_steps():
    keras_cosine = akk.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(0.01, 30))
    adamkit_cosine = akk.Adam(learning_rate=0.01, schedule=schedules.Cosine(30))
    for a, b in zip(run(keras_cosine, steps=40), run(adamkit_cosine, steps=40)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    config = adamkit_cosine.get_config()
    assert config["learning_rate"]["config"]["schedule"]["class_name"] == "Cosine"
    again = akk.Adam.from_config(config)
    assert again._learning_rate.schedule == schedules.Cosine(30)


def test_save_and_load_a_keras_file_continues_identically(tmp_path):
    x, y = _data()
    model = _model(akk.AdamW(learning_rate=0.01, weight_decay=0.01, amsgrad=True,
                             schedule=schedules.Warmup(3, schedules.Exponential(0.99))))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is akk.AdamW
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6)


def test_learning_rate_scheduler_callback_sets_the_rate_the_rule_uses():
    x, y = _data()
    model = _model(akk.Adam(learning_rate=0.01))
    seen = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5**epoch)])
    np.testing.assert_allclose(seen.history["learning_rate"], [0.01, 0.005, 0.0025], rtol=1e-6)
    assert float(to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.0025)


def test_effective_step_sizes_are_read_from_the_optimizer_state():
    x, y = _data()
    model = _model(akk.Adam(learning_rate=0.01))
    recorder = akk.EffectiveStepSizes(every=2)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[recorder])
    assert recorder.steps == [2, 4, 6, 8]
    assert set(recorder.median) == {layer.path for layer in model.layers}
    # the last record, recomputed by hand from Keras's variables: lr·sqrt(1-β2^t)/(sqrt(v)+ε)
    opt, t = model.optimizer, 8
    layer = model.layers[0]
    v = np.concatenate([opt.state_of(w)["exp_avg_sq"].ravel() for w in layer.trainable_weights])
    by_hand = 0.01 * np.sqrt(1 - 0.999**t) / (np.sqrt(v) + 1e-7)
    assert recorder.median[layer.path][-1] == pytest.approx(float(np.median(by_hand)), rel=1e-5)
    assert len(set(recorder.median[layer.path])) > 1  # not the constant the seeds' tracker plots
    assert all(low <= mid <= high for low, mid, high in zip(
        recorder.p10[layer.path], recorder.median[layer.path], recorder.p90[layer.path]))


def test_effective_step_sizes_refuses_an_optimizer_without_adam_state():
    x, y = _data()
    with pytest.raises(ValueError, match="internals are defined for adam, adamw"):
        _model(akk.SGD()).fit(x, y, epochs=1, verbose=0, callbacks=[akk.EffectiveStepSizes()])


@pytest.mark.parametrize(("build", "message"), [
    (lambda: akk.Adam(beta_1=1.5),
     r"adam: Invalid beta parameter at index 0: 1.5; valid range of betas\[0\]: \[0, 1\)"),
    (lambda: akk.Adam(eps_mode="keras"), "invalid eps_mode 'keras'; valid: paper, hat, root"),
    (lambda: akk.Adam(learning_rate=-0.1), r"Invalid learning rate: -0.1; valid range of lr: \[0, inf\)"),
    (lambda: akk.Adam(weight_decay_mode="l1"), "invalid weight_decay_mode 'l1'"),
    (lambda: akk.RMSprop(rho=-0.5), "rmsprop: Invalid alpha value: -0.5"),
    (lambda: akk.SGD(nesterov=True), "nesterov=True requires momentum > 0"),
    (lambda: akk.EffectiveStepSizes(every=0), "invalid every 0; valid: an integer >= 1"),
])
def test_bad_input_is_a_one_line_value_error(build, message):
    with pytest.raises(ValueError, match=message) as caught:
        build()
    assert "\n" not in str(caught.value)


def test_weight_decay_mode_l2_is_torch_adams_coupled_decay():
    """l2 adds wd·param to the gradient (then the moments see it); decoupled does not."""
    coupled = run(akk.Adam(learning_rate=0.01, weight_decay=0.5, weight_decay_mode="l2"), 20)
    decoupled = run(akk.Adam(learning_rate=0.01, weight_decay=0.5), 20)
    assert not np.allclose(coupled[0], decoupled[0], rtol=1e-3)


def test_the_package_name_shadows_nothing():
    import adamkit.keras._base as base

    assert base.keras is keras and keras.__name__ == "keras" and akk.__name__ == "adamkit.keras"
    assert isinstance(akk.Adam(), keras.optimizers.Optimizer)
    variables = [keras.Variable(v) for v in _start()]
    akk.Adam().apply(_grads([v.value for v in variables], 1.0), variables)  # a plain custom loop
