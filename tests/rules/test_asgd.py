"""The ASGD rule against torch.optim.ASGD (the only peer: Keras and optax have none).

- NumPy float64 against torch's float64 for-loop (default dtype float64, so torch's eta and mu
  are float64 too): the same operations in the same order but for how ``param·(1-λη) - η·g`` is
  fused, so they agree to a few ulps: ``TOLERANCE`` 1e-13 relative to |param| + 1e-3, on the
  params, the average ``ax``, ``eta`` and ``mu`` (largest seen on the params 3.0e-15);
- the rule on torch tensors, functional and in place, against torch's for-loop (foreach=False):
  bitwise in float32, float64 and bfloat16, eta and mu as 0-dim tensors of torch's scalar dtype;
- jax.numpy under ``jit`` (the step traced: μ = 1 decided by ``where``) and keras.ops against
  NumPy (``TOLERANCE``).

Every case but torch's defaults starts averaging within the run (t0 small), so ``ax`` is the
running average of the iterates, not a copy of the last one.
"""

import numpy as np
import pytest
import torch
from tests.rules.batch import largest_batch_difference
from tests.rules.peers import KERAS_WARNING, largest, moved, negated, problem, run_rule, run_rule_jit
from tests.rules.torch_peer import (
    as_numpy,
    assert_bitwise,
    default_dtype,
    run_rule_torch,
    run_torch_optim,
)

from adamkit.rules.asgd import ASGD

TOLERANCE = 1e-13
# torch's optimizer database's ASGD configurations, and averaging ones (t0 within the run).
TORCH_CASES = [
    {},
    {"lambd": 0.1},
    {"lr": 0.02},
    {"t0": 100},
    {"maximize": True},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "maximize": True},
    {"t0": 5, "lr": 0.05},
    {"t0": 0, "lambd": 0.5, "alpha": 0.5, "lr": 0.1, "weight_decay": 0.01},
    {"t0": 12, "lambd": 1e-3, "alpha": 1.0},
]


def rule_hp(kwargs: dict) -> dict:
    """torch's keyword arguments in the vocabulary: ASGD's alpha is eta_power."""
    hp = dict(kwargs)
    if "alpha" in hp:
        hp["eta_power"] = hp.pop("alpha")
    return hp


@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
def test_numpy_rule_equals_torch_asgd_in_float64(kwargs):
    params, grads = problem()
    states: list = []
    ours = run_rule(ASGD, rule_hp(kwargs), params, grads, states=states)
    with default_dtype(torch.float64):
        theirs, their_states = run_torch_optim(torch.optim.ASGD, kwargs, params, grads)
    assert moved(as_numpy(theirs), params) > 1e-3
    assert largest(ours, as_numpy(theirs)) < TOLERANCE
    last = states[-1]
    assert largest([s["ax"] for s in last], [s["ax"].numpy() for s in their_states]) < TOLERANCE
    for key in ("eta", "mu"):
        assert largest([np.asarray(s[key]) for s in last],
                       [s[key].numpy() for s in their_states]) < TOLERANCE
    if kwargs.get("t0", 1e6) < len(grads) - 1:  # averaging: ax is not the last iterate
        assert largest([s["ax"] for s in last], ours) > 1e-4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("writes", [False, True], ids=["functional", "in_place"])
@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
def test_torch_rule_is_torch_asgd_bitwise(kwargs, writes, dtype):
    params, grads = problem(1, steps=20)
    theirs = run_torch_optim(torch.optim.ASGD, kwargs, params, grads, dtype)
    ours = run_rule_torch(ASGD, rule_hp(kwargs), params, grads, dtype, writes)
    assert_bitwise(ours, theirs, ASGD.state_keys)
    assert ours[1][0]["eta"].dtype == torch.float32 and ours[1][0]["eta"].ndim == 0


def test_scalar_state_follows_torch_s_default_dtype():
    """torch keeps eta and mu in float64 when that is the default dtype; so does the rule."""
    params, grads = problem(2, steps=6)
    with default_dtype(torch.float64):
        theirs = run_torch_optim(torch.optim.ASGD, {"t0": 2}, params, grads, torch.float32)
        ours = run_rule_torch(ASGD, {"t0": 2}, params, grads, torch.float32, writes=True)
    assert_bitwise(ours, theirs, ASGD.state_keys)
    assert ours[1][0]["mu"].dtype == torch.float64


