r"""Fused Adam kernels (Numba): a second spelling of :mod:`adamkit.rules.adam`, for speed only.

One **tensor walker** does the whole Adam/AdamW step for many tensors in one call: it splits the
work into chunks of ``CHUNK`` elements over a table of tensor addresses (so both threads share the
work of all tensors, and no gradient is copied) and hands each chunk to a **range step** of one
storage format. The per-coordinate arithmetic is written once, in the float operations of the
rule and in the rule's order, so the kernels and the rule agree to float rounding
(``tests/fast/test_kernels.py`` ties them together, option by option)::

    g  = sign · grad  (+ l2 · param)                     maximize: sign = -1; weight_decay_mode="l2"
    param = decay · param                                 decoupled: 1 - lr·wd; independent: 1 - lr_factor·wd
    m  = m + (1-β1)·(g - m)                               torch's lerp form (rules._numerics.ema)
    v  = v·β2 + ((1-β2)·g)·g                              addcmul's order
    v' = max(v_max, v) if amsgrad else v
    param = param + (-step_size · m) / denominator(v')    addcdiv's order; step_size = lr/(1-β1^t)

The scalars (:class:`KernelScalars`) are :func:`adamkit.rules.adam_step_scalars` cast to the
param's dtype: the kernels work out no bias correction, weight decay or ε placement of their own.
``denominator(v) = (sqrt(v / inner_scale + inner_eps) + mid_eps) / outer_scale + outer_eps`` (the
rule's :class:`~adamkit.rules.adam.Denominator`): the walker for ``eps_mode="root"`` (and for a
non-zero ``eps_root``) computes ``sqrt(v / inner_scale + inner_eps) + outer_eps``, the other walker
``(sqrt(v) + mid_eps) / outer_scale + outer_eps`` (the terms it leaves out are the exact 1s and 0s
of those modes; adding an exact 0 changes no bit; the 8-bit walker
multiplies by ``1/outer_scale`` instead, within an ulp, one division less).

Storage formats (:mod:`adamkit.torch.fused.codecs` defines the codes):

- ``"float"``: moments in the param's dtype (float32 or float64);
- ``"bf16"``: bfloat16 moments as uint16 bit patterns, round to nearest even on store;
- ``"8bit"``: blockwise 8-bit codes, one float32 absmax per ``BLOCK`` values (two passes per
  block: the first decodes and computes the new moments into an L1-resident scratch block and
  their absmax, the second encodes them and updates the param). The decode is arithmetic
  (``q·|q|``, ``(q²)²``: a conversion and two or three multiplies per value, cheaper than a
  table lookup, which cannot be vectorized without gathers); the step is bound by the square
  roots and the division that share the divider unit (three and one per value), and by its
  other arithmetic about as much (measured: with the divider's work removed it is still ~1.1x
  the float step's time on one core).

The param update always uses the freshly computed float moments; only the stored copies are
rounded. AMSGrad and the ε placement are compile-time choices: :func:`walker` builds one njit'd
walker per ``(storage, amsgrad, root)`` from templates, so no hot loop branches on them
(a branch inside a loop stops LLVM from vectorizing it). Each walker is compiled on first use
(~1-3 s) and cached on disk (``cache=True``).
"""

from __future__ import annotations

import functools
from types import FunctionType
from typing import Any, NamedTuple

import numpy as np
from numba import carray, njit, prange, types
from numba.extending import intrinsic

from adamkit.rules import adam_step_scalars
from adamkit.torch.fused.codecs import BLOCK, SIGNED_SCALE, UNSIGNED_SCALE

# Numba's threading layer is left at its default (OpenMP here, which shares the runtime with
# torch's threads). Measured on the 2-core machine: the "workqueue" layer made the fused step on
# 4 x 16M params 7-42% slower than OpenMP and slowed torch's own fused step beside it, while the
# trainer (whose models update serially, below the engine's parallel threshold) ran the same under
# both. NUMBA_THREADING_LAYER in the environment still chooses.

