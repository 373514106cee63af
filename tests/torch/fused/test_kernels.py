"""Every CPU kernel against the rule it spells (adamkit.rules), option by option, and the codecs."""

import numpy as np
import pytest
import torch
from tests.torch.fused.kernel_cases import CASES

from adamkit import rules
from adamkit.torch.fused import codecs as P
from adamkit.torch.fused import cpu
from adamkit.torch.fused.codecs import storage_of
from adamkit.torch.fused.engine import _np
from adamkit.torch.fused.specs import SPECS

LOW_PRECISION = [(rule, options) for rule, options in CASES
                 if rule in ("adam", "adamw", "adamax", "nadam", "radam")]
STEPS = 8


def _id(case):
    rule, options = case
    return rule + "".join(f"-{k}={v}" for k, v in options.items())


def _hyperparameters(rule, options):
    """Validated settings, plus the schedule factor a front end sets each step (``lr_factor``)."""
    settings = {k: v for k, v in options.items() if k != "lr_factor"}
    return {**rules.get(rule).validate(settings), "lr_factor": options.get("lr_factor", 1.0)}


class KernelRun:
    """One param stepped by the kernel, its state in flat buffers stored at ``precision``."""

    def __init__(self, rule, hp, p, state, precision):
        self.spec = SPECS[rule]
        self.hp = hp
        self.p = p
        self.slots = self.spec.slots_for(hp)
        self.storages = {k: storage_of(k, precision) for k in self.slots}
        self.held = {k: state[k].reshape(1).clone() for k in self.spec.held}
        self.buffers, self.absmax = {}, {}
        stored = P.encode_state({k: state.get(k, torch.zeros_like(p)) for k in self.slots},
                                precision, p)
        padded = P.n_blocks(p.numel()) * P.BLOCK if precision == "8bit" else p.numel()
        for k in self.slots:
            self.buffers[k] = stored[k]
            if f"{k}_absmax" in stored:
                self.absmax[k] = stored[f"{k}_absmax"]
            elif padded > p.numel():  # a float slot beside 8-bit ones: whole blocks, as the engine's
                self.buffers[k] = torch.cat([stored[k], stored[k].new_zeros(padded - p.numel())])

    def step(self, g, step):
        view = cpu.slots(self.spec.slots, {k: _np(v) for k, v in self.buffers.items()},
                         self.storages, {k: _np(v) for k, v in self.absmax.items()},
                         self.p.numpy()[:1])
        scalars = self.spec.scalars(self.hp, step, self.held)
        cpu.step_arrays(self.spec.rule, self.spec.flags(self.hp), view, self.p.numpy(), g.numpy(),
                        scalars)

    def stored_state(self):
        out = dict(self.buffers)
        out.update({f"{k}_absmax": v for k, v in self.absmax.items()})
        return out


def _close(a, b, rtol):
    # torch's kernels fuse some multiply-adds (lerp, addcmul) where the kernel rounds twice: the
    # two agree to float rounding relative to each array's scale
    torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * float(b.abs().max()))


@pytest.mark.parametrize("case", CASES, ids=_id)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_float_kernel_equals_the_rule(case, dtype):
    rule_name, options = case
    rule = rules.get(rule_name)
    hp = _hyperparameters(rule_name, options)
    gen = torch.Generator().manual_seed(0)
    n = 1000
    p_rule = torch.randn(n, generator=gen, dtype=dtype)
    state = rule.init(p_rule, hp, torch)
    run = KernelRun(rule_name, hp, p_rule.clone(), state, "fp32")
    for step in range(1, STEPS + 1):
        g = torch.randn(n, generator=gen, dtype=dtype)
        p_rule, state = rule.update(p_rule, g, state, step, hp, torch)
        run.step(g, step)
    rtol = 4e-6 if dtype == torch.float32 else 1e-14
    _close(run.p, p_rule, rtol)
    assert set(run.slots) == {k for k in state if torch.is_tensor(state[k]) and state[k].ndim}
    for key in run.slots:
        _close(run.buffers[key], state[key], rtol)
    for key in run.spec.held:
        assert run.held[key].item() == state[key].item(), key  # the same op: the same bits


@pytest.mark.parametrize("case", LOW_PRECISION, ids=_id)
@pytest.mark.parametrize("precision", ["bf16", "8bit"])
def test_low_precision_kernels_equal_decode_rule_encode(case, precision):
    """One step from the same stored state: kernel == decode -> rule -> encode (the reference)."""
    rule_name, options = case
    rule = rules.get(rule_name)
    hp = _hyperparameters(rule_name, options)
    gen = torch.Generator().manual_seed(1)
    n = 256 * 20 + 77  # a partial last block
    p = torch.randn(n, generator=gen)
    state = rule.init(p, hp, torch)
    for key in state:
        if key in ("exp_avg",):
            state[key] = 0.1 * torch.randn(n, generator=gen)
        elif torch.is_tensor(state[key]) and state[key].ndim:  # second moments, exp_inf
            state[key] = 0.01 * torch.rand(n, generator=gen)
    if "max_exp_avg_sq" in state:
        state["max_exp_avg_sq"] = state["exp_avg_sq"] * 1.5
    step = 7  # RAdam rectified
    run = KernelRun(rule_name, hp, p.clone(), state, precision)
    g = torch.randn(n, generator=gen)
    def trimmed(stored):  # float slots without their padding to whole blocks
        return {k: v[:n] if v.dtype == torch.float32 and not k.endswith("_absmax") else v
                for k, v in stored.items()}

    stored = trimmed(run.stored_state())
    decoded = P.decode_state({**stored, **{k: v for k, v in state.items() if k in rule.state_keys
                                          and k not in stored}}, p)
    p_rule, new = rule.update(p, g, decoded, step, hp, torch)
    rule_stored = P.encode_state({k: v for k, v in new.items() if k in run.slots}, precision, p)
    run.step(g, step)
    torch.testing.assert_close(run.p, p_rule, rtol=1e-5, atol=1e-7)
    kernel_stored = trimmed(run.stored_state())
    assert kernel_stored.keys() == rule_stored.keys()
    for key, expected in rule_stored.items():
        got = kernel_stored[key]
        if key.endswith("_absmax") or got.dtype == torch.float32:
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=0)
            continue
        # the same code, except where float32 rounding put a value an ulp across a boundary
        as_int = (lambda t: t.view(torch.int16).int()) if precision == "bf16" else \
            (lambda t: t.view(torch.uint8).int())
        steps = (as_int(got) - as_int(expected)).abs()
        assert steps.max() <= 1, key
        assert (steps > 0).float().mean() < 0.01, key


