"""The Adadelta rule against torch.optim.Adadelta, optax.adadelta and keras.optimizers.Adadelta.

- NumPy float64 against torch's float64 for-loop and optax in float64 (x64): the same formula in
  the same order but for how an average is spelled (torch's mul/addcmul, optax's (1-ρ)g² + ρv),
  so they agree to a few ulps: largest seen 8.4e-16 (torch), well inside ``TOLERANCE`` 1e-13
  (relative to |param| + 1e-3);
- Keras in float64 (torch backend) writes the ratio as (rms(Δ)·g)/rms(v) and its decoupled decay
  as p - p·wd·lr: also ulps apart (``TOLERANCE``);
- the rule on torch tensors, functional and in place, against torch's for-loop (foreach=False):
  bitwise, params and both averages, in float32, float64 and bfloat16;
- jax.numpy under ``jit`` and keras.ops against NumPy: ulps (``TOLERANCE``).
"""

import numpy as np
import optax
import pytest
import torch
from tests.rules.batch import largest_batch_difference
from tests.rules.peers import (
    KERAS_WARNING,
    largest,
    moved,
    problem,
    run_keras,
    run_optax,
    run_rule,
    run_rule_jit,
)
from tests.rules.torch_peer import (
    as_numpy,
    assert_bitwise,
    run_rule_torch,
    run_torch_optim,
)

from adamkit.errors import HyperparameterError
from adamkit.rules.adadelta import ADADELTA

TOLERANCE = 1e-13
# torch's optimizer database's Adadelta configurations, and a fast-moving one (small ρ, big ε).
TORCH_CASES = [
    {},
    {"lr": 0.01},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"weight_decay": 0.1, "maximize": True},
    {"rho": 0.95, "weight_decay": 0.9},
    {"lr": 0.5, "rho": 0.5, "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
def test_numpy_rule_equals_torch_adadelta_in_float64(kwargs):
    params, grads = problem()
    ours = run_rule(ADADELTA, kwargs, params, grads)
    theirs, _ = run_torch_optim(torch.optim.Adadelta, kwargs, params, grads)
    theirs = as_numpy(theirs)
    assert moved(theirs, params) > 1e-5
    assert largest(ours, theirs) < TOLERANCE


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("writes", [False, True], ids=["functional", "in_place"])
@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
def test_torch_rule_is_torch_adadelta_bitwise(kwargs, writes, dtype):
    params, grads = problem(1, steps=20)
    theirs = run_torch_optim(torch.optim.Adadelta, kwargs, params, grads, dtype)
    ours = run_rule_torch(ADADELTA, kwargs, params, grads, dtype, writes)
    assert_bitwise(ours, theirs, ADADELTA.state_keys)


# (the rule's hyperparameters, optax.adadelta's arguments): optax's decay is L2 as torch's.
OPTAX_CASES = [
    ({"lr": 1.0}, {"learning_rate": 1.0}),
    ({"lr": 0.5, "rho": 0.8, "eps": 1e-4}, {"learning_rate": 0.5, "rho": 0.8, "eps": 1e-4}),
    ({"lr": 1.0, "weight_decay": 0.1}, {"learning_rate": 1.0, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("hp,theirs", OPTAX_CASES, ids=str)
def test_numpy_rule_equals_optax_adadelta_in_float64(hp, theirs):
    params, grads = problem(2)
    ours = run_rule(ADADELTA, hp, params, grads)
    peer = run_optax(optax.adadelta(**theirs), params, grads)
    assert moved(peer, params) > 1e-5
    assert largest(ours, peer) < TOLERANCE


@KERAS_WARNING
@pytest.mark.parametrize("theirs", [{}, {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-4},
                                    {"learning_rate": 0.5, "weight_decay": 0.0625}], ids=str)
def test_numpy_rule_equals_keras_adadelta_in_float64(theirs):
    import keras

    keras_kwargs = {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7, **theirs}
    hp = {**keras_kwargs, "weight_decay": keras_kwargs.pop("weight_decay", 0.0),
          "weight_decay_mode": "decoupled"}
    # Keras keeps learning_rate in a float32 variable: the rule gets the same rounded value. Its
    # torch backend decays by 1 - wd·lr computed in float32: exact for the wd and lr above.
    hp["learning_rate"] = float(np.float32(hp["learning_rate"]))
    params, grads = problem(3)
    ours = run_rule(ADADELTA, hp, params, grads)
    peer = run_keras(keras.optimizers.Adadelta(**theirs), params, grads)
    assert moved(peer, params) > 1e-6
    assert largest(ours, peer) < TOLERANCE


@KERAS_WARNING
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.5, "rho": 0.5, "weight_decay": 0.1, "maximize": True}],
                         ids=str)
def test_jax_under_jit_and_keras_ops_equal_numpy(kwargs):
    from keras import ops

    params, grads = problem(4, steps=12)
    reference = run_rule(ADADELTA, kwargs, params, grads)
    assert largest(run_rule_jit(ADADELTA, kwargs, params, grads), reference) < TOLERANCE
    assert largest(run_rule(ADADELTA, kwargs, params, grads, xp=ops), reference) < TOLERANCE


def test_defaults_and_names_are_torch_s():
    hp = ADADELTA.validate()
    assert (hp["lr"], hp["alpha"], hp["eps"], hp["weight_decay"]) == (1.0, 0.9, 1e-6, 0.0)
    assert ADADELTA.validate(rho=0.8)["alpha"] == 0.8  # torch's, Keras's and optax's name
    assert ADADELTA.validate(learning_rate=0.1, epsilon=1e-7)["eps"] == 1e-7


def test_rho_above_one_is_refused_in_torch_s_words():
    with pytest.raises(HyperparameterError, match=r"adadelta: Invalid rho value: 1.1; valid range"):
        ADADELTA.validate(rho=1.1)
    # A negative one fails the vocabulary's alpha declaration first (its name in the message).
    with pytest.raises(HyperparameterError, match=r"Invalid alpha value: -0.5"):
        ADADELTA.validate(rho=-0.5)


def test_state_is_torch_s():
    p = np.zeros((2, 3))
    assert set(ADADELTA.init(p, ADADELTA.validate(), np)) == {"square_avg", "acc_delta"}


def test_a_batch_of_configurations_steps_as_each_alone():
    """NumPy hyperparameters as arrays (the lab's many configurations at once): exact."""
    configs = [{"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
               {"lr": 0.5, "rho": 0.5, "eps": 1e-3, "weight_decay": 0.1}]
    assert largest_batch_difference(ADADELTA, configs) == 0.0