CHUNK = 1 << 14  # elements per parallel work item (a multiple of BLOCK)
STORAGES = ("float", "bf16", "8bit")
_SIGNED_SCALE = np.float32(SIGNED_SCALE)  # the codec's scales, rounded to float32 as it does
_UNSIGNED_SCALE = np.float32(UNSIGNED_SCALE)


class KernelScalars(NamedTuple):
    """The kernels' scalar arguments, in the param's dtype (a Numba named tuple inside)."""

    sign: Any  # -1 with maximize
    has_l2: bool  # weight_decay_mode="l2" with weight_decay != 0
    l2: Any
    decay: Any  # param *= decay (decoupled / independent weight decay)
    beta2: Any
    one_minus_beta1: Any
    one_minus_beta2: Any
    inner_scale: Any  # the rule's Denominator, five numbers
    inner_eps: Any
    mid_eps: Any
    outer_scale: Any
    outer_eps: Any
    neg_step_size: Any  # -lr / bias_correction1


def kernel_scalars(hp: dict, step: int, dtype: Any) -> KernelScalars:
    """:func:`adamkit.rules.adam_step_scalars` as the kernels' arguments, rounded once to ``dtype``
    (float64 Python numbers rounded to the array dtype, as torch does with a scalar operand)."""
    s = adam_step_scalars(hp, step)
    cast = np.dtype(dtype).type
    d = s.denominator
    beta1, beta2 = (float(b) for b in hp["betas"])
    return KernelScalars(
        cast(s.sign), float(s.l2) != 0.0, cast(float(s.l2)), cast(float(s.decay)), cast(beta2),
        cast(1.0 - beta1), cast(1.0 - beta2), cast(float(d.inner_scale)), cast(float(d.inner_eps)),
        cast(float(d.mid_eps)), cast(float(d.outer_scale)), cast(float(d.outer_eps)),
        cast(-float(s.step_size)),  # a tensor lr divided in its own dtype, as the rule does
    )


def is_root(scalars: KernelScalars) -> bool:
    """Whether the denominator needs its inner terms (``eps_mode="root"`` or ``eps_root``)."""
    return bool(scalars.inner_scale != 1 or scalars.inner_eps != 0)


# -- bit casts and the per-coordinate arithmetic (inlined into every loop) ------------------------

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


@njit(inline="always")
def _moments(pi, gi, mi, vi, k):
    """``(decayed param, new m, new v)`` for one coordinate, in the rule's order of operations."""
    gi = gi * k.sign
    if k.has_l2:  # loop-invariant: LLVM unswitches it
        gi = gi + k.l2 * pi
    mi = mi + k.one_minus_beta1 * (gi - mi)
    vi = vi * k.beta2 + (k.one_minus_beta2 * gi) * gi
    return pi * k.decay, mi, vi


@njit(inline="always")
def _larger(w, v):
    """``max(w, v)`` that propagates a NaN in ``v`` (as torch.maximum)."""
    return v if (v > w or v != v) else w


@njit(inline="always")
def _denominator_sqrt(v, k):
    """``(sqrt(v) + mid_eps) / outer_scale + outer_eps``: eps_mode "paper" and "hat"."""
    return (np.sqrt(v) + k.mid_eps) / k.outer_scale + k.outer_eps


@njit(inline="always")
def _denominator_sqrt_by_reciprocal(v, k):
    """:func:`_denominator_sqrt` with ``·(1/outer_scale)``: within an ulp of it, one division
    less (the 8-bit step is bound by its square roots and divisions, not by memory)."""
    return (np.sqrt(v) + k.mid_eps) * (np.float32(1.0) / k.outer_scale) + k.outer_eps


@njit(inline="always")
def _denominator_root(v, k):
    """``sqrt(v / inner_scale + inner_eps) + outer_eps``: eps_mode "root" (outer_eps 0), and
    "paper" with a non-zero eps_root."""
    return np.sqrt(v / k.inner_scale + k.inner_eps) + k.outer_eps


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


@njit(inline="always")
def _decode_signed(q, scale):
    """int8 code → value: ``q·|q| · (absmax/127²)`` (= absmax·sign(q)·(|q|/127)²)."""
    qf = np.float32(q)
    return (qf * abs(qf)) * scale


