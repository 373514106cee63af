"""The Triton kernels (adamkit.torch.fused.gpu) against the rules they spell, step by step.

Each case steps several tensors of odd sizes (one launch per step) and, at every step, compares
the kernel's new params and stored state with the rule applied to what the kernel held before
the step (decoded: bf16 -> float, 8-bit codes -> float32), the rule's new state encoded again.
On CPU tensors under Triton's interpreter (conftest); on the GPU, compiled, in the CUDA test.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.torch.fused.kernel_cases import CASES as KERNEL_CASES

from adamkit import rules
from adamkit.torch.fused import codecs
from adamkit.torch.fused.codecs import MOMENT_KEYS, SIGNED_KEYS
from adamkit.torch.fused.specs import SPECS

triton = pytest.importorskip("triton")

from adamkit.torch.fused import gpu  # noqa: E402  (after the skip: imports triton)

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
SIZES = (1, 0, 300, 1077)  # 1077: two programs' chunks; 0: no program
STEPS = (1, 2, 7)  # 7: RAdam's adaptive branch (β2 = 0.999), non-trivial bias corrections
BLOCK = 256

CONFIGS = KERNEL_CASES  # (rule, options): tests/kernel_cases.py
LOW_PRECISION = [c for c in CONFIGS if any(k in MOMENT_KEYS for k in SPECS[c[0]].slots)]


def _id(config):
    name, options = config
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def _cases():
    """(config, param dtype, moment storage): every config in float32 and float64; the rules with
    moments in bf16 and 8-bit (float32; float64 with 8-bit); half-precision params for a few."""
    out = []
    for c in CONFIGS:
        out += [(c, torch.float32, "float"), (c, torch.float64, "float")]
    for c in LOW_PRECISION:
        out += [(c, torch.float32, "bf16"), (c, torch.float32, "8bit")]
    for c in (CONFIGS[0], CONFIGS[1], CONFIGS[10]):
        out.append((c, torch.float64, "8bit"))
    for c in (CONFIGS[0], CONFIGS[16], CONFIGS[23]):
        out += [(c, torch.bfloat16, "float"), (c, torch.float16, "float")]
    return out


CASES = _cases()
DEVICES = [
    pytest.param("cpu", marks=pytest.mark.skipif(not INTERPRETED, reason="compiled Triton: CUDA only")),
    pytest.param("cuda", marks=pytest.mark.skipif(
        INTERPRETED or not torch.cuda.is_available(), reason="CUDA, compiled (test_cuda_compiled)")),
]


def _hyperparameters(rule, options):
    settings = {"lr": 1e-2, **{k: v for k, v in options.items() if k != "lr_factor"}}
    return {**rule.validate(settings), "lr_factor": options.get("lr_factor", 1.0)}


def _compute_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def _tolerance(dtype):
    """(rtol, atol relative to the tensor's scale): float rounding of the param's dtype (of its
    compute dtype's results, then rounded once, for half precision)."""
    return {torch.float32: (2e-6, 1e-6), torch.float64: (1e-13, 1e-13),
            torch.bfloat16: (2**-7, 2**-8), torch.float16: (2**-10, 2**-11)}[dtype]


def _close(actual, expected, rtol, atol, what):
    actual, expected = actual.double().cpu(), expected.double().cpu()
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol * max(scale, 1e-30),
                               equal_nan=True, msg=lambda m: f"{what}: {m}")


def _layout(sizes, eight_bit):
    """Offsets of each tensor in the flat buffers: block-aligned for 8-bit, packed otherwise."""
    offsets, at = [], 0
    for n in sizes:
        offsets.append(at)
        at += -(-n // BLOCK) * BLOCK if eight_bit else n
    return offsets, max(at, 1)


class Buffers:
    """The kernel's flat state buffers: one per slot, stored as ``storage`` says."""

    def __init__(self, keys, storages, dtype, offsets, total, device):
        self.keys, self.storages, self.offsets = keys, storages, offsets
        self.slots, self.absmax = [], []
        for key, storage in zip(keys, storages):
            if storage == "8bit":
                codes = torch.int8 if key in SIGNED_KEYS else torch.uint8
                self.slots.append(torch.zeros(total, dtype=codes, device=device))
                self.absmax.append(torch.zeros(total // BLOCK, dtype=torch.float32, device=device))
            else:
                kind = torch.bfloat16 if storage == "bf16" else dtype
                # NaN where the rule writes before it reads (SGD's first step): never read
                self.slots.append(torch.full((total,), float("nan"), dtype=kind, device=device))
                self.absmax.append(None)

    def span(self, j, i, n):
        return slice(self.offsets[i], self.offsets[i] + n)

    def put(self, j, i, value):
        """Store the float tensor ``value`` as tensor ``i``'s slot ``j``."""
        n = value.numel()
        if self.storages[j] == "8bit":
            codes, absmax = codecs.encode_8bit(value, self.keys[j] in SIGNED_KEYS)
            lo = self.offsets[i]
            self.slots[j][lo:lo + codes.numel()] = codes.to(self.slots[j].device)
            self.absmax[j][lo // BLOCK:lo // BLOCK + absmax.numel()] = absmax.to(self.slots[j].device)
        else:
            self.slots[j][self.span(j, i, n)] = value.reshape(-1).to(self.slots[j].dtype)

    def get(self, j, i, n, dtype):
        """Tensor ``i``'s slot ``j`` decoded, on the CPU, in ``dtype``."""
        if self.storages[j] == "8bit":
            lo, blocks = self.offsets[i], -(-n // BLOCK)
            codes = self.slots[j][lo:lo + blocks * BLOCK].cpu()
            absmax = self.absmax[j][lo // BLOCK:lo // BLOCK + blocks].cpu()
            return codecs.decode_8bit(codes, absmax, torch.empty(n), self.keys[j] in SIGNED_KEYS).to(dtype)
        return self.slots[j][self.span(j, i, n)].cpu().to(dtype).clone()

    def check(self, j, i, expected, rtol, atol, what):
        """Tensor ``i``'s slot ``j`` against the rule's new value ``expected`` (stored as the
        kernel stores it)."""
        n = expected.numel()
        storage = self.storages[j]
        if storage == "8bit":
            lo, blocks = self.offsets[i], -(-n // BLOCK)
            codes = self.slots[j][lo:lo + blocks * BLOCK].cpu().view(torch.uint8).int()
            absmax = self.absmax[j][lo // BLOCK:lo // BLOCK + blocks].cpu()
            want_codes, want_absmax = codecs.encode_8bit(expected, self.keys[j] in SIGNED_KEYS)
            want_codes = want_codes.view(torch.uint8).int()
            _close(absmax, want_absmax, 1e-5, 0.0, f"{what} absmax")
            if n == 0:
                return
            # a moment one rounding away from a code's boundary may take the next code
            differ = codes != want_codes
            low = 0x7F if self.keys[j] in SIGNED_KEYS else 0xFF
            assert int(((codes & low) - (want_codes & low)).abs().max()) <= 1, what
            assert int(differ.sum()) <= max(2, n // 200), f"{what}: {int(differ.sum())} codes differ"
            assert not bool(codes[n:].any()), f"{what}: padding codes"
        elif storage == "bf16":
            got = self.slots[j][self.span(j, i, n)].cpu().float()
            _close(got, expected.reshape(-1).to(torch.bfloat16).float(), 2**-7, 2**-9, what)
        else:
            got = self.slots[j][self.span(j, i, n)].cpu()
            _close(got, expected.reshape(-1).to(got.dtype), rtol, atol, what)


def run_case(config, dtype, storage, device, sizes=SIZES, steps=STEPS):
    name, options = config
    rule, spec = rules.get(name), SPECS[name]
    hp = _hyperparameters(rule, options)
    flags = dict(spec.flags(hp))
    keys = gpu.kept_slots(spec, flags)
    storages = tuple(storage if k in MOMENT_KEYS else "float" for k in keys)
    offsets, total = _layout(sizes, "8bit" in storages)
    compute, (rtol, atol) = _compute_dtype(dtype), _tolerance(dtype)
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(n, generator=gen).to(dtype).to(device) for n in sizes]
    buffers = Buffers(keys, storages, dtype, offsets, total, device)
    for i, p in enumerate(params):
        made = rule.init(p.cpu().to(compute), hp, torch)
        for j, key in enumerate(keys):
            if key in made:
                buffers.put(j, i, made[key])
    held = {k: rules._numerics.scalar_ones(torch) for k in spec.held}
    for step in steps:
        grads = [torch.randn(n, generator=gen).to(dtype).to(device) for n in sizes]
        before = [p.cpu().to(compute).clone() for p in params]
        states = [{key: buffers.get(j, i, n, compute) for j, key in enumerate(keys)}
                  for i, n in enumerate(sizes)]
        held_before = {k: v.clone() for k, v in held.items()}
        scalars = spec.scalars(hp, step, held)
        gpu.step(spec, flags, storages, params, grads, offsets, tuple(buffers.slots),
                 tuple(buffers.absmax), scalars)
        for i, n in enumerate(sizes):
            state = dict(states[i], **held_before)
            if name == "sgd" and step == 1:
                state.pop("momentum_buffer", None)  # made from the first gradient
            new_p, new_state = rule.update(before[i], grads[i].cpu().to(compute), state, step, hp,
                                           torch)
            what = f"{_id(config)} {dtype} {storage} step {step} tensor {i} (numel {n})"
            _close(params[i], new_p.to(dtype), rtol, atol, f"{what} param")
            for j, key in enumerate(keys):
                buffers.check(j, i, new_state[key], rtol, atol, f"{what} {key}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("config", "dtype", "storage"), CASES,
                         ids=[f"{_id(c)}-{str(d)[6:]}-{s}" for c, d, s in CASES])
def test_kernel_matches_rule(config, dtype, storage, device):
    run_case(config, dtype, storage, device)


@pytest.mark.skipif(not INTERPRETED, reason="interpreter only")
def test_eight_bit_code_levels():
    """The kernels' 8-bit code on known values: exact binades, round to nearest even, the sign
    bit, zero padding, NaN propagating to its block's absmax."""
    spec, rule = SPECS["adam"], rules.get("adam")
    hp = _hyperparameters(rule, {"betas": (0.0, 0.999)})  # β1 = 0: the first moment is g
    flags = dict(spec.flags(hp))
    p = torch.zeros(300)
    g = torch.zeros(300)
    m = torch.zeros(512, dtype=torch.int8)
    v = torch.zeros(512, dtype=torch.uint8)
    absmax = (torch.zeros(2), torch.zeros(2))
    # absmax 2: r = |g|/2; 1.0625/2 and 1.1875/2 are midpoints (ties to even: k = 0 and k = 2);
    # 2^-16/2 = 2^-17 is the smallest subnormal level (code 1)
    g[:6] = torch.tensor([2.0, 1.0, -0.5, 1.0625, 1.1875, 2.0**-16])
    g[299] = float("nan")
    gpu.step(spec, flags, ("8bit", "8bit"), [p], [g], [0], (m, v), absmax,
             spec.scalars(hp, 1, {}))
    assert m[:6].view(torch.uint8).tolist() == [120, 112, 0x80 | 104, 112, 114, 1]
    assert float(absmax[0][0]) == 2.0 and not bool(m[6:256].any())
    want, want_absmax = codecs.encode_8bit(g[:256], True)
    assert torch.equal(m[:256], want) and torch.equal(absmax[0][:1], want_absmax)
    assert torch.isnan(absmax[0][1]) and torch.isnan(absmax[1][1])
    assert not bool(m[300:].any()) and not bool(v[300:].any())  # padding codes stay 0


@pytest.mark.skipif(not INTERPRETED, reason="interpreter only")
def test_checks_its_arguments():
    spec = SPECS["adam"]
    hp = _hyperparameters(rules.get("adam"), {})
    flags = dict(spec.flags(hp))
    p, g = [torch.zeros(10)], [torch.zeros(10)]
    scalars = spec.scalars(hp, 1, {})
    with pytest.raises(ValueError, match="storage"):
        gpu.step(spec, flags, ("float", "fp8"), p, g, [0], (torch.zeros(10),) * 2, (None,) * 2,
                 scalars)
    with pytest.raises(ValueError, match="exp_avg"):
        gpu.step(spec, flags, ("8bit", "float"), p, g, [0], (torch.zeros(10),) * 2, (None,) * 2,
                 scalars)
    with pytest.raises(ValueError, match="as many"):
        gpu.step(spec, flags, ("float",), p, g, [0], (torch.zeros(10),), (None,), scalars)
    gpu.step(spec, flags, ("float", "float"), [], [], [], (torch.zeros(10),) * 2, (None,) * 2,
             scalars)  # nothing to step


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.skipif(not INTERPRETED, reason="runs in the parent (interpreted) session only")
def test_cuda_compiled():
    """The same comparisons, compiled for the GPU, on CUDA tensors (a child pytest without the
    interpreter)."""
    root = Path(__file__).resolve().parents[4]
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["ADAMKIT_TRITON_COMPILED"] = "1"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           str(Path(__file__)), "-k", "cuda"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


@pytest.mark.skipif(not INTERPRETED, reason="runs in the parent (interpreted) session only")
def test_every_variant_compiles_for_sm90():
    """Without a GPU: Triton builds each kernel variant for sm_90 (cubin, through the bundled
    ptxas), with IEEE sqrt/div, no FMA and no flush to zero (tests/torch/fused/gpu/_compile_check.py)."""
    root = Path(__file__).resolve().parents[4]
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("_compile_check.py"))],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode and "ptxas" in done.stderr and "FileNotFoundError" in done.stderr:
        pytest.skip("no ptxas for Triton's CUDA backend")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
