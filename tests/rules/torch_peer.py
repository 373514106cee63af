"""Drive a rule on torch (functional and in place) and torch.optim's class over the same gradients.

torch's class runs its single-tensor for-loop (``foreach=False``), the one the rule's torch path
is written to equal bit for bit. The in-place run does what adamkit.torch's per-tensor path does:
it passes ``in_place(torch)`` and copies back whatever the rule returns anew.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from adamkit.rules._numerics import in_place


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """torch keeps scalar state (ASGD's eta and mu, the step) in the default dtype's kind."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def tensors(arrays, dtype: torch.dtype) -> list[torch.Tensor]:
    return [torch.tensor(a, dtype=dtype) for a in arrays]


def run_torch_optim(cls, kwargs: dict, params, grads, dtype: torch.dtype = torch.float64):
    """torch.optim's ``cls`` (foreach=False): the final params and each param's state."""
    ps = tensors(params, dtype)
    opt = cls(ps, foreach=False, **kwargs)
    for gs in grads:
        for p, g in zip(ps, gs, strict=True):
            p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
    return ps, [opt.state[p] for p in ps]


def run_rule_torch(rule, hp: dict, params, grads, dtype: torch.dtype = torch.float64,
                   writes: bool = False):
    """The rule on torch tensors: the final params and states. ``writes``: through
    ``in_place(torch)``, copying back what it returns anew (adamkit.torch's per-tensor path)."""
    hp = rule.validate(hp)
    xp = in_place(torch) if writes else torch
    ps = tensors(params, dtype)
    ss = [rule.init(p, hp, torch) for p in ps]
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            new_p, new_s = rule.update(ps[i], torch.tensor(g, dtype=dtype), ss[i], t, hp, xp)
            if not writes:
                ps[i], ss[i] = new_p, new_s
                continue
            if new_p is not ps[i]:
                ps[i].copy_(new_p)
            for key, value in new_s.items():
                if key not in ss[i]:
                    ss[i][key] = value.clone()
                elif value is not ss[i][key]:
                    ss[i][key].copy_(value)
    return ps, ss


_INTS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def bits(t: torch.Tensor) -> torch.Tensor:
    """The tensor's bits as integers: equal bits, NaNs and signed zeros included."""
    return t.detach().reshape(-1).view(_INTS[t.element_size()])


def assert_bitwise(ours, theirs, keys) -> None:
    """Params and the state entries ``keys`` equal to the bit, dtypes and shapes included."""
    (ps, ss), (qs, rs) = ours, theirs
    for p, s, q, r in zip(ps, ss, qs, rs, strict=True):
        for name, a, b in [("param", p, q)] + [(k, s[k], r[k]) for k in keys]:
            assert (a.dtype, a.shape) == (b.dtype, b.shape), (name, a.dtype, b.dtype, a.shape, b.shape)
            assert torch.equal(bits(a), bits(b)), (name, a, b)


def as_numpy(tensor_list) -> list[np.ndarray]:
    return [t.detach().numpy().astype(np.float64) for t in tensor_list]
