"""What a trial measures: a lab function (NumPy, batched) or a training run (torch, pruned).

A lab objective scores a configuration as ``adamkit race --tune`` does
(``adamkit.lab.race_tuning.run_scores``): log10 of the final gap to the known minimum, +inf when the
run diverges; lower is better. Many configurations are one call of the batched engine.

A train objective runs ``adamkit train``'s trainer on a recipe with the configuration's
hyperparameters and reports the chosen metric after every epoch, so a pruner can stop a poor
trial early; the trial's value is the metric after the last epoch.
"""

from __future__ import annotations

import shlex
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from adamkit.errors import UsageError, choice
from adamkit.rules import registry
from adamkit.rules.hyperparameters import HYPERPARAMETERS, canonical

# the trainer's per-epoch metrics a study can optimize, and which way
METRICS = {"test_loss": "minimize", "train_loss": "minimize", "test_accuracy": "maximize",
           "train_accuracy": "maximize"}


class LabObjective:
    """``function`` (a lab name or expression) run for ``steps`` from ``start``."""

    kind = "lab"
    direction = "minimize"
    metric = "log10(f_final - f*)"

    def __init__(self, function: str, steps: int | None = None, start=None):
        from adamkit.lab.functions import get

        self.fn = get(function)
        self.function = function
        self.steps = self.fn.steps if steps is None else int(steps)
        self.start = None if start is None else [float(v) for v in start]

    def optimizers(self) -> tuple[str, ...]:
        """The optimizers a test function's point can race (Muon, acting on matrices, cannot:
        :func:`adamkit.lab.engine.optimizer_spec` says so in one line)."""
        from adamkit.lab.engine import optimizer_names

        return tuple(n for n in optimizer_names() if registry.variant(n).shape == "any")

    def check_optimizer(self, name: str) -> None:
        """A UsageError saying why a declared optimizer cannot be tuned here (Muon on a point)."""
        from adamkit.lab.engine import matrix_note

        declared = registry.variants().get(name)
        if declared is not None and declared.shape == "matrix":
            raise UsageError(matrix_note(name))

    def applicable(self, optimizer: str) -> set[str]:
        from adamkit.lab.engine import hyperparameter_names

        return set(hyperparameter_names(optimizer)) - {"betas"}

    def describe(self) -> dict:
        return {"kind": "lab", "function": self.function, "steps": self.steps,
                "start": self.start}

    def evaluate(self, trial, optimizer: str, config: dict) -> float:
        return self.evaluate_batch(optimizer, [config])[0]

    def evaluate_batch(self, optimizer: str, configs: list[dict]) -> list[float]:
        """Scores of ``configs``: one engine call per set of non-numeric settings (the engine
        batches numbers only), so a numeric grid or random batch is one call."""
        from adamkit.lab.engine import run
        from adamkit.lab.race_tuning import run_scores

        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, c in enumerate(configs):
            groups[tuple(sorted((k, v) for k, v in c.items() if not _numeric(k)))].append(i)
        scores = np.empty(len(configs))
        for settings, rows in groups.items():
            names = sorted({k for i in rows for k in configs[i] if _numeric(k)})
            hp: dict[str, Any] = {
                k: np.array([configs[i].get(k, self.default(optimizer, k)) for i in rows])
                for k in names
            }
            result = run(self.fn, optimizer, steps=self.steps, start=self.start,
                         **dict(settings), **hp)
            scores[rows] = run_scores(self.fn, result)
        return [float(s) for s in scores]

    def default(self, optimizer: str, name: str):
        """A hyperparameter's value where a configuration leaves it out (a list of grids)."""
        from adamkit import rules
        from adamkit.lab.engine import default_hyperparameters

        lab = default_hyperparameters(self.fn, optimizer)  # the variant's settings, the lab lr
        if name in lab:
            return lab[name]
        defaults = rules.get(rules.variant(optimizer).rule).defaults
        for pair, value in defaults.items():  # a part of a pair: betas' beta1, etas' eta_minus
            parts = HYPERPARAMETERS[pair].choices if HYPERPARAMETERS[pair].kind == "pair" else ()
            if name in parts:
                return value[parts.index(name)]
        return defaults[name]

    def command(self, optimizer: str, config: dict) -> str:
        """The ``adamkit race`` command that runs this configuration."""
        from adamkit.lab.arguments import race_flags

        parts = ["adamkit race --function", shlex.quote(self.function), "--optimizers", optimizer,
                 f"--steps {self.steps}"]
        if self.start is not None:  # "=": a start may begin with a minus sign
            parts.append("--start=" + ",".join(_show(v) for v in self.start))
        flags, notes = race_flags([(optimizer, config)])
        return " ".join(parts + flags) + ("   # not exact: " + "; ".join(notes) if notes else "")


