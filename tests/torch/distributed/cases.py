"""What each rank runs in the distributed tests (importable by the spawned processes).

Every case trains a tiny MLP for a few steps on a global batch that the ranks split in two, and
returns the parameters it ends with; rank 0 also trains the same model in one process (no
process group involved) on the same global batches, each step's gradient the mean of the two
halves' gradients, which is what DDP's and FSDP2's gradient averaging computes.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

import adamkit.torch

STEPS = 4
GLOBAL_BATCH = 8
# Linear(64, 97): dim 0 does not divide over 2 ranks (uneven shards: 49 + 48 rows; the 8-bit
# case of the issue, whose shard boundary falls inside a 256-value block); Linear(97, 96): even.
SIZES = ((64, 97), (97, 96), (96, 4))
# Uneven shards whose boundary falls on a block boundary (49 rows x 256 = 49 blocks): the
# single-process 8-bit run quantizes the very same blocks, so it agrees to float rounding.
ALIGNED_SIZES = ((256, 97), (97, 4))


def make_model(sizes=SIZES, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(sizes):
        layers += [nn.Linear(n_in, n_out)] + ([nn.Tanh()] if i + 1 < len(sizes) else [])
    return nn.Sequential(*layers)


def batches(sizes=SIZES, steps: int = STEPS, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(GLOBAL_BATCH, sizes[0][0], generator=gen),
             torch.randn(GLOBAL_BATCH, sizes[-1][1], generator=gen)) for _ in range(steps)]


def loss_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((model(x) - y) ** 2).mean()


def optimizer(params, kwargs: dict) -> torch.optim.Optimizer:
    kwargs = dict(kwargs)
    cls = getattr(adamkit.torch, kwargs.pop("cls", "Adam"))
    return cls(params, lr=1e-2, **kwargs)


def full(t: torch.Tensor) -> torch.Tensor:
    return t.full_tensor().detach() if hasattr(t, "full_tensor") else t.detach().clone()


def params_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name.removeprefix("module."): full(p) for name, p in model.named_parameters()}


def train_local(model: nn.Module, opt: torch.optim.Optimizer, data, rank: int, world: int) -> None:
    """Each step on this rank's share of the global batch (the distributed wrapper averages)."""
    for x, y in data:
        opt.zero_grad(set_to_none=True)
        loss_of(model, x.chunk(world)[rank], y.chunk(world)[rank]).backward()
        opt.step()


def reference(kwargs: dict, world: int, sizes=SIZES) -> dict[str, torch.Tensor]:
    """Single-process training: each step's gradient is the mean of the ranks' halves."""
    model = make_model(sizes)
    opt = optimizer(model.parameters(), kwargs)
    for x, y in batches(sizes):
        grads = []
        for r in range(world):
            model.zero_grad(set_to_none=True)
            loss_of(model, x.chunk(world)[r], y.chunk(world)[r]).backward()
            grads.append([p.grad.clone() for p in model.parameters()])
        for p, *gs in zip(model.parameters(), *grads):
            p.grad = sum(g / world for g in gs)
        opt.step()
    return params_of(model)


def ddp(rank: int, world: int, configs: dict) -> dict:
    out = {}
    for name, kwargs in configs.items():
        model = nn.parallel.DistributedDataParallel(make_model())
        opt = optimizer(model.parameters(), kwargs)
        train_local(model, opt, batches(), rank, world)
        out[name] = {"dist": params_of(model),
                     "ref": reference(kwargs, world) if rank == 0 else None,
                     "paths": [str(p) for p in opt.paths()]}
    return out


def shard(model: nn.Module) -> nn.Module:
    from torch.distributed.fsdp import fully_shard

    for layer in model:
        if isinstance(layer, nn.Linear):
            fully_shard(layer)
    return fully_shard(model)


def fsdp(rank: int, world: int, configs: dict, sizes=SIZES) -> dict:
    out = {}
    for name, kwargs in configs.items():
        model = shard(make_model(sizes))
        opt = optimizer(model.parameters(), kwargs)
        train_local(model, opt, batches(sizes), rank, world)
        out[name] = {"dist": params_of(model),
                     # DTensor params take the rule path: the reference takes it too
                     "ref": reference({**kwargs, "fused": False}, world, sizes) if rank == 0 else None,
                     "paths": [str(p) for p in opt.paths()],
                     "local_state_numel": {k: v.to_local().numel() for k, v in
                                           opt.state[model[0].weight].items() if k != "step"}}
    return out


def zero(rank: int, world: int, configs: dict) -> dict:
    from torch.distributed.optim import ZeroRedundancyOptimizer

    out = {}
    for name, kwargs in configs.items():
        kwargs = dict(kwargs)
        bucket_view = kwargs.pop("parameters_as_bucket_view")
        cls = getattr(adamkit.torch, kwargs.pop("cls", "Adam"))
        model = nn.parallel.DistributedDataParallel(make_model())
        opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=cls, lr=1e-2,
                                      parameters_as_bucket_view=bucket_view, **kwargs)
        train_local(model, opt, batches(), rank, world)
        out[name] = {"dist": params_of(model),
                     "ref": reference(kwargs, world) if rank == 0 else None}
    return out


def dcp(rank: int, world: int, configs: dict, directory: str) -> dict:
    """FSDP2 + torch.distributed.checkpoint: train 2 steps, save, restore into a fresh model and
    optimizer, train 2 more steps on both; the two must end identically."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    out = {}
    data = batches()
    for name, kwargs in configs.items():
        model = shard(make_model())
        opt = optimizer(model.parameters(), kwargs)
        train_local(model, opt, data[:2], rank, world)
        path = f"{directory}/{name}"
        dcp.save({"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, opt)},
                 checkpoint_id=path)
        train_local(model, opt, data[2:], rank, world)

        restored = shard(make_model(seed=7))  # other weights: the checkpoint must bring them
        opt2 = optimizer(restored.parameters(), kwargs)
        before = params_of(restored)
        # DCP initialises a fresh optimizer's state with a step at lr=0 on zero gradients
        template = {"model": get_model_state_dict(restored),
                    "optim": get_optimizer_state_dict(restored, opt2)}
        init_state = [(k, full(v)) for s in opt2.state.values() for k, v in s.items()]
        init_params = params_of(restored)
        dist.barrier()
        dcp.load(template, checkpoint_id=path)
        set_model_state_dict(restored, template["model"])
        set_optimizer_state_dict(restored, opt2, template["optim"])
        train_local(restored, opt2, data[2:], rank, world)
        out[name] = {"original": params_of(model), "restored": params_of(restored),
                     "init_finite": all(bool(torch.isfinite(v.float()).all()) for _, v in init_state),
                     "init_unchanged": all(torch.equal(before[k], init_params[k]) for k in before),
                     "state_keys": sorted(k for s in opt2.state.values() for k in s),
                     "original_state": {k: full(v) for k, v in opt.state[model[0].weight].items()},
                     "restored_state": {k: full(v) for k, v in opt2.state[restored[0].weight].items()}}
    return out
