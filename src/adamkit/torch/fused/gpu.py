# mypy: disable-error-code="valid-type"
r"""Fused kernels in Triton: one launch steps every param of a bucket, for every rule of
:data:`adamkit.torch.fused.specs.SPECS`.

A kernel is a function of data (see :mod:`.specs`): :func:`step` takes the params, their
gradients, the flat state buffers and the step's scalars (``spec.scalars(hp, step, held)``) and
reads nothing else. Importing this module imports Triton (the optional ``gpu`` extra): nothing
imports it at adamkit's import time.

**Addressing.** One launch covers all tensors of a call. A table of int64s (built once per set
of addresses and cached, one host-to-device copy when it changes) holds, per tensor, the
addresses of its param and gradient, its numel and the offset of its state in the flat slot
buffers; and, per program, a chunk ``(tensor index, start)`` of ``ROWS·256`` elements. Each
program reads its chunk, casts the two addresses to pointers in-kernel (``int64.to(pointer)``:
LLVM ``inttoptr`` compiled, an address into host memory under ``TRITON_INTERPRET=1``, where it
was checked to work on CPU tensors) and works on a ``(ROWS, 256)`` tile: with 8-bit storage
each row of the tile is one quantization block (offsets are multiples of 256 and chunks start
on multiples of ``ROWS·256``), so the block's absmax is a row reduction. No gradient is
copied, no per-tensor launch, in the interpreter or on the GPU alike. Where every address is
16-byte aligned and every state offset a multiple of 16 (checked per call) the kernel tells
Triton so (``tl.multiple_of``), meant for vectorized loads; but the sm_90 PTX still loads 32
bits at a time (the hint does not reach through ``inttoptr``): open, and untimed.

**Variants.** The rule's flags (``spec.flags(hp)``), the scalars that are booleans (``has_l2``,
RAdam's ``adaptive``, SGD's ``first``), each slot's storage, the param dtype and the compute
dtype are ``tl.constexpr``: each variant compiles straight-line, no branch on them at run
time. The float scalars travel as the int64 bits of their float64 value (``do_not_specialize``:
no recompilation when a value changes) and are rounded once, in-kernel, to the compute dtype:
a Python float argument would be float32 on the GPU and the interpreter alike, too coarse for
float64 params.

**Arithmetic.** Each rule's per-coordinate order of operations is the rule's own (torch's
``lerp``: ``m + (1-β1)·(g-m)``; ``addcmul``: ``v·β2 + ((1-β2)·g)·g``; ``addcdiv``:
``p + (value·t1)/t2``), as in the Numba kernels (:mod:`.cpu`), with FMA contraction off
(``enable_fp_fusion=False``), correctly rounded ``sqrt_rn``/``div_rn`` for float32 (Triton's
``sqrt`` and ``/`` are approximate on NVIDIA GPUs), IEEE float64 otherwise. Math is float32 for
float32, bfloat16 and float16 params, float64 for float64 params. bfloat16 values are rounded
to nearest even by bit arithmetic (NaN -> 0x7FC0, as ``tensor.to(torch.bfloat16)``; the
interpreter's own cast truncates). The param update uses the freshly computed moments; only
the stored copies are rounded.

**8-bit code.** Per block of 256 values: ``absmax = max|x|`` (NaN propagates: the maximum is
taken over the bits of ``|x|``), ``inv = 1/absmax`` (1 when 0), ``r = |x|·inv``; signed slots
(``codecs.SIGNED_KEYS``, int8): ``y = r·2^-112``, ``b = bits(y)``, ``c = (b + 0x7FFFF +
((b >> 20) & 1)) >> 20`` (round to nearest even to 3 mantissa bits, c in [0, 120]), code
``c | 0x80`` where x's sign bit is set; unsigned slots (uint8): ``2^-64`` and 2 mantissa bits
(shift 21), c in [0, 252]. Decode: ``±bitcast_f32((code & 0x7F) << 20)·2^112·absmax``
(unsigned: ``bitcast_f32(code << 21)·2^64``). See :mod:`.codecs`. Subnormal floats
carry the smallest codes: the GPU must not flush them (Triton's plain float32 ops do not).
"""

from __future__ import annotations

import struct
from typing import Any

