"""One process of ``adamkit train --nproc N`` (started by :mod:`adamkit.train.launch`).

It reads the command's arguments from the environment, joins the process group and trains as
``adamkit train`` does. Kept apart from ``launch`` so that the command line (which imports
``launch`` for its flags) and the worker (which imports the command line's training) do not
import each other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from adamkit.errors import UsageError
from adamkit.train import cli
from adamkit.train.launch import ENV


def worker_main() -> int:
    """A worker: join the group, train as ``adamkit train`` does, errors printed by rank 0."""
    import torch.distributed as dist

    from adamkit.train.distributed import Runtime

    args = argparse.Namespace(**json.loads(os.environ[ENV]))
    runtime = Runtime.join(shard=args.shard)
    try:
        code = cli.train_here(args, runtime)
        runtime.barrier()  # no rank leaves while another still talks to it
        return code
    except UsageError as exc:  # every rank raises it (same input); rank 0 says it
        if runtime.is_main:
            print(f"adamkit: error: {exc}", file=sys.stderr)
        return 2
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(worker_main())
