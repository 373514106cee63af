"""The lab's engine: run an optimizer on a test function, C configurations at once.

    result = run("rosenbrock", "adam", steps=1000, start=(-1.5, 2.5), lr=np.logspace(-4, 0, 100))
    result.path   # (C, steps+1, dim): every iterate of every configuration
    result.loss   # (C, steps+1)

Every hyperparameter (and the start point) may be an array of C values; the engine reshapes it
to (C, 1) so it broadcasts against params of shape (C, dim) and drives ONE ``adamkit.numpy``
optimizer over the whole batch: row c follows configuration c exactly as a single-configuration
optimizer would (the tests check this). The update math lives only in ``adamkit.rules``.

Lab optimizer names (:func:`optimizer_names`) are the variants declared in :mod:`adamkit.rules.registry`:
rules plus the settings that make the textbook optimizers (``momentum`` is SGD(momentum=0.9), ``nesterov``
SGD(momentum=0.9, nesterov=True), ``amsgrad`` Adam(amsgrad=True)). Everything else uses
torch.optim's defaults (AdamW keeps weight_decay=1e-2), except ``lr``: when not given, the
function's lab default for the optimizer's family is used (see :mod:`adamkit.lab.functions`). No
clipping, no schedule, nothing hidden.

Divergence: a configuration diverges at the first step where its point or loss is not finite, or
where a coordinate leaves the window widened by ``escape`` window-widths on each side. The run
goes on for the others; the diverged configuration's path and loss are NaN after that step,
``diverged`` is True and ``diverged_step`` says when.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adamkit import numpy as ak_numpy
from adamkit import rules
from adamkit.errors import UsageError
from adamkit.lab.functions import GradientNoise, TestFunction
from adamkit.lab.functions import get as get_function
from adamkit.rules import registry
from adamkit.rules.hyperparameters import ALIASES, HYPERPARAMETERS

ESCAPE = 10.0  # window-widths beyond the window at which a path counts as diverged
_CHUNK = 32  # steps per block when computing losses and divergence after the run


def optimizer_names() -> tuple[str, ...]:
    """Every optimizer the lab knows (the registry's variants, one registered later included)."""
    return tuple(registry.variants())


def __getattr__(name: str) -> Any:
    if name == "OPTIMIZERS":  # read when asked: an optimizer registered at run time is in it
        return optimizer_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def optimizer_spec(name: str) -> tuple[str, dict, str]:
    """(rule name, fixed settings, lab-lr family) for a lab optimizer name; a UsageError, in one
    line, for one that acts on weight matrices (the lab's points are vectors)."""
    v = registry.variant(name)
    if v.shape == "matrix":
        raise UsageError(matrix_note(v.name))
    return v.rule, dict(v.settings), v.family


def matrix_note(name: str) -> str:
    """The one line the lab, the page and race say for an optimizer that acts on matrices."""
    return (f"{name} acts on weight matrices (2-D parameters of a model); a test function's point "
            f"is a vector, where it has nothing to act on: train it with `adamkit train --optimizer "
            f"{name}`")


def lab_lr(function: TestFunction, name: str) -> float:
    """The lab's default lr of optimizer ``name`` on ``function``: its family's, times its scale."""
    v = registry.variant(name)
    return function.default_lr(v.family) * v.lab_lr_scale


def hyperparameter_names(optimizer: str) -> list[str]:
    """The hyperparameters ``run`` accepts for ``optimizer`` (a pair's parts stand for it:
    beta1/beta2 for betas, Rprop's eta_minus/eta_plus for etas)."""
    rule_name, _, _ = optimizer_spec(optimizer)
    names = list(rules.get(rule_name).takes)
    return names + [part for name in names for part in _parts(name)]


def _parts(name: str) -> tuple[str, ...]:
    """A pair's parts (``betas`` -> beta1, beta2); () for any other hyperparameter."""
    declared = HYPERPARAMETERS[name]
    return declared.choices if declared.kind == "pair" else ()


def default_hyperparameters(function: TestFunction, optimizer: str) -> dict:
    """The settings a race uses when the user sets nothing: torch defaults and the lab lr."""
    _, fixed, _ = optimizer_spec(optimizer)
    return {**fixed, "lr": lab_lr(function, optimizer)}


@dataclass
class RunResult:
    """What ``run`` returns. Arrays are indexed by configuration first."""

    function: TestFunction
    optimizer: str
    rule: str
    hyperparameters: dict  # validated; array-valued entries have shape (C,)
    path: np.ndarray  # (C, steps+1, dim)
    loss: np.ndarray  # (C, steps+1)
    diverged: np.ndarray  # (C,) bool
    diverged_step: np.ndarray  # (C,) int, -1 where not diverged
    noise: float = 0.0
    seed: int | None = 0
    internals: dict[str, np.ndarray] | None = None  # name -> (C, steps, dim)
    swept: tuple[str, ...] = field(default=())  # hyperparameters given as arrays
    steps_run: int | None = None  # set when path/loss keep only the start and the end

    @property
    def configurations(self) -> int:
        return self.path.shape[0]

    @property
    def steps(self) -> int:
        return self.path.shape[1] - 1 if self.steps_run is None else self.steps_run

    def config(self, c: int) -> dict:
        """Configuration c's hyperparameters as plain Python values."""
        out = {}
        for k, v in self.hyperparameters.items():
            if k == "betas":
                out[k] = [float(np.asarray(b).reshape(-1)[c % np.size(b)]) for b in v]
            elif isinstance(v, np.ndarray):
                out[k] = v.reshape(-1)[c % v.size].item()
            else:
                out[k] = v
        return out

    def final_loss(self) -> np.ndarray:
        """Loss after the last step (NaN for diverged configurations)."""
        return self.loss[:, -1]

    def steps_to_tolerance(self, tolerance: float) -> np.ndarray:
        """First step at which f - f* <= tolerance; -1 if never, or if f* is unknown/unbounded."""
        if self.function.f_min is None:
            return np.full(self.configurations, -1)
        target = self.function.f_min + tolerance
        with np.errstate(invalid="ignore"):
            hit = self.loss <= target
        first = hit.argmax(axis=1)
        return np.where(hit.any(axis=1), first, -1)

    def distance_to_minimum(self) -> np.ndarray | None:
        """Distance of the final point to the nearest known minimum (None when none is known)."""
        return self.function.nearest_minimum_distance(self.path[:, -1])

    def summary(self, c: int = 0, tolerance: float = 1e-6) -> dict:
        """One configuration's results as JSON-ready values (what race.json holds)."""
        final = float(self.loss[c, -1])
        dist = self.distance_to_minimum()
        reached = int(self.steps_to_tolerance(tolerance)[c])
        return {
            "optimizer": self.optimizer,
            "rule": self.rule,
            "hyperparameters": _jsonable(self.config(c)),
            "start": [float(v) for v in self.path[c, 0]],
            "final_point": _floats(self.path[c, -1]),
            "final_loss": _float(final),
            "best_loss": _float(np.nanmin(self.loss[c])) if np.isfinite(self.loss[c]).any()
            else None,
            "distance_to_nearest_minimum": None if dist is None else _float(dist[c]),
            "tolerance": tolerance,
            "steps_to_tolerance": None if reached < 0 else reached,
            "diverged": bool(self.diverged[c]),
            "diverged_step": None if not self.diverged[c] else int(self.diverged_step[c]),
            "steps": self.steps,
            "noise": self.noise,
            "seed": self.seed,
        }


def run(
    function: Any,
    optimizer: str,
    *,
    steps: int | None = None,
    start: Any = None,
    noise: float = 0.0,
    seed: int | None = 0,
    internals: bool = False,
    escape: float = ESCAPE,
    progress: bool = False,
    record_path: bool = True,
    **hyperparameters: Any,
) -> RunResult:
    """Run ``optimizer`` on ``function`` for ``steps`` steps, for C configurations at once.

    ``function``: a name from ``adamkit.lab.functions``, an expression, or a TestFunction.
    ``optimizer``: a lab name (:func:`optimizer_names`). ``start``: (dim,) or (C, dim); default the
    function's start. ``hyperparameters``: the rule's names (lr, betas, eps, momentum, ...), with
    ``beta1``/``beta2`` accepted for the two halves of ``betas``; each a scalar or an array of C
    values (all arrays must have the same length C). ``noise``: σ of Gaussian noise added to every
    gradient (seeded by ``seed``). ``internals=True`` records the optimizer's per-step internals:
    for Adam/AdamW/AMSGrad ``m_hat``, ``v_hat``, ``effective_lr`` = lr/(sqrt(v_hat)+eps) and
    ``update`` = effective_lr*m_hat; for the others their state arrays (momentum_buffer,
    exp_avg, exp_inf, mu_product, ...), each as (C, steps, dim). ``record_path=False`` keeps
    only the start and the final iterate in ``path`` and ``loss`` (divergence is found as
    usual), so memory does not grow with ``steps`` (what phase diagrams and tuning need).
    """
    fn = get_function(function)
    rule_name, fixed, _ = optimizer_spec(optimizer)
    steps = fn.steps if steps is None else int(steps)
    if steps < 0:
        raise UsageError(f"steps {steps} must be >= 0")
    hp = {**fixed, **hyperparameters}
    hp.setdefault("lr", lab_lr(fn, optimizer))
    hp, swept, C_hp = _batch_hyperparameters(hp, rules.get(rule_name), optimizer)
    start_arr = _batch_start(fn, start)
    C = _common_size([("hyperparameters", C_hp), ("start", start_arr.shape[0])])
    params = np.broadcast_to(start_arr, (C, fn.dim)).astype(np.float64, copy=True)
    columns = {k: _column(v, C) for k, v in hp.items()}
    cls = ak_numpy.for_rule(rule_name)
    opt = cls(**columns) if cls.rule.elementwise else OneByOne(cls, columns, C)
    noise_fn = GradientNoise(noise, seed)

    # without record_path, iterates are kept in blocks of _CHUNK steps, checked, then dropped
    rows = steps + 1 if record_path else min(steps, _CHUNK) + 1
    path = np.empty((rows, C, fn.dim))
    path[0] = params
    start_row, done, diverged_step = path[0].copy(), 0, np.full(C, -1)
    recorded: dict[str, np.ndarray] | None = {} if internals else None
    iterator = range(steps)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=f"{optimizer} on {fn.name}", unit="step", leave=False,
                        file=sys.stderr, disable=not sys.stderr.isatty())
    # Diverging configurations overflow; they are found and reported after the loop, so the
    # floating-point warnings they raise on the way are silenced here, and only here.
    with np.errstate(all="ignore"):
        for t in iterator:
            grads = noise_fn(fn.grad(params))
            params = opt.update(params, grads)
            path[t + 1 - done] = params
            if recorded is not None:
                _record(recorded, opt, t, steps, params.shape)
            if t + 1 - done == rows - 1 and t + 1 < steps:  # a full block (never when recording)
                _, bad = _losses_and_divergence(fn, path, escape)
                diverged_step = np.where((diverged_step < 0) & (bad >= 0), bad + done,
                                         diverged_step)
                path[0], done = path[-1], t + 1
        if recorded is not None and "_exp_avg" in recorded:
            recorded = _adam_internals(recorded, opt.hp, steps)
        loss, bad = _losses_and_divergence(fn, path[: steps + 1 - done], escape)
        diverged_step = np.where((diverged_step < 0) & (bad >= 0), bad + done, diverged_step)
        if not record_path:
            path = np.stack([start_row, path[steps - done]])
            loss = np.stack([fn.value(start_row), loss[-1]])
    diverged = diverged_step >= 0
    hp_out = {k: _squeeze(v) for k, v in opt.hp.items()}
    return RunResult(
        function=fn, optimizer=optimizer.strip().lower(), rule=rule_name, hyperparameters=hp_out,
        path=path.transpose(1, 0, 2), loss=loss.T, diverged=diverged,
        diverged_step=diverged_step, noise=float(noise), seed=seed,
        internals=None if recorded is None else {k: v.transpose(1, 0, 2)
                                                 for k, v in recorded.items()},
        swept=swept, steps_run=None if record_path else steps,
    )


