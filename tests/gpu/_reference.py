"""The 8-bit code of the GPU kernels, spelt in torch: the reference the tests compare with.

Per block of 256 values: ``absmax = max|x|``, ``inv = 1/absmax`` (1 when 0), ``r = |x|·inv``;
``b = bits(r·DOWN)``, ``code = (b + 0x7FFFF + ((b >> 20) & 1)) >> 20`` (``| 0x80`` where x's
sign bit is set, signed codes); decode ``±bitcast((code & 0x7F) << 20)·UP·absmax``. DOWN, UP are
2^-112, 2^112 (signed, int8) and 2^-96, 2^96 (unsigned, uint8).
"""

import torch

BLOCK = 256


def _blocks(x: torch.Tensor) -> torch.Tensor:
    flat = x.detach().reshape(-1).float()
    pad = -flat.numel() % BLOCK
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    return flat.view(-1, BLOCK)


def encode(x: torch.Tensor, signed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(codes, absmax)`` of ``x`` (flat codes over whole blocks, zero-padded)."""
    blocks = _blocks(x)
    absmax = blocks.abs().amax(dim=1)
    inv = torch.where(absmax > 0, 1.0 / absmax, torch.ones_like(absmax))
    down = 2.0**-112 if signed else 2.0**-96
    bits = ((blocks.abs() * inv[:, None]) * down).view(torch.int32)
    code = (bits + 0x7FFFF + ((bits >> 20) & 1)) >> 20
    if signed:
        code = code | (torch.signbit(blocks).to(torch.int32) << 7)
        return code.to(torch.uint8).view(torch.int8).reshape(-1), absmax
    return code.to(torch.uint8).reshape(-1), absmax


def decode(codes: torch.Tensor, absmax: torch.Tensor, numel: int, signed: bool) -> torch.Tensor:
    """The float32 values (flat, ``numel`` of them) that ``(codes, absmax)`` stand for."""
    q = codes.view(torch.uint8).to(torch.int32).view(-1, BLOCK)
    magnitude = q & 0x7F if signed else q
    level = (magnitude << 20).view(torch.float32) * (2.0**112 if signed else 2.0**96)
    values = level * absmax.float()[:, None]
    if signed:
        values = torch.where(q >= 0x80, -values, values)
    return values.reshape(-1)[:numel]
