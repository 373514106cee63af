"""Load test of ``adamkit serve`` on loopback: N concurrent clients for S seconds, p50/p95 latency.

    python benchmarks/web_load.py [--clients 20] [--seconds 30]

Each client posts the page's commonest request (a 2-optimizer race of 300 steps) in a loop and
checks every answer against ``adamkit.lab.run``; a second kind of client asks for 1,024-cell
sensitivity maps. Prints the request count, failures and latency percentiles per kind.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading
import time

import numpy as np

sys.path.insert(0, ".")
from tests.web.conftest import post  # noqa: E402

from adamkit.lab import run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-m", "adamkit.cli", "serve"], stdout=subprocess.PIPE, text=True)
    url = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
    race = {"steps": 300, "optimizers": [{"name": "adam"}, {"name": "sgd"}]}
    want = run("rosenbrock", "adam", steps=300).path[0, -1].tolist()
    sweep = {"steps": 300, "optimizer": {"name": "adam"}, "x": {"name": "lr", "n": 32}, "y": {"name": "beta1", "n": 32}}
    times: dict[str, list[float]] = {"run": [], "sweep": []}
    failures: list[str] = []
    post(url + "api/sweep", sweep)  # warm
    deadline = time.perf_counter() + args.seconds

    def client(kind: str) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, out = post(url + f"api/{kind}", race if kind == "run" else sweep)
            times[kind].append(time.perf_counter() - t0)
            ok = status == 200 and (out["runs"][0]["path"][-1] == want if kind == "run" else out["configurations"] == 1024)
            if not ok:
                failures.append(f"{kind}: {status}")

    kinds = ["sweep" if i % 5 == 4 else "run" for i in range(args.clients)]
    threads = [threading.Thread(target=client, args=(k,)) for k in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    proc.terminate()
    proc.wait()
    print(f"{args.clients} clients ({kinds.count('run')} race, {kinds.count('sweep')} sweep) for {args.seconds:g} s; "
          f"failures: {len(failures)}")
    for kind, ts in times.items():
        a = np.array(ts) * 1000
        print(f"  {kind:5s} {a.size:5d} requests  p50 {np.percentile(a, 50):7.1f} ms  p95 {np.percentile(a, 95):7.1f} ms  max {a.max():7.1f} ms")
    everything = np.array(times["run"] + times["sweep"]) * 1000
    print(f"  all   p95 {np.percentile(everything, 95):.1f} ms")


if __name__ == "__main__":
    main()
