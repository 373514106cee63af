"""The fused engine never moves a parameter: no ``.data`` or ``.grad`` is re-pointed, and no
storage, strides or identity change, so every reference a user (or DDP, ZeRO, a checkpoint) took
before the first step sees the updates."""

import copy
import warnings

import pytest
import torch
from torch import nn

import adamkit.torch as ak


class TiedModel(nn.Module):
    """An embedding tied to the output head, a norm, a big layer, and two params that are views
    of the user's own buffer: a contiguous slice and a transposed (non-contiguous) block."""

    def __init__(self, buffer: torch.Tensor) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.head = nn.Linear(16, 50, bias=False)
        self.head.weight = self.embed.weight  # tied: one Parameter in two modules
        self.norm = nn.LayerNorm(16)
        self.big = nn.Linear(16, 4200)  # 67,200 + 4,200 elements: above any size threshold
        self.mix = nn.Parameter(buffer[:16 * 16].view(16, 16))  # a view of the user's buffer
        self.back = nn.Parameter(buffer[256:256 + 4200 * 16].view(16, 4200).t())  # strided

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.embed(tokens)) @ self.mix
        h = torch.tanh(self.big(h)) @ self.back
        return self.head(h)


def _train(model: nn.Module, opt: torch.optim.Optimizer, steps: int,
           gen: torch.Generator) -> None:
    for _ in range(steps):
        tokens = torch.randint(0, 50, (8, 5), generator=gen)
        opt.zero_grad(set_to_none=False)  # the same .grad tensors every step
        nn.functional.cross_entropy(model(tokens).flatten(0, 1), tokens.flatten()).backward()
        opt.step()


def _build(seed: int = 0) -> tuple[TiedModel, torch.Tensor]:
    torch.manual_seed(seed)
    buffer = torch.randn(256 + 4200 * 16) * 0.05
    return TiedModel(buffer), buffer


@pytest.mark.parametrize("precision", ["fp32", "bf16", "8bit"])
def test_references_taken_before_the_first_step_see_every_update(precision):
    model, buffer = _build()
    reference, _ = _build()
    params = list(model.parameters())
    layout = [(p.data_ptr(), p.stride(), p.shape, p.is_contiguous()) for p in params]
    state_dict = model.state_dict()  # tensors sharing storage with the params
    aliases = [p.detach() for p in params]  # e.g. a tied weight held by storage elsewhere
    slice_view, block_view = buffer[:256].view(16, 16), buffer[256:].view(16, 4200).t()
    before = [a.clone() for a in aliases]

    opt = ak.AdamW(model.parameters(), lr=1e-2, fused=True, state_precision=precision)
    ref = ak.AdamW(reference.parameters(), lr=1e-2, fused=False, state_precision=precision)
    gen = torch.Generator().manual_seed(7)
    _train(model, opt, 1, gen)
    grads = [p.grad for p in params]
    _train(model, opt, 9, gen)
    _train(reference, ref, 10, torch.Generator().manual_seed(7))

    assert [p.kind for p in opt.paths()] == ["engine"]
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    assert model.head.weight is model.embed.weight
    assert [(p.data_ptr(), p.stride(), p.shape, p.is_contiguous()) for p in params] == layout
    assert all(p.grad is g for p, g in zip(params, grads))  # never re-pointed
    for p, alias, old in zip(params, aliases, before):
        assert torch.equal(alias, p.detach()) and not torch.equal(alias, old)
    for name, value in state_dict.items():
        assert torch.equal(value, model.state_dict()[name]), name
    assert torch.equal(slice_view, model.mix.detach())
    assert torch.equal(block_view, model.back.detach())
    # the same training as the per-tensor rule path
    # (8-bit: a second-moment code one step apart, where the two round an ulp apart, is 1/8 of v)
    atol = {"fp32": 1e-5, "bf16": 2e-3, "8bit": 5e-3}[precision]
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=atol, msg=name)


def test_a_param_given_new_data_of_another_size_rebuilds_the_layout():
    params = [nn.Parameter(torch.randn(40_000)), nn.Parameter(torch.randn(300))]
    twins = [nn.Parameter(p.detach().clone()) for p in params]
    opt = ak.Adam(params, lr=0.1, fused=True)
    ref = ak.Adam(twins, lr=0.1, fused=False)
    for step in range(4):
        if step == 2:  # torch.optim's own state would refuse this; a fresh state is kept here
            for ps, o in ((params, opt), (twins, ref)):
                ps[1].data = torch.ones(500)
                o.state.pop(ps[1])
        for p, q in zip(params, twins):
            p.grad = torch.full_like(p, 0.5)
            q.grad = p.grad.clone()
        opt.step()
        ref.step()
    assert opt.paths()[0].kind == "engine"
    for p, q in zip(params, twins):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-6, atol=1e-6)


def test_zero_with_bucket_views_and_the_engine_equals_plain_training():
    """ZeroRedundancyOptimizer(parameters_as_bucket_view=True) re-points p.data into its own
    buckets; the engine must step the params where ZeRO put them (world size 1, gloo)."""
    dist = pytest.importorskip("torch.distributed")
    with warnings.catch_warnings():  # torch.distributed.optim still scripts a helper at import
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.distributed.optim import ZeroRedundancyOptimizer

    if dist.is_initialized():
        pytest.skip("a process group is already running in this process")
    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 300), nn.Tanh(), nn.Linear(300, 120))
        plain = copy.deepcopy(model)
        zero = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=ak.AdamW,
                                       parameters_as_bucket_view=True, lr=1e-2, fused=True)
        peer = torch.optim.AdamW(plain.parameters(), lr=1e-2)
        # ZeRO's bucket: every param is a view of it (with one rank, a wrong step would not
        # show in the values, as ZeRO's broadcast is a no-op, so the layout is checked too)
        in_bucket = [(p.untyped_storage().data_ptr(), p.data_ptr()) for p in model.parameters()]
        assert len({storage for storage, _ in in_bucket}) == 1
        x = torch.randn(16, 64)
        for _ in range(5):
            for m, o in ((model, zero), (plain, peer)):
                o.zero_grad()
                m(x).square().mean().backward()
                o.step()
        assert zero.optim.paths()[0].kind == "engine"
        assert [(p.untyped_storage().data_ptr(), p.data_ptr())
                for p in model.parameters()] == in_bucket
        for p, q in zip(model.parameters(), plain.parameters()):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)
    finally:
        dist.destroy_process_group()
