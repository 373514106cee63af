"""One optimizer's study: slots, the sampler, the worker loop, batched recording, retries.

**Slots make the count exact and the configurations worker-independent.** A study of N trials
has N slots. A fresh trial (one Optuna created, not a re-queued retry) takes slot
``s`` = the number of fresh trials with a smaller trial number; Optuna's storages number trials
atomically, so every worker computes the same ``s`` for the same trial. A trial with ``s >= N``
is surplus: it is marked failed (``surplus`` attribute) before it samples anything, and its
worker stops. So N workers racing for the last slot never run N+1 trials (optuna#1547, #3626).

**The slot fixes the configuration** where it can: ``grid`` runs ParameterGrid's ``s``-th
configuration; ``random`` (and TPE's first ``startup`` trials) draws slot ``s``'s configuration
from a generator seeded with ``(seed, s)``, so two workers never draw the same random
configuration, a resumed study draws what an uninterrupted one would have, and the batched lab
path draws exactly the configurations the one-trial-at-a-time path would. TPE proper gets a
sampler seeded with ``(seed, s)`` too: the same seed in every worker would propose the same
point from the same history.

**A trial that dies is retried, not lost.** When a trial fails because its worker died (a
heartbeat gone stale, a local process that no longer exists, or Ctrl-C) its parameters are
re-queued with its slot (``retry_of``), and the next free worker runs them. A database has
Optuna's heartbeat; a journal file has none, so a worker there beats itself (:func:`beating`:
the running trial's ``beat`` attribute, rewritten every ``interval`` seconds by a thread), and
the others fail a trial whose beat is older than ``grace`` seconds (:class:`Liveness`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adamkit.tune.space import OptimizerSpace

HOST = socket.gethostname()
STARTUP = 10  # TPE's random start-up trials (Optuna's default)


class Surplus(Exception):
    """A trial beyond the study's N slots: it never runs."""


def slot_of(trials, number: int) -> int:
    """The slot of fresh trial ``number``: fresh, non-surplus trials numbered before it."""
    return sum(1 for t in trials if t.number < number and "retry_of" not in t.user_attrs
               and not t.user_attrs.get("surplus"))


def slot_rng(seed: int, slot: int) -> np.random.Generator:
    return np.random.default_rng([seed, slot])


def slot_config(space: OptimizerSpace, strategy: str, seed: int, slot: int) -> dict:
    """Slot ``slot``'s configuration for grid and random (and TPE's start-up trials)."""
    if strategy == "grid":
        assert space.grid is not None
        return dict(space.grid[slot])
    return space.random_config(slot_rng(seed, slot))


def make_sampler(space: OptimizerSpace, strategy: str, seed: int):
    """An Optuna sampler that reads the trial's slot (see the module doc)."""
    import optuna

    class SlotSampler(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._tpe: tuple[int, Any] | None = None  # (slot, the TPE sampler seeded for it)

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, param_name, param_distribution):
            slot = int(trial.user_attrs["slot"])
            if strategy in ("grid", "random") or slot < STARTUP:
                config = slot_config(space, strategy, seed, slot)
                return space.to_params(config, strict=False)[param_name]
            if self._tpe is None or self._tpe[0] != slot:
                # constant_liar: trials still running on other workers count as bad results
                # already, so workers sampling at the same moment spread out instead of all
                # proposing the same point (Optuna's advice for distributed TPE)
                tpe = optuna.samplers.TPESampler(seed=(seed * 1_000_003 + slot) % 2**32,
                                                 n_startup_trials=STARTUP, constant_liar=True)
                self._tpe = (slot, tpe)
            return self._tpe[1].sample_independent(study, trial, param_name, param_distribution)

    return SlotSampler()


def retry(study, trial, reason: str) -> None:
    """Re-queue a trial that did not finish, with its parameters and slot."""
    if trial.user_attrs.get("surplus"):
        return
    slot = trial.user_attrs.get("slot")
    if slot is None:  # died before taking its slot: compute it as it would have
        slot = slot_of(study.get_trials(deepcopy=False), trial.number)
        if slot >= study.user_attrs.get("target", float("inf")):
            return
    study.enqueue_trial(trial.params, user_attrs={"slot": slot, "retry_of": trial.number,
                                                  "retry_reason": reason})