@njit(inline="always")
def _decode_unsigned(q, scale):
    """uint8 code → value: ``(q²)² · (absmax/255⁴)`` (= absmax·(q/255)⁴)."""
    qf = np.float32(q)
    q2 = qf * qf
    return (q2 * q2) * scale


@njit(inline="always")
def _encode_signed(x, inv_absmax):
    """``sign(x)·round(127·sqrt(|x|·(1/absmax)))``."""
    q = np.floor(np.sqrt(abs(x) * inv_absmax) * np.float32(127.0) + np.float32(0.5))
    return np.int8(-q) if x < 0 else np.int8(q)


@njit(inline="always")
def _encode_unsigned(x, inv_sqrt_absmax):
    """``round(255·sqrt(sqrt(x)·(1/sqrt(absmax))))`` (``sqrt(x)`` is shared with Adam's
    denominator: LLVM computes it once)."""
    return np.uint8(np.floor(np.sqrt(np.sqrt(x) * inv_sqrt_absmax) * np.float32(255.0)
                             + np.float32(0.5)))


@njit(inline="always")
def _abs_bits(x):
    """The bits of ``|x|``: their integer maximum is the float maximum for non-negative floats
    (a NaN's bits exceed inf's, so NaN propagates as in torch.amax), and integer max vectorizes.
    (``fabs`` then a bit cast: an integer ``&`` would widen to 64 bits in Numba's typing and
    halve the vector width of the loop.)"""
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


@njit(inline="always")
def _inverse_sqrt(top_bits):
    top = _f32_from_bits(top_bits)
    return np.float32(1.0) / np.sqrt(top) if top > 0 else np.float32(1.0)


# -- the variants: templates with compile-time choices --------------------------------------------
#
# The functions below are templates: the CAPITALIZED names they use are their compile-time
# choices (which codec, which denominator, AMSGrad or not), given per variant as the function's
# globals by :func:`walker`. Numba freezes globals as constants, so every variant compiles to its
# own straight-line loops, and each walker gets its own name, hence its own on-disk cache entry.
# (Closures over jitted functions would do the same, but Numba's cache key pickles closure
# cells, and a pickled dispatcher carries a per-process id: a closure would never hit the cache.)
# The module-level values here are placeholders that no compiled variant uses.

AMSGRAD = False  # keep a running max of v and divide by it
LOAD = STORE = _as_is  # stored moment <-> float (float: as is; bf16: bit conversions)
DENOMINATOR = _denominator_sqrt  # _denominator_sqrt / _denominator_root / ..._by_reciprocal
STEP_BLOCK: Any = None  # the 8-bit range step's block step
STEP_RANGE: Any = None  # the walker's range step


def _elementwise_range(p, g, m, v, w, m_absmax, v_absmax, w_absmax, first, k):
    """Range step of a per-value storage (float, bf16): ``p``, ``g`` one contiguous run of a
    tensor, its moments from element ``first`` of ``m``, ``v``, ``w`` (absmax unused)."""
    n = p.size
    m = m[first:first + n]  # slices, not offset indices: the loop stays a plain stream
    v = v[first:first + n]
    w = w[first:first + n]  # empty without AMSGrad (w is then a placeholder)
    for i in range(n):
        pi, mi, vi = _moments(p[i], g[i], LOAD(m[i]), LOAD(v[i]), k)
        m[i] = STORE(mi)
        v[i] = STORE(vi)
        if AMSGRAD:
            vi = _larger(LOAD(w[i]), vi)
            w[i] = STORE(vi)
        p[i] = pi + (k.neg_step_size * mi) / DENOMINATOR(vi, k)


