r"""Fused Adam kernels (Numba): a second spelling of :mod:`adamkit.rules.adam`, for speed only.

Each kernel does the whole Adam/AdamW step for one flat array in one pass over memory, in the
param's dtype, with the float32 operations in the rule's own order, so a kernel and the rule agree
to float32 rounding (``tests/fast/test_kernels.py`` ties them together, option by option)::

    g  = sign · grad  (+ l2 · param)                     maximize: sign = -1; weight_decay_mode="l2"
    param = decay · param                                 decoupled: 1 - lr·wd; independent: 1 - lr_factor·wd
    m  = m + (1-β1)·(g - m)                               torch's lerp form (rules._numerics.ema)
    v  = v·β2 + ((1-β2)·g)·g                              addcmul's order
    v' = max(v_max, v) if amsgrad else v
    denom = (sqrt(v' / c_in + e_in) + e_mid) / s_out + e_out
    param = param + (-step_size · m) / denom              addcdiv's order; step_size = lr/(1-β1^t)

The denominator's five constants spell the three ``eps_mode`` placements exactly (dividing by 1 and
adding 0 are exact, so no rounding differs from the rule)::

    paper: c_in=1,   e_in=0, e_mid=0, s_out=sqrt(1-β2^t), e_out=ε   → sqrt(v)/sqrt(bc2) + ε
    hat:   c_in=1,   e_in=0, e_mid=ε, s_out=sqrt(1-β2^t), e_out=0   → (sqrt(v) + ε)/sqrt(bc2)
    root:  c_in=bc2, e_in=ε, e_mid=0, s_out=1,            e_out=0   → sqrt(v/bc2 + ε)

Three storage variants share that arithmetic: float moments (``adam_float``), bfloat16 moments
(``adam_bf16``, stored as uint16 bit patterns, round to nearest even on store) and blockwise 8-bit
moments (``adam_8bit``, see :mod:`adamkit.torch._precision` for the codes). The parameter update
always uses the freshly computed float moments; only the stored copies are rounded.

The kernels run in parallel over chunks (``prange``); they are compiled on first use (~1-3 s) and
cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, prange, types
from numba.extending import intrinsic

# Numba's threading layer is left at its default (OpenMP here, which shares the runtime with
# torch's threads). Measured on the 2-core machine: the "workqueue" layer made the fused step on
# 4 x 16M params 7-42% slower than OpenMP and slowed torch's own fused step beside it, while the
# trainer (whose models update serially, below the engine's parallel threshold) ran the same under
# both. NUMBA_THREADING_LAYER in the environment still chooses.

BLOCK = 256  # 8-bit quantization block: must equal _precision.BLOCK
CHUNK = 1 << 14  # elements per parallel work item (a multiple of BLOCK)
SIGNED_SCALE = np.float32(1.0 / 127.0**2)
UNSIGNED_SCALE = np.float32(1.0 / 255.0**4)


# -- shared pieces (inlined into every loop) -----------------------------------------------------

@njit(inline="always")
def _moments(pi, gi, mi, vi, sign, has_l2, l2, decay, beta2, omb1, omb2):
    """``(decayed param, new m, new v)`` for one coordinate, in the rule's order of operations."""
    gi = gi * sign
    if has_l2:
        gi = gi + l2 * pi
    mi = mi + omb1 * (gi - mi)
    vi = vi * beta2 + (omb2 * gi) * gi
    return pi * decay, mi, vi


@njit(inline="always")
def _denom_fast(sqrt_v, e_mid, s_out, e_out):
    """``(sqrt(v) + e_mid) / s_out + e_out``: eps_mode "paper" and "hat" (c_in = 1, e_in = 0)."""
    return (sqrt_v + e_mid) / s_out + e_out


@njit(inline="always")
def _denom_root(v, c_in, e_in):
    """``sqrt(v / c_in + e_in)``: eps_mode "root"."""
    return np.sqrt(v / c_in + e_in)