import torch
import triton
import triton.language as tl

from adamkit.torch.fused.codecs import (
    BLOCK,
    MOMENT_KEYS,
    SIGNED_DOWN,
    SIGNED_KEYS,
    SIGNED_UP,
    UNSIGNED_DOWN,
    UNSIGNED_UP,
)
from adamkit.torch.fused.specs import KernelSpec

ROWS = 4  # 8-bit blocks (rows of 256) per program: 1024 elements
CHUNK = ROWS * BLOCK
NUM_WARPS = 4
STORAGE_CODES = {"float": 0, "bf16": 1, "8bit": 2}
# slots a configuration keeps only when a flag is on (spec.slots order otherwise)
OPTIONAL_SLOTS = {"max_exp_avg_sq": "amsgrad", "momentum_buffer": "momentum", "grad_avg": "centered"}
BOOL_SCALARS = ("has_l2", "adaptive", "first")
# param dtype -> (pointer element type, compute dtype, stored as bfloat16 bits)
_DTYPES: dict[torch.dtype, tuple[Any, Any, bool]] = {
    torch.float32: (tl.float32, tl.float32, False),
    torch.float64: (tl.float64, tl.float64, False),
    torch.float16: (tl.float16, tl.float32, False),
    torch.bfloat16: (tl.int16, tl.float32, True),
}

_SIGNED_DOWN = tl.constexpr(SIGNED_DOWN)
_SIGNED_UP = tl.constexpr(SIGNED_UP)
_UNSIGNED_DOWN = tl.constexpr(UNSIGNED_DOWN)
_UNSIGNED_UP = tl.constexpr(UNSIGNED_UP)
_CODE_BLOCK = tl.constexpr(BLOCK)


# -- per-value pieces ------------------------------------------------------------------------------

@triton.jit
def _scalar(bits, C: tl.constexpr):
    """A scalar argument (the int64 bits of a float64) rounded once to the compute dtype."""
    return bits.to(tl.int64).to(tl.float64, bitcast=True).to(C)


@triton.jit
def _div(a, b):
    if a.dtype == tl.float32:
        return tl.div_rn(a, b)
    else:
        return a / b


@triton.jit
def _sqrt(x):
    if x.dtype == tl.float32:
        return tl.sqrt_rn(x)
    else:
        return tl.sqrt(x)


@triton.jit
def _larger(w, v):
    """``max(w, v)`` propagating a NaN of either (torch.maximum)."""
    return tl.where((v > w) | (v != v), v, w)


@triton.jit
def _bf16_bits(x):
    """float32 -> bfloat16 bits (int16), round to nearest even; NaN -> 0x7FC0."""
    b = x.to(tl.int32, bitcast=True)
    r = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    r = tl.where(x != x, 0x7FC0, r)
    return (r & 0xFFFF).to(tl.int16)


@triton.jit
def _from_bf16_bits(h):
    return ((h.to(tl.int32) & 0xFFFF) << 16).to(tl.float32, bitcast=True)


@triton.jit
def _load_float(ptr, mask, C: tl.constexpr, BF16: tl.constexpr):
    """Values of the param's dtype (bfloat16 as int16 bits) in the compute dtype."""
    if BF16:
        return _from_bf16_bits(tl.load(ptr, mask=mask, other=0)).to(C)
    else:
        return tl.load(ptr, mask=mask, other=0).to(C)