class OneByOne:
    """C optimizers of a rule that reads whole tensors (``Rule.elementwise`` False: LAMB's norms,
    Adafactor's means), one per configuration on its own (dim,) point, driven as one optimizer over
    the (C, dim) batch: stacking configurations in one tensor would mix them in those statistics."""

    def __init__(self, cls: Any, columns: dict[str, Any], C: int) -> None:
        def row(value: Any, c: int) -> Any:
            if isinstance(value, tuple):  # betas: a pair of columns
                return tuple(row(v, c) for v in value)
            return value[c, 0] if isinstance(value, np.ndarray) and value.ndim == 2 else value

        self.rule = cls.rule
        self.optimizers = [cls(**{k: row(v, c) for k, v in columns.items()}) for c in range(C)]
        self.hp = cls(**columns).hp if C == 1 else {**self.optimizers[0].hp, **columns}

    def update(self, params: np.ndarray, grads: np.ndarray) -> np.ndarray:
        return np.stack([o.update(p, g) for o, p, g in zip(self.optimizers, params, grads,
                                                           strict=True)])

    @property
    def state(self) -> dict[Any, dict[str, np.ndarray]]:
        """The configurations' states stacked as one (C, ...) batch (scalars as (C, 1))."""
        states: list[dict[str, np.ndarray]] = [next(iter(o.state.values()), {}) for o in self.optimizers]
        return {None: {k: np.stack([np.reshape(s[k], np.shape(s[k]) or (1,)) for s in states])
                       for k in states[0]}}


