"""``adamkit.tune.search``: tune optimizers' hyperparameters on a lab function or a recipe.

    report = search(function="rosenbrock", optimizers=("adam", "sgd"), strategy="tpe", trials=40)
    report.best["config"]        # {'lr': ..., 'beta1': ..., ...}
    report.best["command"]       # the adamkit command that runs it

One Optuna study per optimizer (``STUDY:OPTIMIZER``), each with the same number of trials (the
grid's size for ``grid``). The settings are kept in ``OUT/tune.json`` and in each study, so
``resume=True`` needs only ``out``, and a worker that joins a shared study with different
settings is refused.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adamkit import outdir
from adamkit.errors import UsageError, choice
from adamkit.tune import results, space, study
from adamkit.tune.objectives import LabObjective, TrainObjective
from adamkit.tune.storage import Storage, hide_password, open_storage

STRATEGIES = ("grid", "random", "tpe")
PRUNERS = ("median", "hyperband", "none")
# what --resume may change; everything else is the study's definition
RESUMABLE = ("trials", "timeout")
DEFAULT_TRIALS = 30


@dataclass
class TuneReport:
    out: Path
    best: dict  # best.json's content
    trials: list[dict]  # trials.jsonl's lines
    stopped: str  # "done", "timeout" or "interrupted"
    plots: list[Path] = field(default_factory=list)
    leaderboard: str = ""


def search(*, function: str | None = None, steps: int | None = None, start=None,
           recipe: str | None = None, train: Mapping[str, Any] | None = None,
           metric: str = "test_loss", optimizers: Sequence[str] = ("adam",),
           space_spec: Mapping | Sequence | str | Path | None = None, strategy: str = "tpe",
           trials: int | None = None, timeout: float | None = None, out: str | Path = "runs/tune",
           storage: str | None = None, study_name: str = "adamkit", pruner: str = "median",
           seed: int = 0, resume: bool = False, heartbeat: int = 60, grace: int = 120,
           progress: bool = False, plots: bool = True) -> TuneReport:
    """Tune; see the module doc. ``function`` (lab) or ``recipe``/``train`` (a dict of
    ``adamkit train``'s fields: dataset, model, epochs, ...) names the objective; ``space_spec``
    is a dict/list as a space file holds, or a file's path (None: each optimizer's default).
    ``trials`` defaults to 30 (a grid runs all its points); with ``resume`` the stored settings
    apply, and only ``trials`` and ``timeout``, when given, change."""
    out = Path(out)
    settings = dict(function=function, steps=steps, start=None if start is None else list(start),
                    recipe=recipe, train=dict(train or {}), metric=metric,
                    optimizers=list(optimizers), space=_raw_space(space_spec), strategy=strategy,
                    trials=trials, timeout=timeout, storage=storage, study=study_name,
                    pruner=pruner, seed=seed, heartbeat=heartbeat, grace=grace)
    settings, fresh = _settings_for_run(out, settings, resume)
    return _run(out, settings, fresh, progress=progress, plots=plots)


def _raw_space(spec) -> Any:
    if isinstance(spec, str | Path):
        text = Path(spec)
        try:
            return json.loads(text.read_text())
        except FileNotFoundError:
            raise UsageError(f"space file {str(spec)!r} not found") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"space file {str(spec)!r} is not JSON: {exc}") from None
    if spec is None:
        return {}
    return json.loads(json.dumps(spec))  # plain lists and dicts, as tune.json stores them


def _settings_for_run(out: Path, given: dict, resume: bool) -> tuple[dict, bool]:
    """The run's settings, and whether they are new (to be saved once they are all valid)."""
    saved_path = outdir.check_folder(out) / "tune.json"
    if resume:
        if not saved_path.exists():
            raise UsageError(f"--resume: no study in {out} (no tune.json); start one without --resume")
        saved = json.loads(saved_path.read_text())["settings"]
        for key in RESUMABLE:  # a larger budget or another time limit
            if given[key] is not None:
                saved[key] = given[key]
        if given["storage"] is not None:
            if hide_password(given["storage"]) != saved["storage"]:
                raise UsageError(f"--resume: --storage {hide_password(given['storage'])} is not "
                                 f"this study's {saved['storage']}")
            saved["storage"] = given["storage"]
        elif saved["storage"] is not None and ":***@" in saved["storage"]:
            raise UsageError(f"--resume: give --storage {saved['storage']} again with its "
                             f"password (tune.json does not keep passwords)")
        return saved, False
    if saved_path.exists() and given["storage"] is None:
        raise UsageError(f"{out} already holds a study (tune.json); continue it with --resume "
                         f"or choose another --out")
    if given["trials"] is None:
        given["trials"] = DEFAULT_TRIALS
    return given, True


def _save_settings(out: Path, s: dict) -> None:
    """``OUT/tune.json``, written only once every setting proved valid: a refused run leaves
    nothing that would block the corrected one."""
    kept = {**s, "storage": s["storage"] and hide_password(s["storage"])}
    outdir.write_text(outdir.make(out) / "tune.json", json.dumps({"settings": kept}, indent=2) + "\n")


def make_objective(s: dict):
    if (s["function"] is None) == (s["recipe"] is None and not s["train"]):
        raise UsageError("name one objective: --function NAME (lab) or --dataset/--recipe (train)")
    if s["function"] is not None:
        return LabObjective(s["function"], s["steps"], s["start"])
    return TrainObjective(s["recipe"], s["train"], s["metric"])


def _pruner(name: str, epochs: int):
    import optuna

    if name == "median":
        # prune below the median of earlier trials at the same epoch, once 4 trials have run
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1),
                                              reduction_factor=3)
    return optuna.pruners.NopPruner()


