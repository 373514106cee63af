"""adamkit.torch.muon.MuonWithAdamW: one optimizer, Muon on the matrices, AdamW on the rest.

Each kind must step bitwise as the optimizer of that kind alone does (adamkit.torch.Muon on the
matrices, adamkit.torch.AdamW with lr·adam_lr_ratio and the adam_* settings on the rest), and as
torch.optim's two (AdamW's for-loop, foreach=False): the groups only route params, they change no
arithmetic. A checkpoint continues bitwise; a scheduler and nonfinite="skip" act on both kinds.
"""

from __future__ import annotations

import copy
import inspect

import pytest
import torch

import adamkit.torch as ak
from adamkit import clipping
from adamkit.errors import HyperparameterError
from adamkit.torch.muon import MuonWithAdamW

# matrices (Muon) and what is not one (AdamW): biases, a scalar, a conv-like 3-D kernel
SHAPES = [(4, 3), (5,), (3, 5), (), (2, 1, 3), (6, 6)]
MUON = {"lr": 0.02, "weight_decay": 0.05, "momentum": 0.9}
BESIDE = {"adam_betas": (0.8, 0.95), "adam_eps": 1e-6, "adam_weight_decay": 0.01, "adam_lr_ratio": 0.25}
# the same AdamW, alone
ADAMW = {"lr": 0.02 * 0.25, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.01}
STEPS = 8


def make_params(dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]


def clones(params):
    return [p.detach().clone().requires_grad_() for p in params]


def split(params):
    return [p for p in params if p.ndim == 2], [p for p in params if p.ndim != 2]


def step_all(runs, steps, seed=1, nan_at=None):
    """Step every (optimizer(s), params) with the same gradients; param 1 has none on step 2."""
    g = torch.Generator().manual_seed(seed)
    first = runs[0][1]
    for step in range(steps):
        grads = [None if (i == 1 and step == 2) else torch.randn(p.shape, generator=g, dtype=p.dtype)
                 for i, p in enumerate(first)]
        if nan_at == step:
            grads[3] = torch.tensor(float("nan"), dtype=first[3].dtype)
        for opts, params in runs:
            for p, grad in zip(params, grads, strict=True):
                p.grad = None if grad is None else grad.clone()
            for opt in opts:
                opt.step()


def assert_same(a_params, b_params, a_opt, b_opts):
    for a, b in zip(a_params, b_params, strict=True):
        assert torch.equal(a, b), tuple(a.shape)
        b_state = next(o.state[b] for o in b_opts if any(b is q for g in o.param_groups for q in g["params"]))
        assert a_opt.state[a].keys() == b_state.keys()
        for key, value in a_opt.state[a].items():
            assert value.dtype == b_state[key].dtype and torch.equal(value, b_state[key]), key


@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_each_kind_steps_bitwise_as_alone(dtype, fused):
    """fused=None: the AdamW group takes adamkit's engine, as AdamW alone does (its arithmetic is
    not torch's for-loop's to the bit); fused=False: the rule path, bitwise torch's for-loop."""
    ours = make_params(dtype)
    opt = MuonWithAdamW(ours, **MUON, **BESIDE, fused=fused)
    assert [g["use_muon"] for g in opt.param_groups] == [True, False]
    mine, torch_s = clones(ours), clones(ours)
    alone = [ak.Muon(split(mine)[0], **MUON, fused=fused), ak.AdamW(split(mine)[1], **ADAMW, fused=fused)]
    theirs = [torch.optim.Muon(split(torch_s)[0], **MUON),
              torch.optim.AdamW(split(torch_s)[1], **ADAMW, foreach=False)]
    step_all([([opt], ours), (alone, mine), (theirs, torch_s)], STEPS)
    assert_same(ours, mine, opt, alone)
    if fused is False:
        assert_same(ours, torch_s, opt, theirs)
    # the AdamW groups take adamkit.torch.AdamW's path (its engine), the Muon groups the rule's
    assert opt.paths()[1] == alone[1].paths()[0]
    # internals of an AdamW param: its rule's (Muon's params have no Adam moments)
    bias = split(ours)[1][0]
    ours_in, alone_in = opt.internals(bias), alone[1].internals(split(mine)[1][0])
    assert all(torch.equal(ours_in[k], alone_in[k]) for k in alone_in)
    with pytest.raises(ValueError):
        opt.internals(ours[0])


def test_state_dict_round_trip_continues_bitwise():
    params = make_params()
    opt = MuonWithAdamW(params, **MUON, **BESIDE)
    step_all([([opt], params)], 3)
    saved = copy.deepcopy(opt.state_dict())
    resumed_params = clones(params)
    resumed = MuonWithAdamW(resumed_params, **MUON)  # settings come from the checkpoint's groups
    resumed.load_state_dict(saved)
    assert resumed.param_groups[1]["lr"] == ADAMW["lr"] and resumed.param_groups[1]["betas"] == (0.8, 0.95)
    step_all([([opt], params), ([resumed], resumed_params)], 4, seed=2)
    assert_same(params, resumed_params, opt, [resumed])
    # a torch.optim.Muon checkpoint (matrices only) loads, its groups marked Muon's, and continues
    mats = split(make_params())[0]
    theirs = torch.optim.Muon(mats, **MUON)
    step_all([([theirs], mats)], 2)
    ours_params = clones(mats)
    ours = MuonWithAdamW(ours_params, **MUON)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))  # torch shares tensors else
    assert [g["use_muon"] for g in ours.param_groups] == [True]
    step_all([([theirs], mats), ([ours], ours_params)], 2)
    assert_same(ours_params, mats, ours, [theirs])


