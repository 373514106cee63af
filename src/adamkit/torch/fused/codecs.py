r"""Low-precision optimizer states: bf16 and blockwise 8-bit codecs (``state_precision=``).

The rule always sees float32 moments: a state is decoded, the rule (or its fused kernel) updates
it, and the new value is encoded again. The parameter update uses the new moments *before* they are
encoded (as bitsandbytes does), so quantization error only enters through the stored state.

``"fp32"`` (default)
    torch's own format, 4 bytes per state value: Adam 8 bytes/param, AMSGrad 12.
``"bf16"``
    bfloat16 moments (round to nearest even, as ``tensor.to(torch.bfloat16)``), 2 bytes per value:
    Adam 4 bytes/param, AMSGrad 6. Every tensor, whatever its size.
``"8bit"``
    blockwise quantization, ``BLOCK = 256`` values per block, one float32 ``absmax`` per block, and a
    **float-like code** per value relative to it: ``r = |x| / absmax`` in [0, 1] kept with an
    exponent and a short mantissa of its own::

        exp_avg    ≈ sign · absmax · r,  r ∈ {0} ∪ 2^[-14, 0]·(1 + k/8) ∪ subnormals   (e4m3, int8)
        exp_avg_sq ≈ absmax · r,         r ∈ {0} ∪ 2^[-62, 0]·(1 + k/4) ∪ subnormals   (e6m2, uint8)

    So the relative error stays flat from the block's largest value down to 2^-14 of it for the
    first moment (at most 1/16, half a step of a 3-bit mantissa) and 2^-62 for the second (at
    most 1/8; its square root, Adam's denominator, within 1/16 down to 2^-31); below that,
    subnormal levels, then 0. The second moment gets the range: a block that mixes scales (a
    layer's rows, an embedding's rare tokens, a coordinate whose gradients are 1e-4 of its
    neighbours') spans twice as many decades in v as in m, and a v rounded to 0 under a non-zero
    m moves that coordinate by m/ε. A linear or power code of the block's absmax rounds such
    values to a few levels or to 0, and Adam then moves those coordinates by the wrong amount
    (``tests/torch/fused/test_lowp_accuracy.py``: 10 steps, every seventh coordinate's gradients 1e-4
    of the others', within 0.02 of fp32 states).

    Encode and decode are bit operations on float32, the same in the torch spelling here and in
    the kernels (no table, no square root); with ``s = 23 - mantissa bits`` (20 and 21)::

        code  = (b + 2^(s-1) - 1 + ((b >> s) & 1)) >> s,   b = bits(r · DOWN)
        level = float_from_bits(code << s) · UP            (DOWN, UP = 2^-112, 2^112 and 2^-64, 2^64)

    ``r·DOWN`` puts r's binades where float32's exponent field holds exactly the code's exponent
    (subnormal float32 for the code's subnormals), and the additions round to nearest even on the
    bits. The first moment's sign is the code's top bit.

    Bytes per parameter: 2 + 2·4/256 = 2.03 for Adam, 3.05 with AMSGrad (``max_exp_avg_sq``
    uses the second-moment code; bitsandbytes and DeepSpeed refuse AMSGrad). Tensors with fewer
    than ``MIN_8BIT_NUMEL = 4096`` elements keep float32 states, as bitsandbytes does
    (``min_8bit_size=4096``): their states are a negligible share of memory and the per-block
    scale would cost more than it saves.

In a state_dict an 8-bit moment ``exp_avg`` is stored as its codes (``exp_avg``, flat, padded to a
whole number of blocks) and ``exp_avg_absmax``; a bf16 moment is a bfloat16 tensor of the param's
shape. :func:`decode_state` reads any of the three formats, so a checkpoint loads across precisions
(torch's ``load_state_dict`` casts codes to float32 on the way in; they are integers, so nothing is
lost, and the ``_absmax`` key says what they are).
"""

from __future__ import annotations

from typing import Any

import torch

from adamkit.errors import HyperparameterError
from adamkit.rules.hyperparameters import OPTIONS

PRECISIONS: tuple[str, ...] = OPTIONS["state_precision"].choices  # fp32, bf16, 8bit
BLOCK = 256
MIN_8BIT_NUMEL = 4096
MOMENT_KEYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
SIGNED_KEYS = ("exp_avg",)  # first moment: signed code; the others are non-negative

# The float-like codes: r·DOWN puts r's binades into float32's exponent field, UP undoes it, and
# SHIFT drops all but the code's mantissa bits (23 - SHIFT of them).
SIGNED_DOWN, SIGNED_UP, SIGNED_SHIFT = 2.0**-112, 2.0**112, 20  # e4m3: 2^-14..2^0 -> fields 1..15
UNSIGNED_DOWN, UNSIGNED_UP, UNSIGNED_SHIFT = 2.0**-64, 2.0**64, 21  # e6m2: 2^-62..2^0 -> 1..63