@dataclass(frozen=True)
class Liveness:
    """How a dead worker's trial is noticed.

    ``database``: the storage's own heartbeat (Optuna's, on PostgreSQL/MySQL). Otherwise (a
    journal file, which has none) each worker rewrites its running trial's ``beat`` attribute
    every ``interval`` seconds, and a trial whose beat is older than ``grace`` seconds is dead,
    whichever host ran it (the hosts' clocks must agree to well within ``grace``); a worker
    process of this host that no longer exists is noticed at once.
    """

    database: bool
    interval: float = 60.0
    grace: float = 120.0


@contextlib.contextmanager
def beating(trial, interval: float) -> Iterator[None]:
    """While the block runs, a thread writes the time to ``trial``'s ``beat`` attribute every
    ``interval`` seconds (a journal file's heartbeat; the evaluation itself never pauses)."""
    import optuna

    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            # the trial may have just finished (or been declared dead), or the journal's lock be
            # slow: the next beat, or the next worker's check, settles it
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError, OSError):
                trial.set_user_attr("beat", time.time())

    trial.set_user_attr("beat", time.time())
    thread = threading.Thread(target=beat, name=f"adamkit-tune-beat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def fail_dead_trials(study, liveness: Liveness) -> None:
    """Running trials whose worker is gone become failed and are re-queued.

    On a database Optuna finds them (``fail_stale_trials``; the storage's failed-trial callback
    re-queues them). On a journal file a trial is dead when its worker is a process of this host
    that no longer exists (SIGKILL, or a run stopped between Optuna's calls), or when its last
    beat is older than ``liveness.grace`` seconds (a worker on another host gone).
    """
    import optuna
    from optuna.trial import TrialState

    if liveness.database:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if host == HOST and pid.isdigit() and int(pid) == os.getpid():
            continue
        if host == HOST and pid.isdigit() and not _alive(int(pid)):
            why = f"worker process {pid} gone"
        else:
            start = t.datetime_start.timestamp() if t.datetime_start else now
            silent = now - float(t.user_attrs.get("beat", start))
            if silent <= liveness.grace:
                continue
            why = f"no heartbeat for {silent:.0f} s"
        with contextlib.suppress(RuntimeError, ValueError):  # another worker got there first
            study.tell(t.number, state=TrialState.FAIL)
            retry(study, t, why)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    fresh = [t for t in trials if "retry_of" not in t.user_attrs and not t.user_attrs.get("surplus")]
    return {
        "admitted": len(fresh),
        "finished": sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials),
        "waiting": sum(t.state == TrialState.WAITING for t in trials),
        "running_elsewhere": sum(t.state == TrialState.RUNNING
                                 and t.user_attrs.get("worker") != f"{HOST}:{os.getpid()}"
                                 for t in trials),
    }


