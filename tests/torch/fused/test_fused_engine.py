"""The fused engine against the per-tensor rule path, through the traps of real training.

Only public surface: ``optimizer.paths()``, ``state_bytes()``, ``internals()``, and what torch
shows (which tensors share storage)."""

import copy

import pytest
import torch

import adamkit.torch as ak
from adamkit.torch import PathReason
from adamkit.torch.fused import engine
from adamkit.torch.fused.codecs import PRECISIONS

OPTIONS = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
    {"maximize": True, "amsgrad": True, "weight_decay": 0.05},
    {"weight_decay": 0.1, "weight_decay_mode": "independent"},
    {"eps_mode": "hat", "eps": 1e-7},
    {"eps_mode": "root", "eps": 1e-6, "amsgrad": True},
    {"lr": torch.tensor(0.01), "betas": (0.8, 0.99), "eps": 1e-6},
]
# small and large tensors, a 0-dim, an empty one, 8-bit-sized ones
SHAPES = [(5, 3), (), (0, 4), (7,), (300, 30), (65_541,), (64, 80)]


def make_params(dtype=torch.float32, shapes=SHAPES, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, generator=gen, dtype=dtype)) for s in shapes]


def twin(params):
    return [torch.nn.Parameter(p.detach().clone()) for p in params]


def schedule(step, i):
    """Param 3 has no gradient on odd steps; param 0 is frozen (no gradient) until step 4."""
    return not ((i == 3 and step % 2) or (i == 0 and step < 4))


def run(opt_a, opt_b, pa, pb, steps=10, seed=1, grad_fn=None):
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        for i, (p, q) in enumerate(zip(pa, pb)):
            if not schedule(step, i):
                p.grad = q.grad = None
                continue
            g = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            p.grad, q.grad = (grad_fn or (lambda t, k: t.clone()))(g, i), g.clone()
        opt_a.step()
        opt_b.step()


def _storage(t):
    return t.untyped_storage().data_ptr()


def assert_states_close(opt_a, opt_b, pa, pb, rtol):
    for p, q in zip(pa, pb):
        scale = max(float(q.detach().abs().max()), 1e-30) if q.numel() else 1.0
        torch.testing.assert_close(p.detach(), q.detach(), rtol=rtol, atol=rtol * scale)
        sa, sb = opt_a.state[p], opt_b.state[q]
        assert sa.keys() == sb.keys()
        for key in sb:
            a, b = sa[key].float(), sb[key].float()
            assert a.shape == b.shape, key
            if b.numel():
                torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * float(b.abs().max()))


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_engine_equals_the_rule_path(options, dtype):
    pa = make_params(dtype)
    pb = twin(pa)
    ours = ak.Adam(pa, fused=True, **copy.deepcopy(options))
    ref = ak.Adam(pb, fused=False, **copy.deepcopy(options))
    run(ours, ref, pa, pb)
    assert [p.kind for p in ours.paths()] == ["engine"]
    assert [(p.kind, p.reason) for p in ref.paths()] == [("rule", PathReason.FUSED_FALSE)]
    assert_states_close(ours, ref, pa, pb, 1e-5 if dtype == torch.float32 else 1e-12)
    # params stay where they were; their states are views of one flat buffer
    assert len({_storage(p) for p in pa}) == len(pa)
    assert len({_storage(ours.state[p]["exp_avg"]) for p in pa}) == 1


def test_engine_matches_torch_optim_and_checkpoints_cross_load():
    pa = make_params()
    pb = twin(pa)
    ours = ak.AdamW(pa, lr=0.01, amsgrad=True, fused=True)
    peer = torch.optim.AdamW(pb, lr=0.01, amsgrad=True)
    run(ours, peer, pa, pb, steps=6)
    assert_states_close(ours, peer, pa, pb, 1e-5)
    # swap checkpoints: each continues from the other's state
    ours_sd, peer_sd = copy.deepcopy(ours.state_dict()), copy.deepcopy(peer.state_dict())
    ours.load_state_dict(peer_sd)
    peer.load_state_dict(ours_sd)
    run(ours, peer, pa, pb, steps=6, seed=5)
    assert ours.paths()[0].kind == "engine"
    assert_states_close(ours, peer, pa, pb, 1e-5)