def check_precision(value: Any, owner: str = "optimizer") -> str:
    """``value`` if it names a precision, else a HyperparameterError naming the valid ones."""
    if value not in PRECISIONS:
        raise HyperparameterError(f"{owner}: invalid state_precision {value!r}; valid: "
                         f"{', '.join(PRECISIONS)}")
    return value


def precision_for(precision: str, numel: int) -> str:
    """The precision a tensor of ``numel`` elements actually gets (small tensors stay fp32)."""
    if precision == "8bit" and numel < MIN_8BIT_NUMEL:
        return "fp32"
    return precision


def n_blocks(numel: int) -> int:
    return (numel + BLOCK - 1) // BLOCK


# -- 8-bit blockwise codec (torch spelling; the numba kernels spell the same arithmetic) ---------

def _blocks(x: torch.Tensor) -> torch.Tensor:
    flat = x.detach().reshape(-1).float()
    pad = n_blocks(flat.numel()) * BLOCK - flat.numel()
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    return flat.view(-1, BLOCK)


def encode_8bit(x: torch.Tensor, signed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(codes, absmax)``: codes flat and padded to whole blocks, one float32 absmax per block.

    In float32, in this order (the kernels do the same; ``1/absmax`` is 1 for an all-zero block)::

        b    = bits(|x| · (1/absmax) · DOWN)
        code = (b + 2^(s-1) - 1 + ((b >> s) & 1)) >> s      (| 0x80 where x's sign bit is set)
    """
    blocks = _blocks(x)
    absmax = blocks.abs().amax(dim=1)
    inv = torch.where(absmax > 0, 1.0 / absmax, torch.ones_like(absmax))
    down, shift = (SIGNED_DOWN, SIGNED_SHIFT) if signed else (UNSIGNED_DOWN, UNSIGNED_SHIFT)
    bits = ((blocks.abs() * inv[:, None]) * down).view(torch.int32)
    code = (bits + ((1 << (shift - 1)) - 1) + ((bits >> shift) & 1)) >> shift
    if signed:
        code = code | (torch.signbit(blocks).to(torch.int32) << 7)
        return code.to(torch.uint8).view(torch.int8).reshape(-1), absmax
    return code.to(torch.uint8).reshape(-1), absmax


def decode_8bit(codes: torch.Tensor, absmax: torch.Tensor, like: torch.Tensor,
                signed: bool) -> torch.Tensor:
    """The float32 tensor shaped as ``like`` that ``(codes, absmax)`` stand for."""
    q = codes.view(torch.uint8).to(torch.int32).view(-1, BLOCK)
    magnitude, up, shift = (q & 0x7F, SIGNED_UP, SIGNED_SHIFT) if signed else \
        (q, UNSIGNED_UP, UNSIGNED_SHIFT)
    level = (magnitude << shift).view(torch.float32) * up
    values = level * absmax.float()[:, None]
    if signed:
        values = torch.where(q >= 0x80, -values, values)
    return values.reshape(-1)[: like.numel()].view(like.shape)


# -- checkpoints of earlier codes ----------------------------------------------------------------------

# The 8-bit codes' version, kept in a state_dict's "adamkit" entry. 1: adamkit's codes before the
# float-like ones, exp_avg ≈ absmax·q·|q|/127² (int8 q), exp_avg_sq ≈ absmax·(q/255)⁴ (uint8 q);
# a checkpoint without the entry is of version 1.
CODES = 2


def upgrade_8bit(state: dict) -> dict:
    """One param's saved state with version-1 8-bit moments re-coded in this version's codes (a new
    dict; the same dict when it holds no 8-bit moment). Values pass through float32 exactly as
    the old codes decode, so training continues from what that checkpoint meant."""
    coded = [k for k in MOMENT_KEYS if k in state and f"{k}_absmax" in state]
    if not coded:
        return state
    out = dict(state)
    for key in coded:
        codes, absmax = state[key], state[f"{key}_absmax"].float()
        q = codes.float().view(-1, BLOCK)  # int8/uint8 values (or the floats torch cast them to)
        if key in SIGNED_KEYS:
            values = (q * q.abs()) * (absmax * (1.0 / 127.0**2))[:, None]
        else:
            q2 = q * q
            values = (q2 * q2) * (absmax * (1.0 / 255.0**4))[:, None]
        out[key], out[f"{key}_absmax"] = encode_8bit(values.reshape(-1), key in SIGNED_KEYS)
    return out


# -- whole states ------------------------------------------------------------------------------

def stored_format(state: dict) -> str:
    """Which precision ``state``'s moments are stored in: ``"fp32"``, ``"bf16"`` or ``"8bit"``."""
    if any(f"{k}_absmax" in state for k in MOMENT_KEYS):
        return "8bit"
    if any(k in state and state[k].dtype == torch.bfloat16 for k in MOMENT_KEYS):
        return "bf16"
    return "fp32"


def decode_state(state: dict, like: torch.Tensor) -> dict:
    """The moments of ``state`` (any stored format) as tensors of ``like``'s dtype and shape.

    Keys that are not moments (``step``, other rules' buffers) are returned unchanged. Float64
    params keep float64 moments in fp32 mode (the "fp32" precision means "the param's dtype").
    """
    out = {}
    for key, value in state.items():
        if key.endswith("_absmax"):
            continue
        if key in MOMENT_KEYS and f"{key}_absmax" in state:
            codes = value.to(torch.int8 if key in SIGNED_KEYS else torch.uint8)
            decoded = decode_8bit(codes, state[f"{key}_absmax"], like, key in SIGNED_KEYS)
            out[key] = decoded.to(like.dtype) if like.is_floating_point() else decoded
        elif key in MOMENT_KEYS and value.dtype == torch.bfloat16:
            out[key] = value.to(like.dtype) if like.is_floating_point() else value.float()
        elif key in MOMENT_KEYS and value.dtype != like.dtype and value.is_floating_point():
            out[key] = value.to(like.dtype)  # a float32 checkpoint's view of a bf16 moment
        else:
            out[key] = value
    return out


def storage_of(key: str, precision: str) -> str:
    """How a state entry is stored at ``precision``: only Adam-family moments (``MOMENT_KEYS``)
    take a low precision (``"bf16"``, ``"8bit"``); every other entry stays ``"float"`` (the
    param's dtype). The rule path (:func:`encode_state`) and the kernels' buffers follow it."""
    return precision if key in MOMENT_KEYS and precision != "fp32" else "float"


def encode_state(arrays: dict, precision: str, like: torch.Tensor, numel: int | None = None) -> dict:
    """Moments of ``arrays`` (float tensors) stored in ``precision`` (for a param like ``like``;
    ``numel``: the whole param's size where ``like`` is a shard of it, which decides 8-bit).

    Returns the entries to put in the state: for 8-bit, ``key`` (codes) and ``key_absmax``.
    """
    precision = precision_for(precision, like.numel() if numel is None else numel)
    out = {}
    for key, value in arrays.items():
        storage = storage_of(key, precision)
        if storage == "float" or not like.is_floating_point():
            out[key] = value
        elif storage == "bf16":
            out[key] = value.to(torch.bfloat16)
        else:
            out[key], out[f"{key}_absmax"] = encode_8bit(value, key in SIGNED_KEYS)
    return out


def state_bytes(state: dict) -> int:
    """Bytes held by the moment tensors of one param's state (``step`` excluded)."""
    return sum(v.numel() * v.element_size() for k, v in state.items()
               if torch.is_tensor(v) and k != "step")


def store_state(state: dict, old: dict, new: dict) -> None:
    """Put the encoded entries ``new`` into ``state``: in place where ``old`` has a tensor of the
    same dtype and shape (so views into the engine's flat buffers stay valid), else replaced."""
    for key in [k for k in state if k.endswith("_absmax") and k not in new]:
        del state[key]
    for key, value in new.items():
        current = old.get(key)
        if (torch.is_tensor(current) and current.dtype == value.dtype
                and current.shape == value.shape):
            current.copy_(value)
        else:
            state[key] = value


def convert_state(state: dict, precision: str, param: torch.Tensor, numel: int | None = None) -> None:
    """Re-store ``state``'s moments in ``precision`` (in place in the dict), from any format
    (``numel`` as in :func:`encode_state`)."""
    if not any(k in state for k in MOMENT_KEYS) or not param.is_floating_point():
        return
    target = precision_for(precision, param.numel() if numel is None else numel)
    if _stored_as(state, target, param):
        return
    if target == "8bit" and stored_format(state) == "8bit" and all(
            f"{k}_absmax" in state for k in MOMENT_KEYS if k in state):
        # codes that torch's load_state_dict cast to floats: cast back, never re-quantized
        for key in [k for k in MOMENT_KEYS if k in state]:
            state[key] = state[key].to(torch.int8 if key in SIGNED_KEYS else torch.uint8)
        return
    decoded = decode_state({k: v for k, v in state.items() if k != "step"}, param.detach())
    for key in [k for k in state if k.endswith("_absmax")]:
        del state[key]
    state.update(encode_state(decoded, target, param, numel))


def _stored_as(state: dict, precision: str, param: torch.Tensor) -> bool:
    moments = [k for k in MOMENT_KEYS if k in state]
    if precision == "8bit":
        return all(f"{k}_absmax" in state and state[k].dtype == (
            torch.int8 if k in SIGNED_KEYS else torch.uint8) for k in moments)
    dtype = torch.bfloat16 if precision == "bf16" else param.dtype
    return stored_format(state) != "8bit" and all(state[k].dtype == dtype for k in moments)