class Interrupts:
    """Ctrl-C raises KeyboardInterrupt only while a trial evaluates; during Optuna's bookkeeping
    (asking for a trial, telling its result, writing the journal) it is held until that is done.

    Optuna 5.1 fails with UnboundLocalError when interrupted while it tells a result, and a
    journal entry cut in half is a corrupt study. ``check()`` raises a held interrupt at a
    safe point. Only the main thread receives signals; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.evaluating = False
        self.pending = False

    def _handler(self, signum, frame) -> None:
        if self.evaluating:
            self.evaluating = False
            raise KeyboardInterrupt
        self.pending = True

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def evaluation(self):
        self.check()
        self.evaluating = True
        try:
            yield
        finally:
            self.evaluating = False

    def check(self) -> None:
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


def work(study, space: OptimizerSpace, evaluate: Callable, *, target: int, liveness: Liveness,
         deadline: float | None, poll: float = 1.0, on_trial: Callable | None = None) -> str:
    """Run trials of ``study`` until its ``target`` slots are finished; returns why it stopped
    ("done", "timeout"). ``evaluate(trial, config) -> value``. Waits for trials running in
    other workers: one of them may die, and its retry must run somewhere."""
    me = f"{HOST}:{os.getpid()}"
    current: list[int] = []

    def objective(trial) -> float:
        current[:] = [trial.number]
        if "retry_of" in trial.user_attrs:
            slot = int(trial.user_attrs["slot"])
        else:
            slot = slot_of(study.get_trials(deepcopy=False), trial.number)
            if slot >= target:
                trial.set_user_attr("surplus", True)
                raise Surplus(f"trial {trial.number}: the study's {target} slots are taken")
            trial.set_user_attr("slot", slot)
        trial.set_user_attr("worker", me)
        names = space.grid[slot].keys() if space.grid is not None else None
        config = space.suggest(trial, names)
        trial.set_user_attr("config", config)
        t0 = time.perf_counter()
        beat = (contextlib.nullcontext() if liveness.database
                else beating(trial, liveness.interval))
        try:
            with beat, interrupts.evaluation():
                return evaluate(trial, config)
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - t0)

    interrupts = Interrupts()
    with interrupts.installed():
        return _loop(study, objective, interrupts, current, target, liveness, deadline, poll,
                     on_trial)


def _loop(study, objective, interrupts: Interrupts, current: list[int], target: int,
          liveness: Liveness, deadline: float | None, poll: float, on_trial) -> str:
    import optuna

    while True:
        if deadline is not None and time.time() >= deadline:
            return "timeout"
        fail_dead_trials(study, liveness)
        c = counts(study)
        if c["admitted"] >= target and not c["waiting"]:
            if not c["running_elsewhere"]:
                return "done"
            time.sleep(poll)  # another worker's trial may yet die and be re-queued
            continue
        try:
            study.optimize(objective, n_trials=1, catch=(), gc_after_trial=False)
            interrupts.check()
        except Surplus:
            continue
        except optuna.exceptions.UpdateFinishedTrialError:
            # our trial was declared dead (its heartbeat starved on an overloaded machine) and
            # re-queued while it still ran: the re-queued copy counts; this result is dropped
            continue
        except KeyboardInterrupt:
            with Interrupts().installed():  # a second Ctrl-C must not cut the re-queueing short
                _requeue_interrupted(study, current)
            raise
        if on_trial is not None:
            on_trial()


def _requeue_interrupted(study, current: list[int]) -> None:
    """Ctrl-C stopped trial ``current[0]``: Optuna marked it failed; run it again on resume."""
    from optuna.trial import TrialState

    if not current:
        return
    trial = study.get_trials(deepcopy=False)[current[0]]
    if trial.state == TrialState.RUNNING:  # interrupted outside the objective
        study.tell(trial.number, state=TrialState.FAIL)
        trial = study.get_trials(deepcopy=False)[current[0]]
    if trial.state == TrialState.FAIL:
        retry(study, trial, "interrupted")


def run_batched(study, space: OptimizerSpace, evaluate_batch: Callable, *, strategy: str,
                seed: int, target: int, add_trials: Callable) -> int:
    """Every missing slot's configuration in ONE batched evaluation, recorded as finished
    trials; returns how many ran. Slots already in the study (a resume) are not run again."""
    from optuna.trial import TrialState

    done = {t.user_attrs.get("slot") for t in study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,))}
    slots = [s for s in range(target) if s not in done]
    if not slots:
        return 0
    configs = [slot_config(space, strategy, seed, s) for s in slots]
    t0 = time.perf_counter()
    interrupts = Interrupts()
    with interrupts.installed():
        with interrupts.evaluation():
            values = evaluate_batch(configs)
        _record_batch(study, space, slots, configs, values, (time.perf_counter() - t0) / len(slots),
                      add_trials)
        interrupts.check()  # Ctrl-C while recording: the batch is written whole, then we stop
    return len(slots)


def _record_batch(study, space: OptimizerSpace, slots, configs, values, seconds: float,
                  add_trials: Callable) -> None:
    import optuna

    dists = space.distributions()
    trials = []
    for slot, config, value in zip(slots, configs, values, strict=True):
        params = space.to_params(config, strict=False)
        trials.append(optuna.trial.create_trial(
            params=params, distributions={k: dists[k] for k in params}, value=value,
            user_attrs={"slot": slot, "config": config, "batched": True,
                        "seconds": seconds, "worker": f"{HOST}:{os.getpid()}"}))
    add_trials(study, trials)


def trial_dir(out: Path, optimizer: str, number: int) -> Path:
    return out / "trials" / f"{optimizer}-{number:05d}"
