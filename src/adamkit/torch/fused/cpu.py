r"""The CPU backend (Numba): every rule's fused step, a second spelling of :mod:`adamkit.rules`.

One **tensor walker** does a whole optimizer step for many tensors in one call: it splits the work
into chunks of ``CHUNK`` elements over a table of tensor addresses (so both threads share the work
of all tensors, and no param or gradient is copied) and hands each chunk to a **range step** of one
storage format. A rule is two inlined per-coordinate functions, written in the rule's float
operations and order, so a kernel and its rule agree to float rounding (``tests/torch/fused/
test_kernels.py`` ties every one to its rule, option by option):

- ``moments(p, g, s0, s1, s2, kp, k) -> (s0, s1, s2)``: the new state slots (``specs.KernelSpec.slots``;
  an absent slot is passed through and never stored);
- ``update(p, g, s0, s1, s2, kp, k) -> p``: the new param from the *new* slots.

Both take the raw gradient and prepare it themselves (:func:`_grad`: sign, L2; cheaper than
keeping it), and ``kp``, ``k`` are the step's scalars (:mod:`.specs`: the shared gradient
preparation and the rule's own) rounded to the param's dtype. The param update uses the freshly
computed float slots; only their stored copies are rounded.

Storage formats of a slot (:mod:`.codecs` defines the codes): ``"float"`` (the param's dtype),
``"bf16"`` (uint16 bit patterns, round to nearest even on store), ``"8bit"`` (a float-like code,
one float32 absmax per ``BLOCK`` values; two passes per block: the first decodes the codes and
computes the new slots into an L1-resident scratch block and their absmax, the second encodes them
and updates the param). The 8-bit decode and encode are a shift, an integer add and two multiplies
per value (no table, no square root); even so the 8-bit step is bound more by its arithmetic than
by memory on two cores (README, Limits).

Every choice that changes the arithmetic (the rule's flags, each slot's storage) is compiled in:
:func:`walker` builds one njit'd walker per ``(rule, flags, storages)`` from templates, so no hot
loop branches on them (a branch inside a loop stops LLVM from vectorizing it). Each walker is
compiled on first use (~1-3 s) and cached on disk (``cache=True``).
"""

from __future__ import annotations

import contextlib
import functools
from types import FunctionType
from typing import Any, NamedTuple

import numpy as np
from llvmlite import ir
from numba import carray, njit, prange, types
from numba.extending import intrinsic

from adamkit.torch.fused.codecs import (
    BLOCK,
    SIGNED_DOWN,
    SIGNED_KEYS,
    SIGNED_SHIFT,
    SIGNED_UP,
    UNSIGNED_DOWN,
    UNSIGNED_SHIFT,
    UNSIGNED_UP,
)

# Numba's threading layer is left at its default (OpenMP here, which shares the runtime with
# torch's threads): "workqueue" was slower and slowed torch's own fused step beside it
# (benchmarks/results/design_measurements.md#numba-threading-layer).
# NUMBA_THREADING_LAYER in the environment still chooses.

CHUNK = 1 << 14  # elements per parallel work item (a multiple of BLOCK)
STORAGES = ("float", "bf16", "8bit")
# A slot as the walker sees it: absent, stored as floats (param dtype or bf16), or 8-bit coded.
ABSENT, FLOAT, SIGNED8, UNSIGNED8 = 0, 1, 2, 3
_SIGNED_DOWN, _SIGNED_UP = np.float32(SIGNED_DOWN), np.float32(SIGNED_UP)
_UNSIGNED_DOWN, _UNSIGNED_UP = np.float32(UNSIGNED_DOWN), np.float32(UNSIGNED_UP)


def kernel_scalars(scalars: tuple, dtype: Any) -> tuple:
    """A step's scalars (``(Prepared, rule's)``, :mod:`.specs`: Python numbers) with every float
    rounded once to ``dtype`` (as torch rounds a Python scalar operand to the tensor's dtype);
    flags stay bools."""
    cast = np.dtype(dtype).type
    return tuple(type(part)(*[x if x is True or x is False else cast(x) for x in part])
                 for part in scalars)


# -- bit casts ----------------------------------------------------------------------------------------

@intrinsic
def _pointer(typingctx, address, like):
    """The address (an integer) as a pointer to ``like``'s dtype (LLVM inttoptr)."""
    ptr_type = types.CPointer(like.dtype)
    sig = ptr_type(types.intp, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(ptr_type))

    return sig, codegen


