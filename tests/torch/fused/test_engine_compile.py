"""torch.compile over a training step, and over ``opt.step``: under dynamo tracing the optimizers
take the per-tensor rule path (plain torch ops in one graph; no Numba call enters it), eagerly the
engine. The model is big enough (49,536 elements) that eager steps take the engine."""

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


def _distance(a: nn.Module, b: nn.Module) -> float:
    return max(float((p - q).detach().abs().max()) for p, q in
               zip(a.parameters(), b.parameters(), strict=True))


def _train(model: nn.Module, opt, step, x: torch.Tensor, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        model(x).square().mean().backward()
        step()


def _assert_within_quantization(model: nn.Module, eager: nn.Module, kwargs: dict,
                                x: torch.Tensor, steps: int) -> None:
    """Two runs that store moments in bf16 or 8 bits round them independently, and a value on
    a code boundary goes either way: they may part as far as the low-precision run parts from
    float32 moments, no further."""
    fp32 = _model()
    opt = ak.Adam(fp32.parameters(), **{**kwargs, "state_precision": "fp32"}, fused=False)
    _train(fp32, opt, opt.step, x, steps)
    assert 0 < _distance(model, eager) <= _distance(eager, fp32)


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
    if precision == "fp32":
        _assert_close(model, eager, atol=1e-5)
    else:  # the rule path and the engine round the stored low-precision moments independently
        _assert_within_quantization(model, eager, {"lr": 1e-2}, x, 3)


CONFIGS = [("Adam", {}), ("AdamW", {"weight_decay": 0.1}), ("Adam", {"amsgrad": True}),
           ("Adam", {"eps_mode": "hat"}), ("Adam", {"state_precision": "bf16"}),
           ("Adam", {"state_precision": "8bit"}), ("AdamW", {"lr": torch.tensor(1e-2)}),
           ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("SGD", {"momentum": 0.9}), ("SGD", {}),
           ("RMSprop", {}), ("Adagrad", {})]


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=str)
def test_a_compiled_step_is_one_graph_and_equals_the_eager_step(name, kwargs):
    """Under dynamo the step count and tensor hyperparameters stay tensors (as torch.optim keeps
    them), so nothing calls .item() and the whole step is one graph, as torch's own compiled
    optimizers are (a graph break per parameter made the compiled step slower than eager)."""
    kwargs = {"lr": 1e-2, **kwargs}
    x = torch.randn(32, 64)
    probe = _model()
    probe_opt = getattr(ak, name)(probe.parameters(), **kwargs)
    probe(x).square().mean().backward()
    probe_opt.step()  # the state exists: the traced step is the steady one
    torch._dynamo.reset()
    assert torch._dynamo.explain(probe_opt.step)().graph_break_count == 0

    model = _model()
    eager = copy.deepcopy(model)
    opt = getattr(ak, name)(model.parameters(), **kwargs)
    # the eager twin takes the rule path too: the comparison is of the same arithmetic, traced
    rule_path = {"fused": False} if name in ("Adam", "AdamW") else {}
    opt_eager = getattr(ak, name)(eager.parameters(), **kwargs, **rule_path)
    step = torch.compile(opt.step, backend="aot_eager", fullgraph=True)
    _train(model, opt, step, x, 8)  # RAdam's rectification switches on after step 5
    _train(eager, opt_eager, opt_eager.step, x, 8)
    # Traced, bias corrections are float32 tensor arithmetic, as in torch's compiled optimizers
    # (eagerly they are float64 Python numbers): torch's own compiled Adam is 2e-6 from its
    # eager one here.
    if kwargs.get("state_precision", "fp32") == "fp32":
        _assert_close(model, eager, atol=1e-5)
    else:
        _assert_within_quantization(model, eager, kwargs, x, 8)
