"""The training loop behind ``adamkit train``: reproducible, resumable to the bit, observable.

Reproducibility: the seed fixes the model's initial weights (torch's global RNG), the data order
(epoch ``e`` shuffles with its own generator seeded by ``(seed, e)``, independent of anything else
that draws random numbers) and dropout (torch's global RNG, saved in every checkpoint). The thread
count (``cfg.threads``, or torch's default count when None) is set with ``torch.set_num_threads``
for the run and recorded in ``summary.json`` and every checkpoint; a resume uses the recorded
count, since a different count may sum in a different order.

Resumability: a checkpoint holds model, optimizer and scheduler state, every RNG state, the
position in the epoch (next batch index), the step, the epoch's running sums, the metrics so far
and the config. Resuming from any batch boundary replays exactly what the uninterrupted run
would have done next, so final weights and metrics are bitwise equal (only wall-clock fields
differ). SIGINT/SIGTERM finish the current step, write a checkpoint and stop (exit status 130).
"""

from __future__ import annotations

import json
import platform
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import adamkit
from adamkit import resources
from adamkit.errors import HyperparameterError, UsageError
from adamkit.train import checkpoint, datasets, models, optim_factory, schedule_factory, tasks
from adamkit.train.config import TrainConfig
from adamkit.train.distributed import DIAGNOSTICS_SHARDED, Runtime

TIMING_FIELDS = ("seconds", "samples_per_second")  # the only fields a resume may change
# what a run writes into its folder: their presence marks an earlier run (see adamkit.outdir)
OUTPUTS = ("metrics.jsonl", "summary.json", "model.pt", "curves.png", "diagnostics.json",
           "diagnostics.png", "checkpoints")


@dataclass
class RunResult:
    out: Path
    summary: dict
    history: list[dict]
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)