@njit(inline="always")
def _larger(w, v):
    """``max(w, v)`` that propagates a NaN in ``v`` (as torch.maximum)."""
    return v if (v > w or v != v) else w


# -- float moments --------------------------------------------------------------------------------

@njit(inline="always")
def _float_range(p, g, m, v, w, amsgrad, root, sign, has_l2, l2, decay, beta2, omb1, omb2,
                 c_in, e_in, e_mid, s_out, e_out, neg_step_size):
    """Adam over whole (equal-length) arrays, in place. One loop per (amsgrad, eps_mode "root")
    combination: a branch inside a loop stops LLVM from vectorizing it."""
    n = p.size
    if not amsgrad and not root:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], m[i], v[i], sign, has_l2, l2, decay, beta2, omb1,
                                  omb2)
            m[i] = mi
            v[i] = vi
            p[i] = pi + (neg_step_size * mi) / _denom_fast(np.sqrt(vi), e_mid, s_out, e_out)
    elif not amsgrad:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], m[i], v[i], sign, has_l2, l2, decay, beta2, omb1,
                                  omb2)
            m[i] = mi
            v[i] = vi
            p[i] = pi + (neg_step_size * mi) / _denom_root(vi, c_in, e_in)
    elif not root:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], m[i], v[i], sign, has_l2, l2, decay, beta2, omb1,
                                  omb2)
            m[i] = mi
            v[i] = vi
            wi = _larger(w[i], vi)
            w[i] = wi
            p[i] = pi + (neg_step_size * mi) / _denom_fast(np.sqrt(wi), e_mid, s_out, e_out)
    else:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], m[i], v[i], sign, has_l2, l2, decay, beta2, omb1,
                                  omb2)
            m[i] = mi
            v[i] = vi
            wi = _larger(w[i], vi)
            w[i] = wi
            p[i] = pi + (neg_step_size * mi) / _denom_root(wi, c_in, e_in)


@njit(parallel=True, fastmath=False, cache=True)
def adam_float(p, g, m, v, vmax, amsgrad, sign, has_l2, l2, decay, beta2, omb1, omb2,
               c_in, e_in, e_mid, s_out, e_out, neg_step_size):
    """Adam on float32/float64 arrays, in place: ``p``, ``m``, ``v`` (and ``vmax`` if amsgrad)."""
    root = c_in != 1 or e_in != 0
    n = p.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        _float_range(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi] if amsgrad else vmax,
                     amsgrad, root, sign, has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in,
                     e_mid, s_out, e_out, neg_step_size)


@intrinsic
def _pointer(typingctx, address, like):
    """The address (an integer) as a pointer to ``like``'s dtype (LLVM inttoptr)."""
    ptr_type = types.CPointer(like.dtype)
    sig = ptr_type(types.intp, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(ptr_type))

    return sig, codegen


@njit(parallel=True, fastmath=False, cache=True)
def adam_float_tensors(p_addr, g_addr, t_offset, t_size, c_tensor, c_lo, c_hi, m, v, vmax,
                       amsgrad, sign, has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid,
                       s_out, e_out, neg_step_size):
    """:func:`adam_float` over many tensors in one call, each read and written where it lives.

    Tensor ``t`` has ``t_size[t]`` elements at addresses ``p_addr[t]`` (param) and ``g_addr[t]``
    (gradient, contiguous, the param's dtype) and its moments at ``m[t_offset[t]:]``. Work item
    ``c`` is elements ``[c_lo[c], c_hi[c])`` of tensor ``c_tensor[c]``: both threads share the
    work of all tensors, and no gradient is copied. The caller keeps the tensors alive.
    """
    root = c_in != 1 or e_in != 0
    for c in prange(c_tensor.size):
        t = c_tensor[c]
        lo = c_lo[c]
        hi = c_hi[c]
        base = t_offset[t]
        p = carray(_pointer(p_addr[t], m), t_size[t])
        g = carray(_pointer(g_addr[t], m), t_size[t])
        _float_range(p[lo:hi], g[lo:hi], m[base + lo:base + hi], v[base + lo:base + hi],
                     vmax[base + lo:base + hi] if amsgrad else vmax, amsgrad, root, sign, has_l2,
                     l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out,
                     neg_step_size)


