"""``adamkit train --nproc N``: DDP, or FSDP2 with ``--shard``, through torch's elastic launcher.

The command starts torch's elastic agent (``torch.distributed.run``, what ``torchrun`` runs) with
``N`` processes per node; the multi-node flags (``--nnodes``, ``--node-rank``, ``--master-addr``,
``--master-port``, ``--rdzv-backend``, ``--rdzv-endpoint``, ``--rdzv-id``) are torchrun's, passed
through, so the same command run on each machine trains on all of them. On one node without
them, rank 0 listens on 127.0.0.1 at a free port. Each process runs ``python -m
adamkit.train.worker``, which reads the command's arguments from the environment and trains as
``adamkit train`` does, with a :class:`~adamkit.train.distributed.Runtime` (data, model wrapping,
checkpoints, files: see there). This module loads no torch until it launches.
"""

from __future__ import annotations

import argparse
import json
import os
import socket

from adamkit.errors import UsageError

ENV = "ADAMKIT_TRAIN_ARGS"  # the launcher's parsed arguments, for its workers
LAUNCH_FLAGS = ("nnodes", "node_rank", "master_addr", "master_port", "rdzv_backend",
                "rdzv_endpoint", "rdzv_id")


def add_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("distributed (torch's elastic launcher; torchrun's flags)")
    g.add_argument("--nproc", type=int, metavar="N",
                   help="train with N processes per node (DDP; gloo on CPU, nccl on GPU)")
    g.add_argument("--shard", action="store_true",
                   help="with --nproc: shard parameters, gradients and optimizer state (FSDP2)")
    g.add_argument("--nnodes", metavar="N|MIN:MAX", help="number of nodes (default 1)")
    g.add_argument("--node-rank", dest="node_rank", type=int, metavar="R",
                   help="this node's rank, 0..nnodes-1 (static rendezvous)")
    g.add_argument("--master-addr", dest="master_addr", metavar="HOST",
                   help="rank 0's node (default 127.0.0.1)")
    g.add_argument("--master-port", dest="master_port", type=int, metavar="PORT",
                   help="its port (default: a free one on a single node, else 29500)")
    g.add_argument("--rdzv-backend", dest="rdzv_backend", metavar="NAME",
                   help="rendezvous backend: static (default) or c10d (elastic)")
    g.add_argument("--rdzv-endpoint", dest="rdzv_endpoint", metavar="HOST:PORT")
    g.add_argument("--rdzv-id", dest="rdzv_id", metavar="ID", help="the job's id (c10d)")


def requested(args: argparse.Namespace) -> bool:
    """Whether to launch; a UsageError for distributed flags that do not go together."""
    given = [f"--{k.replace('_', '-')}" for k in LAUNCH_FLAGS if getattr(args, k, None) is not None]
    if args.shard:
        given.insert(0, "--shard")
    if args.nproc is None:
        if given:
            raise UsageError(f"{given[0]} needs --nproc N (processes per node, N >= 1); "
                             "valid: --nproc N alone (DDP) or with --shard (FSDP2)")
        return False
    if args.nproc < 1:
        raise UsageError(f"--nproc must be >= 1 (processes per node), got {args.nproc}")
    if args.node_rank is not None and args.node_rank < 0:
        raise UsageError(f"--node-rank must be >= 0, got {args.node_rank}")
    if args.master_port is not None and not 0 < args.master_port < 65536:
        raise UsageError(f"--master-port must be 1..65535, got {args.master_port}")
    if args.rdzv_backend not in (None, "static", "c10d"):
        raise UsageError(f"--rdzv-backend {args.rdzv_backend!r}; valid: static, c10d")
    return True


def check_world(args: argparse.Namespace, batch_size: int) -> None:
    """What can be checked before launching: the global batch splits over a known world size
    (the workers check it again where ``--nnodes`` is a range)."""
    nnodes = args.nnodes or "1"
    if nnodes.isdigit() and batch_size % (int(nnodes) * args.nproc):
        world = int(nnodes) * args.nproc
        raise UsageError(f"--batch-size {batch_size} is the global batch: it must be a multiple "
                         f"of the world size {world} (--nnodes {nnodes} x --nproc {args.nproc})")


def launch(args: argparse.Namespace) -> int:
    """Run this command's workers through torch's elastic agent; their exit status."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch
    from torch.distributed.run import config_from_args, get_args_parser

    nnodes = args.nnodes or "1"
    single = nnodes == "1" and all(getattr(args, k) is None for k in LAUNCH_FLAGS[1:])
    port = args.master_port or (_free_port() if single else 29500)
    argv = ["--nproc-per-node", str(args.nproc), "--nnodes", nnodes,
            "--node-rank", str(args.node_rank or 0),
            "--master-addr", args.master_addr or "127.0.0.1", "--master-port", str(port),
            "--rdzv-backend", args.rdzv_backend or "static"]
    if args.rdzv_endpoint:
        argv += ["--rdzv-endpoint", args.rdzv_endpoint]
    if args.rdzv_id:
        argv += ["--rdzv-id", args.rdzv_id]
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default (--threads sets torch's)
    try:
        torchrun = get_args_parser().parse_args([*argv, "-m", "adamkit.train.worker"])
        config, cmd, cmd_args = config_from_args(torchrun)
    except (SystemExit, AssertionError, ValueError) as exc:
        raise UsageError(f"--nnodes {nnodes!r}: {exc}; valid: N or MIN:MAX, 1 <= MIN <= MAX") \
            from None
    os.environ[ENV] = json.dumps({k: v for k, v in vars(args).items() if k != "func"})
    try:
        elastic_launch(config, cmd)(*cmd_args)
    except ChildFailedError as exc:
        codes = [f.exitcode for f in exc.failures.values()]
        return next((c for c in codes if c in (2, 130)), max(codes[0], 1))
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
