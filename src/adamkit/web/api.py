"""What the page asks for, computed by ``adamkit.lab``: functions, surfaces, races, sweeps, tuning.

Each public function takes the request's parsed JSON object and returns a JSON-ready dict; bad
input raises a :class:`~adamkit.errors.UsageError` (400) or :class:`~adamkit.web.inputs.TooLarge`
(413). No update is computed here: races and sweeps are ``adamkit.lab.run`` (or its fused
spelling, :mod:`adamkit.lab.fused`, for sweeps it covers), tuning is ``adamkit.lab.race_tuning``.
Non-finite numbers (a diverged path, log of a negative in a user expression) are sent as null.
"""

from __future__ import annotations

import functools
import math
import shlex
import time
from typing import Any

import numpy as np

from adamkit import rules
from adamkit.lab import functions as F
from adamkit.lab import race_tuning as lab_tune
from adamkit.lab.arguments import race_flags
from adamkit.lab.engine import lab_lr, matrix_note, run
from adamkit.lab.functions import contour_levels
from adamkit.lab.style import optimizer_style
from adamkit.rules.hyperparameters import HYPERPARAMETERS
from adamkit.web import inputs
from adamkit.web.inputs import LIMITS, BadRequest, TooLarge

SETUP = ("function", "start", "steps")  # the keys every race-like request takes
SWEEP_AXES = ("lr", "beta1", "beta2", "eps", "momentum", "alpha")


def meta() -> dict:
    """Everything the page builds its controls from: optimizers, their sliders, the functions.

    ``elsewhere``: the optimizers that act on weight matrices, with the one line that says why a
    test function's point cannot race them.
    """
    optimizers: list[dict[str, Any]] = []
    elsewhere: list[dict[str, str]] = []
    for name, v in rules.VARIANTS.items():
        if v.shape != "any":
            elsewhere.append({"name": name, "doc": v.doc, "note": matrix_note(name)})
            continue
        optimizers.append({
            "name": name, "doc": v.doc, "rule": v.rule, "family": v.family,
            "sliders": inputs.sliders(name), "defaults": inputs.optimizer_defaults(name),
            "internals": v.rule in rules.ADAM_FAMILY, **optimizer_style(name),
            # a choice narrowed by the rule (RMSprop's eps_mode: paper or root)
            "choices": {k: list(c) for k, c in rules.get(v.rule).choices.items()},
        })
    wanted = {k for o in optimizers for k in o["sliders"]}
    return {
        "optimizers": optimizers,
        "elsewhere": elsewhere,
        "hyperparameters": {k: inputs.slider(HYPERPARAMETERS[k]) for k in inputs.SLIDERS if k in wanted},
        "functions": [describe(fn) for fn in F.FUNCTIONS.values()],
        "sweep_axes": list(SWEEP_AXES),
        "limits": LIMITS,
    }


def describe(fn: F.TestFunction) -> dict:
    return {
        "name": fn.name, "formula": fn.formula, "dim": fn.dim, "window": fn.window,
        "start": fn.start, "minima": fn.minima.tolist(), "f_min": fn.f_min, "steps": fn.steps,
        "log_levels": fn.log_levels, "description": fn.description,
        "default_lr": {name: lab_lr(fn, name) for name in raceable()},
    }


def function(body: dict) -> F.TestFunction:
    spec = inputs.text(body.get("function", "rosenbrock"), "function", LIMITS["expression_chars"])
    return _function(spec.strip())


@functools.lru_cache(maxsize=64)  # sympy takes ~0.1 s per expression; the page asks again and again
def _function(spec: str) -> F.TestFunction:
    return F.get(spec)


def function_info(body: dict) -> dict:
    """A registered function or a user expression, described (an expression's errors are 400s)."""
    inputs.only(body, {"function"}, "function")
    return describe(function(body))


def surface(body: dict) -> dict:
    """f on an n x n grid over the window (row j is y_j), and the contour levels to draw."""
    inputs.only(body, {"function", "n"}, "surface")
    fn = function(body)
    n = inputs.integer(body.get("n", 160), "n", 8, LIMITS["surface_n"], "grid points per side")
    if fn.dim != 2:
        xs = np.linspace(*fn.window[0], n)
        return {"window": fn.window, "n": n, "x": xs.tolist(), "f": _finite(fn.value(xs[:, None]))}
    (x0, x1), (y0, y1) = fn.window
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    with np.errstate(all="ignore"):
        Z = fn.value(np.stack([X, Y], axis=-1))
    levels, log = contour_levels(fn, Z)
    return {"window": fn.window, "n": n, "f": _finite(Z.ravel()), "levels": levels.tolist(),
            "log": log, "f_min": fn.f_min}