# -- bfloat16 moments ------------------------------------------------------------------------------

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
def _bf16_range(p, g, m16, v16, w16, amsgrad, root, sign, has_l2, l2, decay, beta2, omb1, omb2,
                c_in, e_in, e_mid, s_out, e_out, neg_step_size):
    """Adam over whole arrays with bfloat16 moments (uint16 bit patterns), in place."""
    n = p.size
    if not amsgrad and not root:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], _from_bf16(m16[i]), _from_bf16(v16[i]), sign,
                                  has_l2, l2, decay, beta2, omb1, omb2)
            m16[i] = _to_bf16(mi)
            v16[i] = _to_bf16(vi)
            p[i] = pi + (neg_step_size * mi) / _denom_fast(np.sqrt(vi), e_mid, s_out, e_out)
    elif not amsgrad:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], _from_bf16(m16[i]), _from_bf16(v16[i]), sign,
                                  has_l2, l2, decay, beta2, omb1, omb2)
            m16[i] = _to_bf16(mi)
            v16[i] = _to_bf16(vi)
            p[i] = pi + (neg_step_size * mi) / _denom_root(vi, c_in, e_in)
    else:
        for i in range(n):
            pi, mi, vi = _moments(p[i], g[i], _from_bf16(m16[i]), _from_bf16(v16[i]), sign,
                                  has_l2, l2, decay, beta2, omb1, omb2)
            m16[i] = _to_bf16(mi)
            v16[i] = _to_bf16(vi)
            wi = _larger(_from_bf16(w16[i]), vi)
            w16[i] = _to_bf16(wi)
            denom = (_denom_root(wi, c_in, e_in) if root
                     else _denom_fast(np.sqrt(wi), e_mid, s_out, e_out))
            p[i] = pi + (neg_step_size * mi) / denom


@njit(parallel=True, fastmath=False, cache=True)
def adam_bf16(p, g, m16, v16, w16, amsgrad, sign, has_l2, l2, decay, beta2, omb1, omb2,
              c_in, e_in, e_mid, s_out, e_out, neg_step_size):
    """Adam on float32 params with bfloat16 moments (uint16 bit patterns), in place."""
    root = c_in != 1 or e_in != 0
    n = p.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        _bf16_range(p[lo:hi], g[lo:hi], m16[lo:hi], v16[lo:hi], w16[lo:hi] if amsgrad else w16,
                    amsgrad, root, sign, has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid,
                    s_out, e_out, neg_step_size)


@njit(parallel=True, fastmath=False, cache=True)
def adam_bf16_tensors(p_addr, g_addr, t_offset, t_size, c_tensor, c_lo, c_hi, m16, v16, w16,
                      like, amsgrad, sign, has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in,
                      e_mid, s_out, e_out, neg_step_size):
    """:func:`adam_bf16` over many tensors in one call (see :func:`adam_float_tensors`);
    ``like`` is any float32 array (it types the param and gradient pointers)."""
    root = c_in != 1 or e_in != 0
    for c in prange(c_tensor.size):
        t = c_tensor[c]
        lo = c_lo[c]
        hi = c_hi[c]
        base = t_offset[t]
        p = carray(_pointer(p_addr[t], like), t_size[t])
        g = carray(_pointer(g_addr[t], like), t_size[t])
        _bf16_range(p[lo:hi], g[lo:hi], m16[base + lo:base + hi], v16[base + lo:base + hi],
                    w16[base + lo:base + hi] if amsgrad else w16, amsgrad, root, sign, has_l2,
                    l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out,
                    neg_step_size)


# -- blockwise 8-bit moments -----------------------------------------------------------------------

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
def _encode_unsigned(sqrt_x, inv_sqrt_absmax):
    """``round(255·sqrt(sqrt(x)·(1/sqrt(absmax))))`` from ``sqrt(x)`` (shared with Adam's
    denominator, which needs it anyway)."""
    return np.uint8(np.floor(np.sqrt(sqrt_x * inv_sqrt_absmax) * np.float32(255.0)
                             + np.float32(0.5)))