def test_a_scheduler_changes_both_kinds():
    def schedule(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    ours, mine = make_params(), make_params()
    opt = MuonWithAdamW(ours, **MUON, **BESIDE)
    alone = [ak.Muon(split(mine)[0], **MUON), ak.AdamW(split(mine)[1], **ADAMW)]
    schedulers = [schedule(o) for o in (opt, *alone)]
    g = torch.Generator().manual_seed(3)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=g) for p in ours]
        for params, opts in ((ours, [opt]), (mine, alone)):
            for p, grad in zip(params, grads, strict=True):
                p.grad = grad.clone()
            for o in opts:
                o.step()
        for s in schedulers:
            s.step()
    assert [gr["lr"] for gr in opt.param_groups] == [0.02 * 0.25, ADAMW["lr"] * 0.25]
    assert_same(ours, mine, opt, alone)


def test_nonfinite_skip_skips_both_kinds():
    params = make_params()
    opt = MuonWithAdamW(params, **MUON, nonfinite="skip")
    before = clones(params)
    step_all([([opt], params)], 1, nan_at=0)  # a NaN in the scalar (an AdamW param)
    assert opt.skipped_steps == 1 and all(torch.equal(a, b) for a, b in zip(params, before, strict=True))


def test_global_norm_clipping_spans_both_kinds():
    """clip_global_norm scales every gradient by one factor from the norm over all params (the
    matrices' and the rest's), as adamkit.clipping does for one optimizer: bitwise Muon and AdamW
    alone stepping on gradients clipped so."""
    ours, mine = make_params(), make_params()
    opt = MuonWithAdamW(ours, **MUON, **BESIDE, clip_global_norm=0.5)
    alone = [ak.Muon(split(mine)[0], **MUON, fused=False), ak.AdamW(split(mine)[1], **ADAMW, fused=False)]
    g = torch.Generator().manual_seed(4)
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=g) for p in ours]
        for p, grad in zip(ours, grads, strict=True):
            p.grad = grad.clone()
        opt.step()
        order = [p for group in opt.param_groups for p in group["params"]]  # the optimizer's
        clipped = clipping.clip([p.grad for p in order], {"clip_global_norm": 0.5}, torch)
        by_param = {id(p): c for p, c in zip(order, clipped, strict=True)}
        for p, q in zip(ours, mine, strict=True):
            q.grad = by_param[id(p)].clone()
        for o in alone:
            o.step()
    assert_same(ours, mine, opt, alone)


def test_groups_are_routed():
    w, b, v = torch.zeros(3, 2, requires_grad=True), torch.zeros(3, requires_grad=True), \
        torch.zeros(2, 2, requires_grad=True)
    # a group of both kinds is split, its lr carried to the AdamW half times the ratio; a group
    # marked use_muon=False (Jordan's MuonWithAuxAdam) is AdamW with its own settings
    opt = MuonWithAdamW([{"params": [w, b], "lr": 0.1, "momentum": 0.8},
                         {"params": [v], "use_muon": False, "lr": 3e-4, "betas": (0.9, 0.95)}],
                        adam_lr_ratio=0.5)
    summary = [(g["use_muon"], len(g["params"]), g["lr"]) for g in opt.param_groups]
    assert summary == [(True, 1, 0.1), (False, 1, 0.05), (False, 1, 3e-4)]
    assert opt.param_groups[0]["momentum"] == 0.8 and opt.param_groups[2]["betas"] == (0.9, 0.95)
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # adam_betas' default: torch AdamW's
    named = MuonWithAdamW([("w", w), ("b", b)])  # torch's named params
    assert [g["param_names"] for g in named.param_groups] == [["w"], ["b"]]
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        MuonWithAdamW([{"params": [b], "use_muon": True}])
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        ak.Muon([w, b])  # adamkit.torch.Muon stays torch's
    with pytest.raises(HyperparameterError, match="adam_lr_ratio 0; valid: a number > 0"):
        MuonWithAdamW([w], adam_lr_ratio=0)
    with pytest.raises(HyperparameterError, match="adam_betas.*betas"):
        MuonWithAdamW([w], adam_betas=(1.5, 0.9))


def test_signature_is_muon_s_then_the_adamw_s():
    muon = list(inspect.signature(ak.Muon).parameters.values())
    ours = list(inspect.signature(MuonWithAdamW).parameters.values())
    assert ours[:-5] == muon[:-1] and ours[-1] == muon[-1]
    keyword = inspect.Parameter.KEYWORD_ONLY
    assert [(p.name, p.kind, p.default) for p in ours[-5:-1]] == [
        ("adam_betas", keyword, (0.9, 0.999)), ("adam_eps", keyword, 1e-8),
        ("adam_weight_decay", keyword, 0.0), ("adam_lr_ratio", keyword, 1.0)]
    with pytest.raises(TypeError, match="unexpected keyword argument 'adam_b1'"):
        MuonWithAdamW([torch.zeros(2, 2, requires_grad=True)], adam_b1=0.9)