def _record(recorded: dict, opt, t: int, steps: int, shape: tuple) -> None:
    state: dict[str, np.ndarray] = next(iter(opt.state.values()), {})
    if opt.rule.name in rules.ADAM_FAMILY:  # state arrays have the params' shape (C, dim)
        # only the moments are copied here; m̂, v̂, the effective lr and the update follow from
        # them after the loop, for every step at once (_adam_internals): the same numbers as
        # opt.internals() at every step, at a fifth of the cost
        if not recorded:
            recorded["_exp_avg"] = np.empty((steps, *shape))
            recorded["_v"] = np.empty((steps, *shape))
        recorded["_exp_avg"][t] = state["exp_avg"]
        recorded["_v"][t] = state["max_exp_avg_sq"] if opt.hp["amsgrad"] else state["exp_avg_sq"]
        return
    values = state
    for k, v in values.items():
        if k not in recorded:
            recorded[k] = np.full((steps, *shape), np.nan)
        # per-configuration scalars (NAdam's mu_product, shape (C, 1)) spread over the coordinates
        recorded[k][t] = np.broadcast_to(v, shape)


def _adam_internals(recorded: dict, hp: dict, steps: int) -> dict[str, np.ndarray]:
    """``rules.adam_internals`` for every step at once, from the recorded moments (T, C, dim).

    The per-step scalars (bias corrections, the denominator's five numbers) come from
    ``rules.adam_step_scalars`` at each step, as ``opt.internals()`` gets them, and are stacked
    along the step axis; the array arithmetic is then the same IEEE operations in the same order,
    so the results are bit-for-bit those of calling ``opt.internals()`` after every step.
    """
    from dataclasses import fields

    from adamkit.rules.adam import Denominator, denominator

    m, v = recorded["_exp_avg"], recorded["_v"]
    per_step = [rules.adam_step_scalars(hp, t) for t in range(1, steps + 1)]
    C = m.shape[1]

    def stacked(values: list) -> Any:
        first = values[0]
        if isinstance(first, int | float) and all(type(x) is type(first) and x == first
                                                    for x in values):
            return first  # a constant Python number: the rule's shortcuts (skip 1s, 0s) apply
        if all(isinstance(x, int | float) for x in values):
            return np.array(values, dtype=np.float64).reshape(-1, 1, 1)
        return np.stack([np.broadcast_to(np.asarray(x, np.float64), (C, 1)) for x in values])

    bc1 = stacked([s.bias_correction1 for s in per_step])
    bc2 = stacked([s.bias_correction2 for s in per_step])
    den = Denominator(*(stacked([getattr(s.denominator, f.name) for s in per_step])
                        for f in fields(Denominator)))
    m_hat = m / bc1
    v_hat = v / bc2
    effective_lr = hp["lr"] / denominator(v, den, np)
    return {"m_hat": m_hat, "v_hat": v_hat, "effective_lr": effective_lr,
            "update": effective_lr * m_hat}


