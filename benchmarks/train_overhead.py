"""Benchmark: ``adamkit train``'s loop against a plain PyTorch loop on the same model and optimizer.

Work: ``--epochs`` epochs of the same model, optimizer (``adamkit.torch.Adam``), learning-rate
schedule, batches (``trainer.epoch_order``) and initial weights, with a test-set evaluation after
each epoch in both. The plain loop is what the seeds write (zero_grad, forward, loss, backward,
step, ``loss.item()``), plus the per-epoch evaluation. The trainer adds what it is for: running
metrics, the progress bar (rendered into a null stream, as on a terminal), metrics.jsonl, an
atomic fsync'ed checkpoint every epoch, and with ``--diagnostics`` Adam's internals every
``total_steps/100`` steps. Its fixed end-of-run cost (summary, model.pt; plots are skipped here
and timed once separately) is included in the trainer's time.

Method: both are built outside the timing; one warm-up of each, then ``--repeats`` rounds timed
alternately (plain, trainer, trainer without progress bar, trainer+diagnostics); the overhead is
the median over rounds of each round's ratio to its own plain run (robust to the load drifting on
a shared machine), with the medians of the times alongside.
Run: ``python benchmarks/train_overhead.py`` (``--workload mnist`` for the MNIST model on 28x28
inputs, ``--json`` for JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time

import torch

from adamkit.train import TrainConfig, Trainer, recipes, synthetic, tasks
from adamkit.train.datasets import Dataset
from adamkit.train.trainer import epoch_order, process_settings


def mnist_like(n_train: int, n_test: int) -> Dataset:
    """28x28 inputs the MNIST model accepts (timing only: the values do not matter)."""
    x, _ = synthetic.shapes(n_train + n_test, 28, seed=0)
    y = torch.randint(0, 10, (n_train + n_test,), generator=torch.Generator().manual_seed(0))
    return Dataset("mnist-like", "classification", x[:n_train], y[:n_train], x[n_train:],
                   y[n_train:], num_classes=10)


def plain_loop(trainer: Trainer) -> None:
    """The seeds' loop on the trainer's own model, optimizer, scheduler and data."""
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


def build(cfg: TrainConfig, ds: Dataset, out: str, progress: bool) -> Trainer:
    return Trainer(cfg, out, quiet=True, progress=progress, dataset=ds, plots=False)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=("digits", "mnist"), default="digits")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
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
    times: dict[str, list[float]] = {"plain": [], "trainer": [], "trainer, no progress bar": [],
                                     "trainer+diagnostics": []}

    def timed(kind: str) -> float:
        with tempfile.TemporaryDirectory() as out:
            trainer = build(cfg_diag if kind == "trainer+diagnostics" else cfg, ds, out,
                            progress=kind != "trainer, no progress bar")
            sink = io.StringIO()
            with contextlib.redirect_stderr(sink):
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
        trainer = build(cfg_diag, ds, out, progress=False)
        trainer.run()
        from adamkit.train import plots

        t0 = time.perf_counter()
        plots.curves(trainer.history, trainer.out / "c.png")
        plots.diagnostics(trainer.diagnostics.to_json(), trainer.out / "d.png")
        plot_seconds = time.perf_counter() - t0
    result = {
        "workload": args.workload, "model": cfg.model, "epochs": args.epochs,
        "steps": trainer.total_steps, "batch_size": cfg.batch_size, "threads": args.threads,
        "repeats": args.repeats, "median_seconds": med,
        "overhead_trainer": ratio["trainer"] - 1,
        "overhead_trainer_no_progress_bar": ratio["trainer, no progress bar"] - 1,
        "overhead_trainer_diagnostics": ratio["trainer+diagnostics"] - 1,
        "plots_seconds_once": plot_seconds,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.workload}: {cfg.model}, {args.epochs} epochs, {trainer.total_steps} steps, "
              f"batch {cfg.batch_size}, {args.threads} thread(s), medians of {args.repeats}")
        for k, v in med.items():
            print(f"  {k:<26} {v:8.3f} s   median of per-round ratios x{ratio[k]:.3f}")
        print(f"  overhead: trainer {100 * result['overhead_trainer']:+.1f}% (target <= 5%), "
              f"with diagnostics {100 * result['overhead_trainer_diagnostics']:+.1f}% "
              f"(target <= 10%); plots once {plot_seconds:.2f} s")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