@njit(inline="always")
def _inverse(top_bits):
    """``1/absmax`` from the absmax's bits (1 when the block is all zeros)."""
    top = _f32_from_bits(top_bits)
    return np.float32(1.0) / top if top > 0 else np.float32(1.0)


@njit(inline="always")
def _inverse_sqrt(top_bits):
    top = _f32_from_bits(top_bits)
    return np.float32(1.0) / np.sqrt(top) if top > 0 else np.float32(1.0)


@njit(inline="always")
def _block_8bit(pb, gb, mb, vb, wb, m_absmax, v_absmax, w_absmax, b, amsgrad, root, sign,
                has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out,
                neg_step_size):
    """One block (``BLOCK`` values) of Adam with 8-bit moments, in place; ``b`` indexes absmax.

    The block is visited twice: the first pass computes the new moments only to find their
    absmax, the second recomputes them (identical operations, so identical values; the block is in
    L1 cache by then), updates the param and stores the codes. That keeps the kernel free of
    scratch buffers and its memory traffic at one read and one write per array.
    """
    m_scale = m_absmax[b] * SIGNED_SCALE
    v_scale = v_absmax[b] * UNSIGNED_SCALE
    # Block maxima as integer maxima of the bit patterns of |x| (same order for non-negative
    # floats; a NaN's bits exceed inf's, so NaN propagates as in torch.amax). Integer max
    # vectorizes; a float max with NaN semantics does not.
    m_top = np.uint32(0)
    v_top = np.uint32(0)
    for j in range(BLOCK):
        _, mi, vi = _moments(pb[j], gb[j], _decode_signed(mb[j], m_scale),
                             _decode_unsigned(vb[j], v_scale), sign, has_l2, l2, decay,
                             beta2, omb1, omb2)
        m_top = max(m_top, _bits_from_f32(mi) & np.uint32(0x7FFFFFFF))
        v_top = max(v_top, _bits_from_f32(vi) & np.uint32(0x7FFFFFFF))
    m_inv = _inverse(m_top)
    v_inv = _inverse_sqrt(v_top)
    inv_s_out = np.float32(1.0) / s_out
    m_absmax[b] = _f32_from_bits(m_top)
    v_absmax[b] = _f32_from_bits(v_top)
    if not amsgrad and not root:
        for j in range(BLOCK):
            pi, mi, vi = _moments(pb[j], gb[j], _decode_signed(mb[j], m_scale),
                                  _decode_unsigned(vb[j], v_scale), sign, has_l2, l2, decay,
                                  beta2, omb1, omb2)
            sqrt_v = np.sqrt(vi)
            mb[j] = _encode_signed(mi, m_inv)
            vb[j] = _encode_unsigned(sqrt_v, v_inv)
            # ·(1/s_out) for /s_out: within an ulp of the rule's denominator, one division less
            # (the 8-bit step is bound by its square roots and divisions, not by memory)
            pb[j] = pi + (neg_step_size * mi) / ((sqrt_v + e_mid) * inv_s_out + e_out)
    elif not amsgrad:
        for j in range(BLOCK):
            pi, mi, vi = _moments(pb[j], gb[j], _decode_signed(mb[j], m_scale),
                                  _decode_unsigned(vb[j], v_scale), sign, has_l2, l2, decay,
                                  beta2, omb1, omb2)
            mb[j] = _encode_signed(mi, m_inv)
            vb[j] = _encode_unsigned(np.sqrt(vi), v_inv)
            pb[j] = pi + (neg_step_size * mi) / _denom_root(vi, c_in, e_in)
    else:
        w_scale = w_absmax[b] * UNSIGNED_SCALE
        w_top = np.uint32(0)
        for j in range(BLOCK):
            _, _, vi = _moments(pb[j], gb[j], np.float32(0.0),
                                _decode_unsigned(vb[j], v_scale), sign, has_l2, l2, decay,
                                beta2, omb1, omb2)
            wi = _larger(_decode_unsigned(wb[j], w_scale), vi)
            w_top = max(w_top, _bits_from_f32(wi) & np.uint32(0x7FFFFFFF))
        w_inv = _inverse_sqrt(w_top)
        w_absmax[b] = _f32_from_bits(w_top)
        for j in range(BLOCK):
            pi, mi, vi = _moments(pb[j], gb[j], _decode_signed(mb[j], m_scale),
                                  _decode_unsigned(vb[j], v_scale), sign, has_l2, l2, decay,
                                  beta2, omb1, omb2)
            wi = _larger(_decode_unsigned(wb[j], w_scale), vi)
            sqrt_w = np.sqrt(wi)
            mb[j] = _encode_signed(mi, m_inv)
            vb[j] = _encode_unsigned(np.sqrt(vi), v_inv)
            wb[j] = _encode_unsigned(sqrt_w, w_inv)
            denom = (_denom_root(wi, c_in, e_in) if root
                     else _denom_fast(sqrt_w, e_mid, s_out, e_out))
            pb[j] = pi + (neg_step_size * mi) / denom