class StopRequest:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step; a second signal aborts."""

    def __init__(self):
        self.signum: int | None = None

    def __call__(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self  # signals can only be caught on the main thread
            return
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of the training set for ``epoch``: a pure function of (seed, epoch)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


def versions() -> dict:
    return {
        "adamkit": adamkit.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def flushes_denormals() -> bool:
    """Whether this thread flushes subnormal floats to zero (torch has a setter, no getter)."""
    return float(torch.tensor([1e-40], dtype=torch.float32).mul(1.0)[0]) == 0.0


def check_threads(n) -> None:
    """A UsageError naming the value unless ``n`` is None (torch's default) or a valid count."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
        raise UsageError(f"--threads must be a positive integer, got {n!r}")
    resources.check_threads(n)


@contextmanager
def process_settings(cfg: TrainConfig, threads: int | None = None):
    """``torch.set_num_threads`` (``threads``, else ``cfg.threads``, else the count torch has now)
    and ``torch.set_flush_denormal(cfg.flush_denormal)`` for the duration of a run, restored
    afterwards (they are process-wide)."""
    before, flush = torch.get_num_threads(), flushes_denormals()
    torch.set_num_threads(threads or cfg.threads or before)
    torch.set_flush_denormal(cfg.flush_denormal)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.set_flush_denormal(flush)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    tmp.replace(path)


def _json_default(obj):
    if isinstance(obj, tuple | Path):
        return list(obj) if isinstance(obj, tuple) else str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


class Trainer:
    """One run: build everything from the config, optionally restore a checkpoint, train."""

    def __init__(self, cfg: TrainConfig, out: str | Path, *, quiet: bool = False,
                 log_every: int = 0, progress: bool | None = None, dataset=None,
                 plots: bool = True, runtime: Runtime | None = None,
                 on_epoch: Callable[[dict], None] | None = None):
        if cfg.epochs < 1:
            raise UsageError(f"--epochs must be >= 1, got {cfg.epochs}")
        if cfg.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {cfg.batch_size}")
        check_threads(cfg.threads)
        self.runtime = rt = runtime or Runtime()  # one process of several: see .distributed
        rt.check_batch(cfg.batch_size)
        if cfg.diagnostics and rt.shard:
            raise UsageError(DIAGNOSTICS_SHARDED)
        if log_every < 0:
            raise UsageError(f"--log-every {log_every} must be >= 1 (a line every N batches) "
                             "or 0 (off)")
        self.cfg, self.out = cfg, Path(out)
        # the count this run uses: the config's, else torch's default (a resume: the checkpoint's)
        self.threads: int = cfg.threads if cfg.threads is not None else torch.get_num_threads()
        self.quiet, self.log_every, self.plots = quiet, log_every, plots
        # called with each epoch's record once it is checkpointed (the tuner reports it to
        # Optuna, whose pruner may stop the run by raising from here)
        self.on_epoch = on_epoch
        self.progress = (not quiet and sys.stderr.isatty()) if progress is None else progress
        _seed_everything(cfg.seed)
        self.ds = dataset or datasets.load(cfg.dataset, cfg.data_dir, **cfg.dataset_options)
        # ``model`` is the model itself (sharded in place by FSDP2), ``train_model`` what a
        # training step calls (DDP's wrapper)
        self.model, self.train_model = rt.wrap(
            models.build(cfg.model, self.ds, sparse=cfg.optimizer == "sparse_adam"))
        try:
            self.optimizer, self.clip = optim_factory.build(
                cfg.optimizer, self.model.parameters(), cfg.optimizer_options()
            )
        except UsageError:
            raise
        except ValueError as exc:  # torch.optim's convention: a bad hyperparameter value
            raise HyperparameterError(str(exc)) from None
        n = rt.padded(len(self.ds.x_train))  # every rank takes as many examples
        self.steps_per_epoch = -(-n // cfg.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.scheduler = schedule_factory.build(
            cfg.schedule, self.optimizer, self.steps_per_epoch, self.total_steps, cfg.warmup_epochs
        )
        self.diagnostics = None
        if cfg.diagnostics:
            from adamkit.train.diagnostics import Diagnostics

            # ~50 samples a run, at most one per 20 steps: enough points for a curve, and the
            # sampling costs a few percent of training (benchmarks/train_overhead.py)
            every = cfg.diagnostics_every or max(20, self.total_steps // 50)
            self.diagnostics = Diagnostics(self.model, self.optimizer, cfg.optimizer, every)
        # position and running state (replaced by a checkpoint on resume)
        self.epoch, self.batch, self.step = 0, 0, 0
        self.history: list[dict] = []
        self.elapsed = 0.0
        self._reset_accumulators()
        self.warnings: list[str] = []
        self.resumed_from: str | None = None
        self.writer = checkpoint.BackgroundWriter()

    # -- state ------------------------------------------------------------------------------
    def _reset_accumulators(self) -> None:
        self.acc: dict[str, Any] = {
            "loss_sum": torch.zeros((), dtype=torch.float64),
            "correct": torch.zeros((), dtype=torch.int64),
            "seen": 0,
        }

    def state(self) -> dict:
        return {
            "format": "adamkit-train",
            "config": self.cfg.to_dict(),
            "threads": self.threads,
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "model": self.runtime.model_state(self.model),
            "optimizer": self.runtime.optimizer_state(self.model, self.optimizer),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": checkpoint.rng_states(),
            "accumulators": dict(self.acc),
            "history": self.history,
            "diagnostics": self.diagnostics.state() if self.diagnostics else None,
            "elapsed": self.elapsed,
            "distributed": self.runtime.describe(),
            # each rank's own: the RNGs and the running sums of its examples (None: one process)
            "ranks": self.runtime.gather({"rng": checkpoint.rng_states(), "accumulators": self.acc}),
        }

    def load_state(self, state: dict) -> None:
        self.runtime.load(self.model, self.optimizer, state)
        own = state["ranks"][self.runtime.rank] if state.get("ranks") else state
        if self.scheduler and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        self.acc = dict(own["accumulators"])
        self.history = list(state["history"])
        if self.diagnostics and state.get("diagnostics"):
            self.diagnostics.load_state(state["diagnostics"])
        self.elapsed = state["elapsed"]
        checkpoint.set_rng_states(own["rng"])  # last: nothing above may draw random numbers

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def save_checkpoint(self, wait: bool = False) -> Path:
        """Snapshot the state now; the file is written in the background (``wait``: until done)."""
        state, path = self.state(), checkpoint.path_for(self.checkpoint_dir, self.step)
        if self.runtime.is_main:  # the others took part in gathering the state
            self.writer.submit(state, path)
        if wait:
            self.writer.wait()
        return path

    def resume(self, found: tuple | None = None) -> None:
        """Continue from the newest good checkpoint (``found``: a ``load_latest`` result)."""
        state, path, warnings = found or checkpoint.load_latest(self.checkpoint_dir)
        self.warnings += warnings
        saved = TrainConfig.from_dict(state["config"])
        used = state.get("threads", saved.threads)  # the count the checkpointed run used
        changed = {
            k for k, v in saved.to_dict().items()
            if k not in ("epochs", "data_dir", "threads") and self.cfg.to_dict()[k] != v
        }
        if state.get("distributed") != self.runtime.describe():
            raise UsageError(f"--resume: this run is {_processes(self.runtime.describe())}, "
                             f"the checkpoint {path} {_processes(state.get('distributed'))}; "
                             "resume with the same --nproc, --nnodes and --shard")
        if self.cfg.threads is not None and used is not None and self.cfg.threads != used:
            raise UsageError(f"--resume: threads={self.cfg.threads} differs from the {used} "
                             f"the run in {path} used; only --epochs and --data-dir may change")
        if changed:
            k = sorted(changed)[0]
            raise UsageError(
                f"--resume: {k}={self.cfg.to_dict()[k]!r} differs from the checkpoint's "
                f"{saved.to_dict()[k]!r} in {path}; only --epochs and --data-dir may change"
            )
        self.load_state(state)
        if used is not None:
            self.threads = used
        self.resumed_from = str(path)

    # -- the loop ----------------------------------------------------------------------------
    def run(self, resume: bool = False, found: tuple | None = None,
            stop: StopRequest | None = None) -> RunResult:
        """Train to ``cfg.epochs``; ``stop`` (default: a new one) turns signals into a clean stop."""
        main = self.runtime.is_main
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
        if resume:
            self.resume(found)
        elif main:
            for old in checkpoint.list_checkpoints(self.checkpoint_dir):
                old.unlink()  # a fresh run: stale checkpoints must not be resumed later
        if main:
            self._rewrite_metrics()
        stop = stop or StopRequest()
        try:
            with stop.installed(), process_settings(self.cfg, self.threads):
                interrupted = self._loop(stop)
        finally:
            self.writer.wait()  # every checkpoint is on disk before we return or raise
        return self._finish(interrupted)

    def _loop(self, stop: StopRequest) -> bool:
        cfg, ds, model = self.cfg, self.ds, self.model
        task, n = ds.task, len(ds.x_train)
        units = tasks.units_per_example(task, ds.y_train)
        model.train()
        _optimizer_mode(self.optimizer, train=True)
        while self.epoch < cfg.epochs:
            order = self.runtime.pad(epoch_order(n, cfg.seed, self.epoch))
            t0 = time.perf_counter()
            bar = self._bar()
            for b in range(self.batch, self.steps_per_epoch):
                idx = self.runtime.local(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
                x, y = ds.x_train[idx], ds.y_train[idx]
                self._train_step(x, y, task)
                self.batch = b + 1
                if bar is not None:
                    bar.update(1)
                    if b % 10 == 0 or self.batch == self.steps_per_epoch:
                        rate = self.acc["seen"] / max(time.perf_counter() - t0, 1e-9)
                        bar.set_postfix_str(f"loss={self._last_loss:.4f} {rate:,.0f} samples/s",
                                            refresh=False)
                if self.log_every and self.batch % self.log_every == 0:
                    print(f"epoch {self.epoch + 1} batch {self.batch}/{self.steps_per_epoch} "
                          f"loss {self._last_loss:.4f}", file=sys.stderr, flush=True)
                if self.runtime.any(stop.requested):  # every rank stops after the same step
                    self.elapsed += time.perf_counter() - t0
                    if bar is not None:
                        bar.close()
                    return self._interrupted(stop)
            if bar is not None:
                bar.close()
            seconds = time.perf_counter() - t0
            self._end_epoch(units, seconds)
            if self.runtime.any(stop.requested):
                return self._interrupted(stop)
        return False

    def _train_step(self, x, y, task) -> None:
        diag = self.diagnostics
        if diag is not None and not diag.wants(self.step + 1):
            diag = None
        if diag is not None:
            diag.before()
        self.optimizer.zero_grad(set_to_none=True)
        x, y = x.to(self.runtime.device), y.to(self.runtime.device)
        output = self.train_model(x)
        loss = tasks.loss(task, output, y)
        loss.backward()
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.step += 1
        if diag is not None:
            diag.after(self.step)
        if self.scheduler is not None:
            self.scheduler.step()
        loss = loss.detach().cpu()
        self._last_loss = float(loss)
        acc = self.acc
        acc["loss_sum"] += loss.double() * len(x)
        right = tasks.correct(task, output.detach(), y)
        if right is not None:
            acc["correct"] += right.cpu()
        acc["seen"] += len(x)

    def _bar(self):
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.steps_per_epoch, initial=self.batch, unit="batch", leave=False,
            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}", file=sys.stderr, dynamic_ncols=True,
        )

    def _end_epoch(self, units: int, seconds: float) -> None:
        cfg, ds = self.cfg, self.ds
        self.elapsed += seconds
        _optimizer_mode(self.optimizer, train=False)  # schedule-free: evaluate the average x
        test = tasks.evaluate(self.model, ds.task, ds.x_test, ds.y_test, cfg.eval_batch_size,
                              self.runtime.device)
        _optimizer_mode(self.optimizer, train=True)  # before the checkpoint: resumes need no switch
        seen_ = torch.tensor(self.acc["seen"], dtype=torch.int64)
        self.runtime.sum_(self.acc["loss_sum"], self.acc["correct"], seen_)  # every rank's
        seen = int(seen_)
        record = {
            "epoch": self.epoch + 1,
            "step": self.step,
            "train_loss": float(self.acc["loss_sum"]) / max(seen, 1),
            "train_accuracy": (
                int(self.acc["correct"]) / max(seen * units, 1) if ds.task != "regression" else None
            ),
            "test_loss": test["loss"],
            "test_accuracy": test["accuracy"],
            **{f"test_{k}": v for k, v in test.items() if k not in ("loss", "accuracy")},
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "samples_per_second": seen / seconds if seconds > 0 else None,
        }
        self.history.append(record)
        if self.runtime.is_main:
            with (self.out / "metrics.jsonl").open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        if not self.quiet:
            acc = "" if record["test_accuracy"] is None else f", test acc {record['test_accuracy']:.4f}"
            print(f"epoch {record['epoch']}/{cfg.epochs}: train loss {record['train_loss']:.4f}, "
                  f"test loss {record['test_loss']:.4f}{acc} ({seconds:.1f} s)", file=sys.stderr)
        self.epoch += 1
        self.batch = 0
        self._reset_accumulators()
        self.save_checkpoint()
        if self.on_epoch is not None:
            self.on_epoch(record)

    def _interrupted(self, stop: StopRequest) -> bool:
        path = self.save_checkpoint(wait=True)
        name = signal.Signals(stop.signum or signal.SIGINT).name
        print(f"adamkit: {name}: stopped at epoch {self.epoch + 1} batch {self.batch}; "
              f"checkpoint {path}; continue with --resume --out {self.out}", file=sys.stderr)
        return True

    def _rewrite_metrics(self) -> None:
        """metrics.jsonl holds exactly the epochs of the state we continue from."""
        lines = "".join(json.dumps(r) + "\n" for r in self.history)
        (self.out / "metrics.jsonl").write_text(lines)

    def _finish(self, interrupted: bool) -> RunResult:
        last = self.history[-1] if self.history else {}
        summary = {
            "test_accuracy": last.get("test_accuracy"),
            "test_loss": last.get("test_loss"),
            **{k: v for k, v in last.items() if k.startswith("test_") and k not in
               ("test_accuracy", "test_loss")},
            "train_loss": last.get("train_loss"),
            "epochs": len(self.history),
            "steps": self.step,
            "seconds": self.elapsed,
            "threads": self.threads,
            "interrupted": interrupted,
            "resumed_from": self.resumed_from,
            "warnings": self.warnings,
            "config": self.cfg.to_dict(),
            "dataset": self.ds.summary(),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "versions": versions(),
            "distributed": self.runtime.describe(),
        }
        if not interrupted:
            _optimizer_mode(self.optimizer, train=False)  # model.pt: a schedule-free run's average x
        weights = None if interrupted else self.runtime.model_state(self.model)
        if not self.runtime.is_main:  # rank 0 writes every file
            return RunResult(self.out, summary, self.history, interrupted, self.warnings)
        if weights is not None:
            torch.save(weights, self.out / "model.pt")
            if self.plots:
                from adamkit.train import plots
            if self.history and self.plots:
                plots.curves(self.history, self.out / "curves.png", title=self._title())
            if self.diagnostics:
                _write_json(self.out / "diagnostics.json", self.diagnostics.to_json())
                if self.plots:
                    plots.diagnostics(self.diagnostics.to_json(), self.out / "diagnostics.png",
                                      title=self._title())
        _write_json(self.out / "summary.json", summary)
        return RunResult(self.out, summary, self.history, interrupted, self.warnings)

    def _title(self) -> str:
        c = self.cfg
        return f"{c.model} on {c.dataset}, {c.optimizer} lr={c.lr:g}, batch {c.batch_size}"


def _processes(described: dict | None) -> str:
    if not described:
        return "one process"
    return f"{described['world_size']} processes ({described['mode']})"


def train(cfg: TrainConfig, out: str | Path, *, resume: bool = False, found: tuple | None = None,
          **kwargs) -> RunResult:
    """Train ``cfg`` writing into ``out``; see ``Trainer``."""
    return Trainer(cfg, out, **kwargs).run(resume=resume, found=found)


def _optimizer_mode(optimizer: Any, train: bool) -> None:
    """A schedule-free optimizer's switch (``train()``: params at y, where gradients are taken;
    ``eval()``: at x, the average to evaluate and keep); other optimizers have none."""
    switch = getattr(optimizer, "train" if train else "eval", None)
    if callable(switch):
        switch()
