"""DTensor (FSDP2) parameters: the rule runs on each rank's local shard; the state stays DTensors.

Under ``torch.distributed.fsdp.fully_shard`` every parameter is a ``DTensor`` whose local tensor
is this rank's shard (``Shard(0)``, uneven where dim 0 does not divide). An update is elementwise,
so each rank updates its own shard with its own gradient shard, and nothing is communicated. The
state of such a parameter is kept as DTensors over the same mesh, so that
``torch.distributed.checkpoint`` (``get_/set_optimizer_state_dict``) saves and restores it sharded:

- moments of the parameter's shape (fp32, bf16) have the parameter's placements;
- 8-bit codes (``exp_avg``, ...) and their ``*_absmax`` follow the *local* shard: each rank's shard
  is quantized in blocks of its own (a block never spans two ranks), padded to the blocks of the
  largest shard, so every rank holds the same number of codes and the codes are an evenly sharded
  1-D DTensor (``Shard(0)`` where the parameter is sharded). Whether a parameter gets 8-bit states
  at all is decided on its global size (``codecs.MIN_8BIT_NUMEL``), so every rank agrees. Such a
  checkpoint restores onto the same mesh (the blocks are the shards').
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch

from adamkit.torch.fused import codecs

try:
    from torch.distributed.tensor import DTensor, Replicate, Shard
except ImportError:  # a torch built without distributed: no parameter is a DTensor
    DTensor = None  # type: ignore[assignment,misc]


def is_dtensor(t: Any) -> bool:
    return DTensor is not None and isinstance(t, DTensor)


def local(t: Any) -> Any:
    """This rank's tensor of ``t`` (``t`` itself when it is not a DTensor); shares its storage."""
    if not is_dtensor(t):
        return t
    with torch.no_grad():
        return t.to_local()


def localize(state: dict) -> dict:
    """``state`` with every DTensor replaced by its local tensor (the same storage)."""
    return {k: local(v) for k, v in state.items()}


@contextlib.contextmanager
def on_shard(state: dict, param: Any) -> Iterator[tuple[Any, dict]]:
    """``(this rank's tensor of param, state with local tensors)``; what the body changes in that
    local state is written back into ``state`` on exit (:func:`sync`). For a plain tensor, the
    tensor and ``state`` themselves: the one place DTensor params are handled."""
    if not is_dtensor(param):
        yield param, state
        return
    local_state = localize(state)
    yield local(param), local_state
    sync(state, local_state, param)


def sync(state: dict, local_state: dict, param: Any) -> None:
    """Write ``local_state`` (a :func:`localize` of ``state`` the rule changed) back into ``state``:
    entries updated in place are already there; new or replaced ones become DTensors like
    ``param``'s; removed ones go."""
    for key in [k for k in state if k not in local_state]:
        del state[key]
    for key, value in local_state.items():
        current = state.get(key)
        if value is current or (is_dtensor(current) and local(current) is value):
            continue
        state[key] = _wrap(key, value, param, local_state) if is_dtensor(param) else value


def _wrap(key: str, value: Any, param: Any, local_state: dict) -> Any:
    if not torch.is_tensor(value) or key == "step" or value.dim() == 0:
        return value  # step counts and scalars are the same on every rank
    mesh = param.device_mesh
    coded = key.endswith("_absmax") or (key in codecs.MOMENT_KEYS and f"{key}_absmax" in local_state)
    if not coded:
        return DTensor.from_local(value, mesh, param.placements, run_check=False,
                                  shape=param.shape, stride=param.stride())
    blocks = codecs.n_blocks(largest_shard_numel(param))
    length = blocks if key.endswith("_absmax") else blocks * codecs.BLOCK
    if value.numel() < length:  # a smaller shard: padded to the largest one's blocks
        value = torch.cat([value, value.new_zeros(length - value.numel())])
    placements = [Shard(0) if p.is_shard() else Replicate() for p in param.placements]
    ranks = math.prod(mesh.size(i) for i, p in enumerate(param.placements) if p.is_shard())
    return DTensor.from_local(value, mesh, placements, run_check=False,
                              shape=torch.Size([length * ranks]), stride=(1,))


def largest_shard_numel(param: Any) -> int:
    """Elements of the largest local shard of ``param`` (torch.chunk's split: the first is largest)."""
    shape = list(param.shape)
    for i, placement in enumerate(param.placements):
        if placement.is_shard():
            shape[placement.dim] = -(-shape[placement.dim] // param.device_mesh.size(i))
    return math.prod(shape)
