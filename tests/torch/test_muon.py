"""adamkit.torch.Muon is torch.optim.Muon: constructor, step, checkpoints both ways, its refusals.

torch's Muon takes no ``foreach`` and keeps no ``step`` (its state is the momentum buffer); adamkit's
groups add only the rule's other settings (Keras's and optax's readings, torch's by default) and
adamkit's options.
"""

import copy

import pytest
import torch
from tests.torch.drop_in import ADAMKIT_GROUP_KEYS, assert_equal, assert_signature_is_torch_s, run

import adamkit.torch as ak
from adamkit import rules

RULE_KEYS = set(rules.get("muon").takes)
CASES = [
    ({}, {}),
    ({"lr": 0.02, "nesterov": False, "weight_decay": 0.0}, {"momentum": 0.9, "lr": 0.01}),
    ({"adjust_lr_fn": "match_rms_adamw", "eps": 1e-3, "ns_steps": 3},
     {"ns_coefficients": (2.0, -1.5, 0.5), "adjust_lr_fn": "original"}),
    ({"lr": torch.tensor(0.02), "weight_decay": 0.3}, {}),  # torch's tensor lr: its arithmetic
]


def make_params(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in [(4, 3), (3, 5), (6, 6)]]


def groups(params, second):
    return [{"params": params[:2]}, {"params": params[2:], **second}]


def test_signature_is_torch_s():
    assert_signature_is_torch_s(ak.Muon, torch.optim.Muon)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kwargs,second", CASES, ids=str)
def test_steps_and_checkpoints_as_torch(kwargs, second, dtype):
    theirs_params = make_params(dtype)
    ours_params = [p.detach().clone().requires_grad_() for p in theirs_params]
    theirs = torch.optim.Muon(groups(theirs_params, second), **kwargs)
    ours = ak.Muon(groups(ours_params, second), **kwargs)
    run([(theirs, theirs_params), (ours, ours_params)], 10, seed=1)
    for i, (p, q) in enumerate(zip(ours_params, theirs_params, strict=True)):
        assert_equal(p, q, f"param {i}")
    mine, torch_s = ours.state_dict(), theirs.state_dict()
    assert mine["state"].keys() == torch_s["state"].keys()
    for pid, state in torch_s["state"].items():
        assert list(mine["state"][pid]) == list(state) == ["momentum_buffer"]
        assert_equal(mine["state"][pid]["momentum_buffer"], state["momentum_buffer"], str(pid))
    for group, theirs_group in zip(mine["param_groups"], torch_s["param_groups"], strict=True):
        assert set(group) - set(theirs_group) <= ADAMKIT_GROUP_KEYS | RULE_KEYS
        for key, value in theirs_group.items():
            assert_equal(group[key], value, key)

    def twin(cls, state_dict):
        params = [p.detach().clone().requires_grad_() for p in theirs_params]
        opt = cls(groups(params, second), **kwargs)
        opt.load_state_dict(copy.deepcopy(state_dict))
        return opt, params

    runs = [(theirs, theirs_params), twin(ak.Muon, torch_s), twin(torch.optim.Muon, mine)]
    run(runs, 4, seed=2)
    for i, (p, q, r) in enumerate(zip(*(params for _, params in runs), strict=True)):
        assert_equal(q, p, f"param {i}: adamkit from torch's checkpoint")
        assert_equal(r, p, f"param {i}: torch from adamkit's checkpoint")


def test_params_that_are_not_matrices_are_refused_in_torch_s_words():
    bias = torch.zeros(3, requires_grad=True)
    for cls in (ak.Muon, torch.optim.Muon):
        with pytest.raises(ValueError, match=r"Muon only supports 2D parameters whereas we found a "
                                             r"parameter with size: torch.Size\(\[3\]\)"):
            cls([torch.zeros(2, 2, requires_grad=True), bias])


def test_optax_bias_correction_is_refused_in_one_line():
    """torch's Muon keeps no step count, which optax's bias correction needs."""
    with pytest.raises(ValueError, match="invalid bias_correction True: .*; valid: False"):
        ak.Muon([torch.zeros(2, 2, requires_grad=True)], bias_correction=True)
