"""adamkit.torch.AdamWScheduleFree against schedulefree.AdamWScheduleFree (the reference, its
for-loop path foreach=False): constructor, steps bitwise, train()/eval(), checkpoints both ways.

Bitwise (torch.equal) throughout: the class runs rule schedule_free_adamw per tensor in the
reference's op order, with the reference's per-group step count and Python-float scalars.
"""

import copy
import inspect

import pytest
import torch

import adamkit.torch as ak

schedulefree = pytest.importorskip("schedulefree")
Reference = schedulefree.AdamWScheduleFree

STEPS = 20
SHAPES = [(4, 3), (5,), (), (2, 3, 2)]


def _params(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]


def _groups(params, groups):
    """Two groups when ``groups`` (the second with its own settings), else a plain list."""
    if not groups:
        return params
    return [{"params": params[:2]},
            {"params": params[2:], "lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.05,
             "warmup_steps": 2, "r": 1.0}]


def _pair(dtype, groups=False, **kwargs):
    ours_p, ref_p = _params(dtype), _params(dtype)
    ours = ak.AdamWScheduleFree(_groups(ours_p, groups), **kwargs)
    ref = Reference(_groups(ref_p, groups), foreach=False, **kwargs)
    return ours, ours_p, ref, ref_p


def _give_gradients(step, params_pairs, dtype, skip=()):
    g = torch.Generator().manual_seed(1000 + step)
    for i, (p, q) in enumerate(params_pairs):
        grad = torch.randn(p.shape, generator=g, dtype=dtype)
        if i in skip:
            p.grad = q.grad = None
        else:
            p.grad, q.grad = grad.clone(), grad.clone()  # the reference divides its grad in place


def _assert_same(ours, ours_p, ref, ref_p):
    for p, q in zip(ours_p, ref_p, strict=True):
        assert torch.equal(p, q)
        if q in ref.state and ref.state[q]:
            for key in ("z", "exp_avg_sq"):
                assert torch.equal(ours.state[p][key], ref.state[q][key]), key
        else:
            assert not ours.state.get(p)
    for g, h in zip(ours.param_groups, ref.param_groups, strict=True):
        for key in ("k", "weight_sum", "lr_max", "scheduled_lr", "train_mode"):
            assert g[key] == h[key], key


def test_constructor_is_the_references():
    theirs = list(inspect.signature(Reference.__init__).parameters.values())
    ours = list(inspect.signature(ak.AdamWScheduleFree.__init__).parameters.values())
    assert [(p.name, p.default, p.kind) for p in ours[:len(theirs)]] == \
        [(p.name, p.default, p.kind) for p in theirs]
    extra = ours[len(theirs):]
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in extra)
    opt = ak.AdamWScheduleFree([torch.zeros(2, requires_grad=True)])
    ref = Reference([torch.zeros(2, requires_grad=True)])
    for key, value in ref.param_groups[0].items():
        if key != "params":
            assert opt.param_groups[0][key] == value, key


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.02, "weight_decay": 0.1, "warmup_steps": 4},
                                    {"r": 0.5, "weight_lr_power": 0.0, "eps": 1e-3}],
                         ids=["defaults", "decay,warmup", "r,power,eps"])
def test_steps_are_the_references_bit_for_bit(kwargs, dtype):
    """Two groups, a param without gradient until step 6 (its bias correction uses the group's
    count, as the reference's), a whole group without gradients on steps 9-10 (its average's
    weights advance all the same), and eval()/train() between steps."""
    ours, ours_p, ref, ref_p = _pair(dtype, groups=True, **kwargs)
    for opt in (ours, ref):
        opt.train()
    pairs = list(zip(ours_p, ref_p))
    for t in range(1, STEPS + 1):
        skip = {1} if t < 6 else {2, 3} if t in (9, 10) else set()
        _give_gradients(t, pairs, dtype, skip)
        ours.step()
        ref.step()
        _assert_same(ours, ours_p, ref, ref_p)
        if t % 7 == 0:
            ours.eval()
            ref.eval()
            _assert_same(ours, ours_p, ref, ref_p)
            ours.eval()  # twice: nothing moves
            _assert_same(ours, ours_p, ref, ref_p)
            ours.train()
            ref.train()
            _assert_same(ours, ours_p, ref, ref_p)


