"""The foreach fallback (adamkit.torch.fused.foreach): each rule over lists of tensors against
the same rule tensor by tensor, on CPU tensors (torch only: no Triton needed): the same torch
ops in the same order, hence the same bits."""

import pytest
import torch
from tests.torch.fused.kernel_cases import CASES as KERNEL_CASES

from adamkit import rules
from adamkit.torch.fused.foreach import FOREACH, TensorList, step_foreach

SIZES = (1, 0, 300, 1077)
STEPS = (1, 2, 3, 7, 8)  # RAdam turns adaptive after step 5; a step count that jumps is fine

CONFIGS = KERNEL_CASES  # (rule, options): tests/kernel_cases.py


def _id(config):
    name, options = config
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def _hyperparameters(rule, options):
    settings = {"lr": 1e-2, **{k: v for k, v in options.items() if k != "lr_factor"}}
    return {**rule.validate(settings), "lr_factor": options.get("lr_factor", 1.0)}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("config", CONFIGS, ids=[_id(c) for c in CONFIGS])
def test_foreach_matches_the_rule_per_tensor(config, dtype):
    name, options = config
    rule = rules.get(name)
    hp = _hyperparameters(rule, options)
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(n, generator=gen, dtype=dtype) for n in SIZES]
    expected = [p.clone() for p in params]
    states = [rule.init(p, hp, torch) for p in params]
    ref_states = [rule.init(p, hp, torch) for p in params]
    for step in STEPS:
        grads = [torch.randn(n, generator=gen, dtype=dtype) for n in SIZES]
        step_foreach(rule, params, grads, states, step, hp)
        for i in range(len(SIZES)):
            expected[i], ref_states[i] = rule.update(expected[i], grads[i], ref_states[i], step, hp,
                                                     torch)
            what = f"{_id(config)} step {step} tensor {i}"
            # the same torch ops in the same order, as foreach ops: the same bits on the CPU
            torch.testing.assert_close(params[i], expected[i], rtol=0, atol=0,
                                       msg=lambda m, w=what: f"{w}: {m}")
            assert set(states[i]) == set(ref_states[i]), what
            for key, value in ref_states[i].items():
                torch.testing.assert_close(states[i][key], value, rtol=0, atol=0,
                                           msg=lambda m, w=what, k=key: f"{w} {k}: {m}")


def test_in_place_and_no_aliasing():
    """The params and moments are updated in their own storage; SGD's first buffer is a fresh
    tensor (not the gradient)."""
    rule = rules.get("sgd")
    hp = rule.validate({"lr": 0.1, "momentum": 0.9})
    params = [torch.ones(3), torch.ones(5)]
    grads = [torch.full((3,), 2.0), torch.full((5,), 2.0)]
    addresses = [p.data_ptr() for p in params]
    states: list[dict] = [{}, {}]
    step_foreach(rule, params, grads, states, 1, hp)
    assert [p.data_ptr() for p in params] == addresses
    assert all(s["momentum_buffer"].data_ptr() != g.data_ptr() for s, g in zip(states, grads))
    buffers = [s["momentum_buffer"].data_ptr() for s in states]
    step_foreach(rule, params, grads, states, 2, hp)
    assert [s["momentum_buffer"].data_ptr() for s in states] == buffers
    torch.testing.assert_close(params[0], torch.full((3,), 1 - 0.2 - 0.1 * 3.8))


def test_tensor_list_arithmetic():
    a = TensorList([torch.tensor([1.0, 4.0]), torch.tensor([9.0])])
    b = TensorList([torch.tensor([2.0, 2.0]), torch.tensor([3.0])])
    as_lists = lambda x: [t.tolist() for t in x.tensors]
    assert as_lists(1 - a) == [[0.0, -3.0], [-8.0]]
    assert as_lists(2 / b) == [[1.0, 1.0], [(2 / torch.tensor(3.0)).item()]]
    assert as_lists(a / b + a * 2 - b) == [[0.5, 8.0], [18.0]]
    assert as_lists(FOREACH.sqrt(a)) == [[1.0, 2.0], [3.0]]
    assert as_lists(FOREACH.maximum(a, b)) == [[2.0, 4.0], [9.0]]
    assert as_lists(FOREACH.where(False, a, b)) == as_lists(b)
    assert as_lists(FOREACH.zeros_like(-a)) == [[0.0, 0.0], [0.0]]
    with pytest.raises(TypeError):
        a + torch.ones(2)
