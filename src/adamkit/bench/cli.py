"""``adamkit bench``: adamkit's Adam against torch.optim's, pair by pair, in one process."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adamkit import outdir, resources
from adamkit.errors import UsageError, choice

HELP = """\
Time one Adam step (or a training iteration, preset mlp) of adamkit.torch.Adam at each state
precision against torch.optim.Adam's for-loop, foreach and fused implementations, in one process:
every contender runs once per round in a rotating order, and the median over the rounds after
warm-up is reported, with its ratio to torch's fused Adam measured in the same rounds. Also:
achieved GB/s (bytes an Adam step must move / time) beside a streaming copy of a buffer as large
as the params, and optimizer state bytes per parameter.

presets: big (4 x 16M), transformer (~75M params in 276 tensors), many-small (2,000 x 1,000),
mlp (forward, backward, step, zero_grad of a deep MLP); --quick shrinks them (for CI).

examples:
  adamkit bench --preset many-small
  adamkit bench --preset all --rounds 15 --out runs/bench
  adamkit bench --preset big --contenders torch-fused,adamkit-fp32,adamkit-8bit --json
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="time adamkit's Adam against torch.optim's",
                              description=HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="all",
                   help="big, transformer, many-small, mlp (comma-separated), or all (default)")
    p.add_argument("--quick", action="store_true", help="small sizes (seconds; for CI)")
    p.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15, >= 10 for "
                   "figures you quote)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    p.add_argument("--contenders", default=None,
                   help="comma-separated subset of torch-forloop, torch-foreach, torch-fused, "
                        "adamkit-fp32, adamkit-bf16, adamkit-8bit (default: all)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads(N) first (adamkit's kernels follow torch's "
                        "setting); 1 is least sensitive to other load on a shared machine")
    p.add_argument("--json", action="store_true", help="print the results as JSON, not tables")
    p.add_argument("--out", type=Path, default=None,
                   help="also write DIR/bench.json (a DIR holding one is refused unless "
                        "--overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR/bench.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from adamkit.bench import presets
    from adamkit.bench.report import table
    from adamkit.bench.run import CONTENDERS, run_preset

    names = (list(presets.PRESETS) if args.preset == "all"
             else [n.strip() for n in args.preset.split(",") if n.strip()])
    if not names:
        raise choice("preset", args.preset, [*presets.PRESETS, "all"])
    for name in names:
        if name not in presets.PRESETS:
            raise choice("preset", name, [*presets.PRESETS, "all"])
    contenders = None
    if args.contenders:
        contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
        for c in contenders:
            if c not in CONTENDERS:
                raise choice("contender", c, CONTENDERS)
    if args.device not in ("cpu", "cuda"):
        raise choice("device", args.device, ["cpu", "cuda"])
    if args.rounds < 1:
        raise UsageError(f"--rounds must be >= 1, got {args.rounds}")
    if args.warmup < 0:
        raise UsageError(f"--warmup must be >= 0, got {args.warmup}")
    resources.check_threads(args.threads)
    if args.out is not None:  # before minutes of timing, not after
        outdir.check(args.out, ["bench.json"], overwrite=args.overwrite)
    _check_memory(names, len(set(contenders or CONTENDERS) | {"torch-fused"}), args)
    if args.out is not None:
        outdir.prepare(args.out, ["bench.json"], overwrite=args.overwrite)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    results = []
    for name in names:
        result = run_preset(presets.get(name, args.quick), contenders, rounds=args.rounds,
                            warmup=args.warmup, device=args.device, quiet=args.quiet)
        results.append(result)
        if not args.json:
            print(table(result) + "\n", flush=True)
    blob = {"command": "bench", "quick": args.quick, "results": results}
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
    resources.check_memory(
        need[biggest], f"--preset {biggest} with {contenders} contenders",
        f"choose a smaller preset ({', '.join(smaller)}), fewer --contenders, or --quick")
