"""``adamkit race``, ``adamkit phase`` and ``adamkit functions``: the lab on the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from adamkit import outdir, resources, rules
from adamkit.errors import UsageError
from adamkit.lab import functions as F
from adamkit.lab.arguments import (
    function_and_start,
    parse_axis,
    parse_lrs,
    parse_optimizers,
    parse_settings,
)
from adamkit.lab.engine import (
    default_hyperparameters,
    optimizer_names,
    optimizer_spec,
    run,
)
from adamkit.rules import registry

DEFAULT_OPTIMIZERS = "adam,sgd,momentum,rmsprop,adagrad"
PHASE_Y_ADAM = "beta1=0:0.99:20"  # a phase diagram's second axis where the declaration names none
# every file a race / a phase diagram may write: an earlier run's are refused or, with
# --overwrite, all removed, so no figure of an earlier run (race.gif) is left beside a new one
RACE_OUTPUTS = ("race.json", "race.png", "loss.png", "surface.png", "race_tuned.png",
                "loss_tuned.png", "race.gif", "race.mp4")
PHASE_OUTPUTS = ("phase.json", "phase.png")
# A race keeps every iterate of every optimizer for its figures: bytes per step and optimizer (the
# path and loss, and matplotlib's copies; twice that with --animate) plus the libraries, as
# measured in benchmarks/results/design_measurements.md#race-memory.
RACE_BYTES_PER_STEP = 320
RACE_BYTES_FIXED = 400e6

RACE_HELP = """\
Race optimizers on a test function: every path drawn over the contours, the loss per step, a
table, and race.json (per optimizer: hyperparameters, final loss, distance to the nearest
minimum, steps to reach the tolerance, diverged flag). Learning rates not given default to the
function's lab lr for each optimizer family (see `adamkit functions`); everything else is
torch.optim's default. Nothing is clipped or scheduled.

examples:
  adamkit race --out runs/race
  adamkit race --function himmelblau --start=-4,4 --lr 0.01 --optimizers adam,sgd --animate
  adamkit race --function "x**2 + 10*sin(y)" --optimizers adam,nadam,radam --steps 300
  adamkit race --function beale --tune --budget 128 --out runs/beale
"""

PHASE_HELP = """\
Phase diagram: the final loss of one optimizer over a grid of two hyperparameters (all grid
cells run at once), diverged cells marked. Axes are NAME=LOW:HIGH:N[:log|lin]; the default is
lr=1e-4:1:25:log against beta1 (Adam family), momentum (SGD family) or alpha (RMSprop).

examples:
  adamkit phase --out runs/phase
  adamkit phase --function himmelblau --optimizer adam --x lr=1e-3:3:30:log --y beta2=0.9:0.9999:20
