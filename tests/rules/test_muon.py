"""The Muon rule against torch.optim.Muon, keras.optimizers.Muon and optax.contrib.muon.

torch's Newton-Schulz iteration runs in bfloat16, so ``update(xp=torch)`` is checked bit for bit
against torch's step and the NumPy rule (bfloat16 emulated) to bfloat16's noise; Keras's and
optax's iterate in the param's dtype, so the NumPy float64 rule is checked against their float64
runs closely. Each library's reading is a set of rule settings (see adamkit.rules.muon).
"""

import os

import numpy as np
import pytest
import torch

from adamkit.errors import HyperparameterError
from adamkit.rules._numerics import in_place
from adamkit.rules.muon import MUON, orthogonalize

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras
# Keras's torch backend converts with np.array(tensor), which NumPy 2 warns about (Keras's, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")

STEPS = 20
SHAPES = [(4, 3), (3, 5), (6, 6), (1, 4)]
LARGEST = {}  # worst difference seen per test, for the report (printed with -s)


def record(name, value):
    LARGEST[name] = max(LARGEST.get(name, 0.0), float(value))
    print(f"{name}: {LARGEST[name]:.3g}")


def trajectory(shape, seed=0):
    """A start and STEPS gradients (float64), scaled up and down by 10 around 1."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape)
    scales = 10.0 ** rng.uniform(-1, 1, STEPS)
    return x0, [s * rng.standard_normal(shape) for s in scales]


def run_rule(hp, x0, grads, xp=np, convert=np.asarray):
    hp = MUON.validate(hp)
    x = convert(x0)
    state = MUON.init(x, hp, xp)
    for t, g in enumerate(grads, 1):
        x, state = MUON.update(x, convert(g), state, t, hp, xp)
    return x, state


def assert_moves_equal(x, expected, x0, rtol, name):
    """``x`` and ``expected`` differ by at most ``rtol`` of how far ``expected`` moved from ``x0``."""
    x, expected = np.asarray(x, np.float64), np.asarray(expected, np.float64)
    found = np.max(np.abs(x - expected)) / np.max(np.abs(expected - x0))
    record(name, found)
    assert found <= rtol, (found, rtol)


# -- torch.optim.Muon ----------------------------------------------------------------------------

TORCH_CASES = [
    {},
    {"nesterov": False, "weight_decay": 0.0, "lr": 0.02},
    {"adjust_lr_fn": "match_rms_adamw", "momentum": 0.9, "eps": 1e-3, "ns_steps": 3},
    {"adjust_lr_fn": "original", "momentum": 0.0, "weight_decay": 0.5},
    {"ns_coefficients": (2.0, -1.5, 0.5), "ns_steps": 8},
]


def run_torch(kwargs, x0, grads):
    p = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Muon([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
    return p.detach(), opt.state[p]


@pytest.mark.parametrize("namespace", ["torch", "in_place"])
@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_torch_namespace_is_torchs_step_bit_for_bit(kwargs, shape, namespace):
    x0, grads = trajectory(shape)
    expected, peer_state = run_torch(kwargs, x0, grads)
    hp = MUON.validate(kwargs)
    xp = torch if namespace == "torch" else in_place(torch)
    p = torch.tensor(x0, dtype=torch.float32)
    state = MUON.init(p, hp, xp)
    for t, g in enumerate(grads, 1):
        grad = torch.tensor(g, dtype=torch.float32)
        before = grad.clone()
        p, state = MUON.update(p, grad, state, t, hp, xp)
        assert torch.equal(grad, before)  # the gradient is never written into
    assert torch.equal(p, expected)
    assert set(state) == set(peer_state) == {"momentum_buffer"}
    assert torch.equal(state["momentum_buffer"], peer_state["momentum_buffer"])


@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_numpy_reference_follows_torch_to_bfloat16_noise(kwargs, shape):
    x0, grads = trajectory(shape, seed=1)
    expected, peer_state = run_torch(kwargs, x0, grads)
    x, state = run_rule(kwargs, x0, grads)
    # The iteration's values are bfloat16 (8 significant bits) on both sides, emulated here
    # (float32 arithmetic rounded to bfloat16 where torch holds bfloat16): one iteration agrees
    # with torch's bit for bit on the matrices seen, so what remains is the float32 param and
    # buffer against float64 ones, amplified where an input's rounding flips a bfloat16
    # rounding: 1.2e-4 of the move seen, 1e-3 allowed (bfloat16's own step is 4e-3).
    assert_moves_equal(x, expected.numpy(), x0, 1e-3, "numpy (bf16 emulated) vs torch (of the move)")
    np.testing.assert_allclose(state["momentum_buffer"], peer_state["momentum_buffer"].numpy(),
                               rtol=1e-5, atol=1e-6)


def test_bfloat16_emulation_of_one_iteration_is_torchs_to_a_bfloat16_step():
    """One orthogonalization of the same matrix: NumPy's emulated bfloat16 against torch's."""
    rng = np.random.default_rng(2)
    m = rng.standard_normal((16, 24)).astype(np.float32)
    hp = MUON.validate({})
    ours = orthogonalize(m, hp, np)
    theirs = orthogonalize(torch.tensor(m), hp, torch).float().numpy()
    exact = orthogonalize(m.astype(np.float64), MUON.validate({"ns_dtype": "param"}), np)
    found = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
    record("one NS, numpy bf16 vs torch bf16 (of the largest entry)", found)
    assert found < 2 ** -8  # 0 seen: the same bfloat16 values; one bfloat16 step allowed
    # ... and bfloat16 is what makes it differ from the float64 iteration, by more than that
    assert np.max(np.abs(exact - theirs)) > np.max(np.abs(ours - theirs))


# -- keras.optimizers.Muon -----------------------------------------------------------------------

KERAS_SETTINGS = {"momentum_mode": "sum", "eps_clamp": False, "eps": 1e-7, "ns_dtype": "param",
                  "adjust_lr_fn": "match_rms_adamw", "rms_rate": 0.2, "weight_decay": 0.004}
KERAS_CASES = [
    {},
    {"nesterov": False, "weight_decay": 0.1, "learning_rate": 0.01},
    {"rms_rate": None, "momentum": 0.9, "ns_steps": 3},
    {"muon_a": 2.0, "muon_b": -1.5, "muon_c": 0.5, "ns_steps": 8, "rms_rate": 0.5},
]


def keras_hp(kwargs):
    """keras.optimizers.Muon's arguments (for matrices) as rule settings."""
    hp = {**KERAS_SETTINGS, "lr": 1e-3, **kwargs}
    if "learning_rate" in hp:
        hp["lr"] = hp.pop("learning_rate")
    hp["lr"] = float(np.float32(hp["lr"]))  # Keras keeps its learning rate in a float32 variable
    if "muon_a" in hp:
        hp["ns_coefficients"] = (hp.pop("muon_a"), hp.pop("muon_b"), hp.pop("muon_c"))
    if hp["rms_rate"] is None:
        hp["adjust_lr_fn"], hp["rms_rate"] = "unscaled", 0.2
    return hp


