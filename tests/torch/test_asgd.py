"""adamkit.torch.ASGD is torch.optim.ASGD: constructor, step, checkpoints (tests/torch/drop_in.py).

Its ``alpha`` (the step size's decay power) is the vocabulary's ``eta_power``; the constructor and
the param groups say ``alpha`` as torch's do. ``eta`` and ``mu`` are 0-dim tensors in torch's scalar
dtype (float32 for float64 params too), and stay so across checkpoints.
"""

import pytest
import torch
from tests.torch.drop_in import assert_drop_in, assert_signature_is_torch_s, make_params

import adamkit.torch as ak

CASES = [
    ({}, {}),
    ({"t0": 3, "lambd": 0.01, "alpha": 0.5, "lr": 0.05}, {"alpha": 1.0, "t0": 6}),
    ({"weight_decay": 0.1, "maximize": True, "t0": 0}, {"lambd": 0.5, "lr": 0.1}),
]


def test_signature_is_torch_s():
    assert_signature_is_torch_s(ak.ASGD, torch.optim.ASGD)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kwargs,second", CASES, ids=str)
def test_steps_and_checkpoints_as_torch(kwargs, second, dtype):
    assert_drop_in(ak.ASGD, torch.optim.ASGD, kwargs, second, dtype)


def test_alpha_is_torch_s_in_groups_and_the_rule_s_eta_power():
    params = make_params(torch.float64)
    opt = ak.ASGD([{"params": params[:1], "alpha": 0.5}, {"params": params[1:]}], alpha=0.9)
    assert [g["alpha"] for g in opt.param_groups] == [0.5, 0.9]
    assert all("eta_power" not in g for g in opt.param_groups) and opt.defaults["alpha"] == 0.9
    assert opt.hyperparameters(opt.param_groups[0])["eta_power"] == 0.5
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    state = opt.state[params[0]]
    assert state["eta"].dtype == torch.float32 and state["eta"].ndim == 0
    # eta after step 1: lr / (1 + λ·lr·1)^α with this group's α, rounded to float32 as torch's
    assert state["eta"].item() == torch.tensor(0.01 / (1 + 1e-4 * 0.01) ** 0.5).item()
