"""Benchmark: what ``adamkit train`` costs besides training, and adamkit's Adam against torch's.

Three parts (``--part``, default all):

``outside``: the time a whole ``adamkit train`` process spends outside its training loop, for
the default digits run (``adamkit train``: 12 epochs) and for the ``mnist`` recipe (3 epochs of
``mnist-cnn``) on synthetic 28x28 data written as raw IDX files at MNIST's size (60,000/10,000,
``--mnist-train``/``--mnist-test``), so the real loader reads them. Each is one fresh process
(``python -c`` running ``adamkit.cli.main``) whose phases are timed by wrapping the trainer's
functions: interpreter start and exit, imports and the command line, data, model and optimizer,
the checkpoints (the snapshot on the loop's thread, the wait for the last write), ``model.pt``,
figures, ``summary.json``. The loop is the epochs' training steps and test evaluations; its
first step is reported apart (lazy initialisation lands there).

``iterations``: a training iteration (zero_grad, forward, loss, backward, step) with
``adamkit.torch.Adam`` against ``torch.optim.Adam(fused=True)``, on the digits CNN (batch 32,
8x8) and the MNIST CNN (batch 64, 28x28 synthetic), same initial weights and batches. Paired
rounds of ``--iters`` iterations each, the order alternating; the result is the median over
rounds of each round's time ratio adamkit/torch (robust to load drifting on a shared machine).

``loop``: the trainer's loop against a plain PyTorch loop on the same model, optimizer,
schedule, batches and initial weights, with a test-set evaluation after each epoch in both. The
plain loop is what the seeds write (zero_grad, forward, loss, backward, step, ``loss.item()``).
The trainer adds running metrics, the progress bar (rendered into a null stream), metrics.jsonl,
a checkpoint every epoch and with ``--diagnostics`` Adam's internals. One warm-up, then
``--repeats`` alternated rounds; overhead = median of each round's ratio to its plain run.

Threads: torch's default (the trainer's) unless ``--threads N``.
Run: ``python benchmarks/train_overhead.py [--part outside,iterations,loop] [--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# nothing heavy at module level: the ``outside`` part runs this file's child in a fresh process
# and times its imports

PARTS = ("outside", "iterations", "loop")


# -- synthetic MNIST-size data ---------------------------------------------------------------
def mnist_arrays(n: int, seed: int):
    """uint8 28x28 images and labels with learnable content: class k is a bright k-th stripe on
    noise (as tests/train/conftest.py's files)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
    for k in range(10):
        rows = np.flatnonzero(labels == k)
        images[rows, 2 + 2 * k : 4 + 2 * k, 4:24] = 250
    return images, labels


def write_mnist_idx(directory: Path, n_train: int, n_test: int) -> Path:
    """Raw (not gzipped) IDX files under MNIST's names; raw files have no published checksum, so
    the loader checks their headers and sizes, as for any raw MNIST copy."""
    from adamkit.train import idx

    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = mnist_arrays(n, seed)
        idx.write(directory / f"{prefix}-images-idx3-ubyte", images)
        idx.write(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory


def mnist_like(n_train: int, n_test: int):
    """The same data as a Dataset, standardized as the MNIST loader does."""
    import torch

    from adamkit.train.datasets import Dataset, _standardize

    x_tr, y_tr = mnist_arrays(n_train, 0)
    x_te, y_te = mnist_arrays(n_test, 1)
    return Dataset("mnist-like", "classification",
                   _standardize(x_tr[:, None], (0.1307,), (0.3081,)),
                   torch.from_numpy(y_tr.astype("int64")),
                   _standardize(x_te[:, None], (0.1307,), (0.3081,)),
                   torch.from_numpy(y_te.astype("int64")), num_classes=10)


# -- part 1: time outside the loop ------------------------------------------------------------
CHILD = """
import importlib.util, json, time
t_wall, t0 = time.time(), time.perf_counter()
spec = importlib.util.spec_from_file_location("train_overhead", {bench_file!r})
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
phases = bench.install_timers()
from adamkit import cli
rc = cli.main({argv!r})
in_process = time.perf_counter() - t0
with open({report!r}, "w") as fh:
    json.dump({{"rc": rc, "start_wall": t_wall, "in_process": in_process, "phases": phases}}, fh)
"""


def install_timers() -> dict:
    """Wrap the trainer's phases; returns the dict the wrappers add their seconds to."""
    import threading

    import torch

    from adamkit.train import datasets, models, optim_factory, schedule_factory, tasks, trainer

    phases: dict = {"steps": []}
    state = {"in_finish": False}

    def timed(owner, name, key, when=None):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if when is not None and not when():
                return original(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - t0
                if key == "steps":
                    phases["steps"].append(seconds)
                else:
                    phases[key] = phases.get(key, 0.0) + seconds

        setattr(owner, name, wrapper)

    def finishing() -> bool:
        return state["in_finish"] and threading.current_thread() is threading.main_thread()

    timed(datasets, "load", "data")
    timed(models, "build", "model")
    timed(optim_factory, "build", "optimizer")
    timed(schedule_factory, "build", "optimizer")
    timed(trainer.Trainer, "__init__", "init")
    timed(trainer.Trainer, "run", "run")
    timed(trainer.Trainer, "_loop", "loop")
    timed(trainer.Trainer, "_train_step", "steps")
    timed(tasks, "evaluate", "evaluate")
    timed(trainer.Trainer, "save_checkpoint", "checkpoint_snapshots")
    timed(torch, "save", "model_pt", when=finishing)
    timed(trainer, "_write_json", "json_files", when=finishing)
    finish = trainer.Trainer._finish

    def finish_wrapper(self, *args, **kwargs):
        state["in_finish"] = True
        t0 = time.perf_counter()
        try:
            return finish(self, *args, **kwargs)
        finally:
            phases["finish"] = time.perf_counter() - t0
            state["in_finish"] = False

    trainer.Trainer._finish = finish_wrapper
    return phases


def outside_run(argv: list[str], env: dict | None = None) -> dict:
    """One ``adamkit train`` process, its phases in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        code = CHILD.format(bench_file=str(Path(__file__).resolve()), argv=argv, report=report)
        t_wall = time.time()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, **(env or {})})
        total = time.perf_counter() - t0
        if proc.returncode != 0 or not os.path.exists(report):
            raise SystemExit(f"child failed ({proc.returncode}): {proc.stderr[-2000:]}")
        with open(report) as fh:
            r = json.load(fh)
    p = r["phases"]
    steps = p.pop("steps")
    first_step_excess = steps[0] - statistics.median(steps[1:]) if len(steps) > 1 else 0.0
    start = r["start_wall"] - t_wall
    loop = p["loop"] - p.get("checkpoint_snapshots", 0.0)  # steps and evaluations
    run_rest = p["run"] - p["loop"] - p["finish"]  # folder, metrics.jsonl, the last write's wait
    breakdown = {
        "interpreter start": start,
        "imports and command line": r["in_process"] - p["init"] - p["run"],
        "data": p.get("data", 0.0),
        "model and optimizer": p.get("model", 0.0) + p.get("optimizer", 0.0),
        "rest of setup": p["init"] - p.get("data", 0.0) - p.get("model", 0.0)
        - p.get("optimizer", 0.0),
        "checkpoint snapshots (loop thread)": p.get("checkpoint_snapshots", 0.0),
        "folder, metrics, last checkpoint's wait": run_rest,
        "model.pt": p.get("model_pt", 0.0),
        "summary.json (and diagnostics.json)": p.get("json_files", 0.0),
        "figures and the rest of the end": p["finish"] - p.get("model_pt", 0.0)
        - p.get("json_files", 0.0),
        "interpreter exit": total - start - r["in_process"],
    }
    return {
        "argv": argv, "total_seconds": total, "loop_seconds": loop,
        "outside_seconds": total - loop, "breakdown": breakdown,
        "evaluation_seconds": p.get("evaluate", 0.0), "steps": len(steps),
        "median_step_ms": 1e3 * statistics.median(steps), "steps_seconds": sum(steps),
        "first_step_excess_seconds": first_step_excess,
    }


def import_floor() -> dict:
    """Seconds of a process that only imports torch and torch._dynamo (which every torch
    optimizer's constructor imports) and exits: the part of any run no trainer can remove."""
    seconds = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch, torch._dynamo"], check=True)
        seconds.append(time.perf_counter() - t0)
    return {"command": "python -c 'import torch, torch._dynamo'", "runs": seconds,
            "seconds": statistics.median(seconds)}


def part_outside(args) -> dict:
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    results: dict = {"floor": import_floor()}
    with tempfile.TemporaryDirectory() as tmp:
        results["digits"] = outside_run(["train", "--quiet", "--out", f"{tmp}/digits", *threads])
        data = write_mnist_idx(Path(tmp, "mnist"), args.mnist_train, args.mnist_test)
        results["mnist"] = outside_run(["train", "--recipe", "mnist", "--data-dir", str(data),
                                        "--quiet", "--out", f"{tmp}/mnist-run", *threads])
    return results


def print_outside(results: dict) -> None:
    floor = results["floor"]
    print(f"floor: {floor['command']}: {floor['seconds']:.2f} s (median of 3)")
    for name, r in results.items():
        if name == "floor":
            continue
        print(f"{name}: adamkit {' '.join(r['argv'])}\n  {r['total_seconds']:.2f} s in all, "
              f"loop {r['loop_seconds']:.2f} s ({r['steps']} steps, median "
              f"{r['median_step_ms']:.2f} ms, all steps {r['steps_seconds']:.2f} s; evaluation "
              f"{r['evaluation_seconds']:.2f} s), outside the loop {r['outside_seconds']:.2f} s:")
        for k, v in r["breakdown"].items():
            print(f"  {k:<42} {v:7.3f} s")
        print(f"  (first step's excess over the median step, inside the loop: "
              f"{r['first_step_excess_seconds']:.3f} s)")


# -- part 2: adamkit's Adam against torch's fused Adam ----------------------------------------
def _iteration_seconds(model, opt, batches, loss_fn) -> float:
    """Mean seconds of one training iteration over ``batches``."""
    t0 = time.perf_counter()
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn("classification", model(x), y)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / len(batches)


def part_iterations(args) -> dict:
    import copy

    import torch

    import adamkit.torch
    from adamkit.train import TrainConfig, datasets, models, tasks
    from adamkit.train.trainer import process_settings

    cfg = TrainConfig(threads=args.threads)
    results = {}
    with process_settings(cfg):
        threads = torch.get_num_threads()
        for name, model_name, batch in (("digits", "digits-cnn", 32), ("mnist", "mnist-cnn", 64)):
            ds = datasets.load("digits") if name == "digits" else mnist_like(batch * 8, batch)
            torch.manual_seed(0)
            base = models.build(model_name, ds)
            gen = torch.Generator().manual_seed(0)
            batches = []
            for _ in range(args.iters):
                idx = torch.randint(0, len(ds.x_train), (batch,), generator=gen)
                batches.append((ds.x_train[idx], ds.y_train[idx]))
            runs = {}
            for label in ("adamkit", "torch fused"):
                model = copy.deepcopy(base).train()
                opt = (adamkit.torch.Adam(model.parameters(), lr=1e-3) if label == "adamkit"
                       else torch.optim.Adam(model.parameters(), lr=1e-3, fused=True))
                runs[label] = (model, opt)

            for label in runs:  # warm-up (the fused engine's first step builds its layout)
                _iteration_seconds(*runs[label], batches, tasks.loss)
            times: dict[str, list[float]] = {label: [] for label in runs}
            for r in range(args.rounds):
                for label in (("adamkit", "torch fused") if r % 2 == 0
                              else ("torch fused", "adamkit")):
                    times[label].append(_iteration_seconds(*runs[label], batches, tasks.loss))
            ratios = [a / t for a, t in zip(times["adamkit"], times["torch fused"], strict=True)]
            results[name] = {
                "model": model_name, "batch_size": batch, "iters_per_round": args.iters,
                "rounds": args.rounds, "threads": threads,
                "median_ms": {k: 1e3 * statistics.median(v) for k, v in times.items()},
                "ratio_adamkit_over_torch_fused": statistics.median(ratios),
                "ratio_quartiles": statistics.quantiles(ratios, n=4) if len(ratios) > 1 else None,
            }
    return results


def print_iterations(results: dict) -> None:
    for name, r in results.items():
        q = r["ratio_quartiles"]
        spread = f" (quartiles {q[0]:.3f}-{q[2]:.3f})" if q else ""
        print(f"{name}: {r['model']}, batch {r['batch_size']}, {r['threads']} thread(s), "
              f"{r['rounds']} paired rounds of {r['iters_per_round']} iterations: adamkit "
              f"{r['median_ms']['adamkit']:.3f} ms, torch fused "
              f"{r['median_ms']['torch fused']:.3f} ms per iteration; median ratio "
              f"x{r['ratio_adamkit_over_torch_fused']:.3f}{spread}")


# -- part 3: the trainer's loop against a plain loop -----------------------------------------
def plain_loop(trainer) -> None:
    """The seeds' loop on the trainer's own model, optimizer, scheduler and data."""
    import torch

    from adamkit.train import tasks
    from adamkit.train.trainer import epoch_order

    cfg, ds, model, opt, sched = trainer.cfg, trainer.ds, trainer.model, trainer.optimizer, \
        trainer.scheduler
    model.train()
    for epoch in range(cfg.epochs):
        order = epoch_order(len(ds.x_train), cfg.seed, epoch)
        losses = []
        for b in range(trainer.steps_per_epoch):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            x, y = ds.x_train[idx], ds.y_train[idx]
            out = model(x)
            loss = tasks.loss(ds.task, out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            correct = 0
            for i in range(0, len(ds.x_test), cfg.eval_batch_size):
                out = model(ds.x_test[i : i + cfg.eval_batch_size])
                correct += int((out.argmax(1) == ds.y_test[i : i + cfg.eval_batch_size]).sum())
        model.train()


def part_loop(args) -> dict:
    from adamkit.train import TrainConfig, Trainer, recipes
    from adamkit.train.trainer import process_settings

    if args.workload == "digits":
        base = {**recipes.get("digits"), "epochs": args.epochs}
        ds = None
    else:
        base = {**recipes.get("mnist"), "epochs": args.epochs, "dataset": "digits"}
        ds = mnist_like(4096, 1024)
    base["threads"] = args.threads
    cfg = TrainConfig.from_dict(base)
    cfg_diag = TrainConfig.from_dict({**base, "diagnostics": True})
    if ds is None:
        ds = Trainer(cfg, tempfile.mkdtemp(), quiet=True).ds

    def build(c, out, progress):
        return Trainer(c, out, quiet=True, progress=progress, dataset=ds, plots=False)

    times: dict[str, list[float]] = {"plain": [], "trainer": [], "trainer, no progress bar": [],
                                     "trainer+diagnostics": []}

    def timed(kind: str) -> float:
        with tempfile.TemporaryDirectory() as out:
            trainer = build(cfg_diag if kind == "trainer+diagnostics" else cfg, out,
                            progress=kind != "trainer, no progress bar")
            with contextlib.redirect_stderr(io.StringIO()):
                t0 = time.perf_counter()
                if kind == "plain":
                    with process_settings(cfg):  # the trainer's threads and denormal mode
                        plain_loop(trainer)
                else:
                    trainer.run()
                return time.perf_counter() - t0

    for kind in times:  # warm-up
        timed(kind)
    for _ in range(args.repeats):
        for kind in times:
            times[kind].append(timed(kind))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = {k: statistics.median(t / p for t, p in zip(v, times["plain"], strict=True))
             for k, v in times.items()}
    with tempfile.TemporaryDirectory() as out:
        trainer = build(cfg_diag, out, progress=False)
        trainer.run()
        from adamkit.train import plots

        t0 = time.perf_counter()
        plots.curves(trainer.history, trainer.out / "c.png")
        plots.diagnostics(trainer.diagnostics.to_json(), trainer.out / "d.png")
        plot_seconds = time.perf_counter() - t0
    return {
        "workload": args.workload, "model": cfg.model, "epochs": args.epochs,
        "steps": trainer.total_steps, "batch_size": cfg.batch_size,
        "threads": trainer.threads if hasattr(trainer, "threads") else cfg.threads,
        "repeats": args.repeats, "median_seconds": med, "ratios": ratio,
        "overhead_trainer": ratio["trainer"] - 1,
        "overhead_trainer_no_progress_bar": ratio["trainer, no progress bar"] - 1,
        "overhead_trainer_diagnostics": ratio["trainer+diagnostics"] - 1,
        "plots_seconds_once": plot_seconds,
    }


def print_loop(r: dict) -> None:
    print(f"{r['workload']}: {r['model']}, {r['epochs']} epochs, {r['steps']} steps, "
          f"batch {r['batch_size']}, {r['threads']} thread(s), medians of {r['repeats']}")
    for k, v in r["median_seconds"].items():
        print(f"  {k:<26} {v:8.3f} s   median of per-round ratios x{r['ratios'][k]:.3f}")
    print(f"  overhead: trainer {100 * r['overhead_trainer']:+.1f}% (target <= 5%), "
          f"with diagnostics {100 * r['overhead_trainer_diagnostics']:+.1f}% "
          f"(target <= 10%); plots once {r['plots_seconds_once']:.2f} s")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default=",".join(PARTS),
                    help=f"comma-separated parts to run, of {', '.join(PARTS)} (default all)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's, as adamkit train)")
    ap.add_argument("--mnist-train", type=int, default=60000, help="outside: training images")
    ap.add_argument("--mnist-test", type=int, default=10000, help="outside: test images")
    ap.add_argument("--rounds", type=int, default=15, help="iterations: paired rounds")
    ap.add_argument("--iters", type=int, default=30, help="iterations: iterations per round")
    ap.add_argument("--workload", choices=("digits", "mnist"), default="digits",
                    help="loop: digits, or the MNIST model on 4096 synthetic 28x28 images")
    ap.add_argument("--epochs", type=int, default=3, help="loop: epochs")
    ap.add_argument("--repeats", type=int, default=20, help="loop: rounds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.part.split(",") if p.strip()]
    for p in parts:
        if p not in PARTS:
            ap.error(f"--part {p!r}: valid parts are {', '.join(PARTS)}")
    result: dict = {}
    for p in parts:
        result[p] = {"outside": part_outside, "iterations": part_iterations,
                     "loop": part_loop}[p](args)
        if not args.json:
            {"outside": print_outside, "iterations": print_iterations,
             "loop": print_loop}[p](result[p])
    if args.json:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