def run_keras(kwargs, x0, grads, dtype="float64"):
    import keras

    opt = keras.optimizers.Muon(**kwargs)
    v = keras.Variable(x0, dtype=dtype, name="kernel")
    for g in grads:
        opt.apply([keras.ops.convert_to_tensor(g, dtype=dtype)], [v])
    assert opt.adam_velocities[0] is None  # the Muon step, not its AdamW fallback
    return keras.ops.convert_to_numpy(v.value)


@pytest.mark.parametrize("kwargs", KERAS_CASES, ids=str)
@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_numpy_reference_equals_keras_float64(kwargs, shape):
    x0, grads = trajectory(shape, seed=3)
    expected = run_keras(kwargs, x0, grads)
    x, _ = run_rule(keras_hp(kwargs), x0, grads)
    # float64 both sides but for Keras's float32 scalars (its decay factor 1 - lr·wd, Python
    # numbers meeting float64 tensors in ops.*); the iteration itself is float64.
    # Measured 7e-8 of the move; eps_clamp or momentum_mode the other way moves it by 1e-3 or more.
    assert_moves_equal(x, expected, x0, 5e-7, "numpy vs keras float64 (of the move)")


def test_numpy_reference_equals_keras_float32_to_its_rounding():
    x0, grads = trajectory((5, 3), seed=4)
    expected = run_keras({"learning_rate": 0.01}, x0, grads, "float32")
    x, _ = run_rule(keras_hp({"learning_rate": 0.01}), x0, grads)
    assert_moves_equal(x, expected, x0, 5e-5, "numpy vs keras float32 (of the move)")  # 5e-6 seen


# -- optax.contrib.muon --------------------------------------------------------------------------

OPTAX_SETTINGS = {"momentum_mode": "ema", "bias_correction": True, "eps_clamp": False,
                  "ns_dtype": "param", "adjust_lr_fn": "original_transposed", "weight_decay": 0.0}
OPTAX_CASES = [
    {"learning_rate": 0.01},
    {"learning_rate": 0.02, "nesterov": False, "weight_decay": 0.1},
    {"learning_rate": 0.01, "consistent_rms": 0.2, "beta": 0.9},
    {"learning_rate": 0.01, "adaptive": True},
    {"learning_rate": 0.01, "preconditioning": "spectral"},
    {"learning_rate": 0.01, "preconditioning": "aol"},
    {"learning_rate": 0.01, "preconditioning": "schatten", "ns_steps": 4},
    {"learning_rate": 0.01, "ns_coeffs": "dion"},
    {"learning_rate": 0.01, "ns_steps": 3, "eps": 1e-3},
]


def optax_hp(kwargs):
    """optax.contrib.muon's arguments (for matrices) as rule settings."""
    import optax.contrib._muon as optax_muon

    hp = {**OPTAX_SETTINGS, "eps": 1e-8, "momentum": 0.95, **kwargs}
    hp["lr"] = hp.pop("learning_rate")
    if "beta" in hp:
        hp["momentum"] = hp.pop("beta")
    if isinstance(hp.get("ns_coeffs"), str):
        hp["ns_coefficients"] = tuple(map(tuple, optax_muon._NS_COEFFS_PRESET_DICT[hp.pop("ns_coeffs")]))
    if hp.get("consistent_rms") is not None:
        hp["adjust_lr_fn"], hp["rms_rate"] = "match_rms_adamw", hp.pop("consistent_rms")
    return hp