@triton.jit
def _store_float(ptr, x, mask, BF16: tl.constexpr):
    if BF16:
        tl.store(ptr, _bf16_bits(x.to(tl.float32)), mask=mask)
    else:
        tl.store(ptr, x.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def _load_slot(ptr, a_ptr, sidx, block, mask, rows, C: tl.constexpr, ST: tl.constexpr,
               SIGNED: tl.constexpr, BF16: tl.constexpr):
    """A slot's values in the compute dtype: ST 0 the param's dtype, 1 bfloat16, 2 8-bit."""
    if ST == 0:
        return _load_float(ptr + sidx, mask, C, BF16)
    elif ST == 1:
        return _from_bf16_bits(tl.load(ptr + sidx, mask=mask, other=0)).to(C)
    else:
        absmax = tl.load(a_ptr + block, mask=rows, other=0.0)[:, None]
        code = tl.load(ptr + sidx, mask=mask, other=0)
        if SIGNED:
            c = code.to(tl.uint8, bitcast=True).to(tl.int32)
            mag = ((c & 0x7F) << 20).to(tl.float32, bitcast=True) * _SIGNED_UP * absmax
            value = tl.where((c & 0x80) != 0, -mag, mag)
        else:
            c = code.to(tl.int32)
            value = (c << 21).to(tl.float32, bitcast=True) * _UNSIGNED_UP * absmax
        return value.to(C)


@triton.jit
def _store_slot(ptr, a_ptr, sidx, block, mask, rows, x, ST: tl.constexpr, SIGNED: tl.constexpr,
                BF16: tl.constexpr):
    """Store the new values ``x`` (compute dtype) of a slot in its storage (see _load_slot)."""
    if ST == 0:
        _store_float(ptr + sidx, x, mask, BF16)
    elif ST == 1:
        tl.store(ptr + sidx, _bf16_bits(x.to(tl.float32)), mask=mask)
    else:
        x32 = x.to(tl.float32)
        mag = tl.where(mask, tl.abs(x32), 0.0)
        # the maximum of |x| over its bits: a NaN's exceed inf's, so a NaN propagates
        top = tl.max(mag.to(tl.int32, bitcast=True), axis=1).to(tl.float32, bitcast=True)
        tl.store(a_ptr + block, top, mask=rows)
        # 1/absmax, 1 for an all-zero block (no division by 0: the interpreter's numpy warns)
        inv = tl.div_rn(tl.full(top.shape, 1.0, tl.float32), tl.where(top == 0.0, 1.0, top))
        r = mag * inv[:, None]
        if SIGNED:  # e4m3: 3 mantissa bits
            b = (r * _SIGNED_DOWN).to(tl.int32, bitcast=True)
            c = (b + 0x7FFFF + ((b >> 20) & 1)) >> 20
        else:  # e6m2: 2 mantissa bits
            b = (r * _UNSIGNED_DOWN).to(tl.int32, bitcast=True)
            c = (b + 0xFFFFF + ((b >> 21) & 1)) >> 21
        if SIGNED:  # the sign bit's (as codecs.encode_8bit: -0.0 is 0x80)
            c = tl.where(x32.to(tl.int32, bitcast=True) < 0, c | 0x80, c)
            tl.store(ptr + sidx, (c & 0xFF).to(tl.uint8).to(tl.int8, bitcast=True), mask=mask)
        else:
            tl.store(ptr + sidx, (c & 0xFF).to(tl.uint8), mask=mask)


@triton.jit
def _begin(tensors, chunks, sign, l2, decay, HAS_L2: tl.constexpr, PE: tl.constexpr,
           C: tl.constexpr, BF16: tl.constexpr, ROWS: tl.constexpr, ALIGNED: tl.constexpr):
    """This program's tile: its param pointers, the decayed param and the prepared gradient
    (``g = sign·grad + l2·param``, ``param = decay·param``), the state indices, the mask, the
    8-bit block of each row and which rows hold values."""
    c = tl.program_id(0).to(tl.int64)
    t = tl.load(chunks + 2 * c)
    start = tl.multiple_of(tl.load(chunks + 2 * c + 1), 256)
    p_addr = tl.load(tensors + 4 * t)
    g_addr = tl.load(tensors + 4 * t + 1)
    numel = tl.load(tensors + 4 * t + 2)
    offset = tl.load(tensors + 4 * t + 3)
    if ALIGNED:
        p_addr = tl.multiple_of(p_addr, 16)
        g_addr = tl.multiple_of(g_addr, 16)
        offset = tl.multiple_of(offset, 16)
    row = tl.arange(0, ROWS)
    local = start + (row[:, None] * _CODE_BLOCK + tl.arange(0, _CODE_BLOCK)[None, :])
    mask = local < numel
    rows = start + row * _CODE_BLOCK < numel
    block = (offset + start) // _CODE_BLOCK + row
    p_ptr = p_addr.to(tl.pointer_type(PE)) + local
    g_ptr = g_addr.to(tl.pointer_type(PE)) + local
    p = _load_float(p_ptr, mask, C, BF16)
    g = _load_float(g_ptr, mask, C, BF16) * _scalar(sign, C)
    if HAS_L2:
        g = g + _scalar(l2, C) * p
    p = p * _scalar(decay, C)
    return p_ptr, p, g, offset + local, mask, block, rows


# -- the rules ----------------------------------------------------------------------------------------
#
# Every kernel takes (tensors, chunks, slot0..2, absmax0..2, <its scalars' bits>, <constexprs>);
# the slots are the configuration's, in spec order (an absent one is any pointer, never read).

_COMMON = ("sign", "l2", "decay")


def _kernel(scalars: tuple[str, ...]) -> Any:
    """``triton.jit`` with the scalars' bits unspecialized (a new value compiles nothing)."""
    names = list(_COMMON + scalars)
    return triton.jit(do_not_specialize=names, do_not_specialize_on_alignment=names)


_ADAM = ("beta2", "one_minus_beta1", "one_minus_beta2", "inner_scale", "inner_eps", "mid_eps",
         "outer_scale", "outer_eps", "neg_step_size")


@_kernel(_ADAM)
def _adam(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64, decay: tl.int64,
          beta2: tl.int64, one_minus_beta1: tl.int64, one_minus_beta2: tl.int64,
          inner_scale: tl.int64, inner_eps: tl.int64, mid_eps: tl.int64, outer_scale: tl.int64,
          outer_eps: tl.int64, neg_step_size: tl.int64,
          HAS_L2: tl.constexpr, AMSGRAD: tl.constexpr, ROOT: tl.constexpr, ST0: tl.constexpr,
          ST1: tl.constexpr, ST2: tl.constexpr, PE: tl.constexpr, C: tl.constexpr,
          BF16: tl.constexpr, ROWS: tl.constexpr, ALIGNED: tl.constexpr):
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    m = _load_slot(s0, a0, i, block, mask, rows, C, ST0, True, BF16)
    v = _load_slot(s1, a1, i, block, mask, rows, C, ST1, False, BF16)
    m = m + _scalar(one_minus_beta1, C) * (g - m)
    v = v * _scalar(beta2, C) + (_scalar(one_minus_beta2, C) * g) * g
    _store_slot(s0, a0, i, block, mask, rows, m, ST0, True, BF16)
    _store_slot(s1, a1, i, block, mask, rows, v, ST1, False, BF16)
    if AMSGRAD:
        v = _larger(_load_slot(s2, a2, i, block, mask, rows, C, ST2, False, BF16), v)
        _store_slot(s2, a2, i, block, mask, rows, v, ST2, False, BF16)
    if ROOT:
        d = _sqrt(_div(v, _scalar(inner_scale, C)) + _scalar(inner_eps, C)) + _scalar(outer_eps, C)
    else:
        d = _div(_sqrt(v) + _scalar(mid_eps, C), _scalar(outer_scale, C)) + _scalar(outer_eps, C)
    p = p + _div(_scalar(neg_step_size, C) * m, d)
    _store_float(p_ptr, p, mask, BF16)


_ADAMAX = ("one_minus_beta1", "beta2", "eps", "neg_step_size")


@_kernel(_ADAMAX)
def _adamax(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64,
            decay: tl.int64, one_minus_beta1: tl.int64, beta2: tl.int64, eps: tl.int64,
            neg_step_size: tl.int64,
            HAS_L2: tl.constexpr, HAT: tl.constexpr, ST0: tl.constexpr, ST1: tl.constexpr,
            ST2: tl.constexpr, PE: tl.constexpr, C: tl.constexpr, BF16: tl.constexpr,
            ROWS: tl.constexpr, ALIGNED: tl.constexpr):
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    m = _load_slot(s0, a0, i, block, mask, rows, C, ST0, True, BF16)
    u = _load_slot(s1, a1, i, block, mask, rows, C, ST1, False, BF16)
    m = m + _scalar(one_minus_beta1, C) * (g - m)
    eps = _scalar(eps, C)
    if HAT:
        u = _larger(u * _scalar(beta2, C), tl.abs(g))
        norm = u + eps
    else:
        u = _larger(u * _scalar(beta2, C), tl.abs(g) + eps)
        norm = u
    _store_slot(s0, a0, i, block, mask, rows, m, ST0, True, BF16)
    _store_slot(s1, a1, i, block, mask, rows, u, ST1, False, BF16)
    p = p + _div(_scalar(neg_step_size, C) * m, norm)
    _store_float(p_ptr, p, mask, BF16)


_NADAM = ("one_minus_beta1", "beta2", "one_minus_beta2", "bias_correction2", "eps_root", "eps",
          "grad_weight", "avg_weight")


@_kernel(_NADAM)
def _nadam(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64,
           decay: tl.int64, one_minus_beta1: tl.int64, beta2: tl.int64,
           one_minus_beta2: tl.int64, bias_correction2: tl.int64, eps_root: tl.int64,
           eps: tl.int64, grad_weight: tl.int64, avg_weight: tl.int64,
           HAS_L2: tl.constexpr, ST0: tl.constexpr, ST1: tl.constexpr, ST2: tl.constexpr,
           PE: tl.constexpr, C: tl.constexpr, BF16: tl.constexpr, ROWS: tl.constexpr,
           ALIGNED: tl.constexpr):
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    m = _load_slot(s0, a0, i, block, mask, rows, C, ST0, True, BF16)
    v = _load_slot(s1, a1, i, block, mask, rows, C, ST1, False, BF16)
    m = m + _scalar(one_minus_beta1, C) * (g - m)
    v = v * _scalar(beta2, C) + (_scalar(one_minus_beta2, C) * g) * g
    _store_slot(s0, a0, i, block, mask, rows, m, ST0, True, BF16)
    _store_slot(s1, a1, i, block, mask, rows, v, ST1, False, BF16)
    d = _sqrt(_div(v, _scalar(bias_correction2, C)) + _scalar(eps_root, C)) + _scalar(eps, C)
    p = p + _div(_scalar(grad_weight, C) * g, d)
    p = p + _div(_scalar(avg_weight, C) * m, d)
    _store_float(p_ptr, p, mask, BF16)


_RADAM = ("one_minus_beta1", "beta2", "one_minus_beta2", "bias_correction1", "lr",
          "bias_correction2_sqrt", "eps", "rect")


@_kernel(_RADAM)
def _radam(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64,
           decay: tl.int64, one_minus_beta1: tl.int64, beta2: tl.int64,
           one_minus_beta2: tl.int64, bias_correction1: tl.int64, lr: tl.int64,
           bias_correction2_sqrt: tl.int64, eps: tl.int64, rect: tl.int64,
           HAS_L2: tl.constexpr, ADAPTIVE: tl.constexpr, ST0: tl.constexpr, ST1: tl.constexpr,
           ST2: tl.constexpr, PE: tl.constexpr, C: tl.constexpr, BF16: tl.constexpr,
           ROWS: tl.constexpr, ALIGNED: tl.constexpr):
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    m = _load_slot(s0, a0, i, block, mask, rows, C, ST0, True, BF16)
    v = _load_slot(s1, a1, i, block, mask, rows, C, ST1, False, BF16)
    m = m + _scalar(one_minus_beta1, C) * (g - m)
    v = v * _scalar(beta2, C) + (_scalar(one_minus_beta2, C) * g) * g
    _store_slot(s0, a0, i, block, mask, rows, m, ST0, True, BF16)
    _store_slot(s1, a1, i, block, mask, rows, v, ST1, False, BF16)
    move = _div(m, _scalar(bias_correction1, C)) * _scalar(lr, C)
    if ADAPTIVE:
        adaptive_lr = _div(_scalar(bias_correction2_sqrt, C), _sqrt(v) + _scalar(eps, C))
        move = move * adaptive_lr * _scalar(rect, C)
    p = p - move
    _store_float(p_ptr, p, mask, BF16)


_SGD = ("neg_lr", "momentum", "one_minus_dampening")


@_kernel(_SGD)
def _sgd(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64, decay: tl.int64,
         neg_lr: tl.int64, momentum: tl.int64, one_minus_dampening: tl.int64,
         HAS_L2: tl.constexpr, MOMENTUM: tl.constexpr, NESTEROV: tl.constexpr,
         FIRST: tl.constexpr, ST0: tl.constexpr, ST1: tl.constexpr, ST2: tl.constexpr,
         PE: tl.constexpr, C: tl.constexpr, BF16: tl.constexpr, ROWS: tl.constexpr,
         ALIGNED: tl.constexpr):
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    if MOMENTUM:
        mu = _scalar(momentum, C)
        if FIRST:  # the buffer starts as the gradient
            buf = g
        else:
            buf = _load_slot(s0, a0, i, block, mask, rows, C, ST0, False, BF16)
            buf = buf * mu + _scalar(one_minus_dampening, C) * g
        _store_slot(s0, a0, i, block, mask, rows, buf, ST0, False, BF16)
        g = g + mu * buf if NESTEROV else buf
    p = p + _scalar(neg_lr, C) * g
    _store_float(p_ptr, p, mask, BF16)


_ADAGRAD = ("neg_clr", "eps")


@_kernel(_ADAGRAD)
def _adagrad(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64,
             decay: tl.int64, neg_clr: tl.int64, eps: tl.int64,
             HAS_L2: tl.constexpr, ROOT: tl.constexpr, ST0: tl.constexpr, ST1: tl.constexpr,
             ST2: tl.constexpr, PE: tl.constexpr, C: tl.constexpr, BF16: tl.constexpr,
             ROWS: tl.constexpr, ALIGNED: tl.constexpr):
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    total = _load_slot(s0, a0, i, block, mask, rows, C, ST0, False, BF16)
    total = total + g * g
    _store_slot(s0, a0, i, block, mask, rows, total, ST0, False, BF16)
    std = _sqrt(total + _scalar(eps, C)) if ROOT else _sqrt(total) + _scalar(eps, C)
    p = p + _div(_scalar(neg_clr, C) * g, std)
    _store_float(p_ptr, p, mask, BF16)


_RMSPROP = ("alpha", "one_minus_alpha", "eps", "neg_lr", "momentum")


@_kernel(_RMSPROP)
def _rmsprop(tensors, chunks, s0, s1, s2, a0, a1, a2, sign: tl.int64, l2: tl.int64,
             decay: tl.int64, alpha: tl.int64, one_minus_alpha: tl.int64, eps: tl.int64,
             neg_lr: tl.int64, momentum: tl.int64,
             HAS_L2: tl.constexpr, CENTERED: tl.constexpr, MOMENTUM: tl.constexpr,
             ROOT: tl.constexpr, ST0: tl.constexpr, ST1: tl.constexpr, ST2: tl.constexpr,
             PE: tl.constexpr, C: tl.constexpr, BF16: tl.constexpr, ROWS: tl.constexpr,
             ALIGNED: tl.constexpr):
    # slots in spec order: square_avg, momentum_buffer (with momentum), grad_avg (centered)
    p_ptr, p, g, i, mask, block, rows = _begin(tensors, chunks, sign, l2, decay, HAS_L2, PE, C,
                                               BF16, ROWS, ALIGNED)
    one_minus_alpha = _scalar(one_minus_alpha, C)
    sq = _load_slot(s0, a0, i, block, mask, rows, C, ST0, False, BF16)
    sq = sq * _scalar(alpha, C) + (one_minus_alpha * g) * g
    _store_slot(s0, a0, i, block, mask, rows, sq, ST0, False, BF16)
    avg = sq
    if CENTERED:
        if MOMENTUM:
            ga = _load_slot(s2, a2, i, block, mask, rows, C, ST2, False, BF16)
        else:
            ga = _load_slot(s1, a1, i, block, mask, rows, C, ST1, False, BF16)
        ga = ga + one_minus_alpha * (g - ga)
        if MOMENTUM:
            _store_slot(s2, a2, i, block, mask, rows, ga, ST2, False, BF16)
        else:
            _store_slot(s1, a1, i, block, mask, rows, ga, ST1, False, BF16)
        avg = sq + (-ga) * ga
    avg = _sqrt(avg + _scalar(eps, C)) if ROOT else _sqrt(avg) + _scalar(eps, C)
    if MOMENTUM:
        buf = _load_slot(s1, a1, i, block, mask, rows, C, ST1, False, BF16)
        buf = buf * _scalar(momentum, C) + _div(g, avg)
        _store_slot(s1, a1, i, block, mask, rows, buf, ST1, False, BF16)
        p = p + _scalar(neg_lr, C) * buf
    else:
        p = p + _div(_scalar(neg_lr, C) * g, avg)
    _store_float(p_ptr, p, mask, BF16)


# rule -> (kernel, its float scalars in argument order, its flags in argument order)
KERNELS: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "adam": (_adam, _COMMON + _ADAM, ("amsgrad", "root")),
    "adamax": (_adamax, _COMMON + _ADAMAX, ("hat",)),
    "nadam": (_nadam, _COMMON + _NADAM, ()),
    "radam": (_radam, _COMMON + _RADAM, ("adaptive",)),
    "sgd": (_sgd, _COMMON + _SGD, ("momentum", "nesterov", "first")),
    "adagrad": (_adagrad, _COMMON + _ADAGRAD, ("root",)),
    "rmsprop": (_rmsprop, _COMMON + _RMSPROP, ("centered", "momentum", "root")),
}


