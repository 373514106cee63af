"""The Rprop rule against torch.optim.Rprop and optax.rprop (Keras has none).

Rprop's arithmetic is products by η±, a clamp and ``param ∓ step_size``: the same operations in
every implementation, so two correct float64 ones agree to the bit on gradients drawn up front
(``TOLERANCE`` 0: largest seen 0 against torch and against optax). The gradients here flip sign
at random (every case sees η- and η+ and the clamps) and include exact zeros (the ``s = 0``
branch) on some steps.

- the rule on torch tensors, functional and in place, is torch's for-loop (foreach=False) to the
  bit in float32, float64 and bfloat16, NaN gradients included (torch's sign of NaN is 0);
- optax 0.2.8 emits each step's update one step late (a known bug, google-deepmind/optax PR
  #1725): the update it computes and keeps in its state is compared, and equals the rule's move
  (to the rounding of ``param ± step``, 1e-15); its step sizes are the rule's bitwise. optax does
  not clamp while ``s = 0``: the edge where that shows (``lr`` outside ``[min, max]``) is shown;
- jax.numpy under ``jit`` and keras.ops against NumPy: bitwise too (``TOLERANCE``).
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
    negated,
    problem,
    run_rule,
    run_rule_jit,
)
from tests.rules.torch_peer import as_numpy, assert_bitwise, run_rule_torch, run_torch_optim

from adamkit.errors import HyperparameterError
from adamkit.rules.rprop import RPROP

TOLERANCE = 0.0
# torch's optimizer database's Rprop configurations, and one whose lr the clamp cuts.
TORCH_CASES = [
    {},
    {"lr": 2e-4},
    {"etas": (0.5, 1.5)},
    {"step_sizes": (2e-6, 100)},
    {"maximize": True},
    {"lr": 0.1, "etas": (0.25, 2.0), "step_sizes": (1e-3, 0.05)},
]


def rprop_problem(seed: int, steps: int = 25):
    """Random gradients, with every fifth coordinate exactly 0 on every third step."""
    params, grads = problem(seed, steps)
    for t, gs in enumerate(grads):
        if t % 3 == 1:
            for g in gs:
                g.reshape(-1)[::5] = 0.0
    return params, grads


@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
def test_numpy_rule_equals_torch_rprop_in_float64(kwargs):
    params, grads = rprop_problem(0)
    ours = run_rule(RPROP, kwargs, params, grads)
    theirs, states = run_torch_optim(torch.optim.Rprop, kwargs, params, grads)
    theirs = as_numpy(theirs)
    assert moved(theirs, params) > 1e-4
    assert largest(ours, theirs) <= TOLERANCE
    # the step sizes went their own ways (torch's state): several values, not one
    sizes = np.concatenate([s["step_size"].numpy().ravel() for s in states])
    assert len(np.unique(sizes)) > 3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("writes", [False, True], ids=["functional", "in_place"])
@pytest.mark.parametrize("kwargs", TORCH_CASES, ids=str)
def test_torch_rule_is_torch_rprop_bitwise(kwargs, writes, dtype):
    params, grads = rprop_problem(1, steps=20)
    theirs = run_torch_optim(torch.optim.Rprop, kwargs, params, grads, dtype)
    ours = run_rule_torch(RPROP, kwargs, params, grads, dtype, writes)
    assert_bitwise(ours, theirs, RPROP.state_keys)


@pytest.mark.parametrize("writes", [False, True], ids=["functional", "in_place"])
def test_nan_gradients_as_torch(writes):
    """torch's sign(NaN) is 0: the coordinate stays, its step size too, and the next step counts
    as no sign information. The rule does the same, on torch and on NumPy."""
    params, grads = rprop_problem(2, steps=8)
    grads[2][0][1] = np.nan
    grads[5][1][0, 2] = np.nan
    theirs = run_torch_optim(torch.optim.Rprop, {}, params, grads, torch.float32)
    assert_bitwise(run_rule_torch(RPROP, {}, params, grads, torch.float32, writes), theirs,
                   RPROP.state_keys)
    reference = run_rule(RPROP, {}, params, grads)
    torch64, _ = run_torch_optim(torch.optim.Rprop, {}, params, grads)
    for ours, peer in zip(reference, as_numpy(torch64), strict=True):
        assert np.isfinite(ours).all()
        np.testing.assert_array_equal(ours, peer)


# (the rule's hyperparameters, optax.rprop's arguments), lr inside [min, max]
OPTAX_CASES = [
    ({"lr": 1e-2}, {"learning_rate": 1e-2}),
    ({"lr": 0.05, "eta_minus": 0.3, "eta_plus": 1.7},
     {"learning_rate": 0.05, "eta_minus": 0.3, "eta_plus": 1.7}),
    ({"lr": 0.05, "step_sizes": (1e-3, 0.08)},
     {"learning_rate": 0.05, "min_step_size": 1e-3, "max_step_size": 0.08}),
]


def _rule_hp(hp):
    """optax's part names folded into the rule's pairs."""
    hp = dict(hp)
    if "eta_minus" in hp:
        hp["etas"] = (hp.pop("eta_minus"), hp.pop("eta_plus"))
    return hp


def run_optax_rprop(theirs: dict, params, grads):
    """optax.scale_by_rprop in float64, step by step: each step's emitted update, and the update
    and step sizes it keeps in its state (per tensor, as NumPy)."""
    import jax
    import jax.numpy as jnp

    emitted, kept, sizes = [], [], []
    with jax.enable_x64(True):
        tx = optax.scale_by_rprop(**theirs)
        state = tx.init([jnp.asarray(p, jnp.float64) for p in params])
        for gs in grads:
            updates, state = tx.update([jnp.asarray(g, jnp.float64) for g in gs], state)
            emitted.append([np.asarray(u) for u in updates])
            kept.append([np.asarray(u) for u in state.prev_updates])
            sizes.append([np.asarray(u) for u in state.step_sizes])
    return emitted, kept, sizes


@pytest.mark.parametrize("hp,theirs", OPTAX_CASES, ids=str)
def test_numpy_rule_equals_optax_rprop_s_update_in_float64(hp, theirs):
    """Each step's move equals the update optax computes and keeps (``prev_updates``: the
    descent direction before optax's ``scale(-1)``), and the step sizes are optax's, bitwise."""
    params, grads = rprop_problem(3)
    states: list = []
    ours = [params] + [run_rule(RPROP, _rule_hp(hp), params, grads[:t]) for t in range(1, 8)]
    run_rule(RPROP, _rule_hp(hp), params, grads, states=states)
    _, kept, sizes = run_optax_rprop(theirs, params, grads)
    for t in range(1, 8):
        moves = [b - a for a, b in zip(ours[t - 1], ours[t], strict=True)]
        assert largest(moves, [-u for u in kept[t - 1]], relative=False) <= 1e-15  # p ± s rounds
    for t, (state, size) in enumerate(zip(states, sizes, strict=True)):
        assert largest([s["step_size"] for s in state], size) <= TOLERANCE, t
    assert moved(ours[-1], params) > 1e-3


def test_optax_emits_the_update_one_step_late():
    """optax 0.2.8's scale_by_rprop returns the update it kept on the step before (zeroed where
    the sign flips now), so its first update is 0: google-deepmind/optax PR #1725, open. adamkit
    follows torch and the paper; this test shows the difference, and fails once optax is fixed."""
    params, grads = rprop_problem(7, steps=6)
    emitted, kept, _ = run_optax_rprop({"learning_rate": 0.01}, params, grads)
    assert all(np.all(u == 0) for u in emitted[0])
    flipped = [[g * h < 0 for g, h in zip(gs, hs, strict=True)]
               for gs, hs in zip(grads[1:], grads, strict=False)]
    for t in range(1, 6):
        for u, k, f in zip(emitted[t], kept[t - 1], flipped[t - 1], strict=True):
            np.testing.assert_array_equal(u, np.where(f, 0.0, k))


def test_optax_leaves_an_out_of_range_lr_unclamped_until_the_sign_speaks():
    """The other edge: with lr above max_step_size torch's first step size is max_step_size,
    optax's stays lr (it clamps only when the sign agreement is not 0)."""
    params, grads = rprop_problem(4, steps=1)
    states: list = []
    run_rule(RPROP, {"lr": 0.5, "step_sizes": (1e-6, 0.1)}, params, grads, states=states)
    _, _, sizes = run_optax_rprop({"learning_rate": 0.5, "max_step_size": 0.1}, params, grads)
    for s, size in zip(states[0], sizes[0], strict=True):
        assert np.all(s["step_size"] == 0.1) and np.all(size == 0.5)


