"""adamkit.torch.Adadelta is torch.optim.Adadelta: constructor, step, checkpoints (tests/torch/drop_in.py).

Its param groups say ``rho`` as torch's do (the vocabulary's ``alpha``), so a checkpoint loads into
either class, and a group given with ``rho`` is validated as torch validates it.
"""

import pytest
import torch
from tests.torch.drop_in import assert_drop_in, assert_signature_is_torch_s

import adamkit.torch as ak
from adamkit.errors import HyperparameterError

CASES = [
    ({}, {}),
    ({"lr": 0.5, "rho": 0.8, "eps": 1e-4}, {"rho": 0.5, "weight_decay": 0.1}),
    ({"weight_decay": 0.1, "maximize": True}, {"lr": 0.1, "maximize": False}),
]


def test_signature_is_torch_s():
    assert_signature_is_torch_s(ak.Adadelta, torch.optim.Adadelta)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kwargs,second", CASES, ids=str)
def test_steps_and_checkpoints_as_torch(kwargs, second, dtype):
    assert_drop_in(ak.Adadelta, torch.optim.Adadelta, kwargs, second, dtype)


def test_groups_and_defaults_say_rho():
    p = torch.zeros(2, requires_grad=True)
    opt = ak.Adadelta([{"params": [p], "rho": 0.5}], rho=0.8)
    assert opt.param_groups[0]["rho"] == 0.5 and "alpha" not in opt.param_groups[0]
    assert opt.defaults["rho"] == 0.8 and "alpha" not in opt.defaults
    assert opt.hyperparameters(opt.param_groups[0])["alpha"] == 0.5  # what the rule reads
    q = torch.zeros(3, requires_grad=True)
    opt.add_param_group({"params": [q]})
    assert opt.param_groups[1]["rho"] == 0.8


@pytest.mark.parametrize("where", ["constructor", "group"])
def test_rho_above_one_is_refused_in_torch_s_words(where):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(HyperparameterError, match=r"Invalid rho value: 1.5"):
        if where == "constructor":
            ak.Adadelta([p], rho=1.5)
        else:
            ak.Adadelta([{"params": [p], "rho": 1.5}])