# -- the host side --------------------------------------------------------------------------------

def _bits(value: Any) -> int:
    """The int64 bits of ``value`` as a float64 (how the kernels take their scalars)."""
    return int(struct.unpack("<q", struct.pack("<d", float(value)))[0])


def named_scalars(scalars: Any) -> dict[str, Any]:
    """``spec.scalars(...)``'s named tuples (``Prepared`` and the rule's) as one dict; a dict as
    it is."""
    if isinstance(scalars, dict):
        return scalars
    out: dict[str, Any] = {}
    for part in scalars:
        out.update(part._asdict())
    return out


def kept_slots(spec: KernelSpec, flags: dict[str, bool]) -> tuple[str, ...]:
    """The slots a configuration keeps, in kernel order (``spec.slots_of`` of its state)."""
    return tuple(k for k in spec.slots if k not in OPTIONAL_SLOTS or flags.get(OPTIONAL_SLOTS[k]))


_TABLES: dict[tuple, tuple[torch.Tensor, torch.Tensor, int]] = {}
_MAX_TABLES = 16


def _tables(params: list[torch.Tensor], grads: list[torch.Tensor],
            offsets: list[int]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(tensors, chunks, n_chunks)`` on the params' device: per tensor (param address, grad
    address, numel, offset); per program (tensor index, start). Cached by addresses and sizes."""
    p_addr = [p.data_ptr() for p in params]
    g_addr = [g.data_ptr() for g in grads]
    sizes = [p.numel() for p in params]
    device = params[0].device
    key = (device, tuple(p_addr), tuple(g_addr), tuple(sizes), tuple(offsets))
    hit = _TABLES.get(key)
    if hit is not None:
        return hit
    rows: list[int] = []
    chunks: list[int] = []
    for t, (pa, ga, n, off) in enumerate(zip(p_addr, g_addr, sizes, offsets, strict=True)):
        rows += [pa, ga, n, off]
        for start in range(0, n, CHUNK):
            chunks += [t, start]
    flat = torch.tensor(rows + chunks, dtype=torch.int64)
    if device.type != "cpu":
        flat = flat.to(device)
    out = (flat[:len(rows)], flat[len(rows):], len(chunks) // 2)
    if len(_TABLES) >= _MAX_TABLES:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = out
    return out


def _check(spec: KernelSpec, keys: tuple[str, ...], storages: tuple[str, ...],
           slots: tuple[torch.Tensor, ...], absmax: tuple[torch.Tensor | None, ...],
           dtype: torch.dtype) -> None:
    if not (len(keys) == len(storages) == len(slots) == len(absmax)):
        raise ValueError(f"gpu.step({spec.rule}): slots {keys} need as many storages, slots and "
                         f"absmax; got {len(storages)}, {len(slots)}, {len(absmax)}")
    for key, storage, slot, scale in zip(keys, storages, slots, absmax, strict=True):
        if storage not in STORAGE_CODES:
            raise ValueError(f"gpu.step: invalid storage {storage!r}; valid: {', '.join(STORAGE_CODES)}")
        if storage != "float" and key not in MOMENT_KEYS:
            raise ValueError(f"gpu.step({spec.rule}): slot {key!r} is stored as 'float' only")
        want = {"float": dtype, "bf16": torch.bfloat16,
                "8bit": torch.int8 if key in SIGNED_KEYS else torch.uint8}[storage]
        if slot.dtype != want or not slot.is_contiguous():
            raise ValueError(f"gpu.step({spec.rule}): slot {key!r} ({storage}) must be a contiguous "
                             f"{want} buffer, got {slot.dtype}")
        if storage == "8bit" and (scale is None or scale.dtype != torch.float32):
            raise ValueError(f"gpu.step({spec.rule}): 8-bit slot {key!r} needs a float32 absmax")


def step(spec: KernelSpec, flags: dict[str, bool], storages: tuple[str, ...],
         params: list[torch.Tensor], grads: list[torch.Tensor], offsets: list[int],
         slots: tuple[torch.Tensor, ...], absmax: tuple[torch.Tensor | None, ...],
         scalars: Any) -> None:
    """One optimizer step of every param, in place, in one launch.

    ``params[i]`` (contiguous; float32, float64, bfloat16 or float16, all of one dtype and
    device) with ``grads[i]`` (contiguous, the same dtype); slot ``j`` of param ``i`` is
    ``slots[j][offsets[i] : offsets[i] + params[i].numel()]`` (flat buffers, in
    ``spec.slots_of`` order); ``storages[j]`` is ``"float"`` (the param's dtype), ``"bf16"``
    (a bfloat16 buffer) or ``"8bit"`` (int8 codes for ``codecs.SIGNED_KEYS``, uint8 otherwise,
    ``absmax[j]`` a float32 entry per 256 codes; every offset a multiple of 256). ``scalars`` is
    ``spec.scalars(hp, step, held)`` (named tuples, or one dict of their fields); ``flags`` is
    ``dict(spec.flags(hp))``.
    """
    if not params:
        return
    scalars = named_scalars(scalars)
    if len(params) != len(grads) or len(params) != len(offsets):
        raise ValueError("gpu.step: params, grads and offsets must have one entry per tensor")
    dtype = params[0].dtype
    if dtype not in _DTYPES:
        raise ValueError(f"gpu.step: params of dtype {dtype} are not supported")
    keys = kept_slots(spec, flags)
    _check(spec, keys, storages, slots, absmax, dtype)
    if "8bit" in storages and any(off % BLOCK for off in offsets):
        raise ValueError("gpu.step: with 8-bit slots every offset must be a multiple of 256")
    tensors, chunks, n_chunks = _tables(params, grads, offsets)
    if n_chunks == 0:
        return
    pe, compute, bf16 = _DTYPES[dtype]
    kernel, names, flag_names = KERNELS[spec.rule]
    # absent slots and scales: any pointer, never read
    buffers = [s.view(torch.int16) if s.dtype == torch.bfloat16 else s for s in slots]
    buffers += [tensors] * (3 - len(buffers))
    scales = [a if a is not None else tensors for a in absmax]
    scales += [tensors] * (3 - len(scales))
    codes = [STORAGE_CODES[s] for s in storages] + [0] * (3 - len(storages))
    choices = {**flags, **{k: bool(scalars[k]) for k in BOOL_SCALARS if k in scalars}}
    constexprs = {name.upper(): bool(choices[name]) for name in flag_names}
    aligned = (all(p.data_ptr() % 16 == 0 and g.data_ptr() % 16 == 0
                   for p, g in zip(params, grads, strict=True))
               and all(off % 16 == 0 for off in offsets))
    args = [tensors, chunks, *buffers, *scales, *(_bits(scalars[n]) for n in names)]
    launch = kernel[(n_chunks,)]
    with _on(params[0].device):
        launch(*args, HAS_L2=bool(scalars["has_l2"]), **constexprs, ST0=codes[0], ST1=codes[1],
               ST2=codes[2], PE=pe, C=compute, BF16=bf16, ROWS=ROWS, ALIGNED=aligned,
               num_warps=NUM_WARPS, enable_fp_fusion=False)


def _on(device: torch.device) -> Any:
    """The context that makes ``device`` Triton's current device (CUDA); nothing on the CPU."""
    if device.type == "cuda":
        return torch.cuda.device(device)
    import contextlib
    return contextlib.nullcontext()