@njit(inline="always")
def _range_8bit(p, g, mq, m_absmax, vq, v_absmax, wq, w_absmax, first_block, amsgrad, root,
                sign, has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out,
                neg_step_size):
    """Blocks of ``p``/``g`` (any length; codes ``mq``... from the same start, whole blocks),
    absmax entries from ``first_block``. A partial last block goes through padded copies."""
    n = p.size
    whole = n // BLOCK
    for k in range(whole + (1 if n % BLOCK else 0)):
        lo = k * BLOCK
        wb = wq[lo:lo + BLOCK] if amsgrad else wq
        if k < whole:
            _block_8bit(p[lo:lo + BLOCK], g[lo:lo + BLOCK], mq[lo:lo + BLOCK], vq[lo:lo + BLOCK],
                        wb, m_absmax, v_absmax, w_absmax, first_block + k, amsgrad, root, sign,
                        has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out,
                        neg_step_size)
        else:  # the tail: zeros in the padding stay zeros (zero gradient, zero moments)
            pt = np.zeros(BLOCK, p.dtype)
            gt = np.zeros(BLOCK, g.dtype)
            pt[:n - lo] = p[lo:]
            gt[:n - lo] = g[lo:]
            _block_8bit(pt, gt, mq[lo:lo + BLOCK], vq[lo:lo + BLOCK], wb, m_absmax, v_absmax,
                        w_absmax, first_block + k, amsgrad, root, sign, has_l2, l2, decay, beta2,
                        omb1, omb2, c_in, e_in, e_mid, s_out, e_out, neg_step_size)
            p[lo:] = pt[:n - lo]


