"""The fused kernels against the rule they spell (adamkit.rules.adam), option by option."""

import numpy as np
import pytest
import torch

from adamkit import rules
from adamkit.torch.fused import codecs as P
from adamkit.torch.fused import kernels as K

OPTIONS = [
    {},
    {"amsgrad": True},
    {"maximize": True},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "weight_decay_mode": "decoupled"},
    {"weight_decay": 0.1, "weight_decay_mode": "independent", "lr_factor": 0.5},
    {"eps_mode": "hat", "eps": 1e-7},
    {"eps_mode": "root", "eps": 1e-6},
    {"eps_mode": "root", "eps": 1e-6, "amsgrad": True, "maximize": True},
    {"betas": (0.5, 0.9), "lr": 0.1, "amsgrad": True, "eps_mode": "hat"},
    {"eps": 1e-3, "eps_root": 1e-2},  # optax's sqrt(v̂ + eps_root) + eps
    {"eps": 1e-8, "eps_root": 1e-8, "amsgrad": True, "weight_decay": 0.1},
]
RULE = rules.get("adam")


def _hyperparameters(options):
    """Validated settings, plus the schedule factor a front end sets each step (``lr_factor``)."""
    settings = {k: v for k, v in options.items() if k != "lr_factor"}
    return {**RULE.validate(settings), "lr_factor": options.get("lr_factor", 1.0)}


def _dummy(dtype):
    return np.zeros(1, dtype)


_NO_SCALES = (_dummy(np.float32),) * 3  # absmax arrays: only the 8-bit storage has them


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_float_kernel_equals_the_rule(options, dtype):
    hp = _hyperparameters(options)
    gen = torch.Generator().manual_seed(0)
    n = 1000
    p_rule = torch.randn(n, generator=gen, dtype=dtype)
    p_kernel = p_rule.clone()
    state = RULE.init(p_rule, hp, torch)
    m, v, w = (torch.zeros(n, dtype=dtype) for _ in range(3))
    for step in range(1, 8):
        g = torch.randn(n, generator=gen, dtype=dtype)
        p_rule, state = RULE.update(p_rule, g, state, step, hp, torch)
        scalars = K.kernel_scalars(hp, step, p_kernel.numpy().dtype)
        K.step_arrays("float", hp["amsgrad"], p_kernel.numpy(), g.numpy(),
                      (m.numpy(), v.numpy(), w.numpy()), _NO_SCALES, scalars)
    rtol = 2e-6 if dtype == torch.float32 else 1e-14
    # torch's kernels fuse some multiply-adds (lerp) where the kernel rounds twice: the two agree
    # to float rounding relative to each array's scale (a moment near 0 after cancellation can
    # differ by more than its own rtol).
    def close(a, b):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * float(b.abs().max()))

    close(p_kernel, p_rule)
    close(m, state["exp_avg"])
    close(v, state["exp_avg_sq"])
    if hp["amsgrad"]:
        close(w, state["max_exp_avg_sq"])


def _lowp_kernel_step(precision, p, g, stored, amsgrad, scalars):
    if precision == "bf16":
        arrays = tuple(P_np(stored[k]) if k in stored else _dummy(np.uint16)
                       for k in P.MOMENT_KEYS)
        K.step_arrays("bf16", amsgrad, p.numpy(), g.numpy(), arrays, _NO_SCALES, scalars)
    else:
        codes = tuple(stored[k].numpy() if k in stored else _dummy(np.uint8)
                      for k in P.MOMENT_KEYS)
        scales = tuple(stored[f"{k}_absmax"].numpy() if k in stored else _dummy(np.float32)
                       for k in P.MOMENT_KEYS)
        K.step_arrays("8bit", amsgrad, p.numpy(), g.numpy(), codes, scales, scalars)