@intrinsic
def _f32_from_bits(typingctx, bits):
    """Reinterpret uint32 bits as a float32 (LLVM bitcast; numba has no scalar view)."""
    sig = types.float32(types.uint32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


@intrinsic
def _bits_from_f32(typingctx, value):
    """Reinterpret a float32 as its uint32 bits."""
    sig = types.uint32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.uint32))

    return sig, codegen


@intrinsic
def _prefetch(typingctx, address):
    """Ask for the cache line at ``address`` (an integer) ahead of its use: LLVM's prefetch, for
    a read, into every cache level (it never faults, so an address past an array is harmless)."""
    sig = types.void(types.intp)

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        name = "llvm.prefetch.p0"
        try:
            fn = builder.module.get_global(name)
        except KeyError:
            fn = ir.Function(builder.module, ir.FunctionType(
                ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)]), name=name)
        builder.call(fn, [builder.inttoptr(args[0], i8p), _i32(0), _i32(3), _i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _wide_vectors(typingctx):
    """Mark the function this is inlined into ``"prefer-vector-width"="512"``: LLVM vectorizes
    its loops with 512-bit vectors on an AVX-512 CPU where it would prefer 256-bit ones (its
    default on most Intel server cores), for these kernels only (Numba's global CPU features
    stay as they are). The attribute is written as it appears in the IR text (llvmlite knows no
    string attributes); a CPU without AVX-512 ignores it."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        # llvmlite's attribute set validates names on add(); set.add writes the text as is. An
        # llvmlite whose attribute container is no set keeps LLVM's own width (TypeError).
        with contextlib.suppress(TypeError):
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return sig, codegen


# -- storage codecs, per value ----------------------------------------------------------------------

@njit(inline="always")
def _as_is(x):
    return x


@njit(inline="always")
def _from_bf16(half_bits):
    return _f32_from_bits(np.uint32(half_bits) << np.uint32(16))


@njit(inline="always")
def _to_bf16(value):
    """float32 → bfloat16 bits, round to nearest even; NaN → 0x7FC0 (as c10::BFloat16)."""
    bits = _bits_from_f32(value)
    bias = ((bits >> np.uint32(16)) & np.uint32(1)) + np.uint32(0x7FFF)
    rounded = np.uint16((bits + bias) >> np.uint32(16))
    return rounded if value == value else np.uint16(0x7FC0)


# The 8-bit codes' bit work is written as LLVM intrinsics in 32-bit integers: Numba types integer
# arithmetic on uint32 as 64-bit, which halves the width of every vectorized loop around it.

def _i32(value: int) -> ir.Constant:
    return ir.Constant(ir.IntType(32), value)


def _packer(shift: int, signed: bool) -> Any:
    """An intrinsic: the code of ``scaled`` (``|x|/absmax·DOWN``), its float32 bits rounded to
    ``23 - shift`` mantissa bits, nearest even (normal and subnormal alike), with ``x``'s sign bit
    on top for a signed code."""

    @intrinsic
    def pack(typingctx, scaled, x):
        sig = types.uint8(types.float32, types.float32)

        def codegen(context, builder, signature, args):
            i32 = ir.IntType(32)
            bits = builder.bitcast(args[0], i32)
            kept = builder.and_(builder.lshr(bits, _i32(shift)), _i32(1))
            half = _i32((1 << (shift - 1)) - 1)
            code = builder.lshr(builder.add(builder.add(bits, half), kept), _i32(shift))
            if signed:
                sign = builder.lshr(builder.bitcast(args[1], i32), _i32(24))
                code = builder.or_(code, builder.and_(sign, _i32(0x80)))
            return builder.trunc(code, ir.IntType(8))

        return sig, codegen

    return pack


def _leveler(shift: int, signed: bool) -> Any:
    """An intrinsic: a code's level before ``·UP·absmax``, the float32 whose bits are the magnitude
    code shifted into place, and for a signed code its top bit as the sign."""

    @intrinsic
    def level(typingctx, code):
        sig = types.float32(types.uint8)

        def codegen(context, builder, signature, args):
            wide = builder.zext(args[0], ir.IntType(32))
            if not signed:
                return builder.bitcast(builder.shl(wide, _i32(shift)), ir.FloatType())
            magnitude = builder.shl(builder.and_(wide, _i32(0x7F)), _i32(shift))
            sign = builder.shl(builder.and_(wide, _i32(0x80)), _i32(24))
            return builder.bitcast(builder.or_(magnitude, sign), ir.FloatType())

        return sig, codegen

    return level


_pack_signed, _level_signed = _packer(SIGNED_SHIFT, True), _leveler(SIGNED_SHIFT, True)
_pack_unsigned, _level_unsigned = _packer(UNSIGNED_SHIFT, False), _leveler(UNSIGNED_SHIFT, False)


@njit(inline="always")
def _encode_signed(x, inv_absmax):
    """The e4m3 magnitude code of ``|x|/absmax`` and x's sign bit (see :mod:`.codecs`)."""
    return _pack_signed(abs(x) * inv_absmax * _SIGNED_DOWN, x)


@njit(inline="always")
def _decode_signed(q, absmax):
    return _level_signed(q) * _SIGNED_UP * absmax


@njit(inline="always")
def _encode_unsigned(x, inv_absmax):
    """The e6m2 code of ``x/absmax`` (see :mod:`.codecs`)."""
    return _pack_unsigned(x * inv_absmax * _UNSIGNED_DOWN, np.float32(0.0))


@njit(inline="always")
def _decode_unsigned(q, absmax):
    return _level_unsigned(q) * _UNSIGNED_UP * absmax


@njit(inline="always")
def _abs_bits(x):
    """The bits of ``|x|``: their integer maximum is the float maximum for non-negative floats
    (a NaN's bits exceed inf's, so NaN propagates as in torch.amax), and integer max vectorizes."""
    return _bits_from_f32(abs(x))


@njit(inline="always")
def _max_bits(top, bits):
    """``max(top, bits)`` of two uint32, staying uint32 (Numba's ``max`` would widen)."""
    return bits if bits > top else top


@njit(inline="always")
def _inverse(top_bits):
    """``1/absmax`` from the absmax's bits (1 when the block is all zeros)."""
    top = _f32_from_bits(top_bits)
    return np.float32(1.0) / top if top > 0 else np.float32(1.0)


# -- shared per-coordinate pieces ------------------------------------------------------------------

@njit(inline="always")
def _grad(p, g, kp):
    """The prepared gradient ``sign·g + l2·p`` (``rules._numerics.prepare``; ``kp``: the
    :class:`~.specs.Prepared` scalars)."""
    g = g * kp.sign
    if kp.has_l2:  # loop-invariant: LLVM unswitches it
        g = g + kp.l2 * p
    return g


@njit(inline="always")
def _larger(w, v):
    """``max(w, v)`` that propagates a NaN in ``v`` (as torch.maximum)."""
    return v if (v > w or v != v) else w


@njit(inline="always")
def _nan_max(a, b):
    """``max(a, b)`` that propagates a NaN in either (as torch.amax)."""
    return a if a != a else _larger(a, b)


# -- the rules: templates whose CAPITALIZED names are compile-time choices --------------------------
#
# Each rule's ``moments`` and ``update`` are templates: the CAPITALIZED names they use are their
# flags (``specs.KernelSpec.flags``), given per variant as the function's globals by
# :func:`walker`. Numba freezes globals as constants, so every variant compiles to its own
# straight-line loops, and each walker gets its own name, hence its own on-disk cache entry.
# (Closures over jitted functions would do the same, but Numba's cache key pickles closure
# cells, and a pickled dispatcher carries a per-process id: a closure would never hit the cache.)
# The module-level values are placeholders that no compiled variant uses.

AMSGRAD = ROOT = HAT = MOMENTUM = NESTEROV = CENTERED = False
# With 8-bit storage the step is bound by arithmetic, not memory: Adam's denominator multiplies by
# 1/outer_scale (within an ulp of the division; one division per value less: the divider is the
# 8-bit step's bottleneck). Float storages keep the rule's division (they wait on memory anyway).
RECIPROCAL = False


def _adam_moments(p, g, m, v, w, kp, k):
    g = _grad(p, g, kp)
    m = m + k.one_minus_beta1 * (g - m)  # torch's lerp form (rules._numerics.ema)
    v = v * k.beta2 + (k.one_minus_beta2 * g) * g  # addcmul's order
    if AMSGRAD:
        w = _larger(w, v)
    return m, v, w


def _adam_update(p, g, m, v, w, kp, k):
    d = w if AMSGRAD else v
    if ROOT:  # sqrt(v / inner_scale + inner_eps) + outer_eps: eps_mode "root", or eps_root
        denominator = np.sqrt(d / k.inner_scale + k.inner_eps) + k.outer_eps
    elif RECIPROCAL:
        denominator = (np.sqrt(d) + k.mid_eps) * (np.float32(1.0) / k.outer_scale) + k.outer_eps
    else:  # (sqrt(v) + mid_eps) / outer_scale + outer_eps: "paper" and "hat" (the Denominator)
        denominator = (np.sqrt(d) + k.mid_eps) / k.outer_scale + k.outer_eps
    return p * kp.decay + (k.neg_step_size * m) / denominator  # addcdiv's order


def _adamax_moments(p, g, m, u, unused, kp, k):
    g = _grad(p, g, kp)
    m = m + k.one_minus_beta1 * (g - m)
    u = _nan_max(u * k.beta2, abs(g) if HAT else abs(g) + k.eps)
    return m, u, unused


def _adamax_update(p, g, m, u, unused, kp, k):
    return p * kp.decay + (k.neg_step_size * m) / (u + k.eps if HAT else u)


def _nadam_moments(p, g, m, v, unused, kp, k):
    g = _grad(p, g, kp)
    m = m + k.one_minus_beta1 * (g - m)
    v = v * k.beta2 + (k.one_minus_beta2 * g) * g
    return m, v, unused


def _nadam_update(p, g, m, v, unused, kp, k):
    g = _grad(p, g, kp)
    denominator = np.sqrt(v / k.bias_correction2 + k.eps_root) + k.eps
    p = p * kp.decay + (k.grad_weight * g) / denominator
    return p + (k.avg_weight * m) / denominator


def _radam_update(p, g, m, v, unused, kp, k):
    corrected = m / k.bias_correction1
    if k.adaptive:  # the same for every coordinate of a step: LLVM unswitches it
        adaptive_lr = k.bias_correction2_sqrt / (np.sqrt(v) + k.eps)
        move = corrected * k.lr * adaptive_lr * k.rect
    else:
        move = corrected * k.lr
    return p * kp.decay - move


def _sgd_moments(p, g, buf, unused1, unused2, kp, k):
    if MOMENTUM:
        g = _grad(p, g, kp)
        buf = g if k.first else buf * k.momentum + k.one_minus_dampening * g
    return buf, unused1, unused2


def _sgd_update(p, g, buf, unused1, unused2, kp, k):
    g = _grad(p, g, kp)
    if MOMENTUM:
        g = g + k.momentum * buf if NESTEROV else buf
    return p * kp.decay + k.neg_lr * g


def _adagrad_moments(p, g, total, unused1, unused2, kp, k):
    g = _grad(p, g, kp)
    return total + g * g, unused1, unused2


def _adagrad_update(p, g, total, unused1, unused2, kp, k):
    g = _grad(p, g, kp)
    std = np.sqrt(total + k.eps) if ROOT else np.sqrt(total) + k.eps
    return p * kp.decay + (k.neg_clr * g) / std


@njit(inline="always")
def _rmsprop_std(square_avg, grad_avg, k, centered, root):
    avg = square_avg - grad_avg * grad_avg if centered else square_avg
    return np.sqrt(avg + k.eps) if root else np.sqrt(avg) + k.eps


def _rmsprop_moments(p, g, square_avg, buf, grad_avg, kp, k):
    g = _grad(p, g, kp)
    square_avg = square_avg * k.alpha + (k.one_minus_alpha * g) * g
    if CENTERED:
        grad_avg = grad_avg + k.one_minus_alpha * (g - grad_avg)
    if MOMENTUM:
        buf = buf * k.momentum + g / _rmsprop_std(square_avg, grad_avg, k, CENTERED, ROOT)
    return square_avg, buf, grad_avg


def _rmsprop_update(p, g, square_avg, buf, grad_avg, kp, k):
    if MOMENTUM:
        return p * kp.decay + k.neg_lr * buf
    g = _grad(p, g, kp)
    return p * kp.decay + (k.neg_lr * g) / _rmsprop_std(square_avg, grad_avg, k, CENTERED, ROOT)


TEMPLATES = {  # rule -> (moments, update)
    "adam": (_adam_moments, _adam_update),
    "adamax": (_adamax_moments, _adamax_update),
    "nadam": (_nadam_moments, _nadam_update),
    "radam": (_nadam_moments, _radam_update),  # RAdam's moments are NAdam's (Adam's, no AMSGrad)
    "sgd": (_sgd_moments, _sgd_update),
    "adagrad": (_adagrad_moments, _adagrad_update),
    "rmsprop": (_rmsprop_moments, _rmsprop_update),
}


# -- the walker's templates: slots, storages --------------------------------------------------------

MOMENTS: Any = None  # the rule's moments (inlined)
UPDATE: Any = None  # the rule's update (inlined)
KIND0 = KIND1 = KIND2 = ABSENT  # each slot's kind (ABSENT, FLOAT, SIGNED8, UNSIGNED8)
LOAD0 = LOAD1 = LOAD2 = STORE0 = STORE1 = STORE2 = _as_is  # a slot's stored form <-> float
STEP_BLOCK: Any = None  # the 8-bit range step's block step
STEP_RANGE: Any = None  # the walker's range step
RUN: Any = None  # the elementwise range step's loop


PREFETCH = 0  # elements ahead that a range step prefetches (0: none), per SUB-element block
WIDE = False  # 512-bit vectors (:func:`_wide_vectors`)
SUB = 256  # elements per prefetch block


@njit(inline="always")
def _prefetch_block(a, at):
    """Prefetch the cache lines of ``a[at:at + SUB]`` (``at`` may be past ``a``'s end)."""
    start = a.ctypes.data + at * a.itemsize
    for offset in range(0, SUB * a.itemsize, 64):
        _prefetch(start + offset)


def _elementwise_run(p, g, s0, s1, s2, kp, k):
    """The rule on one contiguous run: ``p``, ``g`` and the slots aligned with them."""
    for i in range(p.size):
        pi = p[i]
        gi = g[i]
        x0 = LOAD0(s0[i]) if KIND0 else pi
        x1 = LOAD1(s1[i]) if KIND1 else pi
        x2 = LOAD2(s2[i]) if KIND2 else pi
        x0, x1, x2 = MOMENTS(pi, gi, x0, x1, x2, kp, k)
        if KIND0:
            s0[i] = STORE0(x0)
        if KIND1:
            s1[i] = STORE1(x1)
        if KIND2:
            s2[i] = STORE2(x2)
        p[i] = UPDATE(pi, gi, x0, x1, x2, kp, k)


def _elementwise_range(p, g, s0, s1, s2, a0, a1, a2, first, kp, k):
    """Range step of per-value storages (float, bf16): ``p``, ``g`` one contiguous run of a
    tensor, its slots from element ``first`` of ``s0``, ``s1``, ``s2`` (absmax unused).

    With ``PREFETCH``, the run goes in blocks of ``SUB`` elements, each first prefetching the
    block ``PREFETCH`` elements ahead in every array it streams.
    """
    n = p.size
    s0 = s0[first:first + n]  # slices, not offset indices: the loop stays a plain stream
    s1 = s1[first:first + n]  # (an absent slot's placeholder slices to nothing, never read)
    s2 = s2[first:first + n]
    done = 0
    if PREFETCH:
        for lo in range(0, n - SUB + 1, SUB):
            ahead = lo + PREFETCH
            _prefetch_block(p, ahead)
            _prefetch_block(g, ahead)
            if KIND0:
                _prefetch_block(s0, ahead)
            if KIND1:
                _prefetch_block(s1, ahead)
            if KIND2:
                _prefetch_block(s2, ahead)
            hi = lo + SUB
            RUN(p[lo:hi], g[lo:hi], s0[lo:hi], s1[lo:hi], s2[lo:hi], kp, k)
        done = n - n % SUB
    RUN(p[done:], g[done:], s0[done:], s1[done:], s2[done:], kp, k)


# An 8-bit block's slot, by kind: loaded as a float (decoded, as stored, or absent: ``fallback``)
# and stored back (encoded with the block's ``1/absmax``, as is, or not at all).

@njit(inline="always")
def _load_absent(codes, j, absmax, fallback):
    return fallback


@njit(inline="always")
def _load_float(codes, j, absmax, fallback):
    return codes[j]


@njit(inline="always")
def _load_signed(codes, j, absmax, fallback):
    return _decode_signed(codes[j], absmax)


@njit(inline="always")
def _load_unsigned(codes, j, absmax, fallback):
    return _decode_unsigned(codes[j], absmax)


@njit(inline="always")
def _store_absent(codes, j, value, inv):
    pass


@njit(inline="always")
def _store_float(codes, j, value, inv):
    codes[j] = value


@njit(inline="always")
def _store_signed(codes, j, value, inv):
    codes[j] = _encode_signed(value, inv)


@njit(inline="always")
def _store_unsigned(codes, j, value, inv):
    codes[j] = _encode_unsigned(value, inv)


BLOCK_CODECS = {ABSENT: (_load_absent, _store_absent), FLOAT: (_load_float, _store_float),
                SIGNED8: (_load_signed, _store_signed), UNSIGNED8: (_load_unsigned, _store_unsigned)}


def _blockwise_block(pb, gb, s0, s1, s2, a0, a1, a2, b, kp, k, new):
    """One 8-bit block: ``BLOCK`` values of p and g, their slots, absmax entry ``b``.

    Two passes over the block: the first decodes the slots, computes the new ones into ``new``
    (a ``(3, BLOCK)`` float32 scratch that stays in L1 cache) and their absmax; the second
    encodes them and updates the param. One read and one write per array.
    """
    scale0 = a0[b] if KIND0 >= SIGNED8 else np.float32(0.0)
    scale1 = a1[b] if KIND1 >= SIGNED8 else np.float32(0.0)
    scale2 = a2[b] if KIND2 >= SIGNED8 else np.float32(0.0)
    new0 = new[0]
    new1 = new[1]
    new2 = new[2]
    top0 = np.uint32(0)
    top1 = np.uint32(0)
    top2 = np.uint32(0)
    for j in range(BLOCK):
        pj = pb[j]
        x0, x1, x2 = MOMENTS(pj, gb[j], LOAD0(s0, j, scale0, pj), LOAD1(s1, j, scale1, pj),
                             LOAD2(s2, j, scale2, pj), kp, k)
        if KIND0:  # an absent slot costs nothing (no scratch, no absmax)
            new0[j] = x0
        if KIND1:
            new1[j] = x1
        if KIND2:
            new2[j] = x2
        if KIND0 >= SIGNED8:
            top0 = _max_bits(top0, _abs_bits(x0))
        if KIND1 >= SIGNED8:
            top1 = _max_bits(top1, _abs_bits(x1))
        if KIND2 >= SIGNED8:
            top2 = _max_bits(top2, _abs_bits(x2))
    inv0 = _inverse(top0)
    inv1 = _inverse(top1)
    inv2 = _inverse(top2)
    if KIND0 >= SIGNED8:
        a0[b] = _f32_from_bits(top0)
    if KIND1 >= SIGNED8:
        a1[b] = _f32_from_bits(top1)
    if KIND2 >= SIGNED8:
        a2[b] = _f32_from_bits(top2)
    for j in range(BLOCK):
        pj = pb[j]
        x0 = new0[j] if KIND0 else pj
        x1 = new1[j] if KIND1 else pj
        x2 = new2[j] if KIND2 else pj
        STORE0(s0, j, x0, inv0)
        STORE1(s1, j, x1, inv1)
        STORE2(s2, j, x2, inv2)
        pb[j] = UPDATE(pj, gb[j], x0, x1, x2, kp, k)


def _blockwise_range(p, g, s0, s1, s2, a0, a1, a2, first, kp, k):
    """Range step of the blockwise 8-bit storage; the run starts on a block boundary (``first``
    is a multiple of ``BLOCK``). A partial last block goes through zero-padded copies of p and g
    (zero gradient, zero slots: the padding codes stay 0)."""
    n = p.size
    whole = n // BLOCK
    first_block = first // BLOCK
    new = np.empty((3, BLOCK), np.float32)  # the block's new slots (L1-resident scratch)
    for i in range(whole + (1 if n % BLOCK else 0)):
        lo = i * BLOCK
        if PREFETCH:
            ahead = lo + PREFETCH
            _prefetch_block(p, ahead)
            _prefetch_block(g, ahead)
            if KIND0:
                _prefetch_block(s0, first + ahead)
            if KIND1:
                _prefetch_block(s1, first + ahead)
            if KIND2:
                _prefetch_block(s2, first + ahead)
        at = slice(first + lo, first + lo + BLOCK)
        b0 = s0[at] if KIND0 else s0
        b1 = s1[at] if KIND1 else s1
        b2 = s2[at] if KIND2 else s2
        if i < whole:
            STEP_BLOCK(p[lo:lo + BLOCK], g[lo:lo + BLOCK], b0, b1, b2, a0, a1, a2,
                       first_block + i, kp, k, new)
        else:
            pt = np.zeros(BLOCK, p.dtype)
            gt = np.zeros(BLOCK, g.dtype)
            pt[:n - lo] = p[lo:]
            gt[:n - lo] = g[lo:]
            STEP_BLOCK(pt, gt, b0, b1, b2, a0, a1, a2, first_block + i, kp, k, new)
            p[lo:] = pt[:n - lo]


# -- the tensor walker --------------------------------------------------------------------------------

def _walk(p_addr, g_addr, t_offset, t_size, c_tensor, c_lo, c_hi, like, s0, s1, s2, a0, a1, a2,
          kp, k):
    """A rule's step over many tensors in one call, each param and gradient read where it lives.

    Tensor ``t`` has ``t_size[t]`` elements at addresses ``p_addr[t]`` (param) and ``g_addr[t]``
    (gradient, contiguous, the param's dtype, as ``like``) and its slots from element
    ``t_offset[t]`` of ``s0``, ``s1``, ``s2`` (``a*``: 8-bit scales). Work item ``c`` is elements
    ``[c_lo[c], c_hi[c])`` of tensor ``c_tensor[c]``: both threads share the work of all tensors.
    The caller keeps the tensors alive.
    """
    for c in prange(c_tensor.size):
        if WIDE:
            _wide_vectors()
        t = c_tensor[c]
        lo = c_lo[c]
        hi = c_hi[c]
        p = carray(_pointer(p_addr[t], like), t_size[t])
        g = carray(_pointer(g_addr[t], like), t_size[t])
        STEP_RANGE(p[lo:hi], g[lo:hi], s0, s1, s2, a0, a1, a2, t_offset[t] + lo, kp, k)


def _variant(template: Any, name: str, **choices: Any) -> Any:
    """``template`` with ``choices`` as its globals, named ``name`` (its cache entry's name)."""
    fn = FunctionType(template.__code__, {**template.__globals__, **choices}, name)
    fn.__qualname__ = name
    fn.__doc__ = template.__doc__
    return fn


# How the walker streams memory, per storage family: (WIDE, PREFETCH, FMA); the measurements that
# chose them, and the variants that gained nothing:
# benchmarks/results/design_measurements.md#cpu-walker-tuning.
# - PREFETCH (software prefetch 512 elements ahead of every stream): the main gain. The hardware
#   prefetcher restarts at each 4 KiB page of each of the 5-7 streams; asking ahead keeps the
#   misses in flight.
# - WIDE (512-bit vectors, :func:`_wide_vectors`): fewer instructions, which the 8-bit step (bound
#   by arithmetic) needs most.
# - FMA (fastmath "contract": LLVM fuses a*b + c): float storages only (the rule's tests allow it,
#   rtol 4e-6); the 8-bit codes are compared value by value with the rule's, so they keep the
#   rule's rounding.
TUNING = {"float": (True, 512, True), "8bit": (True, 512, False)}


@functools.cache
def walker(rule: str, flags: tuple[tuple[str, bool], ...], kinds: tuple[int, ...],
           bf16: tuple[bool, ...], tuning: tuple[bool, int, bool] | None = None) -> Any:
    """The njit'd tensor walker of ``rule`` (a key of ``TEMPLATES``) with ``flags`` compiled in,
    for slots of ``kinds`` (three, :func:`slots`), ``bf16[i]`` where float slot ``i`` is stored
    as bfloat16; ``tuning``: ``(WIDE, PREFETCH, FMA)``, ``TUNING``'s by default."""
    blockwise = any(kind >= SIGNED8 for kind in kinds)
    wide, prefetch, fma = TUNING["8bit" if blockwise else "float"] if tuning is None else tuning
    tune = {"WIDE": bool(wide), "PREFETCH": int(prefetch)}
    choices = {name.upper(): bool(value) for name, value in flags}
    choices["RECIPROCAL"] = any(kind >= SIGNED8 for kind in kinds)
    letters = ["b" if is_bf16 else "xfsu"[kind] for kind, is_bf16 in zip(kinds, bf16, strict=True)]
    name = f"walk_{rule}" + "".join(f"_{n}" for n, on in flags if on) + "_" + "".join(letters)
    name += ("_w" if wide else "") + (f"_p{prefetch}" if prefetch else "") + ("_c" if fma else "")
    inline = njit(inline="always")
    moments, update = (inline(_variant(t, f"{name}_{t.__name__}", **choices)) for t in TEMPLATES[rule])
    slots = {f"KIND{i}": kind for i, kind in enumerate(kinds)}
    codecs: dict[str, Any] = {}
    if any(kind >= SIGNED8 for kind in kinds):
        for i, kind in enumerate(kinds):
            codecs[f"LOAD{i}"], codecs[f"STORE{i}"] = BLOCK_CODECS[kind]
        block = inline(_variant(_blockwise_block, f"{name}_block", MOMENTS=moments,
                                UPDATE=update, **slots, **codecs))
        step_range = inline(_variant(_blockwise_range, f"{name}_range", STEP_BLOCK=block, **slots,
                                     **tune))
    else:
        for i, is_bf16 in enumerate(bf16):
            codecs[f"LOAD{i}"], codecs[f"STORE{i}"] = (_from_bf16, _to_bf16) if is_bf16 else (_as_is, _as_is)
        run = inline(_variant(_elementwise_run, f"{name}_run", MOMENTS=moments, UPDATE=update,
                              **slots, **codecs))
        step_range = inline(_variant(_elementwise_range, f"{name}_range", RUN=run, **slots, **tune))
    walk = _variant(_walk, name, STEP_RANGE=step_range, **tune)
    return njit(parallel=True, fastmath={"contract"} if fma else False, cache=True)(walk)


# -- the table of work ----------------------------------------------------------------------------

class WorkTable(NamedTuple):
    """Where each tensor's slots are, and the parallel work items over all tensors."""

    offsets: np.ndarray  # per tensor: element offset in the slot buffers
    sizes: np.ndarray  # per tensor: numel
    chunk_tensor: np.ndarray  # per work item: which tensor
    chunk_lo: np.ndarray  # per work item: first element (a multiple of CHUNK)
    chunk_hi: np.ndarray
    total: int  # elements in all

    @classmethod
    def build(cls, offsets: list[int], sizes: list[int]) -> WorkTable:
        tensor, lo, hi = [], [], []
        for t, n in enumerate(sizes):
            for start in range(0, n, CHUNK):
                tensor.append(t)
                lo.append(start)
                hi.append(min(start + CHUNK, n))

        def as_index(xs: list[int]) -> np.ndarray:
            return np.array(xs, dtype=np.intp)

        return cls(as_index(offsets), as_index(sizes), as_index(tensor), as_index(lo),
                   as_index(hi), int(sum(sizes)))


class Slots(NamedTuple):
    """A bucket's state as the walker takes it: three slot arrays and three absmax arrays
    (placeholders where absent or not 8-bit), each slot's kind and whether it is bf16."""

    arrays: tuple
    absmax: tuple
    kinds: tuple[int, ...]
    bf16: tuple[bool, ...]


def slots(order: tuple[str, ...], arrays: dict[str, np.ndarray], storages: dict[str, str],
          absmax: dict[str, np.ndarray], like: np.ndarray) -> Slots:
    """The walker's view of a bucket's state: slot ``i`` is ``order[i]`` (the rule's slots,
    ``specs.KernelSpec.slots``: a template's arguments by position), present where ``arrays``
    has it (NumPy views: bf16 as uint16 bits, 8-bit codes as uint8), stored as ``storages`` says,
    with ``absmax`` for the 8-bit ones; ``like``: an array of the params' dtype."""
    padded, scales, kinds, bf16 = [], [], [], []
    no_scale = np.zeros(1, np.float32)
    for i in range(3):
        name = order[i] if i < len(order) else ""
        storage = storages.get(name, "float")
        if storage not in STORAGES:
            raise ValueError(f"invalid storage {storage!r}; valid: {', '.join(STORAGES)}")
        present = name in arrays
        padded.append(arrays[name] if present else like)  # absent: never read or written
        scales.append(absmax.get(name, no_scale))
        kinds.append(ABSENT if not present else FLOAT if storage != "8bit" else
                     SIGNED8 if name in SIGNED_KEYS else UNSIGNED8)
        bf16.append(present and storage == "bf16")
    return Slots(tuple(padded), tuple(scales), tuple(kinds), tuple(bf16))


def step_tensors(rule: str, flags: tuple, state: Slots, table: WorkTable, p_addr: np.ndarray,
                 g_addr: np.ndarray, like: np.ndarray, scalars: tuple) -> None:
    """One step of ``rule`` for every tensor of ``table`` (``like``: an array of the params' dtype;
    ``scalars``: :func:`kernel_scalars` of the rule's scalars)."""
    walk = walker(rule, flags, state.kinds, state.bf16)
    walk(p_addr, g_addr, table.offsets, table.sizes, table.chunk_tensor, table.chunk_lo,
         table.chunk_hi, like, *state.arrays, *state.absmax, *scalars)


def step_arrays(rule: str, flags: tuple, state: Slots, p: np.ndarray, g: np.ndarray,
                scalars: tuple) -> None:
    """One step of the contiguous arrays ``p`` and ``g`` (the same dtype), in place, with slots
    from element 0 of ``state``: the walker over a table of one tensor."""
    if not (p.flags.c_contiguous and g.flags.c_contiguous and p.dtype == g.dtype):
        raise ValueError("step_arrays: p and g must be contiguous arrays of one dtype")
    if p.size == 0:
        return
    table = WorkTable.build([0], [p.size])
    addr = np.array([p.ctypes.data], dtype=np.intp), np.array([g.ctypes.data], dtype=np.intp)
    step_tensors(rule, flags, state, table, *addr, p[:1], kernel_scalars(scalars, p.dtype))
