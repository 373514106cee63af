"""adamkit.torch.Adafactor is torch.optim.Adafactor: constructor, step, checkpoints both ways.

Its param groups keep torch's ``eps=(eps1, eps2)`` pair (the rule reads ``eps1``, ``eps2``), so a
checkpoint loads into either class; adamkit's groups add only the rule's other settings (Keras's and
optax's readings, torch's by default) and adamkit's options.
"""

import copy

import pytest
import torch
from tests.torch.drop_in import (
    ADAMKIT_GROUP_KEYS,
    assert_equal,
    assert_signature_is_torch_s,
    groups,
    make_params,
    run,
)

import adamkit.torch as ak
from adamkit import rules

RULE_KEYS = set(rules.get("adafactor").takes) - {"eps1", "eps2"}  # the rest of the rule's settings
CASES = [
    ({}, {}),
    ({"lr": 0.5, "eps": (1e-3, 1e-2), "d": 2.0}, {"beta2_decay": -0.5, "weight_decay": 0.1}),
    ({"weight_decay": 0.1, "maximize": True}, {"lr": 1e-3, "eps": (1e-30, 0.0)}),
    ({"lr": torch.tensor(0.5), "weight_decay": 0.1}, {}),  # torch's tensor lr: its arithmetic
]


def test_signature_is_torch_s():
    assert_signature_is_torch_s(ak.Adafactor, torch.optim.Adafactor)


def assert_same_state_dict(ours, theirs):
    assert ours["state"].keys() == theirs["state"].keys()
    for pid, state in theirs["state"].items():
        assert list(ours["state"][pid]) == list(state), pid  # torch's entries, in torch's order
        for key, value in state.items():
            assert_equal(ours["state"][pid][key], value, f"state[{pid}][{key!r}]")
    for i, (mine, group) in enumerate(zip(ours["param_groups"], theirs["param_groups"], strict=True)):
        assert set(mine) - set(group) <= ADAMKIT_GROUP_KEYS | RULE_KEYS, set(mine) - set(group)
        for key, value in group.items():
            assert_equal(mine[key], value, f"param_groups[{i}][{key!r}]")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kwargs,second", CASES, ids=str)
def test_steps_and_checkpoints_as_torch(kwargs, second, dtype):
    theirs_params = make_params(dtype)
    ours_params = [p.detach().clone().requires_grad_() for p in theirs_params]
    theirs = torch.optim.Adafactor(groups(theirs_params, second), foreach=False, **kwargs)
    ours = ak.Adafactor(groups(ours_params, second), foreach=False, **kwargs)
    run([(theirs, theirs_params), (ours, ours_params)], 12, seed=1)
    for i, (p, q) in enumerate(zip(ours_params, theirs_params, strict=True)):
        assert_equal(p, q, f"param {i}")
    assert_same_state_dict(ours.state_dict(), theirs.state_dict())

    def twin(cls, state_dict):
        params = [p.detach().clone().requires_grad_() for p in theirs_params]
        opt = cls(groups(params, second), foreach=False, **kwargs)
        opt.load_state_dict(copy.deepcopy(state_dict))
        return opt, params

    runs = [(theirs, theirs_params), twin(ak.Adafactor, theirs.state_dict()),
            twin(torch.optim.Adafactor, ours.state_dict())]
    run(runs, 4, seed=2)
    for i, (p, q, r) in enumerate(zip(*(params for _, params in runs), strict=True)):
        assert_equal(q, p, f"param {i}: adamkit from torch's checkpoint")
        assert_equal(r, p, f"param {i}: torch from adamkit's checkpoint")
    assert runs[1][0].param_groups[1]["eps"] == theirs.param_groups[1]["eps"]


def test_groups_keep_torch_s_eps_pair_and_the_rule_reads_its_parts():
    p = torch.zeros(2, 3, requires_grad=True)
    opt = ak.Adafactor([{"params": [p], "eps": (1e-4, 1e-2)}], eps=(None, 1e-3))
    assert opt.param_groups[0]["eps"] == (1e-4, 1e-2) and "eps1" not in opt.param_groups[0]
    assert opt.defaults["eps"] == (None, 1e-3) and "eps2" not in opt.defaults
    hp = opt.hyperparameters(opt.param_groups[0])
    assert (hp["eps1"], hp["eps2"]) == (1e-4, 1e-2)
    opt.add_param_group({"params": [torch.zeros(3, requires_grad=True)]})
    assert opt.param_groups[1]["eps"] == (None, 1e-3)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"eps": 1e-3}, r"eps must be a pair \(eps1, eps2\)"),
    ({"eps": (None, -1.0)}, "epsilon2 should be >= 0 but is: -1.0"),
    ({"d": 0.5}, "Clipping threshold d should be >= 1 but is: 0.5"),
    ({"beta2_decay": 0.5}, "beta2_decay should be <= 0 but is: 0.5"),
])
def test_invalid_arguments_are_refused_in_torch_s_words(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ak.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)
    if "eps" not in kwargs or isinstance(kwargs["eps"], tuple):
        with pytest.raises(ValueError, match=message):
            torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)


def test_eps_parts_are_taken_by_the_rule_s_names_too():
    a = ak.Adafactor([torch.zeros(2, requires_grad=True)], eps1=1e-4, eps2=1e-2)
    b = ak.Adafactor([torch.zeros(2, requires_grad=True)], eps=(1e-4, 1e-2))
    assert a.param_groups[0]["eps"] == b.param_groups[0]["eps"] == (1e-4, 1e-2)
    with pytest.raises(ValueError, match=r"eps2=0.1 contradicts eps=\(None, 0.01\); give one of them"):
        ak.Adafactor([torch.zeros(2, requires_grad=True)], eps=(None, 1e-2), eps2=0.1)
