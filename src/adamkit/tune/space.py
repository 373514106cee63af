"""Search spaces over an optimizer's hyperparameters, built from their declarations.

A dimension is given as text (a flag's value or a string in a space file):

- ``3e-3``: fixed;
- ``1e-3,1e-2,1e-1``: a list of values (a grid's axis; a categorical choice for random and TPE);
- ``1e-5:1e-1``: an interval, searched on the declaration's scale (``log`` for lr and ε,
  ``one_minus_log`` for the betas and other averages near 1, ``linear`` otherwise);
- ``1e-5:1e-1:5``: 5 values spread over the interval on that scale (a list).

A space file is JSON: a dict ``{name: value}`` (a list is a list of values, a string may be any
of the forms above), or, for ``--strategy grid``, a list of such dicts, which
``sklearn.model_selection.ParameterGrid`` would explore one after another. Keras's names
(``learning_rate``, ``beta_1``, ``epsilon``) are accepted, as the seeds write them.

Grid order is ``ParameterGrid``'s: keys sorted by the name as written, the last key varying
fastest. Names an optimizer does not take are left out of its space (SGD has no betas), so
several optimizers can share one space; a name that no optimizer takes is an error.

Optuna sees a one_minus_log dimension as ``1-beta1``, log-uniform: the scale it is searched on,
so TPE models it where it matters (0.9 vs 0.99, not 0.9 vs 0.91).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adamkit import rules
from adamkit.errors import UsageError
from adamkit.lab.race_tuning import draw
from adamkit.lab.race_tuning import search_space as lab_search_space
from adamkit.rules.hyperparameters import ALIASES, HYPERPARAMETERS, Hyperparameter

# Declared hyperparameters a tuner may vary: betas is searched as its parts; the rest are not
# choices anyone tunes (torch's spelling of the decay mode, the direction of the step).
NOT_TUNABLE = ("betas", "decoupled_weight_decay", "maximize")
# The trainer's own fields that are worth searching beside the optimizer's hyperparameters.
TRAIN_FIELDS = ("batch_size", "schedule")
TUNABLE = tuple(n for n in HYPERPARAMETERS if n not in NOT_TUNABLE) + TRAIN_FIELDS


@dataclass(frozen=True)
class Interval:
    """A continuous (or, for batch_size, integer) range searched on the declaration's scale."""

    low: float
    high: float


Dimension = Interval | tuple  # a tuple of values; one value is a fixed setting


def declaration(name: str) -> Hyperparameter | None:
    return HYPERPARAMETERS.get(name)


def canonical_name(name: str) -> str:
    """``learning_rate`` -> ``lr``, ``beta-1`` -> ``beta1``; a UsageError for unknown names."""
    key = name.strip().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in TUNABLE:
        raise UsageError(f"unknown hyperparameter {name!r}; valid: {', '.join(sorted(TUNABLE))}")
    return key


def scale(name: str) -> str:
    if name == "batch_size":
        return "log"
    h = declaration(name)
    return h.scale if h is not None else "linear"


def _check(name: str, value: Any, text: Any) -> Any:
    """``value`` if valid for ``name`` (its declaration's range or choices), else a UsageError."""
    h = declaration(name)
    if name == "batch_size":
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise UsageError(f"invalid batch_size {text!r}; valid: integers >= 1")
        return int(value)
    if name == "schedule":
        if not isinstance(value, str) or not value:
            raise UsageError(f"invalid schedule {text!r}; valid: a schedule spec such as cosine")
        return value
    assert h is not None
    h.check(value, "tune")  # names the value and the valid range or choices
    return float(value) if h.kind == "float" else value


def _parse_value(name: str, text: Any) -> Any:
    """One value from text (flag) or JSON: a number, a bool, or a choice."""
    h = declaration(name)
    if not isinstance(text, str):
        return _check(name, text, text)
    t = text.strip()
    if name == "batch_size" or (h is not None and h.kind == "float"):
        try:
            number: Any = int(t) if name == "batch_size" else float(t)
        except ValueError:
            raise UsageError(f"invalid {name} {text!r}: not a number") from None
        return _check(name, number, text)
    if h is not None and h.kind == "bool":
        if t.lower() not in ("true", "false"):
            raise UsageError(f"invalid {name} {text!r}; valid: true, false")
        return t.lower() == "true"
    return _check(name, t, text)


def spread(name: str, low: float, high: float, n: int) -> tuple:
    """``n`` values from ``low`` to ``high`` evenly spaced on ``name``'s scale."""
    s = scale(name)
    if s == "log":
        values = np.geomspace(low, high, n)
    elif s == "one_minus_log":
        values = 1 - np.geomspace(1 - low, 1 - high, n)
    else:
        values = np.linspace(low, high, n)
    if name == "batch_size":
        return tuple(dict.fromkeys(int(round(v)) for v in values))
    return tuple(float(v) for v in values)