@njit(parallel=True, fastmath=False, cache=True)
def adam_8bit(p, g, mq, m_absmax, vq, v_absmax, wq, w_absmax, amsgrad, sign, has_l2, l2, decay,
              beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out, neg_step_size):
    """Adam on float32 params with blockwise 8-bit moments, in place (codes and absmax rewritten).

    ``mq`` (int8), ``vq`` and ``wq`` (uint8) hold ``ceil(n/256)*256`` codes, one absmax per
    block; the padding codes of a partial last block come out 0.
    """
    root = c_in != 1 or e_in != 0
    n = p.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        code_hi = lo + ((hi - lo + BLOCK - 1) // BLOCK) * BLOCK
        _range_8bit(p[lo:hi], g[lo:hi], mq[lo:code_hi], m_absmax, vq[lo:code_hi], v_absmax,
                    wq[lo:code_hi] if amsgrad else wq, w_absmax, lo // BLOCK, amsgrad, root,
                    sign, has_l2, l2, decay, beta2, omb1, omb2, c_in, e_in, e_mid, s_out, e_out,
                    neg_step_size)


@njit(parallel=True, fastmath=False, cache=True)
def adam_8bit_tensors(p_addr, g_addr, t_offset, t_size, c_tensor, c_lo, c_hi, mq, m_absmax, vq,
                      v_absmax, wq, w_absmax, like, amsgrad, sign, has_l2, l2, decay, beta2,
                      omb1, omb2, c_in, e_in, e_mid, s_out, e_out, neg_step_size):
    """:func:`adam_8bit` over many tensors in one call (see :func:`adam_float_tensors`).

    Tensor offsets ``t_offset`` and work-item bounds ``c_lo`` are multiples of ``BLOCK``.
    """
    root = c_in != 1 or e_in != 0
    for c in prange(c_tensor.size):
        t = c_tensor[c]
        lo = c_lo[c]
        hi = c_hi[c]
        base = t_offset[t]
        p = carray(_pointer(p_addr[t], like), t_size[t])
        g = carray(_pointer(g_addr[t], like), t_size[t])
        code_lo = base + lo
        code_hi = code_lo + ((hi - lo + BLOCK - 1) // BLOCK) * BLOCK
        _range_8bit(p[lo:hi], g[lo:hi], mq[code_lo:code_hi], m_absmax, vq[code_lo:code_hi],
                    v_absmax, wq[code_lo:code_hi] if amsgrad else wq, w_absmax,
                    code_lo // BLOCK, amsgrad, root, sign, has_l2, l2, decay, beta2, omb1, omb2,
                    c_in, e_in, e_mid, s_out, e_out, neg_step_size)


def run_adam_8bit(p, g, mq, m_absmax, vq, v_absmax, wq, w_absmax, amsgrad, constants) -> None:
    """:func:`adam_8bit` with the kernels' scalar arguments as one tuple."""
    adam_8bit(p, g, mq, m_absmax, vq, v_absmax, wq, w_absmax, amsgrad, *constants)


def denominator_constants(eps_mode: str, eps: float, bias_correction2: float) -> tuple:
    """``(c_in, e_in, e_mid, s_out, e_out)`` for the kernels' denominator (see module doc)."""
    s = bias_correction2**0.5
    if eps_mode == "paper":
        return 1.0, 0.0, 0.0, s, eps
    if eps_mode == "hat":
        return 1.0, 0.0, eps, s, 0.0
    return bias_correction2, eps, 0.0, 1.0, 0.0


def adam_constants(hp: dict, step: int, dtype) -> tuple:
    """The scalar arguments of the kernels for ``hp`` at ``step``, as the rule computes them.

    Everything is computed in float64 (as the rule does) and rounded once to the array dtype, which
    is what torch does with a Python scalar operand. Returns ``(sign, has_l2, l2, decay, beta2,
    omb1, omb2, c_in, e_in, e_mid, s_out, e_out, neg_step_size)``.
    """
    cast = np.dtype(dtype).type
    beta1, beta2 = (float(b) for b in hp["betas"])
    lr_given = hp["lr"]
    lr = float(lr_given)
    wd = float(hp.get("weight_decay", 0.0))
    mode = hp.get("weight_decay_mode", "l2")
    has_l2 = wd != 0.0 and mode == "l2"
    decay = 1.0
    if wd != 0.0 and mode == "decoupled":
        decay = 1.0 - lr * wd
    elif wd != 0.0 and mode == "independent":
        decay = 1.0 - float(hp.get("lr_factor", 1.0)) * wd
    bc1 = 1.0 - beta1**step
    bc2 = 1.0 - beta2**step
    denom = denominator_constants(hp.get("eps_mode", "paper"), float(hp["eps"]), bc2)
    sign = -1.0 if hp.get("maximize") else 1.0
    # a tensor lr (torch allows one) divides in its own dtype, as torch.optim and the rule do
    step_size = float(lr_given / bc1) if hasattr(lr_given, "item") else lr / bc1
    return (cast(sign), has_l2, cast(wd), cast(decay), cast(beta2), cast(1.0 - beta1),
            cast(1.0 - beta2), *(cast(c) for c in denom), cast(-step_size))