def test_closure_and_a_scheduler_as_the_reference():
    ours, ours_p, ref, ref_p = _pair(torch.float64, lr=0.05)
    scheds = [torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5) for o in (ours, ref)]
    for opt in (ours, ref):
        opt.train()
    for _ in range(10):
        losses = []
        for opt, params in ((ours, ours_p), (ref, ref_p)):
            def closure(params=params, opt=opt):
                opt.zero_grad()
                loss = sum(((p - 0.5) ** 2).sum() + torch.sin(p).sum() for p in params)
                loss.backward()
                return loss
            losses.append(opt.step(closure))
        assert torch.equal(losses[0], losses[1])
        for s in scheds:
            s.step()
        _assert_same(ours, ours_p, ref, ref_p)


@pytest.mark.parametrize("saved_in", ["eval", "train"])
@pytest.mark.parametrize("direction", ["reference_to_ours", "ours_to_reference"])
def test_checkpoints_load_both_ways_and_training_continues(direction, saved_in):
    dtype = torch.float64
    kwargs = {"lr": 0.02, "weight_decay": 0.1, "warmup_steps": 3}
    ours, ours_p, ref, ref_p = _pair(dtype, groups=True, **kwargs)
    for opt in (ours, ref):
        opt.train()
    pairs = list(zip(ours_p, ref_p))
    for t in range(1, 8):
        _give_gradients(t, pairs, dtype)
        ours.step()
        ref.step()
    if saved_in == "eval":
        ours.eval()
        ref.eval()
    source = ref if direction == "reference_to_ours" else ours
    saved = copy.deepcopy(source.state_dict())
    values = [p.detach().clone() for p in (ref_p if source is ref else ours_p)]
    # a fresh pair of the other kind, its params the saved ones: it carries on from the checkpoint
    fresh_p = [v.clone().requires_grad_() for v in values]
    if direction == "reference_to_ours":
        fresh = ak.AdamWScheduleFree(_groups(fresh_p, True), **kwargs)
    else:
        fresh = Reference(_groups(fresh_p, True), foreach=False, **kwargs)
    fresh.load_state_dict(saved)
    for opt in (fresh, source):
        opt.train()
    params = ref_p if source is ref else ours_p
    pairs = list(zip(fresh_p, params))
    for t in range(8, 16):
        _give_gradients(t, pairs, dtype)
        fresh.step()
        source.step()
    fresh.eval()
    source.eval()
    if direction == "reference_to_ours":
        _assert_same(fresh, fresh_p, source, params)
    else:
        _assert_same(source, params, fresh, fresh_p)


def test_state_dict_has_the_references_entries():
    ours, ours_p, ref, ref_p = _pair(torch.float32)
    for opt in (ours, ref):
        opt.train()
    _give_gradients(1, list(zip(ours_p, ref_p)), torch.float32)
    ours.step()
    ref.step()
    a, b = ours.state_dict(), ref.state_dict()
    assert set(b["param_groups"][0]) <= set(a["param_groups"][0])
    assert all(set(a["state"][i]) == set(b["state"][i]) == {"z", "exp_avg_sq"} for i in b["state"])


def test_step_in_eval_mode_is_refused_in_one_line():
    opt = ak.AdamWScheduleFree([torch.zeros(2, requires_grad=True)])
    with pytest.raises(RuntimeError, match=r"eval mode .*call optimizer.train\(\)"):
        opt.step()


def test_low_precision_state_is_refused():
    with pytest.raises(ValueError, match="invalid state_precision 'bf16'; valid: 'fp32'"):
        ak.AdamWScheduleFree([torch.zeros(2, requires_grad=True)], state_precision="bf16")


def test_its_own_settings_are_checked():
    with pytest.raises(ValueError, match=r"betas\[0\] 0.0; valid range \(0, 1\)"):
        ak.AdamWScheduleFree([torch.zeros(2, requires_grad=True)], betas=(0.0, 0.999))
    with pytest.raises(ValueError, match="weight_decay_on 'y' with weight_decay_mode='l2'"):
        ak.AdamWScheduleFree([torch.zeros(2, requires_grad=True)], weight_decay_mode="l2",
                             weight_decay_on="y")
