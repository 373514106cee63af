"""torch.compile over a training step, and over ``opt.step``: under dynamo tracing the optimizers
take the per-tensor rule path (plain torch ops; no Numba call enters a graph), eagerly the engine.
The model is big enough (49,536 elements) that eager steps take the engine."""

import copy

import pytest
import torch
from torch import nn

import adamkit.torch as ak


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 128))


def _assert_close(model: nn.Module, eager: nn.Module, atol: float) -> None:
    for p, q in zip(model.parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=atol)


# inductor's import scripts helpers with torch.jit, which warns that it is deprecated
@pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")
def test_a_compiled_training_step_equals_eager_training():
    model = _model()
    eager = copy.deepcopy(model)
    opt = ak.AdamW(model.parameters(), lr=1e-2)
    opt_eager = ak.AdamW(eager.parameters(), lr=1e-2)
    x = torch.randn(32, 64)

    @torch.compile
    def train_step(batch: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        loss = model(batch).square().mean()
        loss.backward()
        opt.step()
        return loss

    for _ in range(4):
        train_step(x)
        opt_eager.zero_grad()
        eager(x).square().mean().backward()
        opt_eager.step()
    assert opt_eager.paths()[0].kind == "engine"
    assert all(int(opt.state[p]["step"]) == 4 for p in model.parameters())
    _assert_close(model, eager, atol=1e-4)  # compiled forward/backward round differently
    # the same optimizer steps eagerly afterwards, with the engine
    opt.step()
    assert opt.paths()[0].kind == "engine"


@pytest.mark.parametrize("precision", ["fp32", "bf16", "8bit"])
def test_a_compiled_optimizer_step_equals_the_eager_step(precision):
    model = _model()
    eager = copy.deepcopy(model)
    opt = ak.Adam(model.parameters(), lr=1e-2, state_precision=precision)
    opt_eager = ak.Adam(eager.parameters(), lr=1e-2, state_precision=precision)
    step = torch.compile(opt.step, backend="aot_eager")  # dynamo's tracing, no C++ build
    x = torch.randn(32, 64)
    for _ in range(3):
        for m, o, s in ((model, opt, step), (eager, opt_eager, opt_eager.step)):
            o.zero_grad()
            m(x).square().mean().backward()
            s()
    assert opt_eager.paths()[0].kind == "engine"
    # the rule path and the engine round the stored low-precision moments independently
    _assert_close(model, eager, atol={"fp32": 1e-5, "bf16": 1e-4, "8bit": 1e-4}[precision])
