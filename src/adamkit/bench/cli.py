"""``adamkit bench``: adamkit's optimizers against torch.optim's and others', pair by pair, in one
process."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adamkit import outdir, resources
from adamkit.errors import UsageError, choice

HELP = """\
Time one optimizer step (or a training iteration, preset mlp) of adamkit.torch's optimizers
against torch.optim's and other libraries', in one process: every contender runs once per round
in a rotating order, and the median over the rounds after warm-up is reported with its ratio to
torch's fused step of the same optimizer measured in the same rounds ("x fused"). Also: achieved
GB/s (bytes the step must move / time) and its fraction of a streaming copy of a buffer as large
as the params, timed in the same rounds ("x copy"); optimizer state bytes per parameter (with
adamkit's 8-bit state against its target of 2.1); which path each optimizer took.

contenders (default on cpu: all that run there and are installed; on cuda: the starred ones):
  Adam, against torch-fused:
    torch-forloop, torch-foreach*, torch-fused*   torch.optim.Adam(foreach=False / True, fused=True)
    adamkit-fp32*, adamkit-bf16*, adamkit-8bit*   adamkit.torch.Adam(state_precision=...)
    deepspeed-cpu      DeepSpeedCPUAdam(adamw_mode=False); cpu only; pip install -c
                       constraints.txt -e ".[bench]"; its first use JIT-builds a C++ op (~1 min)
    bnb-8bit*          bitsandbytes.optim.AdamW8bit(weight_decay=0); cuda only
    torchao-8bit*      torchao.optim.AdamW8bit(weight_decay=0); cuda only
  SGD, momentum 0.9, against torch-sgd-fused: torch-sgd-fused, adamkit-sgd-fused (fused=True)
  Adagrad, against torch-adagrad-fused: torch-adagrad-fused, adamkit-adagrad-fused (fused=True)
A contender whose library is not installed (or adamkit without that fused kernel) is left out
with one line on stderr saying so; the run goes on.

presets: big (4 x 16M), transformer (~75M params in 276 tensors), many-small (2,000 x 1,000),
mlp (forward, backward, step, zero_grad of a deep MLP); --quick shrinks them (for CI).

--device cuda (a CUDA GPU): torch.cuda.synchronize() before each clock read.

examples:
  adamkit bench --preset many-small
  adamkit bench --preset all --rounds 15 --out runs/bench
  adamkit bench --preset big --contenders torch-fused,adamkit-fp32,deepspeed-cpu --json
  adamkit bench --preset big --contenders torch-sgd-fused,adamkit-sgd-fused
  adamkit bench --device cuda --preset transformer
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="time adamkit's optimizers against torch.optim's "
                              "(and DeepSpeed's, bitsandbytes', torchao's)",
                              description=HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="all",
                   help="big, transformer, many-small, mlp (comma-separated), or all (default)")
    p.add_argument("--quick", action="store_true", help="small sizes (seconds; for CI)")
    p.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15, >= 10 for "
                   "figures you quote)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    p.add_argument("--contenders", default=None,
                   help="comma-separated names from the list above (default: every one that "
                        "runs on the device and is installed); the anchors are always added")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads(N) first (adamkit's kernels and DeepSpeed's op "
                        "follow torch's setting); 1 is least sensitive to other load on a shared "
                        "machine")
    p.add_argument("--json", action="store_true", help="print the results as JSON, not tables")
    p.add_argument("--out", type=Path, default=None,
                   help="also write DIR/bench.json (a DIR holding one is refused unless "
                        "--overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR/bench.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress messages")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from adamkit.bench import presets

    names = (list(presets.PRESETS) if args.preset == "all"
             else [n.strip() for n in args.preset.split(",") if n.strip()])
    if not names:
        raise choice("preset", args.preset, [*presets.PRESETS, "all"])
    for name in names:
        if name not in presets.PRESETS:
            raise choice("preset", name, [*presets.PRESETS, "all"])
    requested = None
    if args.contenders is not None:
        requested = [c.strip() for c in args.contenders.split(",") if c.strip()]
        if not requested:
            raise UsageError(f"--contenders names no contender: {args.contenders!r}")
    if args.device not in ("cpu", "cuda"):
        raise choice("device", args.device, ["cpu", "cuda"])
    if args.rounds < 1:
        raise UsageError(f"--rounds must be >= 1, got {args.rounds}")
    if args.warmup < 0:
        raise UsageError(f"--warmup must be >= 0, got {args.warmup}")
    resources.check_threads(args.threads)
    if args.out is not None:  # before minutes of timing, not after
        outdir.check(args.out, ["bench.json"], overwrite=args.overwrite)

    import torch

    from adamkit.bench import contenders as ctd
    from adamkit.bench.report import table
    from adamkit.bench.run import run_preset

    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device cuda: torch {torch.__version__} sees no CUDA GPU here; "
                         f"valid devices here: cpu")
    if args.threads is not None:  # before DeepSpeed's op loads, which keeps this setting
        torch.set_num_threads(args.threads)
    contenders, left_out = ctd.select(requested, args.device)
    for line in left_out.values():
        print(f"bench: {line}", file=sys.stderr, flush=True)
    _check_memory(names, len(contenders), args)
    if args.out is not None:
        outdir.prepare(args.out, ["bench.json"], overwrite=args.overwrite)
    contenders, failed = ctd.prepare(contenders, quiet=args.quiet)
    for line in failed.values():
        print(f"bench: {line}", file=sys.stderr, flush=True)
    left_out.update(failed)
    results = []
    for name in names:
        result = run_preset(presets.get(name, args.quick), contenders, rounds=args.rounds,
                            warmup=args.warmup, device=args.device, quiet=args.quiet)
        result["left_out"] = left_out
        results.append(result)
        if not args.json:
            print(table(result) + "\n", flush=True)
    blob = {"command": "bench", "quick": args.quick, "device": args.device,
            "contenders": contenders, "left_out": left_out, "results": results}
    if args.json:
        json.dump(blob, sys.stdout, indent=2)
        print()
    if args.out is not None:
        (args.out / "bench.json").write_text(json.dumps(blob, indent=2))
    return 0


def _check_memory(names: list[str], contenders: int, args) -> None:
    """Say how much memory the largest preset needs (presets run one after another), and refuse
    when it is more than the machine has available."""
    from adamkit.bench import presets

    need = {n: presets.memory_bytes(presets.get(n, args.quick), contenders) for n in names}
    biggest = max(need, key=need.__getitem__)
    if not args.quiet:
        print(f"bench: needs ~{resources.show(need[biggest])} of memory ({biggest}, "
              f"{contenders} contenders)", file=sys.stderr)
    smaller = [n for n in need if need[n] < need[biggest]] or ["--quick"]
    what = f"--preset {biggest} with {contenders} contenders"
    hint = f"choose a smaller preset ({', '.join(smaller)}), fewer --contenders, or --quick"
    if args.device == "cuda":  # the params and states live on the GPU
        import torch

        free = torch.cuda.mem_get_info()[0]
        gpu_need = need[biggest] - presets.BASE_BYTES
        if gpu_need > free:
            raise UsageError(f"{what} needs ~{resources.show(gpu_need)} of GPU memory, more than "
                             f"the {resources.show(free)} free on the GPU; {hint}")
        return
    resources.check_memory(need[biggest], what, hint)
