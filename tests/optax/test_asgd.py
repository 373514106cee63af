"""adamkit.optax.asgd (optax has no ASGD): torch.optim.ASGD's iteration with optax's conventions.

Against torch's float64 for-loop (default dtype float64, so torch's eta and mu are float64 too),
every step under ``jax.jit``: the update is ``new_param - param`` and optax adds it back, which
can round an ulp apart from torch's in-place step: ``TOLERANCE`` 1e-13 relative to |param| + 1e-3
on the params and on the average ``ax`` kept in the state (largest seen 1.1e-14 and 1.7e-15).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from tests.rules.torch_peer import default_dtype

import adamkit.optax as ako
from adamkit.optax.asgd import scale_by_asgd

TOLERANCE = 1e-13
CASES = [
    {"learning_rate": 0.05, "t0": 5},
    {"learning_rate": 0.1, "lambd": 0.5, "eta_power": 0.5, "t0": 0, "weight_decay": 0.1},
    {},
]


def _problem(seed=0, steps=20):
    rng = np.random.default_rng(seed)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=(4,))}
    grads = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(steps)]
    return params, grads


def _run(tx, params, grads):
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        state = tx.init(p)
        update = jax.jit(tx.update)
        for g in grads:
            u, state = update({k: jnp.asarray(v, jnp.float64) for k, v in g.items()}, state, p)
            p = optax.apply_updates(p, u)
        chain = state.inner_state if hasattr(state, "inner_state") else state  # inject_hyperparams
        inner = next(s for s in chain if hasattr(s, "ax"))
        return ({k: np.asarray(v) for k, v in p.items()},
                {k: np.asarray(v) for k, v in inner.ax.items()})


def _relative(a, e):
    return float(np.max(np.abs(a - e) / (np.abs(e) + 1e-3)))


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_equals_torch_asgd_in_float64_under_jit(kwargs):
    params, grads = _problem()
    ours, ours_ax = _run(ako.asgd(**kwargs), params, grads)
    torch_kwargs = {"lr": kwargs.get("learning_rate", 0.01), "lambd": kwargs.get("lambd", 1e-4),
                    "alpha": kwargs.get("eta_power", 0.75), "t0": kwargs.get("t0", 1e6),
                    "weight_decay": kwargs.get("weight_decay", 0.0)}
    with default_dtype(torch.float64):
        tensors = {k: torch.tensor(v) for k, v in params.items()}
        opt = torch.optim.ASGD(list(tensors.values()), foreach=False, **torch_kwargs)
        for g in grads:
            for k, t in tensors.items():
                t.grad = torch.tensor(g[k])
            opt.step()
    for k, t in tensors.items():
        assert _relative(ours[k], t.numpy()) < TOLERANCE
        assert _relative(ours_ax[k], opt.state[t]["ax"].numpy()) < TOLERANCE
        assert not np.allclose(ours[k], params[k])
    if kwargs.get("t0", 1e6) < len(grads):  # averaging: ax is not the last iterate
        assert not np.allclose(ours_ax["w"], ours["w"])


def test_inject_hyperparams_equals_the_plain_function():
    params, grads = _problem(1, steps=8)
    plain = _run(ako.asgd(0.05, t0=2), params, grads)
    injected = _run(optax.inject_hyperparams(ako.asgd)(0.05, t0=2), params, grads)
    for a, b in zip(plain, injected, strict=True):
        for k in a:
            assert _relative(a[k], b[k]) < TOLERANCE


def test_the_update_needs_params():
    tx = scale_by_asgd(0.01)
    params = {"w": jnp.zeros(3)}
    with pytest.raises(ValueError, match="asgd: the update needs the params"):
        tx.update({"w": jnp.ones(3)}, tx.init(params))


def test_state_keeps_torch_s_scalars_per_parameter():
    state = ako.asgd(0.05).init({"w": jnp.zeros((2, 3)), "b": jnp.zeros(3)})
    inner = next(s for s in state if hasattr(s, "ax"))
    assert inner._fields == ("count", "eta", "mu", "ax")
    assert inner.eta["w"].shape == () and float(inner.eta["w"]) == pytest.approx(0.05)
    assert inner.ax["w"].shape == (2, 3)
