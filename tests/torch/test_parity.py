"""adamkit.torch against torch.optim, step by step, on awkward parameter sets."""

import copy

import pytest
import torch
from tests.torch.configs import CONFIGS, config_id

import adamkit.torch as ak

STEPS = 25


def make_params(dtype):
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (), (0, 4), (7,)]  # a matrix, a 0-dim scalar, an empty tensor, a vector
    params = [torch.randn(s, generator=g, dtype=dtype) for s in shapes]
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    params.append(torch.randn(4, generator=g, dtype=complex_dtype))
    return [p.requires_grad_() for p in params]


def grad_schedule(params, step, g):
    """Gradients for a step: param 3 gets none on odd steps; param 0 is frozen for steps < 8."""
    grads = []
    for i, p in enumerate(params):
        if (i == 3 and step % 2) or (i == 0 and step < 8):
            grads.append(None)
        else:
            grads.append(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return grads


def run_pair(name, kwargs, dtype, steps=STEPS):
    ours_params = make_params(dtype)
    peer_params = [p.detach().clone().requires_grad_() for p in ours_params]
    groups = lambda ps: [{"params": ps[:3]}, {"params": ps[3:], "lr": 0.005}]  # noqa: E731
    # the per-tensor rule path, torch's bit for bit (the engine agrees to rounding: tests/torch/fused)
    rule_path = {"fused": False} if "fused" not in kwargs and name != "SparseAdam" else {}
    ours = getattr(ak, name)(groups(ours_params), **copy.deepcopy(kwargs), **rule_path)
    peer = getattr(torch.optim, name)(groups(peer_params), **copy.deepcopy(kwargs))
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        for p, q, grad in zip(ours_params, peer_params, grad_schedule(ours_params, step, g)):
            p.grad = None if grad is None else grad.clone()
            q.grad = None if grad is None else grad.clone()
        ours.step()
        peer.step()
    return ours, peer, ours_params, peer_params


def max_rel_diff(a, b):
    scale = b.abs().max().clamp_min(1e-30) if b.numel() else 1
    return ((a - b).abs().max() / scale).item() if b.numel() else 0.0


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_params_and_state_match_torch(config, dtype):
    name, kwargs = config
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5
    ours, peer, ours_params, peer_params = run_pair(name, kwargs, dtype)
    for p, q in zip(ours_params, peer_params):
        assert p.shape == q.shape and p.dtype == q.dtype
        assert max_rel_diff(p.detach(), q.detach()) <= tolerance
        if not p.is_complex():
            # torch's own primitives are used under torch, so real dtypes agree to the bit.
            assert torch.equal(p, q)
        assert ours.state[p].keys() == peer.state[q].keys()
        for key, value in peer.state[q].items():
            mine = ours.state[p][key]
            assert mine.dtype == value.dtype, key
            assert max_rel_diff(mine.to(value.dtype), value) <= tolerance, key


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_checkpoints_cross_load_both_ways(config):
    name, kwargs = config
    ours, peer, ours_params, peer_params = run_pair(name, kwargs, torch.float64, steps=6)
    # Swap the optimizers' states: each continues from the other's checkpoint.
    ours_sd, peer_sd = copy.deepcopy(ours.state_dict()), copy.deepcopy(peer.state_dict())
    ours.load_state_dict(peer_sd)
    peer.load_state_dict(ours_sd)
    g = torch.Generator().manual_seed(7)
    for step in range(8):
        for p, q, grad in zip(ours_params, peer_params, grad_schedule(ours_params, step + 8, g)):
            p.grad = None if grad is None else grad.clone()
            q.grad = None if grad is None else grad.clone()
        ours.step()
        peer.step()
    for p, q in zip(ours_params, peer_params):
        assert max_rel_diff(p.detach(), q.detach()) <= 1e-10


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_state_dict_round_trip_continues_bitwise(config):
    name, kwargs = config
    ours, _, params, _ = run_pair(name, kwargs, torch.float64, steps=5)
    saved_params = [p.detach().clone() for p in params]
    blob = copy.deepcopy(ours.state_dict())
    twin_params = [p.clone().requires_grad_() for p in saved_params]
    twin = getattr(ak, name)(
        [{"params": twin_params[:3]}, {"params": twin_params[3:], "lr": 0.005}], **copy.deepcopy(kwargs)
    )
    twin.load_state_dict(blob)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for step in range(6):
        for p, grad in zip(params, grad_schedule(params, step, g1)):
            p.grad = grad
        for p, grad in zip(twin_params, grad_schedule(twin_params, step, g2)):
            p.grad = grad
        ours.step()
        twin.step()
    for p, q in zip(params, twin_params):
        assert torch.equal(p, q)


def test_lr_schedulers_drive_the_learning_rate_like_torch():
    schedulers = [
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=12),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0),
    ]
    for make in schedulers:
        a = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        b = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        oa, ob = ak.Adam([a], lr=0.05), torch.optim.Adam([b], lr=0.05)
        sa, sb = make(oa), make(ob)
        for step in range(12):
            for p, o in ((a, oa), (b, ob)):
                o.zero_grad()
                (p**2).sum().backward()
                o.step()
            metric = float(step % 3)
            for s in (sa, sb):
                s.step(metric) if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau) else s.step()
        assert torch.equal(a, b)
        assert oa.param_groups[0]["lr"] == ob.param_groups[0]["lr"]


def test_closure_zero_grad_and_hooks_are_inherited():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = ak.Adam([p], lr=0.1)
    seen = []
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(len(o.state)))

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    assert seen == [1]
    opt.zero_grad()
    assert p.grad is None


def test_named_parameters_are_accepted_and_named_in_errors():
    model = torch.nn.Linear(2, 1)
    opt = ak.Adam(model.named_parameters(), nonfinite="raise")
    model.weight.grad = torch.tensor([[float("nan"), 0.0]])
    model.bias.grad = torch.zeros(1)
    with pytest.raises(FloatingPointError, match="'weight'"):
        opt.step()
