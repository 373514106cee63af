"""Run a function on 2 spawned processes joined by a gloo process group on 127.0.0.1.

``spawn(fn, *args)`` starts ``world`` fresh interpreters (the ``spawn`` start method; they inherit
``PYTHONPATH`` and ``sys.path``), each joins a gloo group on a free loopback port with one thread,
runs ``fn(rank, world, *args)`` and saves what it returns; ``spawn`` returns the list of results,
rank by rank. A worker's exception fails the test with its traceback.
"""

from __future__ import annotations

import os
import socket
import tempfile
from datetime import timedelta
from pathlib import Path

import torch
import torch.multiprocessing as mp

WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str, fn, args: tuple) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    # a rank whose peer died fails within minutes instead of gloo's 30-minute default
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(minutes=3))
    try:
        result = fn(rank, world, *args)
        torch.save(result, Path(out) / f"rank{rank}.pt")
        # No rank tears its gloo pairs down while a peer still works (rank 0 trains the
        # single-process reference after the others are done): doing so aborted a rank now
        # and then ("terminate called without an active exception", SIGABRT).
        dist.barrier()
    finally:
        dist.destroy_process_group()


def spawn(fn, *args, world: int = WORLD) -> list:
    with tempfile.TemporaryDirectory() as out:
        mp.start_processes(_worker, args=(world, free_port(), out, fn, args), nprocs=world,
                           start_method="spawn")
        return [torch.load(os.path.join(out, f"rank{r}.pt"), weights_only=False)
                for r in range(world)]
