"""SparseAdam equals torch.optim.SparseAdam; lazy weight decay; dense gradients; validation."""

from __future__ import annotations

import copy

import pytest
import torch

import adamkit.torch
from adamkit.torch.sparse_adam import SparseAdam


def _pair(rows=30, dim=5, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    a = torch.nn.Embedding(rows, dim, sparse=True).to(dtype)
    b = torch.nn.Embedding(rows, dim, sparse=True).to(dtype)
    b.load_state_dict(a.state_dict())
    return a, b


def _step(emb, opt, idx):
    opt.zero_grad()
    (emb(idx) ** 2).sum().mul(0.5).add(emb(idx).sum()).backward()
    opt.step()


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
                                    {"maximize": True},
                                    {"lr": torch.tensor(0.01, dtype=torch.float64)}])
def test_equals_torch_sparse_adam_over_many_steps(kwargs):
    a, b = _pair()
    ours, theirs = SparseAdam(a.parameters(), **kwargs), torch.optim.SparseAdam(b.parameters(), **kwargs)
    gen = torch.Generator().manual_seed(1)
    for _ in range(40):
        idx = torch.randint(0, 30, (12,), generator=gen)  # duplicates: coalesced first
        _step(a, ours, idx)
        _step(b, theirs, idx)
    # torch writes the moment update as old + (1-b)(new-old); the rule as b*old + (1-b)*new:
    # equal up to float64 rounding.
    torch.testing.assert_close(a.weight, b.weight, rtol=1e-13, atol=1e-15)
    s_ours, s_theirs = ours.state[a.weight], theirs.state[b.weight]
    assert s_ours["step"] == s_theirs["step"] == 40 and isinstance(s_ours["step"], int)
    for key in ("exp_avg", "exp_avg_sq"):
        torch.testing.assert_close(s_ours[key], s_theirs[key], rtol=1e-13, atol=1e-15)


def test_float32_matches_torch_to_rounding():
    a, b = _pair(dtype=torch.float32)
    ours, theirs = SparseAdam(a.parameters(), lr=0.01), torch.optim.SparseAdam(b.parameters(), lr=0.01)
    for i in range(20):
        idx = torch.tensor([i % 30, (3 * i) % 30, 7])
        _step(a, ours, idx)
        _step(b, theirs, idx)
    torch.testing.assert_close(a.weight, b.weight, rtol=1e-6, atol=1e-7)


def test_untouched_rows_and_moments_stay_put():
    a, _ = _pair()
    opt = SparseAdam(a.parameters(), lr=0.1, weight_decay=0.5)
    _step(a, opt, torch.tensor([0, 1]))
    before = a.weight.detach().clone()
    m_before = opt.state[a.weight]["exp_avg"].clone()
    _step(a, opt, torch.tensor([1, 2]))
    assert torch.equal(a.weight[3:], before[3:])
    assert torch.equal(a.weight[0], before[0])  # row 0 not in this gradient: no decay, no move
    assert torch.equal(opt.state[a.weight]["exp_avg"][0], m_before[0])
    assert not torch.equal(a.weight[2], before[2])


def test_lazy_weight_decay_is_decoupled_on_touched_rows():
    """With a zero gradient on touched rows, the only change is p *= 1 - lr*wd on those rows."""
    p = torch.nn.Parameter(torch.arange(12.0, dtype=torch.float64).reshape(4, 3) + 1)
    opt = SparseAdam([p], lr=0.1, weight_decay=0.2)
    p.grad = torch.sparse_coo_tensor(torch.tensor([[1, 3]]), torch.zeros(2, 3, dtype=torch.float64),
                                     (4, 3), check_invariants=True)
    before = p.detach().clone()
    opt.step()
    expected = before.clone()
    expected[[1, 3]] *= 1 - 0.1 * 0.2
    torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-15)


def test_weight_decay_zero_is_torch():
    a, b = _pair()
    ours = SparseAdam(a.parameters(), weight_decay=0.0)
    theirs = torch.optim.SparseAdam(b.parameters())
    _step(a, ours, torch.tensor([4, 4, 5]))
    _step(b, theirs, torch.tensor([4, 4, 5]))
    torch.testing.assert_close(a.weight, b.weight, rtol=1e-14, atol=0)