def race(body: dict) -> dict:
    """Every optimizer's path, loss, divergence step; internals for the one the page inspects."""
    inputs.only(body, {*SETUP, "optimizers", "internals"}, "run")
    fn, start, steps = _setup(body)
    specs = _optimizers(body)
    inspect = body.get("internals")
    if inspect is not None:
        inspect = inputs.integer(inspect, "internals", 0, len(specs) - 1)
    t0 = time.perf_counter()
    out = []
    for i, (name, hp) in enumerate(specs):
        r = run(fn, name, steps=steps, start=start, internals=i == inspect, **hp)
        end = r.steps + 1 if not r.diverged[0] else int(r.diverged_step[0]) + 1
        entry = {
            "name": name, "hyperparameters": _jsonable(r.config(0)),
            "path": _finite(r.path[0, :end]), "loss": _finite(r.loss[0, :end]),
            "diverged_step": int(r.diverged_step[0]) if r.diverged[0] else None,
            "final_loss": _float(r.loss[0, -1]),
        }
        if i == inspect:
            entry["internals"] = _internals(r, end)
        out.append(entry)
    return {"function": fn.name, "start": start, "steps": steps, "runs": out,
            "seconds": time.perf_counter() - t0, "command": race_command(fn, start, steps, specs)}


def _internals(r, end: int) -> dict:
    """Adam's m̂, v̂, per-coordinate step lr/(sqrt(v̂)+ε) and the share of ε in that denominator.

    The ε share is 1 - sqrt(v̂)/denominator, with denominator = lr/effective_lr: it reads the same
    for every ``eps_mode`` (paper, hat, root), because it only asks how much of the divisor is ε.
    """
    if r.rule not in rules.ADAM_FAMILY:
        return {"available": False, "why": f"internals are drawn for the Adam rule "
                                           f"({', '.join(rules.ADAM_FAMILY)}), not {r.rule}"}
    rec = {k: v[0, : end - 1] for k, v in r.internals.items()}
    with np.errstate(all="ignore"):
        share = 1.0 - np.sqrt(rec["v_hat"]) * rec["effective_lr"] / r.config(0)["lr"]
    return {"available": True, "m_hat": _finite(rec["m_hat"]), "v_hat": _finite(rec["v_hat"]),
            "effective_lr": _finite(rec["effective_lr"]), "update": _finite(rec["update"]),
            "eps_share": _finite(np.clip(share, 0.0, 1.0))}


def sweep(body: dict) -> dict:
    """Final loss over a grid of two hyperparameters of one optimizer (every cell at once)."""
    from adamkit.lab import fused

    inputs.only(body, {*SETUP, "optimizer", "x", "y"}, "sweep")
    fn, start, steps = _setup(body)
    name, hp = inputs.optimizer_hyperparameters(
        (body.get("optimizer") or {}).get("name") if isinstance(body.get("optimizer"), dict) else None,
        (body.get("optimizer") or {}).get("hyperparameters"), "optimizer")
    axes = [_axis(body.get(k), k, name) for k in ("x", "y")]
    (xn, xs), (yn, ys) = axes
    if xn == yn:
        raise BadRequest(f"x and y must be different hyperparameters, both are {xn}")
    C = xs.size * ys.size
    if C * steps > LIMITS["sweep_work"]:
        raise TooLarge(f"{C} configurations x {steps} steps is over the limit of "
                       f"{LIMITS['sweep_work']:,} configuration-steps")
    grid = {xn: np.tile(xs, ys.size), yn: np.repeat(ys, xs.size)}
    settings = {k: v for k, v in hp.items() if k not in grid}
    t0 = time.perf_counter()
    final, diverged, engine = fused.final_losses(fn, name, steps=steps, start=start, **settings, **grid)
    seconds = time.perf_counter() - t0
    final = np.where(diverged, np.nan, final).reshape(ys.size, xs.size)
    scored = np.where(np.isfinite(final), final, np.inf)
    best = np.unravel_index(int(np.argmin(scored)), scored.shape)
    return {"x": {"name": xn, "values": xs.tolist(), "scale": HYPERPARAMETERS[xn].scale},
            "y": {"name": yn, "values": ys.tolist(), "scale": HYPERPARAMETERS[yn].scale},
            "final_loss": _finite(final), "diverged": diverged.reshape(ys.size, xs.size).tolist(),
            "best": {xn: float(xs[best[1]]), yn: float(ys[best[0]])} if np.isfinite(scored).any()
            else None, "f_min": fn.f_min, "configurations": C, "steps": steps,
            "seconds": seconds, "engine": engine}