def P_np(t):  # noqa: N802  bf16 tensor -> its uint16 bits
    return t.view(torch.int16).numpy().view(np.uint16)


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("precision", ["bf16", "8bit"])
def test_low_precision_kernels_equal_decode_rule_encode(options, precision):
    """One step from the same stored state: kernel == decode -> rule -> encode (the reference)."""
    hp = _hyperparameters(options)
    gen = torch.Generator().manual_seed(1)
    n = 256 * 20 + 77  # a partial last block
    p = torch.randn(n, generator=gen)
    state = {"exp_avg": 0.1 * torch.randn(n, generator=gen),
             "exp_avg_sq": 0.01 * torch.rand(n, generator=gen)}
    if hp["amsgrad"]:
        state["max_exp_avg_sq"] = state["exp_avg_sq"] * 1.5
    stored = P.encode_state(state, precision, p)
    kernel_stored = {k: v.clone() for k, v in stored.items()}
    g = torch.randn(n, generator=gen)
    step = 4
    p_rule, new = RULE.update(p, g, P.decode_state(stored, p), step, hp, torch)
    rule_stored = P.encode_state(new, precision, p)
    p_kernel = p.clone()
    _lowp_kernel_step(precision, p_kernel, g, kernel_stored, bool(hp["amsgrad"]),
                      K.kernel_scalars(hp, step, np.float32))
    torch.testing.assert_close(p_kernel, p_rule, rtol=1e-5, atol=1e-7)
    assert kernel_stored.keys() == rule_stored.keys()
    for key, expected in rule_stored.items():
        got = kernel_stored[key]
        if key.endswith("_absmax"):
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=0)
            continue
        # the same code, except where float32 rounding put a value an ulp across a boundary
        as_int = (lambda t: t.view(torch.int16).int()) if precision == "bf16" else torch.Tensor.int
        steps = (as_int(got) - as_int(expected)).abs()
        assert steps.max() <= 1, key
        assert (steps > 0).float().mean() < 0.01, key


def test_bf16_store_rounds_like_torch():
    x = torch.randn(10_000) * torch.logspace(-30, 30, 10_000)
    x[:3] = torch.tensor([float("nan"), float("inf"), -0.0])
    bits = np.zeros(x.numel(), np.uint16)
    m = np.zeros(x.numel(), np.uint16)
    ones = np.ones(x.numel(), np.float32)
    # a step with beta1 = 0 stores the gradient itself as the first moment
    hp = RULE.validate({"betas": (0.0, 0.999)})
    K.step_arrays("bf16", False, ones.copy(), x.numpy(), (m, bits, _dummy(np.uint16)), _NO_SCALES,
                  K.kernel_scalars(hp, 1, np.float32))
    expected = x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    # NaN stays NaN; -0.0 comes out of the moment update as +0.0 (0 + (-0 - 0))
    assert m[0] & 0x7FFF > 0x7F80 and m[1] == expected[1] and m[2] == 0
    assert np.array_equal(m[3:], expected[3:])


def test_8bit_codec_round_trip_error_and_special_blocks():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4096, generator=gen) * torch.logspace(-3, 0, 4096)
    x[256:512] = 0.0  # an all-zero block
    codes, absmax = P.encode_8bit(x, signed=True)
    assert codes.dtype == torch.int8 and absmax.shape == (16,)
    back = P.decode_8bit(codes, absmax, x, signed=True)
    assert torch.equal(back[256:512], torch.zeros(256))
    blocks_err = (back - x).abs().view(16, 256).amax(1)
    # quadratic code: the largest step is 2·(127² - 126²)/127² ≈ 1.6% of the block's absmax
    assert (blocks_err <= 0.0079 * absmax + 1e-12).all()
    torch.testing.assert_close(back.abs().view(16, 256).amax(1), absmax, rtol=1e-6, atol=0)
    v = x * x
    vcodes, vmax = P.encode_8bit(v, signed=False)
    assert vcodes.dtype == torch.uint8
    vback = P.decode_8bit(vcodes, vmax, v, signed=False)
    # sqrt(v) keeps the quadratic code's precision (what Adam's denominator sees)
    assert ((vback.sqrt() - v.sqrt()).abs().view(16, 256).amax(1)
            <= 0.0079 * vmax.sqrt() + 1e-12).all()


def test_unknown_precision_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="state_precision 'fp8'.*fp32, bf16, 8bit"):
        P.check_precision("fp8")