def _losses_and_divergence(fn: TestFunction, path: np.ndarray, escape: float):
    """Loss at every iterate, and each configuration's first bad step (-1 if none).

    Bad: a non-finite point or loss, or a coordinate outside the window widened by ``escape``
    widths. Everything after the first bad step is set to NaN (path and loss). Suspects are found
    with min/max over time (NaN propagates through both), then only they are scanned step by step.
    """
    T1, C, dim = path.shape
    lo = np.array([w[0] for w in fn.window])
    hi = np.array([w[1] for w in fn.window])
    width = hi - lo
    lo_far, hi_far = lo - escape * width, hi + escape * width
    loss = np.empty((T1, C))
    for a in range(0, T1, _CHUNK):
        loss[a : a + _CHUNK] = fn.value(path[a : a + _CHUNK])
    inside = (path.min(axis=0) >= lo_far) & (path.max(axis=0) <= hi_far)  # False for NaN
    suspect = ~inside.all(axis=-1) | ~np.isfinite(loss.min(axis=0)) | ~np.isfinite(loss.max(axis=0))
    first_bad = np.full(C, -1)
    for c in np.flatnonzero(suspect):
        p = path[:, c]
        bad = ~np.isfinite(loss[:, c]) | ~((p >= lo_far) & (p <= hi_far)).all(axis=-1)
        t = int(bad.argmax())
        first_bad[c] = t
        # keep the first escaped point (it is real), blank everything after it
        keep = t + 1 if np.isfinite(p[t]).all() else t
        path[keep:, c] = np.nan
        loss[keep:, c] = np.nan
    return loss, first_bad


