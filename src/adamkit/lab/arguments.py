"""The lab commands' arguments, parsed into the engine's terms; each bad value is one line."""

from __future__ import annotations

import math

import numpy as np

from adamkit.errors import UsageError, choice
from adamkit.lab import functions as F
from adamkit.lab.engine import hyperparameter_names, optimizer_names, optimizer_spec
from adamkit.rules.hyperparameters import HYPERPARAMETERS

NUMERIC = ("float", "bool")  # what --set takes: numbers, and flags spelt 0/1 (not pairs or choices)


def parse_floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise UsageError(f"{what} {text!r} must be comma-separated numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{what} {text!r} must be finite numbers")
    return values


def function_and_start(args):
    window = None
    if args.window:
        w = parse_floats(args.window, "--window")
        if len(w) % 2:
            raise UsageError(f"--window {args.window!r} needs pairs: X0,X1[,Y0,Y1]")
        window = list(zip(w[::2], w[1::2], strict=True))
    fn = F.get(args.function, window=window)
    start = None
    if args.start is not None:
        start = parse_floats(args.start, "--start")
        if len(start) != fn.dim:
            raise UsageError(f"--start {args.start!r} needs {fn.dim} number(s) for {fn.name}")
    if args.steps is not None and args.steps < 0:
        raise UsageError(f"--steps {args.steps} must be >= 0")
    return fn, start


def parse_optimizers(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError(f"--optimizers {text!r} is empty; valid: {', '.join(optimizer_names())}")
    for n in names:
        optimizer_spec(n)
    if len(set(names)) != len(names):
        raise UsageError(f"--optimizers {text!r} names an optimizer twice")
    return names


def parse_key_values(text: str, what: str) -> dict[str, float]:
    out = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{what} item {item!r} must be NAME=VALUE")
        try:
            out[key.strip().lower()] = float(value)
        except ValueError:
            raise UsageError(f"{what} value {value!r} for {key.strip()} is not a number") from None
    return out


def parse_lrs(text: str | None, names: list[str]) -> dict[str, float]:
    if text is None:
        return {}
    if "=" not in text:
        values = parse_floats(text, "--lr")
        if len(values) != 1:
            raise UsageError(f"--lr {text!r} must be one number, or NAME=LR,... per optimizer")
        return {n: values[0] for n in names}
    given = parse_key_values(text, "--lr")
    for n in given:
        if n not in names:
            raise choice("optimizer in --lr", n, names)
    return given


def race_flags(specs: list[tuple[str, dict]]) -> tuple[list[str], list[str]]:
    """``adamkit race``'s ``--lr`` and ``--set`` for ``(optimizer, hyperparameters)`` pairs (the
    inverse of :func:`parse_lrs` and :func:`parse_settings`), and notes on what those flags cannot
    say: a choice (``eps_mode``, ...) has no flag, and ``--set`` gives every optimizer one value.
    Flags are spelt 0/1, as ``--set`` reads them."""
    flags: list[str] = []
    notes: list[str] = []
    lrs = [f"{name}={_show(hp['lr'])}" for name, hp in specs if "lr" in hp]
    if lrs:
        flags += ["--lr", ",".join(lrs)]
    shared: dict[str, object] = {}
    for _, hp in specs:
        for key, value in hp.items():
            if key == "lr":
                continue
            if isinstance(value, str):
                notes.append(f"{key}={value} has no race flag")
            elif shared.setdefault(key, int(value) if isinstance(value, bool) else value) != value:
                notes.append(f"--set gives every optimizer the same {key}")
    if shared:
        flags += ["--set", ",".join(f"{k}={_show(v)}" for k, v in shared.items())]
    return flags, sorted(set(notes))


def _show(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def parse_settings(text: str | None, names: list[str]) -> dict[str, dict]:
    if not text:
        return {n: {} for n in names}
    given = parse_key_values(text, "--set")
    numeric = {n: {k for k in hyperparameter_names(n) if HYPERPARAMETERS[k].kind in NUMERIC}
               for n in names}
    per = {n: {k: v for k, v in given.items() if k in numeric[n]} for n in names}
    used = set().union(*(set(d) for d in per.values()))
    unused = set(given) - used
    if unused:
        valid = sorted(set().union(*numeric.values()) - {"lr"})
        raise UsageError(f"--set {', '.join(sorted(unused))}: no optimizer in the race has it; "
                         f"valid: {', '.join(valid)}")
    for d in per.values():  # torch's flags are spelt as numbers on the command line
        for k in d:
            if HYPERPARAMETERS[k].kind == "bool":
                d[k] = bool(d[k])
    return per


def parse_axis(text: str, optimizer: str) -> tuple[str, np.ndarray, bool]:
    """NAME=LOW:HIGH:N[:log|lin] -> (name, values, log scale)."""
    name, sep, spec = text.partition("=")
    name = name.strip().lower()
    parts = spec.split(":")
    if not sep or len(parts) not in (3, 4):
        raise UsageError(f"axis {text!r} must be NAME=LOW:HIGH:N[:log|lin], e.g. lr=1e-4:1:25:log")
    valid = [n for n in hyperparameter_names(optimizer)  # numbers: a pair's parts, not the pair
             if HYPERPARAMETERS[n].kind == "float"]
    if name not in valid:
        raise choice(f"hyperparameter for {optimizer}", name, valid)
    try:
        low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UsageError(f"axis {text!r}: LOW and HIGH must be numbers and N an integer") from None
    scale = parts[3].strip().lower() if len(parts) == 4 else "lin"
    if scale not in ("log", "lin"):
        raise choice("axis scale", scale, ["lin", "log"])
    if not (n >= 2 and low < high) or (scale == "log" and low <= 0):
        raise UsageError(f"axis {text!r}: need N >= 2, LOW < HIGH, and LOW > 0 on a log scale")
    if n > 400:
        raise UsageError(f"axis {text!r}: N = {n} is too many (at most 400)")
    values = np.logspace(np.log10(low), np.log10(high), n) if scale == "log" \
        else np.linspace(low, high, n)
    # checked here so the message names the axis, not the optimizer's array of every cell value
    declared = HYPERPARAMETERS.get(name)
    allowed = declared.range if declared is not None and declared.kind == "float" else None
    if allowed is not None and not allowed.contains(values):
        raise UsageError(f"axis {text!r}: {optimizer}'s {name} must lie in {allowed}; "
                         f"got LOW {low:g}, HIGH {high:g}")
    return name, values, scale == "log"