def _check(s: dict, objective) -> None:
    if s["strategy"] not in STRATEGIES:
        raise choice("strategy", s["strategy"], STRATEGIES)
    if s["pruner"] not in PRUNERS:
        raise choice("pruner", s["pruner"], PRUNERS)
    if s["trials"] is None or s["trials"] < 1:
        raise UsageError(f"--trials must be >= 1, got {s['trials']}")
    if not s["optimizers"]:
        raise UsageError("no optimizer given; e.g. --optimizers adam,sgd")
    valid = objective.optimizers()
    for name in s["optimizers"]:
        if name not in valid:
            if hasattr(objective, "check_optimizer"):
                objective.check_optimizer(name)  # a declared one that cannot be tuned here: why
            raise choice("optimizer", name, valid)


def _run(out: Path, s: dict, fresh: bool, *, progress: bool, plots: bool) -> TuneReport:
    import optuna

    objective = make_objective(s)
    _check(s, objective)
    grids = space.parse_grids(s["space"])
    spaces = space.build(s["optimizers"], grids, s["strategy"],
                         {o: objective.applicable(o) for o in s["optimizers"]})
    store = open_storage(s["storage"], out, heartbeat=s["heartbeat"], grace=s["grace"],
                         failed_trial_callback=lambda st, t: study.retry(st, t, "heartbeat"))
    if fresh:
        _save_settings(out, s)
    logger = optuna.logging.get_logger("optuna")
    level = logger.level
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own table and bar say what happened
    deadline = time.time() + s["timeout"] if s["timeout"] else None
    studies: dict[str, Any] = {}
    stopped = "done"
    try:
        for opt in s["optimizers"]:
            studies[opt] = _open_study(store, s, opt, objective, spaces[opt])
        bar = _bar(progress, studies, spaces, s)
        try:
            for opt in s["optimizers"]:
                stopped = _tune_one(studies[opt], spaces[opt], objective, s, opt, out, store,
                                    deadline, bar)
                if stopped == "timeout":
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        report = _report(out, studies, objective, s, stopped, plots)
    finally:
        logger.setLevel(level)
        store.close()
    if stopped == "interrupted":
        raise Interrupted(report)
    return report


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: the results so far are written; ``report`` has them; ``--resume`` continues."""

    def __init__(self, report: TuneReport):
        super().__init__()
        self.report = report


def _target(s: dict, sp: space.OptimizerSpace) -> int:
    return len(sp.grid) if sp.grid is not None else int(s["trials"])


def _open_study(store: Storage, s: dict, opt: str, objective, sp: space.OptimizerSpace):
    import optuna

    direction = objective.direction
    name = f"{s['study']}:{opt}"
    st = optuna.create_study(storage=store.optuna, study_name=name, direction=direction,
                             load_if_exists=True, sampler=study.make_sampler(sp, s["strategy"],
                                                                             s["seed"]),
                             pruner=_pruner(s["pruner"], _epochs(objective)))
    definition = {k: v for k, v in s.items() if k not in (*RESUMABLE, "storage", "heartbeat",
                                                          "grace")}
    stored = st.user_attrs.get("definition")
    if stored is None:
        st.set_user_attr("definition", definition)
    elif stored != definition:
        diff = sorted(k for k in definition if definition[k] != stored.get(k))
        raise UsageError(f"study {name} in {store.shown} was made with other settings "
                         f"({', '.join(diff)}: {stored.get(diff[0])!r}, here {definition[diff[0]]!r});"
                         f" use the same flags or another --study")
    target = _target(s, sp)
    if st.user_attrs.get("target", 0) < target:  # a resume may raise the budget, never lower it
        st.set_user_attr("target", target)
    return st


def _epochs(objective) -> int:
    return getattr(getattr(objective, "base", None), "epochs", 1)


def _tune_one(st, sp, objective, s: dict, opt: str, out: Path, store: Storage,
              deadline: float | None, bar) -> str:
    target = int(st.user_attrs["target"])
    if objective.kind == "lab" and s["strategy"] in ("grid", "random"):
        ran = study.run_batched(st, sp, lambda configs: objective.evaluate_batch(opt, configs),
                                strategy=s["strategy"], seed=s["seed"], target=target,
                                add_trials=store.add_trials)
        if bar is not None:
            bar.update(ran)
        return "done"
    if objective.kind == "lab":
        def evaluate(trial, config):
            return objective.evaluate(trial, opt, config)
    else:
        def evaluate(trial, config):
            return objective.evaluate(trial, opt, config, study.trial_dir(out, opt, trial.number))
    liveness = study.Liveness(store.heartbeat, s["heartbeat"], s["grace"])
    return study.work(st, sp, evaluate, target=target, liveness=liveness,
                      deadline=deadline, poll=min(1.0, s["heartbeat"] / 2),
                      on_trial=(lambda: bar.update(1)) if bar is not None else None)


def _bar(progress: bool, studies, spaces, s: dict):
    if not progress:
        return None
    from tqdm import tqdm

    total = sum(_target(s, spaces[o]) for o in studies)
    done = sum(study.counts(st)["finished"] for st in studies.values())
    return tqdm(total=total, initial=min(done, total), unit="trial", desc="tune", file=sys.stderr,
                leave=False, disable=not sys.stderr.isatty())


def _report(out: Path, studies: dict, objective, s: dict, stopped: str, plots: bool) -> TuneReport:
    records = [results.trial_record(opt, t) for opt, st in studies.items()
               for t in st.get_trials(deepcopy=False)]
    best = results.write(out, records, objective.direction, objective, s, stopped)
    table = results.leaderboard(records, objective.direction, objective.metric)
    written = results.plots(out, studies, records, objective.metric) if plots and records else []
    return TuneReport(out, best, records, stopped, written, table)