def _numeric(name: str) -> bool:
    h = HYPERPARAMETERS.get(name)
    return h is not None and h.kind == "float"


class TrainObjective:
    """A training recipe (``adamkit train``'s flags as a dict ``given``) scored by ``metric``."""

    kind = "train"

    def __init__(self, recipe: str | None, given: dict, metric: str = "test_loss"):
        from adamkit.train.config import resolve

        if metric not in METRICS:
            raise choice("metric", metric, METRICS)
        self.recipe, self.given, self.metric = recipe, dict(given), metric
        self.direction = METRICS[metric]
        self.base = resolve(recipe, self.given)  # checks the recipe, data set and model names
        self._dataset: Any = None  # loaded by the first trial, shared by the rest

    def optimizers(self) -> tuple[str, ...]:
        from adamkit.train.optim_factory import optimizer_names

        return optimizer_names()

    def applicable(self, optimizer: str) -> set[str]:
        from adamkit.train.optim_factory import OPTION_FLAGS, accepted_options

        accepted = accepted_options(optimizer)
        names = {n for n in OPTION_FLAGS if n in accepted and n != "betas"}
        if "betas" in accepted:
            names |= {"beta1", "beta2"}
        return names | {"batch_size", "schedule"}

    def describe(self) -> dict:
        return {"kind": "train", "recipe": self.recipe, "given": self.given,
                "metric": self.metric}

    def config_for(self, optimizer: str, config: dict):
        from adamkit.train.config import resolve

        fields = canonical(config, "tune", ("betas",))
        if "betas" in fields:
            fields["betas"] = tuple(float(b) for b in fields["betas"])
        return resolve(self.recipe, {**self.given, "optimizer": optimizer, **fields})

    def evaluate(self, trial, optimizer: str, config: dict, out: Path) -> float:
        """Train, reporting the metric each epoch; ``TrialPruned`` when the pruner says so."""
        import optuna

        from adamkit.train import datasets
        from adamkit.train.trainer import Trainer

        cfg = self.config_for(optimizer, config)
        if self._dataset is None:  # every trial trains on the same data: load it once
            self._dataset = datasets.load(cfg.dataset, cfg.data_dir, **cfg.dataset_options)
        sign = 1.0 if self.direction == "minimize" else -1.0

        def report(record: dict) -> None:
            value = _finite_or_worst(record.get(self.metric), sign)
            trial.report(value, record["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {record['epoch']}: "
                                         f"{self.metric} {value:.4g}")

        trainer = Trainer(cfg, out, quiet=True, progress=False, dataset=self._dataset,
                          plots=False, on_epoch=report)
        try:
            result = trainer.run()
        finally:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)  # a trial restarts, never resumes
        if result.interrupted:
            raise KeyboardInterrupt
        if self.metric not in result.history[-1]:
            raise UsageError(f"metric {self.metric} is not reported for {cfg.dataset}")
        return _finite_or_worst(result.history[-1][self.metric], sign)

    def command(self, optimizer: str, config: dict) -> str:
        cfg = self.config_for(optimizer, config)
        parts = ["adamkit train"]
        if self.recipe:
            parts.append(f"--recipe {self.recipe}")
        shown = {"dataset": cfg.dataset, "model": cfg.model, "epochs": cfg.epochs,
                 "optimizer": optimizer, **{k: v for k, v in self.given.items()
                                            if k not in ("dataset", "model", "epochs")},
                 **canonical(config, "tune", ("betas",))}
        for key, value in shown.items():
            if key == "dataset_options" or value is None:
                continue
            flag = "--" + key.replace("_", "-")
            if isinstance(value, tuple | list):
                parts.append(f"{flag} {' '.join(_show(v) for v in value)}")
            elif isinstance(value, bool):
                parts.append(flag) if value else None
            else:
                parts.append(f"{flag} {shlex.quote(_show(value))}")
        return " ".join(parts)


def _finite_or_worst(value, sign: float) -> float:
    """NaN (a diverged run) becomes the worst value, so Optuna records it rather than failing."""
    if value is None or not np.isfinite(value):
        return sign * float("inf")
    return float(value)


def _show(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
