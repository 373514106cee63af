"""One of several training processes: what the trainer does differently there (:class:`Runtime`).

Started by :mod:`adamkit.train.launch` (``adamkit train --nproc N``), each process joins the
process group (gloo on CPU, nccl on GPU: one GPU per process), and the trainer asks its
:class:`Runtime` for everything that differs between processes:

- data: the epoch's order (a pure function of (seed, epoch), the same on every rank) is padded
  by wrapping around to a multiple of the world size, each global batch of ``--batch-size``
  examples is split rank by rank (rank ``r`` takes every world-th example from ``r``), as
  ``DistributedSampler`` does; ``--batch-size`` stays the global batch, so a recipe's learning
  rate holds at any world size;
- the model: ``DistributedDataParallel``, or ``fully_shard`` on each layer with parameters and
  the root (FSDP2; adamkit's optimizers update each rank's shard, see
  :mod:`adamkit.torch.fused.sharding`);
- files: only rank 0 writes metrics, summary, figures, the model and checkpoints. A checkpoint
  holds the full model and optimizer state (gathered from the shards with FSDP2) and every
  rank's RNG states and running sums; ``--resume`` reads it on rank 0 and sends it to the
  others, so only rank 0's machine needs the files;
- signals: a stop requested on any rank stops every rank after the same step.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist

from adamkit.errors import UsageError

DIAGNOSTICS_SHARDED = ("--diagnostics reads whole layers, which --shard splits over the "
                       "processes; valid: --diagnostics alone or with --nproc (DDP)")


class Runtime:
    """What a trainer does differently in one of several processes (see the module doc).
    ``Runtime()`` is the single process: every method is the identity."""

    def __init__(self, rank: int = 0, world: int = 1, shard: bool = False,
                 device: torch.device | None = None) -> None:
        self.rank, self.world, self.shard = rank, world, shard
        self.device = device or torch.device("cpu")

    @classmethod
    def join(cls, shard: bool) -> Runtime:
        cuda = torch.cuda.is_available()
        device = torch.device("cpu")
        if cuda:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if cuda else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), shard, device)

    @property
    def distributed(self) -> bool:
        return self.world > 1 or dist.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict | None:
        if not self.distributed:
            return None
        return {"world_size": self.world, "mode": "fsdp2" if self.shard else "ddp",
                "backend": dist.get_backend()}

    # -- data ----------------------------------------------------------------------------------
    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.world:
            raise UsageError(f"--batch-size {batch_size} is the global batch: it must be a "
                             f"multiple of the world size {self.world}")

    def padded(self, n: int) -> int:
        return n + (-n) % self.world

    def pad(self, order: torch.Tensor) -> torch.Tensor:
        extra = self.padded(len(order)) - len(order)
        return torch.cat([order, order[:extra]]) if extra else order

    def local(self, batch: torch.Tensor) -> torch.Tensor:
        return batch[self.rank::self.world]

    # -- model ---------------------------------------------------------------------------------
    def wrap(self, model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
        """``(module, for_training)``: the model to keep (its ``state_dict`` a single process's)
        and the one to call in training (DDP's wrapper; FSDP2 shards the model itself)."""
        model = model.to(self.device)
        if not self.distributed:
            return model, model
        if self.shard:
            from torch.distributed.fsdp import fully_shard

            for module in list(model.modules())[1:]:
                if any(True for _ in module.parameters(recurse=False)):
                    fully_shard(module)
            fully_shard(model)
            return model, model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return model, torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def model_state(self, model: torch.nn.Module) -> dict:
        if not self.shard:
            return model.state_dict()
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return get_model_state_dict(model, options=self._full())

    def optimizer_state(self, model: torch.nn.Module, optimizer: Any) -> dict:
        if not self.shard:
            return optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        return get_optimizer_state_dict(model, optimizer, options=self._full())

    def load(self, model: torch.nn.Module, optimizer: Any, state: dict) -> None:
        if not self.shard:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            return
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True)
        set_model_state_dict(model, state["model"], options=options)
        set_optimizer_state_dict(model, optimizer, state["optimizer"], options=options)

    @staticmethod
    def _full() -> Any:
        from torch.distributed.checkpoint.state_dict import StateDictOptions

        return StateDictOptions(full_state_dict=True, cpu_offload=True)

    # -- communication ---------------------------------------------------------------------------
    def sum_(self, *tensors: torch.Tensor) -> None:
        """All-reduce (sum) each tensor in place, across ranks."""
        if self.distributed:
            for t in tensors:
                on_device = t.to(self.device)  # nccl reduces GPU tensors only
                dist.all_reduce(on_device)
                t.copy_(on_device)

    def any(self, flag: bool) -> bool:
        if not self.distributed:
            return flag
        t = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def gather(self, obj: Any) -> list | None:
        """Every rank's ``obj``, in rank order (None in a single process)."""
        if not self.distributed:
            return None
        out: list = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def from_main(self, make: Any) -> Any:
        """``make()`` run on rank 0 and its result sent to every rank; a UsageError it raises is
        raised on every rank."""
        if not self.distributed:
            return make()
        box: list = [None]
        if self.is_main:
            try:
                box[0] = ("ok", make())
            except UsageError as exc:
                box[0] = ("error", str(exc))
        dist.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise UsageError(value)
        return value

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()