def test_dense_gradient_is_adam_with_eps_hat_on_every_row():
    torch.manual_seed(2)
    p1 = torch.nn.Parameter(torch.randn(6, 3, dtype=torch.float64))
    p2 = torch.nn.Parameter(p1.detach().clone())
    ours = SparseAdam([p1], lr=0.01)
    adam_hat = adamkit.torch.Adam([p2], lr=0.01, eps_mode="hat")
    for _ in range(5):
        g = torch.randn(6, 3, dtype=torch.float64)
        p1.grad, p2.grad = g.clone(), g.clone()
        ours.step()
        adam_hat.step()
    torch.testing.assert_close(p1, p2, rtol=1e-14, atol=1e-16)


def test_empty_gradient_counts_the_step_but_moves_nothing():
    p = torch.nn.Parameter(torch.ones(3, 2, dtype=torch.float64))
    opt, ref = SparseAdam([p]), torch.optim.SparseAdam([torch.nn.Parameter(torch.ones(3, 2))])
    empty = torch.sparse_coo_tensor(torch.zeros((1, 0), dtype=torch.long), torch.zeros(0, 2), (3, 2),
                                    check_invariants=True)
    p.grad = empty.double()
    ref.param_groups[0]["params"][0].grad = empty
    opt.step()
    ref.step()
    assert torch.equal(p.detach(), torch.ones(3, 2, dtype=torch.float64))
    assert opt.state[p]["step"] == 1 == ref.state[ref.param_groups[0]["params"][0]]["step"]


def test_state_dict_round_trip_continues_identically():
    a, b = _pair()
    opt_a = SparseAdam(a.parameters(), lr=0.02, weight_decay=0.01)
    for i in range(5):
        _step(a, opt_a, torch.tensor([i, i + 1]))
    b.load_state_dict(a.state_dict())
    opt_b = SparseAdam(b.parameters(), lr=0.02, weight_decay=0.01)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # else both share the moments
    for i in range(5):
        _step(a, opt_a, torch.tensor([i, 9]))
        _step(b, opt_b, torch.tensor([i, 9]))
    assert torch.equal(a.weight, b.weight)


def test_state_dict_is_torchs_format():
    a, b = _pair()
    ours, theirs = SparseAdam(a.parameters()), torch.optim.SparseAdam(b.parameters())
    _step(a, ours, torch.tensor([1]))
    _step(b, theirs, torch.tensor([1]))
    so, st = ours.state_dict(), theirs.state_dict()
    assert so["state"].keys() == st["state"].keys()
    assert so["state"][0].keys() == st["state"][0].keys()
    theirs.load_state_dict(copy.deepcopy(so))  # our checkpoint loads into torch's optimizer
    _step(a, ours, torch.tensor([1, 2]))
    _step(b, theirs, torch.tensor([1, 2]))
    torch.testing.assert_close(a.weight, b.weight, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -1.0}, r"Invalid learning rate: -1.0; valid range of lr: \(0, inf\)"),
    ({"eps": 0.0}, r"Invalid epsilon value: 0.0; valid range of eps: \(0, inf\)"),
    ({"betas": (1.0, 0.9)}, r"Invalid beta parameter at index 0: 1.0; valid range of betas\[0\]: \[0, 1\)"),
    ({"betas": (0.9, -0.1)}, r"Invalid beta parameter at index 1: -0.1"),
    ({"weight_decay": -0.1}, r"Invalid weight_decay value: -0.1; valid range of weight_decay: \[0, inf\)"),
    ({"lr": torch.tensor([0.1, 0.2])}, "Tensor lr must be 1-element"),
])
def test_constructor_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseAdam([torch.nn.Parameter(torch.ones(2))], **kwargs)


def test_refuses_sparse_and_complex_params():
    with pytest.raises(ValueError, match="SparseAdam requires dense parameter tensors"):
        SparseAdam([torch.zeros(2, 2).to_sparse().requires_grad_()])
    with pytest.raises(ValueError, match="does not support complex parameters"):
        SparseAdam([torch.nn.Parameter(torch.ones(2, dtype=torch.complex64))])


def test_defaults_equal_torch():
    p = [torch.nn.Parameter(torch.ones(2))]
    ours, theirs = SparseAdam(p).defaults, torch.optim.SparseAdam(p).defaults
    assert {k: v for k, v in ours.items() if k != "weight_decay"} == theirs
    assert ours["weight_decay"] == 0.0