def parse_dimension(name: str, text: Any) -> Dimension:
    """A dimension from a flag's text or a space file's value (see the module doc)."""
    if isinstance(text, list | tuple):
        if not text:
            raise UsageError(f"empty list of values for {name}")
        return tuple(_parse_value(name, v) for v in text)
    if not isinstance(text, str):
        return (_parse_value(name, text),)
    if ":" in text:
        parts = text.split(":")
        h = declaration(name)
        numeric = name == "batch_size" or (h is not None and h.kind == "float")
        if len(parts) not in (2, 3) or not numeric:
            raise UsageError(f"invalid range {text!r} for {name}; write LOW:HIGH or LOW:HIGH:N "
                             f"(numbers only)")
        low, high = (_parse_value(name, p) for p in parts[:2])
        if not low < high:
            raise UsageError(f"empty range {text!r} for {name}: LOW must be below HIGH")
        if scale(name) == "log" and low <= 0:
            raise UsageError(f"invalid range {text!r} for {name}: its scale is log, LOW must be > 0")
        if len(parts) == 2:
            return Interval(low, high)
        try:
            n = int(parts[2])
        except ValueError:
            n = 0
        if n < 1:
            raise UsageError(f"invalid count {parts[2]!r} in {text!r}; valid: an integer >= 1")
        return spread(name, low, high, n)
    items = [t for t in text.split(",")]
    if any(not t.strip() for t in items):
        raise UsageError(f"empty value in {text!r} for {name}")
    return tuple(_parse_value(name, t) for t in items)


def parse_grids(given: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[dict]:
    """``[{written name: Dimension}]``: one grid, or several (a ParameterGrid list of dicts)."""
    grids = [given] if isinstance(given, Mapping) else list(given)
    out = []
    for grid in grids:
        if not isinstance(grid, Mapping):
            raise UsageError(f"a space is a dict of hyperparameters or a list of dicts, got {grid!r}")
        parsed: dict[str, Dimension] = {}
        seen: dict[str, str] = {}
        for written, value in grid.items():
            name = canonical_name(written)
            if name in seen:
                raise UsageError(f"{name} given twice (as {seen[name]} and {written})")
            seen[name] = written
            parsed[written] = parse_dimension(name, value)
        out.append(parsed)
    return out


def read_space_file(path: str | Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"space file {str(path)!r} not found") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"space file {str(path)!r} is not JSON: {exc}") from None
    return parse_grids(data)


def parameter_grid(grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]]) -> list[dict]:
    """Every combination, in ``sklearn.model_selection.ParameterGrid``'s order: for each dict,
    keys sorted, ``itertools.product`` of the values (the last key varies fastest)."""
    grids = [grid] if isinstance(grid, Mapping) else list(grid)
    out: list[dict] = []
    for g in grids:
        items = sorted(g.items())
        if not items:
            out.append({})
            continue
        keys, values = zip(*items, strict=True)
        out.extend(dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values))
    return out