def test_zero_grad_both_fronts_replaced_grad_and_data():
    torch.manual_seed(0)
    model_a = torch.nn.Sequential(torch.nn.Linear(40, 300), torch.nn.ReLU(),
                                  torch.nn.Linear(300, 300), torch.nn.ReLU(),
                                  torch.nn.Linear(300, 3))
    model_b = copy.deepcopy(model_a)
    ours = ak.Adam(model_a.parameters(), lr=0.01, fused=True)
    ref = ak.Adam(model_b.parameters(), lr=0.01, fused=False)
    x = torch.randn(32, 40)
    for step in range(8):
        for model, opt in ((model_a, ours), (model_b, ref)):
            if step % 2:
                model.zero_grad(set_to_none=True)  # the model's front
            else:
                opt.zero_grad(set_to_none=step % 4 == 0)  # the optimizer's, both settings
            model(x).square().mean().backward()
            if step == 3:  # a user replaces a gradient tensor and a param's data
                for m in (model.__getitem__(0),):
                    m.bias.grad = m.bias.grad.clone() * 2
                    m.weight.data = m.weight.data.clone()
            opt.step()
    assert str(ours.paths()[0]) == "fused engine"
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_grads_that_are_views_of_a_shared_bucket_as_under_ddp():
    pa = make_params()
    pb = twin(pa)
    ours = ak.Adam(pa, lr=0.01, fused=True)
    ref = ak.Adam(pb, lr=0.01, fused=False)
    bucket = torch.zeros(sum(p.numel() for p in pa))

    def bucket_view(g, i):
        offset = sum(p.numel() for p in pa[:i])
        view = bucket[offset:offset + g.numel()].view(g.shape)
        view.copy_(g)
        return view

    run(ours, ref, pa, pb, steps=6, grad_fn=bucket_view)
    assert_states_close(ours, ref, pa, pb, 1e-5)


def test_mixed_dtypes_and_unsupported_params_fall_back():
    mixed = make_params(torch.float32)[:4] + make_params(torch.float64, seed=3)[4:]
    mixed_ref = twin(mixed)
    ours = ak.Adam(mixed, fused=True)
    ref = ak.Adam(mixed_ref, fused=False)
    run(ours, ref, mixed, mixed_ref, steps=5)
    assert ours.paths()[0].kind == "engine"
    # one flat moment buffer per dtype: the float32 params' states share one, float64's another
    f32 = {_storage(ours.state[p]["exp_avg"]) for p in mixed[:2]}
    f64 = {_storage(ours.state[p]["exp_avg"]) for p in (mixed[4], mixed[6])}
    assert len(f32) == len(f64) == 1 and f32 != f64
    assert_states_close(ours, ref, mixed, mixed_ref, 1e-5)
    half = [torch.nn.Parameter(torch.randn(100, dtype=torch.bfloat16))]
    opt = ak.Adam(half, fused=True)
    half[0].grad = torch.randn(100, dtype=torch.bfloat16)
    opt.step()
    (path,) = opt.paths()
    assert path.reason is PathReason.PARAM and "bfloat16" in path.detail
    clipped = ak.Adam(make_params(), fused=True, clip_global_norm=1.0)
    clipped.param_groups[0]["params"][1].grad = torch.ones(())
    clipped.step()
    assert clipped.paths()[0].reason is PathReason.OPTION
    assert str(clipped.paths()[0]) == "rule path (clip_global_norm)"


def test_default_uses_the_engine_only_for_groups_big_enough_to_gain():
    small = ak.Adam([torch.nn.Parameter(torch.randn(10))])
    assert small.paths() == [None]  # not stepped yet
    small.param_groups[0]["params"][0].grad = torch.ones(10)
    small.step()
    assert small.paths()[0].reason is PathReason.SMALL_GROUP
    big = ak.Adam([torch.nn.Parameter(torch.randn(engine.AUTO_MIN_NUMEL))])
    big.param_groups[0]["params"][0].grad = torch.ones(engine.AUTO_MIN_NUMEL)
    big.step()
    assert big.paths()[0].kind == "engine"


@pytest.mark.parametrize("precision", ["bf16", "8bit"])
@pytest.mark.parametrize("options", [{}, {"amsgrad": True, "weight_decay": 0.1}], ids=str)
def test_low_precision_engine_tracks_the_rule_path(precision, options):
    pa = make_params()
    pb = twin(pa)
    ours = ak.Adam(pa, lr=0.01, fused=True, state_precision=precision, **options)
    ref = ak.Adam(pb, lr=0.01, fused=False, state_precision=precision, **options)
    run(ours, ref, pa, pb, steps=6)
    assert [p.kind for p in ours.paths()] == ["engine"]
    for p, q in zip(pa, pb):
        scale = float(q.detach().abs().max()) if q.numel() else 1.0
        # independent roundings of the same moments: the params agree to the quantization step
        torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=2e-3 * scale)
        assert ours.state[p].keys() == ref.state[q].keys()
        for key, value in ref.state[q].items():
            assert ours.state[p][key].dtype == value.dtype, key


