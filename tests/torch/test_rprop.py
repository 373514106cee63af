"""adamkit.torch.Rprop is torch.optim.Rprop: constructor, step, checkpoints (tests/torch/drop_in.py)."""

import pytest
import torch
from tests.torch.drop_in import assert_drop_in, assert_signature_is_torch_s

import adamkit.torch as ak
from adamkit.errors import HyperparameterError

CASES = [
    ({}, {}),
    ({"lr": 0.1, "etas": (0.25, 2.0), "step_sizes": (1e-3, 0.05)}, {"etas": (0.5, 1.5)}),
    ({"maximize": True}, {"lr": 1e-3, "step_sizes": (1e-4, 1.0), "maximize": False}),
]


def test_signature_is_torch_s():
    assert_signature_is_torch_s(ak.Rprop, torch.optim.Rprop)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kwargs,second", CASES, ids=str)
def test_steps_and_checkpoints_as_torch(kwargs, second, dtype):
    assert_drop_in(ak.Rprop, torch.optim.Rprop, kwargs, second, dtype)


def test_etas_are_refused_as_torch_refuses_them():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(HyperparameterError, match=r"Invalid eta values: 1.0, 0.5"):
        ak.Rprop([p], etas=(1.0, 0.5))
    with pytest.raises(HyperparameterError, match=r"param_groups\[0\]: .*Invalid eta values: 0.5, 0.9"):
        ak.Rprop([{"params": [p], "etas": (0.5, 0.9)}])