@KERAS_WARNING
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.1, "etas": (0.25, 2.0), "step_sizes": (1e-3, 0.05),
                                         "maximize": True}], ids=str)
def test_jax_under_jit_and_keras_ops_equal_numpy(kwargs):
    from keras import ops

    params, grads = rprop_problem(5, steps=12)
    reference = run_rule(RPROP, kwargs, params, grads)
    assert largest(run_rule_jit(RPROP, kwargs, params, grads), reference) <= TOLERANCE
    assert largest(run_rule(RPROP, kwargs, params, grads, xp=ops), reference) <= TOLERANCE


def test_maximize_is_rprop_on_the_negated_gradient():
    params, grads = rprop_problem(6)
    ascending = run_rule(RPROP, {"maximize": True}, params, grads)
    assert largest(ascending, run_rule(RPROP, {}, params, negated(grads))) == 0.0


def test_defaults_are_torch_s():
    hp = RPROP.validate()
    assert (hp["lr"], hp["etas"], hp["step_sizes"], hp["maximize"]) == \
        (1e-2, (0.5, 1.2), (1e-6, 50.0), False)


@pytest.mark.parametrize("etas", [(1.0, 0.5), (0.0, 1.2), (0.5, 1.0), (-1, 2)])
def test_etas_out_of_order_are_refused_in_torch_s_words(etas):
    with pytest.raises(HyperparameterError,
                       match=rf"rprop: Invalid eta values: {etas[0]}, {etas[1]}; valid: 0 < etas"):
        RPROP.validate(etas=etas)


def test_a_batch_of_configurations_steps_as_each_alone():
    """NumPy hyperparameters as arrays (the lab's many configurations at once): exact."""
    configs = [{"lr": 0.01, "etas": (0.5, 1.2), "step_sizes": (1e-6, 50.0)},
               {"lr": 0.1, "etas": (0.3, 2.0), "step_sizes": (1e-3, 0.05)}]
    assert largest_batch_difference(RPROP, configs) == 0.0