def _blockwise_block(pb, gb, mb, vb, wb, m_absmax, v_absmax, w_absmax, b, k, new):
    """One 8-bit block: ``BLOCK`` values of p and g, their codes, absmax entry ``b``.

    Two passes over the block: the first decodes the codes, computes the new moments into
    ``new`` (a ``(3, BLOCK)`` float32 scratch that stays in L1 cache) and their absmax; the
    second encodes them and updates the param. One read and one write per array.
    """
    m_scale = m_absmax[b] * _SIGNED_SCALE
    v_scale = v_absmax[b] * _UNSIGNED_SCALE
    w_scale = w_absmax[b] * _UNSIGNED_SCALE if AMSGRAD else np.float32(0.0)
    new_m = new[0]
    new_v = new[1]
    new_w = new[2]
    m_top = np.uint32(0)
    v_top = np.uint32(0)
    w_top = np.uint32(0)
    for j in range(BLOCK):
        _, mi, vi = _moments(pb[j], gb[j], _decode_signed(mb[j], m_scale),
                             _decode_unsigned(vb[j], v_scale), k)
        new_m[j] = mi
        new_v[j] = vi
        m_top = _max_bits(m_top, _abs_bits(mi))
        v_top = _max_bits(v_top, _abs_bits(vi))
        if AMSGRAD:
            wi = _larger(_decode_unsigned(wb[j], w_scale), vi)
            new_w[j] = wi
            w_top = _max_bits(w_top, _abs_bits(wi))
    m_inv = _inverse(m_top)
    v_inv = _inverse_sqrt(v_top)
    w_inv = _inverse_sqrt(w_top)
    m_absmax[b] = _f32_from_bits(m_top)
    v_absmax[b] = _f32_from_bits(v_top)
    if AMSGRAD:
        w_absmax[b] = _f32_from_bits(w_top)
    for j in range(BLOCK):
        mi = new_m[j]
        vi = new_v[j]
        mb[j] = _encode_signed(mi, m_inv)
        vb[j] = _encode_unsigned(vi, v_inv)
        if AMSGRAD:
            vi = new_w[j]
            wb[j] = _encode_unsigned(vi, w_inv)
        pb[j] = pb[j] * k.decay + (k.neg_step_size * mi) / DENOMINATOR(vi, k)


def _blockwise_range(p, g, m, v, w, m_absmax, v_absmax, w_absmax, first, k):
    """Range step of the blockwise 8-bit storage; the run starts on a block boundary (``first``
    is a multiple of ``BLOCK``). A partial last block goes through zero-padded copies of p and g
    (zero gradient, zero moments: the padding codes stay 0)."""
    n = p.size
    whole = n // BLOCK
    first_block = first // BLOCK
    new = np.empty((3, BLOCK), np.float32)  # the block's new moments (L1-resident scratch)
    for i in range(whole + (1 if n % BLOCK else 0)):
        lo = i * BLOCK
        codes = slice(first + lo, first + lo + BLOCK)
        wb = w[codes] if AMSGRAD else w
        if i < whole:
            STEP_BLOCK(p[lo:lo + BLOCK], g[lo:lo + BLOCK], m[codes], v[codes], wb, m_absmax,
                       v_absmax, w_absmax, first_block + i, k, new)
        else:
            pt = np.zeros(BLOCK, p.dtype)
            gt = np.zeros(BLOCK, g.dtype)
            pt[:n - lo] = p[lo:]
            gt[:n - lo] = g[lo:]
            STEP_BLOCK(pt, gt, m[codes], v[codes], wb, m_absmax, v_absmax, w_absmax,
                       first_block + i, k, new)
            p[lo:] = pt[:n - lo]


# -- the tensor walker --------------------------------------------------------------------------------

def _walk(p_addr, g_addr, t_offset, t_size, c_tensor, c_lo, c_hi, like, m, v, w,
          m_absmax, v_absmax, w_absmax, k):
    """Adam over many tensors in one call, each param and gradient read where it lives.

    Tensor ``t`` has ``t_size[t]`` elements at addresses ``p_addr[t]`` (param) and ``g_addr[t]``
    (gradient, contiguous, the param's dtype, as ``like``) and its moments from element
    ``t_offset[t]`` of ``m``, ``v`` (``w``: AMSGrad's running max; ``*_absmax``: 8-bit scales).
    Work item ``c`` is elements ``[c_lo[c], c_hi[c])`` of tensor ``c_tensor[c]``: both threads
    share the work of all tensors. The caller keeps the tensors alive.
    """
    for c in prange(c_tensor.size):
        t = c_tensor[c]
        lo = c_lo[c]
        hi = c_hi[c]
        p = carray(_pointer(p_addr[t], like), t_size[t])
        g = carray(_pointer(g_addr[t], like), t_size[t])
        STEP_RANGE(p[lo:hi], g[lo:hi], m, v, w, m_absmax, v_absmax, w_absmax, t_offset[t] + lo, k)