@KERAS_WARNING
@pytest.mark.parametrize("kwargs", [{}, {"t0": 3, "lambd": 0.5, "eta_power": 0.5, "lr": 0.1,
                                         "weight_decay": 0.01, "maximize": True}], ids=str)
def test_jax_under_jit_and_keras_ops_equal_numpy(kwargs):
    from keras import ops

    params, grads = problem(4, steps=12)
    reference = run_rule(ASGD, kwargs, params, grads)
    assert largest(run_rule_jit(ASGD, kwargs, params, grads), reference) < TOLERANCE
    assert largest(run_rule(ASGD, kwargs, params, grads, xp=ops), reference) < TOLERANCE


def test_maximize_is_asgd_on_the_negated_gradient():
    params, grads = problem(5)
    ascending = run_rule(ASGD, {"maximize": True, "t0": 3}, params, grads)
    assert largest(ascending, run_rule(ASGD, {"t0": 3}, params, negated(grads))) == 0.0


def test_ax_is_the_average_of_the_iterates_after_t0():
    """What ax is for, on the rule's own numbers: the plain mean of the iterates from step t0 + 2
    on. μ computed at step t is 1/max(1, t - t0) and weighs the iterate of step t + 1, so ax is a
    copy of the iterate up to step t0 + 2 and a running mean's update afterwards."""
    params, grads = problem(6, steps=15, shapes=((4,),))
    hp = {"t0": 5, "lr": 0.05}
    iterates = [run_rule(ASGD, hp, params, grads[:t])[0] for t in range(1, 16)]  # x_1 .. x_15
    states: list = []
    run_rule(ASGD, hp, params, grads, states=states)
    for t in range(7, 16):
        np.testing.assert_allclose(states[t - 1][0]["ax"], np.mean(iterates[6:t], axis=0),
                                   rtol=1e-13, atol=1e-15)


def test_defaults_are_torch_s():
    hp = ASGD.validate()
    assert (hp["lr"], hp["lambd"], hp["eta_power"], hp["t0"], hp["weight_decay"]) == \
        (1e-2, 1e-4, 0.75, 1e6, 0.0)
    state = ASGD.init(np.zeros(3), hp, np)
    assert set(state) == {"eta", "mu", "ax"} and float(state["eta"]) == 1e-2


def test_a_batch_of_configurations_steps_as_each_alone():
    """NumPy hyperparameters as arrays (the lab's many configurations at once): exact."""
    configs = [{"lr": 0.01, "lambd": 1e-4, "eta_power": 0.75, "t0": 1e6, "weight_decay": 0.0},
               {"lr": 0.1, "lambd": 0.5, "eta_power": 0.5, "t0": 3, "weight_decay": 0.0},
               {"lr": 0.05, "lambd": 0.01, "eta_power": 1.0, "t0": 7, "weight_decay": 0.1}]
    assert largest_batch_difference(ASGD, configs) == 0.0


def test_jax_under_jit_keeps_the_state_in_float64():
    """The average and the scalars under jit (traced int32 step) as NumPy's: μ = 1/(t - t0) and
    η are computed in the state's dtype, not in float32 from the int32 count."""
    import jax
    import jax.numpy as jnp

    params, grads = problem(7, steps=10, shapes=((5,),))
    hp = ASGD.validate({"t0": 3, "lr": 0.05, "lambd": 0.1})
    states: list = []
    run_rule(ASGD, hp, params, grads, states=states)
    with jax.enable_x64(True):
        step = jax.jit(lambda p, g, s, t: ASGD.update(p, g, s, t, hp, jnp))
        p = jnp.asarray(params[0])
        s = ASGD.init(p, hp, jnp)
        for t, gs in enumerate(grads, start=1):
            p, s = step(p, jnp.asarray(gs[0]), s, jnp.asarray(t, jnp.int32))
        for key in ("ax", "eta", "mu"):
            assert s[key].dtype == jnp.float64, key
            assert largest([np.asarray(s[key])], [np.asarray(states[-1][0][key])]) < TOLERANCE, key
