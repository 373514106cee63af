"""``torch.compile(opt.step)``: adamkit's Adam against torch's, both compiled, in paired rounds.

    python benchmarks/compiled_step.py [--rounds 15] [--tensors 20] [--size 512]

Params: ``--tensors`` float32 matrices of ``--size`` x ``--size``, each with a gradient. Contenders,
each its own optimizer over its own copy of the params, run once per round in turn (medians after
3 warm-up rounds, compilation excluded): ``torch.optim.Adam`` and ``adamkit.torch.Adam`` compiled
with inductor (the default backend), and, for scale, torch's eager ``fused=True`` step and
adamkit's eager step (its fused engine). Ratios are to torch's compiled step.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import adamkit.torch as ak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    ap.add_argument("--tensors", type=int, default=20, help="number of param matrices (default 20)")
    ap.add_argument("--size", type=int, default=512, help="each matrix is SIZE x SIZE (default 512)")
    args = ap.parse_args()

    def params() -> list[torch.nn.Parameter]:
        gen = torch.Generator().manual_seed(0)
        shape = (args.size, args.size)
        ps = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for _ in range(args.tensors)]
        for p in ps:
            p.grad = torch.randn(p.shape, generator=gen)
        return ps

    torch_compiled = torch.optim.Adam(params(), lr=1e-3)
    ours_compiled = ak.Adam(params(), lr=1e-3)
    contenders = {
        "torch.optim.Adam compiled": torch.compile(torch_compiled.step),
        "adamkit.torch.Adam compiled": torch.compile(ours_compiled.step),
        "torch.optim.Adam(fused=True) eager": torch.optim.Adam(params(), lr=1e-3, fused=True).step,
        "adamkit.torch.Adam eager": ak.Adam(params(), lr=1e-3).step,
    }
    for name, step in contenders.items():  # compile (and Numba's first call) outside the timing
        t0 = time.perf_counter()
        step()
        print(f"{name}: first step {time.perf_counter() - t0:.1f} s", flush=True)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(3 + args.rounds):
        for name, step in contenders.items():
            t0 = time.perf_counter()
            step()
            if r >= 3:
                times[name].append(time.perf_counter() - t0)
    anchor = statistics.median(times["torch.optim.Adam compiled"])
    print(f"{args.tensors} x {args.size}x{args.size} params, median of {args.rounds} rounds, "
          f"{torch.get_num_threads()} threads")
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f"  {name:38s} {median * 1e3:8.2f} ms   {median / anchor:6.3f}x torch compiled")


if __name__ == "__main__":
    main()