def _variant(template: Any, name: str, **choices: Any) -> Any:
    """``template`` with ``choices`` as its globals, named ``name`` (its cache entry's name)."""
    fn = FunctionType(template.__code__, {**template.__globals__, **choices}, name)
    fn.__qualname__ = name
    fn.__doc__ = template.__doc__
    return fn


@functools.cache
def walker(storage: str, amsgrad: bool, root: bool) -> Any:
    """The njit'd tensor walker for one storage format (``STORAGES``), AMSGrad or not, ε inside
    the square root (``eps_mode="root"``) or not."""
    if storage not in STORAGES:
        raise ValueError(f"invalid storage {storage!r}; valid: {', '.join(STORAGES)}")
    name = f"walk_{storage}" + ("_amsgrad" if amsgrad else "") + ("_root" if root else "")
    inline = njit(inline="always")
    if storage == "8bit":
        denominator = _denominator_root if root else _denominator_sqrt_by_reciprocal
        block = inline(_variant(_blockwise_block, f"{name}_block", AMSGRAD=amsgrad,
                                DENOMINATOR=denominator))
        step_range = inline(_variant(_blockwise_range, f"{name}_range", AMSGRAD=amsgrad,
                                     STEP_BLOCK=block))
    else:
        load, store = (_from_bf16, _to_bf16) if storage == "bf16" else (_as_is, _as_is)
        step_range = inline(_variant(_elementwise_range, f"{name}_range", AMSGRAD=amsgrad,
                                     LOAD=load, STORE=store,
                                     DENOMINATOR=_denominator_root if root else _denominator_sqrt))
    walk = _variant(_walk, name, STEP_RANGE=step_range)
    return njit(parallel=True, fastmath=False, cache=True)(walk)


# -- the table of work ----------------------------------------------------------------------------

class WorkTable(NamedTuple):
    """Where each tensor's moments are, and the parallel work items over all tensors."""

    offsets: np.ndarray  # per tensor: element offset in the moment buffers
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


def step_tensors(storage: str, amsgrad: bool, table: WorkTable, p_addr: np.ndarray,
                 g_addr: np.ndarray, like: np.ndarray, moments: tuple, absmax: tuple,
                 scalars: KernelScalars) -> None:
    """One Adam step of every tensor of ``table``. ``moments``: the flat ``(m, v, w)`` buffers
    (``w`` any array of the same kind without AMSGrad); ``absmax``: their 8-bit scales (any
    float32 arrays otherwise); ``like``: an array of the params' dtype."""
    walk = walker(storage, bool(amsgrad), is_root(scalars))
    walk(p_addr, g_addr, table.offsets, table.sizes, table.chunk_tensor, table.chunk_lo,
         table.chunk_hi, like, *moments, *absmax, scalars)


def step_arrays(storage: str, amsgrad: bool, p: np.ndarray, g: np.ndarray, moments: tuple,
                absmax: tuple, scalars: KernelScalars) -> None:
    """One Adam step of the contiguous arrays ``p`` and ``g`` (the same dtype), in place, with
    moments from element 0 of ``moments``: the walker over a table of one tensor."""
    if not (p.flags.c_contiguous and g.flags.c_contiguous and p.dtype == g.dtype):
        raise ValueError("step_arrays: p and g must be contiguous arrays of one dtype")
    if p.size == 0:
        return
    table = WorkTable.build([0], [p.size])
    addr = np.array([p.ctypes.data], dtype=np.intp), np.array([g.ctypes.data], dtype=np.intp)
    step_tensors(storage, amsgrad, table, *addr, p[:1], moments, absmax, scalars)