def _batch_hyperparameters(hp: dict, rule, optimizer: str):
    """Normalise names, check them, and find the batch size C of array-valued hyperparameters."""
    valid = set(rule.takes)
    hp = {ALIASES.get(k, k): v for k, v in hp.items()}  # learning_rate, beta_1, epsilon, ...
    for pair in (h for h in HYPERPARAMETERS.values() if h.kind == "pair"):  # beta1 -> betas, ...
        given = [p for p in pair.choices if p in hp]
        if not given:
            continue
        if pair.name not in valid:
            raise UsageError(f"{optimizer} has no {pair.name}; valid: {', '.join(sorted(valid))}")
        current = hp.get(pair.name, rule.defaults[pair.name])
        hp[pair.name] = tuple(hp.pop(p) if p in hp else v
                              for p, v in zip(pair.choices, current, strict=True))
    unknown = set(hp) - valid
    if unknown:
        shown = valid | {part for name in valid for part in _parts(name)}
        raise UsageError(
            f"unknown hyperparameter {', '.join(sorted(unknown))} for {optimizer}; "
            f"valid: {', '.join(sorted(shown))}"
        )
    sizes, swept = [], []
    out = {}
    for k, v in hp.items():
        if HYPERPARAMETERS[k].kind in ("bool", "choice"):
            if np.ndim(v):
                raise UsageError(f"{k} must be a single value, not an array")
            out[k] = v
            continue
        is_pair = HYPERPARAMETERS[k].kind == "pair"
        parts = v if is_pair else (v,)
        converted = []
        for i, part in enumerate(parts):
            a = np.asarray(part, dtype=np.float64)
            if a.ndim > 1 or (a.ndim == 1 and a.size == 0):
                raise UsageError(f"{k} must be a number or a 1-D array of C values, got {a.shape}")
            if a.ndim == 1:
                sizes.append((k, a.size))
                swept.append(HYPERPARAMETERS[k].choices[i] if is_pair else k)
            converted.append(a if a.ndim else float(a))
        out[k] = tuple(converted) if is_pair else converted[0]
    return out, tuple(swept), _common_size(sizes)


def _common_size(sizes) -> int:
    sizes = [(k, n) for k, n in sizes if n != 1]
    distinct = {n for _, n in sizes}
    if len(distinct) > 1:
        shown = ", ".join(f"{k}: {n}" for k, n in sizes)
        raise UsageError(f"array arguments must all have the same length C; got {shown}")
    return distinct.pop() if distinct else 1


def _batch_start(fn: TestFunction, start) -> np.ndarray:
    s = np.asarray(fn.start if start is None else start, dtype=np.float64)
    if s.ndim == 0:
        s = s.reshape(1)
    if s.shape[-1] != fn.dim or s.ndim > 2:
        raise UsageError(
            f"start must have shape ({fn.dim},) or (C, {fn.dim}) for {fn.name}, got {s.shape}"
        )
    if not np.isfinite(s).all():
        raise UsageError("start must be finite")
    return s.reshape(-1, fn.dim)


def _column(v, C: int):
    """Arrays of C values become (C, 1) columns (broadcast over the params' dim axis)."""
    if isinstance(v, tuple):
        return tuple(_column(p, C) for p in v)
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return np.broadcast_to(v, (C,)).reshape(C, 1).copy()
    return v


def _squeeze(v):
    if isinstance(v, tuple):
        return tuple(_squeeze(p) for p in v)
    if isinstance(v, np.ndarray):
        return v.reshape(-1)
    return v


def _float(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _floats(a) -> list:
    return [_float(v) for v in np.asarray(a).reshape(-1)]


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = list(v) if isinstance(v, tuple) else v
    return out
