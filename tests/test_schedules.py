"""Schedules are pure step -> factor functions equal to torch's schedulers where torch has one."""

import math

import pytest
import torch

import adamkit.torch as ak
from adamkit import schedules
from adamkit.errors import UsageError


def torch_factors(make, steps):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize(
    "ours,make",
    [
        (schedules.StepDecay(3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
        (schedules.Exponential(0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
        (schedules.OneCycle(20), lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=20)),
    ],
)
def test_schedules_equal_torch_schedulers(ours, make):
    expected = torch_factors(make, 20)
    assert [ours(t) for t in range(20)] == pytest.approx(expected, rel=1e-12)


def test_cosine_and_warmup_shapes():
    cos = schedules.Cosine(10, min_factor=0.1)
    assert cos(0) == 1.0 and cos(10) == pytest.approx(0.1) and cos(50) == pytest.approx(0.1)
    assert cos(5) == pytest.approx(0.55)
    warm = schedules.Warmup(4, schedules.Cosine(10))
    assert [warm(t) for t in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert warm(4) == 1.0 and warm(14) == pytest.approx(0.0, abs=1e-12)


def test_seed_schedule_compounds_like_keras_callback():
    """The seeds' lr_schedule fed back its own output each epoch (Keras LearningRateScheduler)."""
    lr, keras = 0.01, []
    for epoch in range(100):
        lr = lr if epoch < 50 else lr * math.exp(-0.1)
        keras.append(lr)
    ours = schedules.SeedExpDecay()
    assert [0.01 * ours(e) for e in range(100)] == pytest.approx(keras, rel=1e-12)


def test_torch_scheduler_adapter_drives_the_optimizer():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = ak.Adam([p], lr=0.1)
    sched = schedules.torch_scheduler(opt, schedules.StepDecay(2, 0.5))
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.ones(1)
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_independent_weight_decay_follows_the_scheduler_factor():
    p = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = ak.AdamW([p], lr=0.1, weight_decay=0.5, weight_decay_mode="independent")
    sched = schedules.torch_scheduler(opt, schedules.Constant())
    opt.param_groups[0]["lr"] = 0.05  # factor 0.5 against initial_lr 0.1
    p.grad = torch.zeros(1, dtype=torch.float64)
    opt.step()
    assert p.item() == pytest.approx(1 - 0.5 * 0.5)
    del sched


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("constant", schedules.Constant()),
        ("step:10,0.5", schedules.StepDecay(10, 0.5)),
        ("cosine:total_steps=100", schedules.Cosine(100)),
        ("warmup:5+cosine:95", schedules.Warmup(5, schedules.Cosine(95))),
        ("seed-exp-decay", schedules.SeedExpDecay()),
        ("onecycle:100,0.25", schedules.OneCycle(100, 0.25)),
    ],
)
def test_parse(spec, expected):
    assert schedules.parse(spec) == expected


@pytest.mark.parametrize(
    "spec,message",
    [
        ("cosin:10", "unknown schedule 'cosin'; valid: constant, cosine"),
        ("cosine", "schedule cosine needs total_steps"),
        ("step:ten", "step_size='ten' is not a number"),
        ("cosine:foo=3", "unknown argument 'foo'"),
        ("cosine:10+step:3", "only a warmup can be followed"),
        # values that used to crash (ZeroDivisionError) or give a NaN/negative lr mid-run
        ("step:0,0.5", r"schedule step: step_size=0 is out of range; valid: >= 1"),
        ("step:10,-1", r"gamma=-1.0 is out of range; valid: a finite number > 0"),
        ("exponential:nan", r"gamma=nan is out of range"),
        ("cosine:0", r"total_steps=0 is out of range; valid: >= 1"),
        ("onecycle:100,0.3,0", r"div_factor=0.0 is out of range"),
        ("onecycle:100,1.5", r"pct_start=1.5 is out of range; valid: 0 to 1"),
        ("warmup:-5+cosine:10", r"warmup_steps=-5 is out of range"),
        ("seed-exp-decay:-1", r"start=-1 is out of range"),
        ("step:1.5", r"step_size='1.5' is not a number \(a whole number is needed\)"),
        ("cosine:1,0,3", r"schedule cosine takes at most 2 argument\(s\)"),
    ],
)
def test_parse_errors(spec, message):
    with pytest.raises(UsageError, match=message):
        schedules.parse(spec)