def run_optax(kwargs, x0, grads):
    import jax
    import optax
    from optax import contrib

    with jax.enable_x64(True):
        opt = contrib.muon(**kwargs)
        x = jax.numpy.asarray(x0)
        state = opt.init(x)
        step = jax.jit(opt.update)
        for g in grads:
            updates, state = step(jax.numpy.asarray(g), state, x)
            x = optax.apply_updates(x, updates)
        return np.asarray(x)


@pytest.mark.parametrize("kwargs", OPTAX_CASES, ids=str)
@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_numpy_reference_equals_optax_float64(kwargs, shape):
    x0, grads = trajectory(shape, seed=5)
    expected = run_optax(kwargs, x0, grads)
    x, _ = run_rule(optax_hp(kwargs), x0, grads)
    # float64 both sides, the same iteration in another op order: 1e-14 seen.
    assert_moves_equal(x, expected, x0, 1e-12, "numpy vs optax float64 (of the move)")


# -- settings, refusals, other namespaces ---------------------------------------------------------


def test_non_matrix_params_are_refused_in_one_line():
    hp = MUON.validate({})
    with pytest.raises(ValueError, match=r"muon: params must be matrices; got one of shape \(3,\)"):
        MUON.update(np.zeros(3), np.ones(3), MUON.init(np.zeros(3), hp, np), 1, hp, np)


@pytest.mark.parametrize(("given", "message"), [
    ({"ns_coefficients": (1.0, 2.0)}, "invalid ns_coefficients"),
    ({"ns_steps": 2.5}, "invalid ns_steps 2.5"),
    ({"ns_steps": 100}, "Number of steps must be less than 100"),
    ({"bias_correction": True, "momentum_mode": "sum"}, "valid: momentum_mode='ema'"),
    ({"adjust_lr_fn": "keras"}, "invalid adjust_lr_fn 'keras'; valid: None, original"),
])
def test_invalid_settings_name_the_value_and_the_valid_ones(given, message):
    with pytest.raises(HyperparameterError, match=message):
        MUON.validate(given)


def test_defaults_are_torchs():
    import inspect

    torch_defaults = {k: p.default for k, p in
                      inspect.signature(torch.optim.Muon.__init__).parameters.items()
                      if p.default is not inspect.Parameter.empty}
    ours = MUON.defaults
    for key, value in torch_defaults.items():
        assert ours[key] == value, key


@pytest.mark.parametrize("settings", [{"ns_dtype": "param"}, OPTAX_SETTINGS, KERAS_SETTINGS],
                         ids=str)
def test_jax_numpy_under_jit_equals_numpy(settings):
    import jax
    import jax.numpy as jnp

    hp = MUON.validate({**settings, "weight_decay": 0.1, "lr": 0.01})
    x0, grads = trajectory((5, 3), seed=6)
    expected, _ = run_rule(hp, x0, grads)
    with jax.enable_x64(True):
        step = jax.jit(lambda x, g, s, t: MUON.update(x, g, s, t, hp, jnp))
        x = jnp.asarray(x0)
        state = MUON.init(x, hp, jnp)
        for t, g in enumerate(grads, 1):
            x, state = step(x, jnp.asarray(g), state, jnp.asarray(t))  # a traced step
        # The same float64 expression traced: equal to rounding.
        assert_moves_equal(np.asarray(x), expected, x0, 1e-12, "jax.numpy jit vs numpy (of the move)")


def test_jax_numpy_in_bfloat16_follows_torch():
    import jax
    import jax.numpy as jnp

    hp = MUON.validate({})
    x0, grads = trajectory((4, 6), seed=7)
    expected, _ = run_torch({}, x0, grads)
    step = jax.jit(lambda x, g, s, t: MUON.update(x, g, s, t, hp, jnp))
    x = jnp.asarray(x0, jnp.float32)
    state = MUON.init(x, hp, jnp)
    for t, g in enumerate(grads, 1):
        x, state = step(x, jnp.asarray(g, jnp.float32), state, t)
    assert_moves_equal(np.asarray(x), expected.numpy(), x0, 1e-3, "jax bf16 vs torch (of the move)")


def test_keras_ops_equals_numpy():
    import keras

    for settings in ({"ns_dtype": "param"}, KERAS_SETTINGS, {**OPTAX_SETTINGS, "adaptive": True}):
        hp = MUON.validate({**settings, "weight_decay": 0.1, "lr": 0.01})
        x0, grads = trajectory((3, 5), seed=8)
        expected, _ = run_rule(hp, x0, grads)
        x, _ = run_rule(hp, x0, grads, keras.ops,
                        lambda a: keras.ops.convert_to_tensor(a, "float64"))
        assert_moves_equal(keras.ops.convert_to_numpy(x), expected, x0, 1e-12,
                           "keras.ops vs numpy (of the move)")
