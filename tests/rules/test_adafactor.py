"""The Adafactor rule against torch.optim.Adafactor, keras.optimizers.Adafactor and optax.adafactor.

Each library's reading of the paper is a set of rule settings (see adamkit.rules.adafactor); with
them the NumPy float64 rule follows each library's float64 run over 25 steps of random gradients,
and ``update(xp=torch)`` is torch's for-loop (foreach=False) step bit for bit.
"""

import math
import os

import numpy as np
import pytest
import torch

from adamkit.rules._numerics import in_place
from adamkit.rules.adafactor import ADAFACTOR, factored_axes

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras
# Keras's torch backend converts with np.array(tensor), which NumPy 2 warns about (Keras's, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")

STEPS = 25
SHAPES = [(), (7,), (4, 3), (1, 5), (2, 3, 4)]
LARGEST = {}  # worst difference seen per test, for the report (printed with -s)


def record(name, value):
    LARGEST[name] = max(LARGEST.get(name, 0.0), float(value))
    print(f"{name}: {LARGEST[name]:.3g}")


def trajectory(shape, seed=0):
    """A start and STEPS gradients, float64; the gradients scale up and down by 100 so that ε,
    clipping and the relative step all take part."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape)
    scales = 10.0 ** rng.uniform(-2, 2, STEPS)
    return x0, [s * rng.standard_normal(shape) for s in scales]


def assert_moves_equal(x, expected, x0, rtol, name):
    """``x`` and ``expected`` differ by at most ``rtol`` of how far ``expected`` moved from ``x0``
    (a float32 scalar in a step shows at 1e-8 of the move whatever the param's size)."""
    x, expected = np.asarray(x, np.float64), np.asarray(expected, np.float64)
    moved = np.max(np.abs(expected - x0))
    found = np.max(np.abs(x - expected)) / moved
    record(name, found)
    assert found <= rtol, (found, rtol)


def run_rule(hp, x0, grads, xp=np, convert=np.asarray):
    hp = ADAFACTOR.validate(hp)
    x = convert(x0)
    state = ADAFACTOR.init(x, hp, xp)
    for t, g in enumerate(grads, 1):
        x, state = ADAFACTOR.update(x, convert(g), state, t, hp, xp)
    return x, state


# -- torch.optim.Adafactor -----------------------------------------------------------------------

TORCH_CASES = [
    {},
    {"lr": 0.5, "weight_decay": 0.1, "maximize": True},
    {"eps": (1e-3, 1e-2), "d": 2.0, "beta2_decay": -0.5},
    {"lr": 1e-3},  # below 1/sqrt(t) throughout: ρ = lr
    {"eps": (1e-30, 0.0), "d": 1e9, "weight_decay": 0.5},  # no clipping, α = RMS(p)·ρ
]


def torch_hp(kwargs):
    """torch's constructor arguments as the rule's hyperparameters (its eps pair is eps1, eps2)."""
    hp = dict(kwargs)
    if "eps" in hp:
        hp["eps1"], hp["eps2"] = hp.pop("eps")
    return hp


def run_torch(kwargs, x0, grads, dtype):
    p = torch.tensor(x0, dtype=dtype, requires_grad=True)
    opt = torch.optim.Adafactor([p], foreach=False, **kwargs)
    for g in grads:
        p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
    return p.detach(), opt.state[p]


@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_numpy_reference_equals_torch_float64(kwargs, shape):
    x0, grads = trajectory(shape)
    expected, peer_state = run_torch(kwargs, x0, grads, torch.float64)
    x, state = run_rule(torch_hp(kwargs), x0, grads)
    # float64 both sides, the same formula in another op order: 1e-12 relative over 25 steps.
    np.testing.assert_allclose(x, expected.numpy(), rtol=1e-12, atol=1e-14)
    assert set(state) == set(peer_state) - {"step"}
    for key, value in state.items():
        np.testing.assert_allclose(value, peer_state[key].numpy(), rtol=1e-12, atol=1e-300)
    record("numpy vs torch float64, relative", np.max(np.abs(x - expected.numpy()) /
                                                       np.maximum(np.abs(x), 1e-300)))


@pytest.mark.parametrize("namespace", ["torch", "in_place"])
@pytest.mark.parametrize("kwargs", TORCH_CASES + [{"lr": torch.tensor(0.02)}], ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_torch_namespace_is_torchs_for_loop_bit_for_bit(kwargs, shape, namespace):
    x0, grads = trajectory(shape, seed=1)
    expected, peer_state = run_torch(kwargs, x0, grads, torch.float32)
    xp = torch if namespace == "torch" else in_place(torch)
    hp = ADAFACTOR.validate(torch_hp(kwargs))
    p = torch.tensor(x0, dtype=torch.float32)
    state = ADAFACTOR.init(p, hp, xp)
    for t, g in enumerate(grads, 1):
        grad = torch.tensor(g, dtype=torch.float32)
        before = grad.clone()
        p, state = ADAFACTOR.update(p, grad, state, t, hp, xp)
        assert torch.equal(grad, before)  # the gradient is never written into
    assert torch.equal(p, expected)
    for key, value in state.items():
        assert torch.equal(value, peer_state[key]), key


def test_torch_default_eps1_is_the_dtypes_machine_epsilon():
    x0, grads = trajectory((3, 4))
    grads = [g * 1e-6 for g in grads]  # small enough for the clamp to act in float32
    expected, _ = run_torch({}, x0, grads, torch.float32)
    x, _ = run_rule({"eps1": float(torch.finfo(torch.float32).eps)}, x0.astype(np.float32),
                    [g.astype(np.float32) for g in grads], torch,
                    lambda a: torch.tensor(a, dtype=torch.float32))
    assert torch.equal(x, expected)


def test_state_shapes_are_torchs():
    for shape in SHAPES:
        x0, grads = trajectory(shape)
        _, peer_state = run_torch({}, x0, grads[:1], torch.float64)
        _, state = run_rule({}, x0, grads[:1])
        assert {k: v.shape for k, v in state.items()} == \
            {k: tuple(v.shape) for k, v in peer_state.items() if k != "step"}


# -- keras.optimizers.Adafactor ------------------------------------------------------------------

# Keras: ε1 added to g² (no clamps), RMS(p) taken after its decoupled decay.
KERAS_SETTINGS = {"eps_clamp": False, "rms_after_decay": True, "epsilon_1": 1e-30, "lr": 1e-3,
                  "beta_2_decay": -0.8}
KERAS_CASES = [
    {},
    {"learning_rate": 0.5, "weight_decay": 0.1},
    {"beta_2_decay": -0.5, "epsilon_1": 1e-3, "epsilon_2": 1e-2, "clip_threshold": 2.0},
    {"learning_rate": 0.05, "epsilon_1": 1e-6},
]


def run_keras(kwargs, x0, grads, dtype="float64"):
    import keras

    opt = keras.optimizers.Adafactor(**kwargs)
    v = keras.Variable(x0, dtype=dtype)
    for g in grads:
        opt.apply([keras.ops.convert_to_tensor(g, dtype=dtype)], [v])
    return keras.ops.convert_to_numpy(v.value)


def keras_hp(kwargs):
    hp = {**KERAS_SETTINGS, **kwargs}
    hp.pop("relative_step", None)  # Keras's step takes min(lr, 1/sqrt(t)) whatever the flag says
    if "learning_rate" in hp:
        hp["lr"] = hp.pop("learning_rate")
    # Keras keeps its learning rate in a float32 variable, and its torch backend makes the Python
    # floats beta_2_decay and epsilon_1 float32 tensors before they meet a float64 variable.
    for name in ("lr", "beta_2_decay", "epsilon_1"):
        if name in hp:
            hp[name] = float(np.float32(hp[name]))
    return hp


@pytest.mark.parametrize("kwargs", KERAS_CASES, ids=str)
@pytest.mark.parametrize("shape", [(), (7,), (4, 3), (2, 3, 4)], ids=str)
def test_numpy_reference_equals_keras_float64(kwargs, shape):
    x0, grads = trajectory(shape, seed=2)
    expected = run_keras(kwargs, x0, grads)
    x, _ = run_rule(keras_hp(kwargs), x0, grads)
    # Keras's float64 run is float32 in places: its torch backend's ops.mean computes a float64
    # mean in float32 (the RMS, the averages of g²), ops.minimum returns float32 (ρ), its decay
    # factor 1 - lr·wd is rounded to float32. Measured 6e-8 of the move; a misplaced ε1, decay or
    # clipping moves it by 1e-3 or more.
    assert_moves_equal(x, expected, x0, 5e-7, "numpy vs keras float64 (of the move)")


def test_keras_relative_step_flag_changes_nothing():
    """Keras's update takes ρ = min(lr, 1/sqrt(t)) a second time, so relative_step=False is the
    same run: the rule's relative_step=True stands for both."""
    x0, grads = trajectory((4, 3), seed=3)
    kwargs = {"learning_rate": 0.5}
    np.testing.assert_array_equal(run_keras({**kwargs, "relative_step": False}, x0, grads),
                                  run_keras(kwargs, x0, grads))


def test_numpy_reference_equals_keras_float32_to_its_rounding():
    x0, grads = trajectory((4, 3), seed=4)
    expected = run_keras({"learning_rate": 0.05}, x0, grads, "float32")
    x, _ = run_rule(keras_hp({"learning_rate": 0.05}), x0, grads)
    # Keras's float32 arithmetic against float64: 25 steps of ~1e-7 rounding each (1.4e-6 seen).
    assert_moves_equal(x, expected, x0, 1e-5, "numpy vs keras float32 (of the move)")


# -- optax.adafactor -----------------------------------------------------------------------------

OPTAX_CASES = [
    {"learning_rate": 0.01},  # optax's defaults: nothing here is 128 long, so nothing is factored
    {"learning_rate": 0.01, "min_dim_size_to_factor": 2},
    {"learning_rate": 0.05, "min_dim_size_to_factor": 3, "momentum": 0.9, "weight_decay_rate": 0.01,
     "decay_rate": 0.5},
    {"learning_rate": None, "multiply_by_parameter_scale": False, "clipping_threshold": None,
     "min_dim_size_to_factor": 1},
    {"learning_rate": 0.01, "factored": False, "eps": 1e-3, "clipping_threshold": 2.0},
]


def optax_hp(kwargs):
    """optax.adafactor's arguments as rule settings."""
    k = {"learning_rate": None, "min_dim_size_to_factor": 128, "decay_rate": 0.8,
         "multiply_by_parameter_scale": True, "clipping_threshold": 1.0, "momentum": None,
         "weight_decay_rate": None, "eps": 1e-30, "factored": True, **kwargs}
    return {
        "lr": 1.0 if k["learning_rate"] is None else k["learning_rate"],
        "relative_step": False,
        "beta2_decay": -k["decay_rate"],
        "min_dim_size_to_factor": k["min_dim_size_to_factor"] if k["factored"] else math.inf,
        "factor_axes": "largest",
        "param_scale": k["multiply_by_parameter_scale"],
        "d": math.inf if k["clipping_threshold"] is None else k["clipping_threshold"],
        "beta1": k["momentum"] or 0.0,
        "weight_decay": k["weight_decay_rate"] or 0.0,
        "weight_decay_mode": "independent",  # optax adds wd·p to the update, unscaled by lr
        "eps_clamp": False,
        "eps1": k["eps"],
    }


def run_optax(kwargs, x0, grads):
    import jax
    import optax

    with jax.enable_x64(True):
        opt = optax.adafactor(**kwargs)
        x = jax.numpy.asarray(x0)
        state = opt.init(x)
        step = jax.jit(opt.update)
        for g in grads:
            updates, state = step(jax.numpy.asarray(g), state, x)
            x = optax.apply_updates(x, updates)
        return np.asarray(x)


@pytest.mark.parametrize("kwargs", OPTAX_CASES, ids=str)
@pytest.mark.parametrize("shape", [(), (7,), (4, 3), (3, 5, 4), (6, 2, 5)], ids=str)
def test_numpy_reference_equals_optax_float64(kwargs, shape):
    x0, grads = trajectory(shape, seed=5)
    expected = run_optax(kwargs, x0, grads)
    x, _ = run_rule(optax_hp(kwargs), x0, grads)
    # float64 both sides but optax's schedule 1 - t^-0.8 is computed in float32 (t is cast to
    # float32 even under x64): a 1e-7 relative change of each average's weight, which moves the
    # scaled gradient by about as much.
    assert_moves_equal(x, expected, x0, 5e-7, "numpy vs optax float64 (of the move)")  # 8e-8 seen


def test_largest_axes_are_optaxs():
    hp = ADAFACTOR.validate(optax_hp({"min_dim_size_to_factor": 2}))
    assert factored_axes((6, 2, 5), hp) == (0, 2)  # not the last two
    assert factored_axes((3, 5, 4), hp) == (1, 2)
    assert factored_axes((2, 1), hp) is None  # a 1-long axis is below the size to factor
    torch_like = ADAFACTOR.validate({})
    assert factored_axes((6, 2, 5), torch_like) == (1, 2)
    assert factored_axes((1, 5), torch_like) == (0, 1)  # torch factors every matrix


def test_decay_offset_shifts_only_the_second_moments_schedule():
    """optax's decay_offset: the average at step t + k with offset k is the one at step t
    without; the relative step (not optax's) keeps counting from the first step."""
    x0, grads = trajectory((4, 3), seed=6)
    hp = ADAFACTOR.validate({"relative_step": False, "lr": 0.01})
    shifted = ADAFACTOR.validate({"relative_step": False, "lr": 0.01, "decay_offset": 10})
    x, s = x0, ADAFACTOR.init(x0, hp, np)
    y, r = x0, ADAFACTOR.init(x0, hp, np)
    for t, g in enumerate(grads, 1):
        x, s = ADAFACTOR.update(x, g, s, t, hp, np)
        y, r = ADAFACTOR.update(y, g, r, t + 10, shifted, np)
    np.testing.assert_array_equal(x, y)


# -- the rule on jax.numpy under jit and on keras.ops --------------------------------------------


@pytest.mark.parametrize("settings", [{"eps1": 1e-7}, keras_hp({}), optax_hp(
    {"min_dim_size_to_factor": 2, "momentum": 0.5})], ids=str)
def test_jax_numpy_under_jit_equals_numpy(settings):
    import jax
    import jax.numpy as jnp

    hp = ADAFACTOR.validate({**settings, "weight_decay": 0.1})
    x0, grads = trajectory((4, 3), seed=7)
    expected, _ = run_rule(hp, x0, grads)
    with jax.enable_x64(True):
        step = jax.jit(lambda x, g, s, t: ADAFACTOR.update(x, g, s, t, hp, jnp))
        x = jnp.asarray(x0)
        state = ADAFACTOR.init(x, hp, jnp)
        for t, g in enumerate(grads, 1):
            x, state = step(x, jnp.asarray(g), state, jnp.asarray(t))  # a traced step
        # The same float64 expression traced: equal to rounding, 1e-13 relative.
        np.testing.assert_allclose(np.asarray(x), expected, rtol=1e-13)


def test_keras_ops_equals_numpy():
    import keras

    hp = ADAFACTOR.validate({**KERAS_SETTINGS, "weight_decay": 0.1})
    x0, grads = trajectory((2, 3, 4), seed=8)
    expected, _ = run_rule(hp, x0, grads)
    x, _ = run_rule(hp, x0, grads, keras.ops, lambda a: keras.ops.convert_to_tensor(a, "float64"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(x), expected, rtol=1e-13)
