"""Honest comparisons: tune each optimizer's own hyperparameters with a stated budget.

For each optimizer, ``budget`` configurations are drawn (the lab default first, then random
draws, seeded) from that optimizer's own search space (``search_space``): the learning rate, and
the betas, momentum or averaging constant where the optimizer has them, each over the interval
and scale its declaration gives (:mod:`adamkit.rules.hyperparameters`). Every configuration runs
from ``n_starts`` start points (the race's start plus points drawn uniformly in the window) and,
with gradient noise, ``n_seeds`` independent noise draws each; all of that is ONE engine call of
``budget * n_starts * n_seeds`` configurations. No clipping, schedule or other help is added.

Score of a configuration: the mean over its runs of log10(max(f_final - f*, 1e-16)) (f itself
when f* is unknown); a configuration that diverges on any run scores +inf. Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from adamkit import rules
from adamkit.errors import UsageError
from adamkit.lab.engine import default_hyperparameters, run
from adamkit.lab.functions import TestFunction
from adamkit.lab.functions import get as get_function
from adamkit.rules import registry
from adamkit.rules.hyperparameters import HYPERPARAMETERS, Hyperparameter


def search_space(optimizer: str) -> dict[str, Hyperparameter]:
    """The hyperparameters tuned for ``optimizer`` beside lr: what its declaration's ``searched``
    names, else its betas or its averaging constant; and momentum where the variant is a momentum
    method (plain SGD and RMSprop keep 0)."""
    v = rules.variant(optimizer)
    takes = rules.get(v.rule).takes
    searched = registry.declaration(v.rule).searched
    if searched is None:
        searched = (*(("beta1", "beta2") if "betas" in takes else ()),
                    *(("alpha",) if "alpha" in takes else ()))
    names = [*searched, *(("momentum",) if "momentum" in v.settings else ())]
    return {n: HYPERPARAMETERS[n] for n in names}




def __getattr__(name: str) -> Any:
    if name == "SEARCH_SPACES":  # every optimizer's, read from the registry when asked
        return {n: search_space(n) for n in rules.VARIANTS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class TuneResult:
    optimizer: str
    best: dict  # the tuned hyperparameters (lr and the searched ones)
    best_score: float
    default: dict
    default_score: float
    budget: int
    n_starts: int
    n_seeds: int
    steps: int
    searched: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "optimizer": self.optimizer,
            "tuned_hyperparameters": self.best,
            "tuned_score": _finite(self.best_score),
            "default_hyperparameters": self.default,
            "default_score": _finite(self.default_score),
            "budget": {
                "configurations": self.budget, "start_points": self.n_starts,
                "noise_seeds": self.n_seeds, "steps": self.steps,
                "runs": self.budget * self.n_starts * self.n_seeds,
            },
            "searched": ["lr", *self.searched],
            "score": "mean over runs of log10(max(f - f*, 1e-16)); +inf (null) if any run "
                     "diverged; lower is better",
        }


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def sample(optimizer: str, budget: int, rng: np.random.Generator, lab_lr: float) -> dict:
    """``budget`` configurations of ``optimizer``'s search space; the first is the lab default."""
    space = {"lr": HYPERPARAMETERS["lr"], **search_space(optimizer)}
    defaults = {"lr": lab_lr, **dict(rules.variant(optimizer).settings)}
    return {name: np.concatenate([[defaults.get(name, h.default)], draw(h, budget - 1, rng)])
            for name, h in space.items()}


def draw(h: Hyperparameter, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values of ``h`` over its search interval, on its scale ("log": log-uniform;
    "one_minus_log": 1 - value log-uniform, for averages near 1; "linear": uniform)."""
    assert h.search is not None, f"{h.name} declares no search interval"
    low, high = h.search
    if h.scale == "log":
        return 10 ** rng.uniform(np.log10(low), np.log10(high), n)
    if h.scale == "one_minus_log":
        return 1 - 10 ** rng.uniform(np.log10(1 - high), np.log10(1 - low), n)
    return rng.uniform(low, high, n)


def tune(function, optimizer: str, *, steps: int | None = None, start=None, budget: int = 64,
         n_starts: int = 4, n_seeds: int = 2, noise: float = 0.0, seed: int = 0) -> TuneResult:
    """Tune ``optimizer`` on ``function`` (see the module doc for the protocol and the score)."""
    fn: TestFunction = get_function(function)
    if budget < 1 or n_starts < 1 or n_seeds < 1:
        raise UsageError(
            f"budget ({budget}), starts ({n_starts}) and seeds ({n_seeds}) must all be >= 1"
        )
    steps = fn.steps if steps is None else steps
    n_seeds = n_seeds if noise > 0 else 1  # without noise every seed gives the same run
    rng = np.random.default_rng(seed)
    defaults = default_hyperparameters(fn, optimizer)
    draws = sample(optimizer, budget, rng, defaults["lr"])
    fixed = {k: v for k, v in defaults.items() if k not in draws}
    starts = _start_points(fn, start, n_starts, rng)
    runs_per_config = n_starts * n_seeds
    # configuration k occupies rows k*runs_per_config ... (k+1)*runs_per_config - 1
    hp: dict[str, Any] = {k: np.repeat(v, runs_per_config) for k, v in draws.items()}
    start_rows = np.tile(np.repeat(starts, n_seeds, axis=0), (budget, 1))
    result = run(fn, optimizer, steps=steps, start=start_rows, noise=noise, seed=seed,
                 record_path=False, **fixed, **hp)  # scored on final losses: no paths kept
    scores = run_scores(fn, result).reshape(budget, runs_per_config).mean(axis=1)
    best = int(np.argmin(scores))

    def config(k: int) -> dict:
        out = {name: float(values[k]) for name, values in draws.items()}
        return {**fixed, **out}

    return TuneResult(
        optimizer=optimizer, best=config(best), best_score=float(scores[best]),
        default=config(0), default_score=float(scores[0]), budget=budget, n_starts=n_starts,
        n_seeds=n_seeds, steps=steps, searched=tuple(k for k in draws if k != "lr"),
    )


def run_scores(fn: TestFunction, result) -> np.ndarray:
    """Each run's score (see the module doc): log10(max(f_final - f*, 1e-16)), +inf if diverged."""
    gap = result.final_loss() - (fn.f_min if fn.f_min is not None else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.maximum(gap, 1e-16))
    return np.where(result.diverged | ~np.isfinite(logs), np.inf, logs)


def _start_points(fn: TestFunction, start, n: int, rng: np.random.Generator) -> np.ndarray:
    first = np.asarray(fn.start if start is None else start, dtype=float).reshape(1, fn.dim)
    lo = np.array([w[0] for w in fn.window])
    hi = np.array([w[1] for w in fn.window])
    others = lo + (hi - lo) * rng.random((n - 1, fn.dim))
    return np.concatenate([first, others])
