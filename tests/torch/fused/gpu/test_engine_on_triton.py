"""The engine's GPU route, end to end on CPU tensors: each optimizer's buckets stepped by the Triton
kernels (under the interpreter) equal torch.optim, state entries and all (fp32), and the Numba
kernels' run (bf16 and 8-bit states: the same codes)."""

import pytest
import torch

import adamkit.torch as ak
from adamkit.torch.fused import engine

pytest.importorskip("triton")

CASES = [("Adam", {"amsgrad": True}, "fp32"), ("AdamW", {}, "bf16"), ("Adam", {}, "8bit"),
         ("NAdam", {}, "fp32"), ("RAdam", {}, "fp32"), ("Adamax", {"weight_decay": 0.1}, "fp32"),
         ("SGD", {"momentum": 0.9}, "fp32"), ("Adagrad", {}, "fp32"),
         ("RMSprop", {"centered": True}, "fp32")]


@pytest.mark.parametrize("name,kwargs,precision", CASES, ids=[f"{n}{k}-{p}" for n, k, p in CASES])
def test_engine_steps_buckets_with_the_triton_kernels(monkeypatch, name, kwargs, precision):
    on_triton = property(lambda self: False)
    gen = torch.Generator().manual_seed(0)
    shapes = ((70, 80), (300,), (5,)) if precision == "8bit" else ((30, 4), (7,), ())
    ours_params = [torch.randn(s, generator=gen).requires_grad_() for s in shapes]
    peer_params = [p.detach().clone().requires_grad_() for p in ours_params]
    options = {"state_precision": precision} if precision != "fp32" else {}
    ours = getattr(ak, name)(ours_params, lr=0.01, fused=True, **kwargs, **options)
    peer = getattr(torch.optim, name)(peer_params, lr=0.01, **kwargs) if precision == "fp32" else \
        getattr(ak, name)(peer_params, lr=0.01, fused=True, **kwargs, **options)  # on Numba
    for step in range(6):
        for i, (p, q) in enumerate(zip(ours_params, peer_params)):
            grad = None if (i == 1 and step == 0) else torch.randn(p.shape, generator=gen)
            p.grad, q.grad = grad, None if grad is None else grad.clone()
        with monkeypatch.context() as patch:
            patch.setattr(engine.Bucket, "on_cpu", on_triton)
            ours.step()
        peer.step()
    assert [str(p) for p in ours.paths()] == ["fused engine"]
    for p, q in zip(ours_params, peer_params):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)
    ours_sd, peer_sd = ours.state_dict()["state"], peer.state_dict()["state"]
    assert set(ours_sd) == set(peer_sd)
    if precision == "fp32":
        assert {k: set(v) for k, v in ours_sd.items()} == {k: set(v) for k, v in peer_sd.items()}