@dataclass
class OptimizerSpace:
    """One optimizer's search space: dimensions by canonical name (a grid's list, if any)."""

    optimizer: str
    dims: dict[str, Dimension]
    grid: list[dict] | None = None  # the configurations of --strategy grid, in order

    @property
    def fixed(self) -> dict:
        return {k: v[0] for k, v in self.dims.items() if isinstance(v, tuple) and len(v) == 1}

    @property
    def searched(self) -> dict[str, Dimension]:
        return {k: v for k, v in self.dims.items() if k not in self.fixed}

    def param_name(self, name: str) -> str:
        """Optuna's name for a dimension: ``1-beta1`` for intervals searched as 1 - value."""
        dim = self.dims[name]
        return f"1-{name}" if isinstance(dim, Interval) and scale(name) == "one_minus_log" else name

    def distributions(self) -> dict[str, Any]:
        """Optuna distributions of the searched dimensions, by Optuna name."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out: dict[str, Any] = {}
        for name, dim in self.searched.items():
            key = self.param_name(name)
            if isinstance(dim, tuple):
                out[key] = CategoricalDistribution(dim)
            elif name == "batch_size":
                out[key] = IntDistribution(int(dim.low), int(dim.high), log=True)
            elif scale(name) == "one_minus_log":
                out[key] = FloatDistribution(1 - dim.high, 1 - dim.low, log=True)
            else:
                out[key] = FloatDistribution(dim.low, dim.high, log=scale(name) == "log")
        return out

    def to_params(self, config: Mapping[str, Any], strict: bool = True) -> dict[str, Any]:
        """Optuna's parameter values for a configuration (``strict=False``: of the searched
        dimensions it sets; a grid point of a list of grids may set fewer)."""
        out = {}
        for name in self.searched:
            if name not in config and not strict:
                continue
            key = self.param_name(name)
            out[key] = 1 - config[name] if key != name else config[name]
        return out

    def from_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration (canonical names, fixed settings included) for Optuna's values."""
        config = dict(self.fixed)
        for name in self.searched:
            key = self.param_name(name)
            config[name] = 1 - params[key] if key != name else params[key]
        return config

    def suggest(self, trial, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Ask an Optuna trial for the searched dimensions (``names``: only those, as a grid
        point of a list of grids may set fewer); the configuration."""
        wanted = set(self.searched if names is None else names)
        config = dict(self.fixed)
        for key, dist in self.distributions().items():
            name = key[2:] if key.startswith("1-") else key
            if name in wanted:
                value = _suggest(trial, key, dist)
                config[name] = 1 - value if key != name else value
        return config

    def random_config(self, rng: np.random.Generator) -> dict[str, Any]:
        """One configuration drawn with ``rng``: intervals on their scale (``lab.race_tuning.draw``),
        lists uniformly."""
        config = dict(self.fixed)
        for name, dim in self.searched.items():
            if isinstance(dim, tuple):
                config[name] = dim[int(rng.integers(len(dim)))]
            elif name == "batch_size":
                config[name] = int(round(math.exp(rng.uniform(math.log(dim.low),
                                                              math.log(dim.high)))))
            else:
                h = dataclasses.replace(HYPERPARAMETERS[name], search=(dim.low, dim.high))
                config[name] = float(draw(h, 1, rng)[0])
        return config


def _suggest(trial, key: str, dist) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(key, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(key, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(key, dist.low, dist.high, log=dist.log)


def default_dimensions(optimizer: str, applicable: Iterable[str]) -> dict[str, Dimension]:
    """What is searched when nothing is given: lr, ε, and what ``lab.race_tuning`` searches for the
    optimizer (its betas, averaging constant or momentum), each over its declared interval."""
    applicable = set(applicable)
    names = ["lr", "eps"]
    if optimizer in rules.VARIANTS:
        names += list(lab_search_space(optimizer))
    elif "betas" in applicable or "beta1" in applicable:
        names += ["beta1", "beta2"]
    out: dict[str, Dimension] = {}
    for name in names:
        h = HYPERPARAMETERS[name]
        if name in applicable and h.search is not None:
            out[name] = Interval(*h.search)
    return out


def build(optimizers: Sequence[str], grids: list[dict], strategy: str,
          applicable: Mapping[str, set[str]]) -> dict[str, OptimizerSpace]:
    """Each optimizer's space from the parsed grids (``parse_grids``); ``applicable[opt]`` is
    the names the objective lets ``opt`` vary."""
    if len(grids) > 1 and strategy != "grid":
        raise UsageError(f"a list of grids needs --strategy grid (got {strategy})")
    given = [name for grid in grids for name in map(canonical_name, grid)]
    for name in dict.fromkeys(given):
        if not any(name in applicable[o] for o in optimizers):
            raise UsageError(f"hyperparameter {name} does not apply to {', '.join(optimizers)}; "
                             f"valid: {', '.join(sorted(set().union(*applicable.values())))}")
    spaces = {}
    for opt in optimizers:
        mine = [{w: d for w, d in grid.items() if canonical_name(w) in applicable[opt]}
                for grid in grids]
        dims: dict[str, Dimension] = {}
        for grid in mine:
            for written, dim in grid.items():
                name = canonical_name(written)
                before = dims.get(name)
                if isinstance(before, tuple) and isinstance(dim, tuple):
                    dim = tuple(dict.fromkeys((*before, *dim)))  # several grids: every value
                dims[name] = dim
        if not any(mine):
            if strategy == "grid":
                raise UsageError("--strategy grid needs lists of values, e.g. --lr 1e-3,1e-2,1e-1 "
                                 "or --lr 1e-4:1:9 (9 values on lr's log scale)")
            dims = default_dimensions(opt, applicable[opt])
        grid_configs = None
        if strategy == "grid":
            for grid in mine:
                for written, dim in grid.items():
                    if isinstance(dim, Interval):
                        raise UsageError(
                            f"--strategy grid needs a list of values for {written}, got the range "
                            f"{dim.low:g}:{dim.high:g}; write {dim.low:g}:{dim.high:g}:N for N values")
            grid_configs = [{canonical_name(k): v for k, v in c.items()}
                            for c in parameter_grid([g for g in mine if g] or [{}])]
        spaces[opt] = OptimizerSpace(opt, dims, grid_configs)
    return spaces