"""


def register(subparsers) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    race = subparsers.add_parser("race", help="race optimizers on a test function",
                                 description=RACE_HELP, formatter_class=fmt)
    _common(race, "runs/race")
    race.add_argument("--optimizers", default=DEFAULT_OPTIMIZERS, metavar="A,B,C",
                      help=f"comma-separated, from: {', '.join(_raceable())} "
                           f"(default: {DEFAULT_OPTIMIZERS})")
    race.add_argument("--lr", metavar="LR | NAME=LR,...",
                      help="one lr for every optimizer, or per optimizer (adam=0.05,sgd=0.001)")
    race.add_argument("--set", dest="settings", metavar="KEY=VALUE,...",
                      help="other hyperparameters (beta1, beta2, eps, momentum, alpha, "
                           "weight_decay, ...), applied to each optimizer that has them")
    race.add_argument("--tolerance", type=float, default=1e-3,
                      help="'steps to tolerance' counts steps until f - f* <= this (default 1e-3)")
    race.add_argument("--animate", action="store_true",
                      help="also write race.gif, the map beside the loss per step (and race.mp4 "
                           "when imageio-ffmpeg or an ffmpeg on PATH is found)")
    race.add_argument("--arrows", action="store_true",
                      help="on race.png (2-D), for the Adam family (adam, adamw, amsgrad, nadam, "
                           "radam, adamax): at 6 points along each path, an arrow along -m̂ (the "
                           "bias-corrected momentum, fixed length) and one for the step taken "
                           "(magnified, the factor in the legend); their gap is the "
                           "per-coordinate scaling 1/(sqrt(v̂)+eps)")
    race.add_argument("--tune", action="store_true",
                      help="also tune each optimizer's lr (and betas/momentum/alpha) and report "
                           "default and tuned results side by side")
    race.add_argument("--budget", type=int, default=64,
                      help="--tune: configurations tried per optimizer (default 64)")
    race.add_argument("--tune-starts", type=int, default=4,
                      help="--tune: start points per configuration (default 4)")
    race.add_argument("--tune-seeds", type=int, default=2,
                      help="--tune: noise draws per start when --noise > 0 (default 2)")
    race.set_defaults(func=race_command)

    phase = subparsers.add_parser("phase", help="final loss over a grid of two hyperparameters",
                                  description=PHASE_HELP, formatter_class=fmt)
    _common(phase, "runs/phase")
    phase.add_argument("--optimizer", default="adam", help=f"one of: {', '.join(_raceable())}")
    phase.add_argument("--x", default="lr=1e-4:1:25:log", metavar="NAME=LOW:HIGH:N[:SCALE]",
                       help="first axis (default lr=1e-4:1:25:log)")
    phase.add_argument("--y", default=None, metavar="NAME=LOW:HIGH:N[:SCALE]",
                       help="second axis (default depends on the optimizer, e.g. beta1=0:0.99:20)")
    phase.set_defaults(func=phase_command)

    functions = subparsers.add_parser(
        "functions", help="list the test functions",
        description="List the test functions: formula, window, start, minima, default steps, "
                    "and the lab's default lr per optimizer family. Any other --function value "
                    "is parsed as an expression in x and y, e.g. \"x**2 + 10*sin(y)\".")
    functions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    functions.set_defaults(func=functions_command)


def _common(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("--function", default="rosenbrock",
                   help="a name (see `adamkit functions`) or an expression in x, y "
                        "(default rosenbrock)")
    p.add_argument("--steps", type=int, default=None, help="steps (default: the function's)")
    p.add_argument("--start", default=None, metavar="X,Y",
                   help="start point (default: the function's); write --start=-1.5,2.5 with "
                        "'=' when it begins with a minus sign")
    p.add_argument("--window", default=None, metavar="X0,X1,Y0,Y1",
                   help="plotting window (default: the function's), e.g. --window=-3,3,-2,4")
    p.add_argument("--noise", type=float, default=0.0,
                   help="std of Gaussian noise added to each gradient (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gradient noise (default 0)")
    p.add_argument("--out", default=out, help=f"output directory (default {out}); one that holds "
                   "an earlier run is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the earlier run in --out (all its files, also figures this run "
                        "does not draw)")
    p.add_argument("--json", action="store_true",
                   help="print the JSON results to stdout (the table goes to stderr)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _progress(args) -> bool:
    return not args.quiet


def _text(args):
    """Where the human-readable lines go: stderr with --json, so stdout is the JSON alone."""
    return sys.stderr if args.json else sys.stdout


def _check_race_memory(fn, steps: int, runs: int, args) -> None:
    per_step = RACE_BYTES_PER_STEP * runs * (2 if args.animate else 1)
    need = RACE_BYTES_FIXED + per_step * (steps + 1)
    available = resources.available_bytes()
    fits = 0 if available is None else max(0, int((available - RACE_BYTES_FIXED) / per_step) - 1)
    resources.check_memory(need, f"--steps {steps} ({runs} runs kept for the figures)",
                           f"at most {fits:,} steps fit")


# --- race -----------------------------------------------------------------------------------------


def race_command(args) -> int:
    from adamkit.lab import plots

    fn, start = function_and_start(args)
    names = parse_optimizers(args.optimizers)
    lrs = parse_lrs(args.lr, names)
    settings = parse_settings(args.settings, names)
    if args.tolerance <= 0:
        raise UsageError(f"--tolerance {args.tolerance} must be > 0")
    _check_race_memory(fn, fn.steps if args.steps is None else args.steps,
                       len(names) * (2 if args.tune else 1), args)
    out = outdir.prepare(args.out, RACE_OUTPUTS, overwrite=args.overwrite)
    started = time.perf_counter()
    results = []
    for n in names:
        hp = {**settings[n]}
        if n in lrs:
            hp["lr"] = lrs[n]
        results.append(run(fn, n, steps=args.steps, start=start, noise=args.noise,
                           seed=args.seed, progress=_progress(args),
                           internals=args.arrows and _has_first_moment(n), **hp))
    files = [plots.plot_race(results, out / "race.png", arrows=args.arrows),
             plots.plot_loss(results, out / "loss.png")]
    if fn.dim == 2:
        files.append(plots.plot_surface(results, out / "surface.png"))
    tuned_json, tuned_results = None, None
    if args.tune:
        tuned_json, tuned_results = _tune_all(fn, names, start, args)
        files.append(plots.plot_race(tuned_results, out / "race_tuned.png",
                                     title=f"{fn.name}: tuned hyperparameters (budget "
                                           f"{args.budget} per optimizer)"))
        files.append(plots.plot_loss(tuned_results, out / "loss_tuned.png",
                                     title=f"Loss per step on {fn.name}, tuned"))
    if args.animate:
        from adamkit.lab.animate import animate

        files += animate(results, out / "race.gif")
    report = {
        "function": _function_json(fn),
        "steps": results[0].steps,
        "start": [float(v) for v in results[0].path[0, 0]],
        "noise": args.noise,
        "seed": args.seed,
        "tolerance": args.tolerance,
        "optimizers": {r.optimizer: r.summary(0, args.tolerance) for r in results},
        "lab_default_lr_rule": "lr not given = the function's lab lr for the optimizer's family",
    }
    if tuned_json is not None and tuned_results is not None:
        report["tuned"] = {
            t["optimizer"]: {**t, "race": r.summary(0, args.tolerance)}
            for t, r in zip(tuned_json, tuned_results, strict=True)
        }
    report["files"] = sorted(str(Path(f).name) for f in [*files, "race.json"])
    report["seconds"] = round(time.perf_counter() - started, 3)
    (out / "race.json").write_text(json.dumps(report, indent=2) + "\n")
    text = _text(args)
    print(_race_table(fn, results, args.tolerance, tuned_results, tuned_json), file=text)
    if tuned_json is not None:
        t = tuned_json[0]["budget"]
        print(f"tuning: {t['configurations']} configurations per optimizer x {t['start_points']} "
              f"start points x {t['noise_seeds']} noise draws, {t['steps']} steps; score = mean "
              "log10(f - f*) over those runs (lower is better, '-' = some run diverged); the "
              "race columns are from the race's own start", file=text)
    print(f"wrote {', '.join(report['files'])} to {out}/", file=text)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _tune_all(fn, names, start, args):
    from adamkit.lab.race_tuning import tune

    tuned_json, tuned_results = [], []
    for n in names:
        t = tune(fn, n, steps=args.steps, start=start, budget=args.budget,
                 n_starts=args.tune_starts, n_seeds=args.tune_seeds, noise=args.noise,
                 seed=args.seed)
        tuned_json.append(t.to_json())
        tuned_results.append(run(fn, n, steps=args.steps, start=start, noise=args.noise,
                                 seed=args.seed, **t.best))
    return tuned_json, tuned_results


def _fmt(v, spec=".3g") -> str:
    if v is None:
        return "-"
    return format(v, spec)


def _race_table(fn, results, tolerance, tuned=None, tuned_json=None) -> str:
    gap_name = "f - f*" if fn.f_min is not None else "f"
    head = ["optimizer", "lr", f"final {gap_name}", "dist to min", f"steps to {tolerance:g}",
            "diverged"]
    if tuned:
        head += ["tuned lr", f"tuned {gap_name}", "tuned dist", "score default -> tuned"]
    rows = []
    for i, r in enumerate(results):
        s = r.summary(0, tolerance)
        gap = None if s["final_loss"] is None else s["final_loss"] - (fn.f_min or 0.0)
        row = [r.optimizer, _fmt(s["hyperparameters"]["lr"]), _fmt(gap, ".3e"),
               _fmt(s["distance_to_nearest_minimum"], ".3g"), _fmt(s["steps_to_tolerance"], "d"),
               f"yes (step {s['diverged_step']})" if s["diverged"] else "no"]
        if tuned:
            t = tuned[i].summary(0, tolerance)
            tgap = None if t["final_loss"] is None else t["final_loss"] - (fn.f_min or 0.0)
            j = tuned_json[i]
            row += [_fmt(t["hyperparameters"]["lr"]), _fmt(tgap, ".3e"),
                    _fmt(t["distance_to_nearest_minimum"], ".3g"),
                    f"{_fmt(j['default_score'], '.2f')} -> {_fmt(j['tuned_score'], '.2f')}"]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    title = (f"{fn.name} ({fn.formula}), {results[0].steps} steps from "
             f"({', '.join(f'{v:g}' for v in results[0].path[0, 0])})")
    body = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([title, line, "-" * len(line), *body])


def _function_json(fn) -> dict:
    return {
        "name": fn.name, "formula": fn.formula, "dim": fn.dim,
        "window": [list(w) for w in fn.window], "start": list(fn.start),
        "minima": fn.minima.tolist(), "f_min": fn.f_min, "default_steps": fn.steps,
        "lab_lr": dict(fn.lab_lr), "description": fn.description,
    }


# --- phase ----------------------------------------------------------------------------------------


def phase_command(args) -> int:
    from adamkit.lab import plots

    fn, start = function_and_start(args)
    optimizer = args.optimizer.strip().lower()
    rule_name, _, _ = optimizer_spec(optimizer)
    y_default = registry.variant(optimizer).phase_axis or PHASE_Y_ADAM
    x_name, xs, x_log = parse_axis(args.x, optimizer)
    y_name, ys, y_log = parse_axis(args.y or y_default, optimizer)
    if x_name == y_name:
        raise UsageError(f"--x and --y are both {x_name}; pick two different hyperparameters")
    out = outdir.prepare(args.out, PHASE_OUTPUTS, overwrite=args.overwrite)
    X, Y = np.meshgrid(xs, ys)  # (ny, nx)
    hp = {x_name: X.ravel(), y_name: Y.ravel()}
    fixed = {k: v for k, v in default_hyperparameters(fn, optimizer).items() if k not in hp}
    started = time.perf_counter()
    # only the final loss and divergence are drawn: keeping every iterate would cost
    # 24 bytes x steps x cells (800 MB for 100,000 steps on the default 25 x 20 grid)
    result = run(fn, optimizer, steps=args.steps, start=start, noise=args.noise, seed=args.seed,
                 progress=_progress(args), record_path=False, **fixed, **hp)
    seconds = time.perf_counter() - started
    final = result.final_loss().reshape(X.shape)
    diverged = result.diverged.reshape(X.shape)
    png = plots.plot_phase(x_name, xs, y_name, ys, final, diverged, out / "phase.png",
                           function=fn, optimizer=optimizer, steps=result.steps,
                           x_log=x_log, y_log=y_log)
    gap = np.where(diverged, np.inf, final - (fn.f_min or 0.0))
    best = np.unravel_index(np.argmin(gap), gap.shape)
    report = {
        "function": _function_json(fn),
        "optimizer": optimizer,
        "fixed_hyperparameters": _jsonable(fixed),
        "steps": result.steps,
        "start": [float(v) for v in result.path[0, 0]],
        "noise": args.noise,
        "seed": args.seed,
        "x": {"name": x_name, "values": xs.tolist(), "log": x_log},
        "y": {"name": y_name, "values": ys.tolist(), "log": y_log},
        "final_loss": [[None if d or not np.isfinite(v) else float(v) for v, d in zip(r, dr,
                        strict=True)] for r, dr in zip(final, diverged, strict=True)],
        "diverged": diverged.tolist(),
        "diverged_count": int(diverged.sum()),
        "best": {x_name: float(xs[best[1]]), y_name: float(ys[best[0]]),
                 "final_loss": _none_if_inf(final[best])},
        "configurations": int(X.size),
        "engine_seconds": round(seconds, 3),
        "files": ["phase.json", png.name],
    }
    (out / "phase.json").write_text(json.dumps(report, indent=2) + "\n")
    text = _text(args)
    print(f"{optimizer} on {fn.name}: {X.size} configurations ({len(xs)} {x_name} x {len(ys)} "
          f"{y_name}), {result.steps} steps, {seconds:.2f} s; {int(diverged.sum())} diverged",
          file=text)
    b = report["best"]
    print(f"best: {x_name}={b[x_name]:.4g}, {y_name}={b[y_name]:.4g}, final loss "
          f"{_fmt(b['final_loss'], '.3e')}", file=text)
    print(f"wrote phase.png, phase.json to {out}/", file=text)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _none_if_inf(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _jsonable(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# --- functions ------------------------------------------------------------------------------------


def functions_command(args) -> int:
    fns = [F.get(n) for n in F.names()]
    if args.json:
        print(json.dumps([_function_json(f) for f in fns], indent=2))
        return 0
    head = ["name", "dim", "formula", "window", "start", "steps", "lab lr (sgd/adaptive/adagrad/radam)"]
    rows = []
    for f in fns:
        window = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in f.window)
        lr = "/".join(f"{f.lab_lr[k]:g}" for k in ("sgd", "adaptive", "adagrad", "radam"))
        rows.append([f.name, str(f.dim), f.formula, window,
                     "(" + ", ".join(f"{v:g}" for v in f.start) + ")", str(f.steps), lr])
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        print("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)))
    print("\nfamilies: sgd = sgd, momentum, nesterov; adaptive = rmsprop, adam, adamw, amsgrad, "
          "adamax, nadam; adagrad; radam.")
    print('Any other --function is parsed as an expression in x and y, e.g. "x**2 + 10*sin(y)".')
    sys.stdout.flush()
    return 0


def _has_first_moment(name: str) -> bool:
    """Whether ``--arrows`` can draw ``name``'s first moment: its rule keeps ``exp_avg``."""
    return "exp_avg" in rules.get(registry.variant(name).rule).state_keys


def _raceable() -> list[str]:
    """The optimizers a test function's point can be raced with (not those acting on matrices)."""
    return [n for n in optimizer_names() if registry.variant(n).shape == "any"]