def _axis(spec: Any, which: str, optimizer: str) -> tuple[str, np.ndarray]:
    """An axis ``{"name", "n"[, "low", "high"]}``: n values over the declaration's search
    interval (or the given one), spaced on the declaration's scale (log for lr, 1-β log for β)."""
    if not isinstance(spec, dict):
        raise BadRequest(f"{which} must be an object like {{\"name\": \"lr\", \"n\": 64}}")
    name = spec.get("name")
    valid = [k for k in SWEEP_AXES if k in inputs.sliders(optimizer)]
    if name not in valid:
        raise BadRequest(f"{which}.name {name!r} cannot be swept for {optimizer}; valid: {', '.join(valid)}")
    h = HYPERPARAMETERS[name]
    n = inputs.integer(spec.get("n", 32), f"{which}.n", 1, LIMITS["sweep_axis"], "cells per axis")
    r = h.range
    top = r.high if math.isfinite(r.high) else 1e6
    search = h.search or (r.low, top)
    low = inputs.number(spec.get("low", search[0]), f"{which}.low", r.low, top)
    high = inputs.number(spec.get("high", search[1]), f"{which}.high", r.low, top)
    if not low < high:
        raise BadRequest(f"{which}: low {low:g} must be below high {high:g}")
    if h.scale == "log":
        if low <= 0:
            raise BadRequest(f"{which}.low {low:g} must be > 0 on the log scale of {name}")
        values = np.logspace(np.log10(low), np.log10(high), n)
    elif h.scale == "one_minus_log" and high < 1:  # dense near 1, where averages are sensitive
        values = 1 - np.logspace(np.log10(1 - low), np.log10(1 - high), n)
    else:
        values = np.linspace(low, high, n)
    return name, values


def tune(body: dict) -> dict:
    """Each optimizer's lr (and betas/momentum/alpha) tuned on this function from this start."""
    inputs.only(body, {*SETUP, "optimizers", "budget"}, "tune")
    fn, start, steps = _setup(body)
    budget = inputs.integer(body.get("budget", 64), "budget", 1, LIMITS["tune_budget"], "budget")
    specs = _optimizers(body)
    if len(specs) * budget * steps > LIMITS["sweep_work"]:
        raise TooLarge(f"{len(specs)} optimizers x {budget} configurations x {steps} steps is over "
                       f"the limit of {LIMITS['sweep_work']:,} configuration-steps")
    out = []
    for name, _ in specs:
        result = lab_tune.tune(fn, name, steps=steps, start=start, budget=budget, n_starts=1)
        best = {k: v for k, v in result.best.items() if k in inputs.sliders(name)}
        out.append({"name": name, "hyperparameters": best, "score": _float(result.best_score),
                    "default_score": _float(result.default_score)})
    return {"tuned": out, "budget": budget, "steps": steps,
            "score": "log10(f - f*) after the last step; lower is better"}


def race_command(fn, start, steps, specs) -> str:
    """The ``adamkit race`` command for this race, as far as its flags can say it."""
    names = [n for n, _ in specs]
    flags, notes = race_flags(specs)
    if len(set(names)) != len(names):
        notes.append("race runs each optimizer once")
    parts = ["adamkit", "race", "--function", shlex.quote(fn.name),
             "--start=" + ",".join(f"{v:g}" for v in start), "--steps", str(steps),
             "--optimizers", ",".join(names), *flags]
    return " ".join(parts) + ("" if not notes else "   # not exact: " + "; ".join(notes))


def _setup(body: dict) -> tuple[F.TestFunction, list[float], int]:
    fn = function(body)
    start = fn.start if body.get("start") is None else inputs.point(body["start"], "start", fn.dim)
    steps = inputs.integer(body.get("steps", fn.steps), "steps", 0, LIMITS["steps"], "steps")
    return fn, [float(v) for v in start], steps


def _optimizers(body: dict) -> list[tuple[str, dict]]:
    given = body.get("optimizers")
    if not isinstance(given, list) or not given:
        raise BadRequest("optimizers must be a non-empty list of {\"name\": ..., \"hyperparameters\": {...}}")
    if len(given) > LIMITS["optimizers"]:
        raise TooLarge(f"{len(given)} optimizers is over the limit of {LIMITS['optimizers']}")
    specs = []
    for i, o in enumerate(given):
        if not isinstance(o, dict):
            raise BadRequest(f"optimizers[{i}] must be an object, got {type(o).__name__}")
        specs.append(inputs.optimizer_hyperparameters(o.get("name"), o.get("hyperparameters"),
                                                      f"optimizers[{i}]"))
    return specs


def _float(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _finite(a) -> Any:
    """A nested list with non-finite values as None (JSON has no NaN)."""
    a = np.asarray(a, dtype=np.float64)
    if np.isfinite(a).all():
        return a.tolist()
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v.item() if isinstance(v, np.generic) else v)
            for k, v in d.items()}


def raceable() -> list[str]:
    """The optimizers a test function's point can race (those acting on matrices cannot)."""
    return [name for name, v in rules.VARIANTS.items() if v.shape == "any"]