def test_bf16_store_rounds_like_torch():
    x = torch.randn(10_000) * torch.logspace(-30, 30, 10_000)
    x[:3] = torch.tensor([float("nan"), float("inf"), -0.0])
    # a step with beta1 = 0 stores the gradient itself as the first moment
    hp = _hyperparameters("adam", {"betas": (0.0, 0.999)})
    run = KernelRun("adam", hp, torch.ones(x.numel()), {}, "bf16")
    run.step(x, 1)
    m = _np(run.buffers["exp_avg"])
    expected = x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    # NaN stays NaN; -0.0 comes out of the moment update as +0.0 (0 + (-0 - 0))
    assert m[0] & 0x7FFF > 0x7F80 and m[1] == expected[1] and m[2] == 0
    assert np.array_equal(m[3:], expected[3:])


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_8bit_code_keeps_relative_precision_down_to_small_values(signed):
    gen = torch.Generator().manual_seed(2)
    # e4m3 spans 2^-14 of the block's absmax within 1/16, e6m2 2^-62 within 1/8 (half a step)
    decades, bound = (4, 1 / 16) if signed else (18, 1 / 8)
    x = torch.logspace(-decades, 0, 4096) * (torch.randn(4096, generator=gen).sign()
                                             if signed else 1)
    x = x[torch.randperm(4096, generator=gen)]  # every block mixes the scales
    x[256:512] = 0.0  # an all-zero block
    codes, absmax = P.encode_8bit(x, signed=signed)
    assert codes.dtype == (torch.int8 if signed else torch.uint8) and absmax.shape == (16,)
    back = P.decode_8bit(codes, absmax, x, signed=signed)
    assert torch.equal(back[256:512], torch.zeros(256))
    nonzero = x != 0
    relative = ((back - x).abs() / x.abs())[nonzero]
    assert relative.max() <= bound + 1e-6  # at every scale
    assert torch.equal(torch.sign(back[nonzero]), torch.sign(x[nonzero]))
    torch.testing.assert_close(back.abs().view(16, 256).amax(1), absmax, rtol=0, atol=0)


def test_8bit_kernel_codec_equals_the_torch_spelling():
    """Encode in the kernel (beta1 = 0: the first moment is the gradient), decode in torch."""
    gen = torch.Generator().manual_seed(3)
    g = torch.randn(4096, generator=gen) * torch.logspace(-6, 0, 4096)
    hp = _hyperparameters("adam", {"betas": (0.0, 0.0)})
    run = KernelRun("adam", hp, torch.zeros(4096), {}, "8bit")
    run.step(g, 1)
    codes, absmax = P.encode_8bit(g, signed=True)
    assert torch.equal(run.buffers["exp_avg"], codes)
    assert torch.equal(run.absmax["exp_avg"], absmax)
    v_codes, v_absmax = P.encode_8bit(g * g, signed=False)
    assert torch.equal(run.buffers["exp_avg_sq"], v_codes)
    assert torch.equal(run.absmax["exp_avg_sq"], v_absmax)


def test_unknown_precision_and_storage_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="state_precision 'fp8'.*fp32, bf16, 8bit"):
        P.check_precision("fp8")
    with pytest.raises(ValueError, match="invalid storage 'fp8'; valid: float, bf16, 8bit"):
        cpu.slots(("exp_avg",), {"exp_avg": np.zeros(4, np.float32)}, {"exp_avg": "fp8"}, {},
                  np.zeros(1, np.float32))


def test_every_rule_with_a_kernel_is_tested():
    assert {SPECS[rule].rule for rule, _ in CASES} == {spec.rule for spec in SPECS.values()}
    assert set(SPECS) <= set(rules.RULES)  # each kernel is a declared rule's


def test_a_rule_without_kernels_takes_the_rule_path_and_says_why():
    """The rules declared since the kernels were written (Lion, Muon, ...) step on the rule path."""
    import torch

    import adamkit.torch as akt

    for name in sorted(set(rules.RULES) - set(SPECS)):
        if rules.get(name).elementwise is False or name == "schedule_free_adamw":
            continue  # matrices only, or a train()/eval() switch: their own tests step them
        params = [torch.nn.Parameter(torch.randn(64, 64)) for _ in range(3)]
        opt = akt.for_rule(name)(params, fused=None)
        for p in params:
            p.grad = torch.randn_like(p)
        opt.step()
        (path,) = opt.paths()
        assert path.kind == "rule" and path.detail == f"rule {name!r}", (name, path)