def test_state_bytes_per_param_and_loading_across_precisions():
    shapes = [(256 * 64,), (100,)]  # one 8-bit tensor, one small enough to stay fp32
    params = {prec: make_params(shapes=shapes) for prec in PRECISIONS}
    opts = {prec: ak.Adam(ps, lr=0.01, fused=True, state_precision=prec)
            for prec, ps in params.items()}
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        grads = [torch.randn(s, generator=gen) for s in shapes]
        for prec, opt in opts.items():
            for p, g in zip(params[prec], grads):
                p.grad = g.clone()
            opt.step()
    big = {prec: params[prec][0] for prec in PRECISIONS}
    per_param = {prec: opts[prec].state_bytes(big[prec]) / big[prec].numel()
                 for prec in PRECISIONS}
    assert per_param == {"fp32": 8.0, "bf16": 4.0, "8bit": 2 + 2 * 4 / 256}
    small = params["8bit"][1]
    assert opts["8bit"].state_bytes() == opts["8bit"].state_bytes(big["8bit"]) + 8 * small.numel()
    small_8bit = opts["8bit"].state[params["8bit"][1]]
    assert small_8bit["exp_avg"].dtype == torch.float32  # below MIN_8BIT_NUMEL
    # an 8-bit checkpoint loads into an fp32 optimizer (decoded) and the reverse (encoded)
    reference = opts["8bit"].internals(big["8bit"])
    fp32_twin = ak.Adam(twin(params["8bit"]), lr=0.01, state_precision="fp32")
    fp32_twin.load_state_dict(copy.deepcopy(opts["8bit"].state_dict()))
    loaded = fp32_twin.state[fp32_twin.param_groups[0]["params"][0]]
    assert loaded["exp_avg"].dtype == torch.float32 and "exp_avg_absmax" not in loaded
    for key in ("m_hat", "v_hat", "effective_lr"):  # what the 8-bit state stood for, decoded
        torch.testing.assert_close(fp32_twin.internals(fp32_twin.param_groups[0]["params"][0])[key],
                                   reference[key])
    back = ak.Adam(twin(params["8bit"]), lr=0.01, state_precision="8bit")
    back.load_state_dict(copy.deepcopy(fp32_twin.state_dict()))
    again = back.state[back.param_groups[0]["params"][0]]
    assert again["exp_avg"].dtype == torch.int8
    assert torch.equal(again["exp_avg"], opts["8bit"].state[big["8bit"]]["exp_avg"])
    # and the loaded optimizers keep stepping
    for opt in (fp32_twin, back):
        for p in opt.param_groups[0]["params"]:
            p.grad = torch.ones_like(p)
        opt.step()


def test_several_groups_and_a_group_added_later():
    pa = make_params()
    pb = twin(pa)

    def groups(ps):
        return [{"params": ps[:4]}, {"params": ps[4:6], "lr": 0.005, "weight_decay": 0.1}]

    ours = ak.AdamW(groups(pa), lr=0.01, fused=True)
    ref = ak.AdamW(groups(pb), lr=0.01, fused=False)
    run(ours, ref, pa, pb, steps=4)
    for opt, ps in ((ours, pa), (ref, pb)):
        opt.add_param_group({"params": ps[6:], "lr": 0.02, "amsgrad": True})
    run(ours, ref, pa, pb, steps=4, seed=9)
    assert [str(p) for p in ours.paths()] == ["fused engine"] * 3
    assert_states_close(ours, ref, pa, pb, 1e-5)


def test_a_step_leaves_torch_thread_setting_alone():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        params = [torch.nn.Parameter(torch.randn(engine.PARALLEL_MIN + 1))]
        params[0].grad = torch.ones_like(params[0])
        ak.Adam(params, fused=True).step()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# -- the foreach path (CUDA params without Triton), exercised on CPU params ----------------------------

FOREACH_CASES = [("Adam", {"amsgrad": True}), ("AdamW", {}), ("Adamax", {}), ("NAdam", {}),
                 ("RAdam", {}), ("SGD", {"momentum": 0.9, "nesterov": True}), ("SGD", {}),
                 ("Adagrad", {"lr_decay": 0.01}), ("RMSprop", {"centered": True, "momentum": 0.5})]


@pytest.mark.parametrize("name,kwargs", FOREACH_CASES, ids=[f"{n}{k}" for n, k in FOREACH_CASES])
def test_foreach_path_equals_torch(monkeypatch, name, kwargs):
    """Where the device has no kernels but foreach (CUDA without Triton), a group takes the rule
    over lists of tensors: torch's numbers and torch's state entries."""
    monkeypatch.setattr(engine, "_device_path", lambda p, precision: "foreach")
    gen = torch.Generator().manual_seed(0)
    ours_params = [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_()
                   for s in ((30, 4), (7,), ())]
    peer_params = [p.detach().clone().requires_grad_() for p in ours_params]
    ours = getattr(ak, name)(ours_params, lr=0.01, **kwargs)
    peer = getattr(torch.optim, name)(peer_params, lr=0.01, **kwargs)
    for step in range(7):
        for i, (p, q) in enumerate(zip(ours_params, peer_params)):
            grad = None if (i == 1 and step == 0) else torch.randn(p.shape, generator=gen,
                                                                   dtype=p.dtype)
            p.grad, q.grad = grad, None if grad is None else grad.clone()
        ours.step()
        peer.step()
    assert [p.kind for p in ours.paths()] == ["foreach"]
    for p, q in zip(ours_params, peer_params):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)
    ours_sd, peer_sd = ours.state_dict()["state"], peer.state_dict()["state"]
    assert {k: set(v) for k, v in ours_sd.items()} == {k: set(v) for k, v in peer_sd.items()}
