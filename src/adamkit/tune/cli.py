"""``adamkit tune``: registered without loading optuna or torch; they load when it runs."""

from __future__ import annotations

import argparse
import json
import sys

from adamkit.errors import UsageError

TUNE_EPILOG = """\
a dimension is LOW:HIGH (searched on the hyperparameter's declared scale: log for lr and eps,
1 - value log-uniform for betas), LOW:HIGH:N (N values on that scale), A,B,C (values) or one
value (fixed). With nothing given each optimizer searches lr, eps and its own constants.

examples:
  adamkit tune --function rosenbrock --optimizers adam,sgd --trials 40
  adamkit tune --function rosenbrock --strategy grid --lr 1e-4:1:50 --beta1 0.8,0.9,0.95
  adamkit tune --dataset digits --epochs 5 --lr 1e-4:1e-1 --beta2 0.99:0.9999 --pruner median
  adamkit tune --dataset digits --epochs 5 --storage postgresql://user:pw@db:5432/tune \\
      --study digits-adam            # on every machine: the workers share one study
  adamkit tune --out runs/tune --resume
writes OUT/trials.jsonl, OUT/best.json (with a ready command), OUT/lr.png, OUT/plots/*.png
"""


def register(subparsers) -> None:
    from adamkit.tune.space import TUNABLE, scale

    p = subparsers.add_parser(
        "tune", help="find the best lr, betas, eps, ... for a lab function or a model (Optuna)",
        description="Tune optimizers' hyperparameters: grid (ParameterGrid's order), random or "
        "TPE, pruning by epoch, a study in OUT or in a database shared by many workers.",
        epilog=TUNE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    o = p.add_argument_group("objective (one of)")
    o.add_argument("--function", metavar="NAME", help="a lab test function or expression")
    o.add_argument("--steps", type=int, help="lab steps (default: the function's)")
    o.add_argument("--start", metavar="X,Y", help="lab start point (default: the function's)")
    o.add_argument("--recipe", help="an adamkit train recipe (its defaults for what is not set)")
    o.add_argument("--dataset", metavar="NAME", help="a data set of adamkit train")
    o.add_argument("--model", metavar="NAME", help="a model of adamkit train")
    o.add_argument("--epochs", type=int, help="epochs per trial")
    o.add_argument("--data-dir", dest="data_dir", metavar="DIR")
    o.add_argument("--threads", type=int,
                   help="torch threads per trial (default: torch's count, as adamkit train; give 1 "
                        "when several workers share the cores)")
    o.add_argument("--metric", default=None, metavar="NAME",
                   help="train: test_loss (default), train_loss, test_accuracy, train_accuracy")
    s = p.add_argument_group("search space (flags or --space FILE)")
    s.add_argument("--optimizers", default="adam", metavar="A,B",
                   help="optimizers tuned one after another, each with the same budget (default adam)")
    s.add_argument("--space", metavar="FILE",
                   help="JSON: {name: value}, or a list of such dicts (ParameterGrid's grids)")
    from adamkit.rules.hyperparameters import HYPERPARAMETERS

    for name in TUNABLE:
        h = HYPERPARAMETERS.get(name)
        doc = h.doc if h is not None else {"batch_size": "train: batch size",
                                           "schedule": "train: lr schedule spec(s)"}[name]
        where = f"; searched on a {scale(name)} scale" if name != "schedule" else ""
        if h is not None and h.search is not None:
            where += f", default range {h.search[0]:g}:{h.search[1]:g}"
        s.add_argument("--" + name.replace("_", "-"), dest=f"space_{name}", metavar="SPEC",
                       help=doc + where)
    r = p.add_argument_group("search")
    r.add_argument("--strategy", default="tpe", help="grid, random or tpe (default tpe)")
    r.add_argument("--trials", type=int, help="trials per optimizer (default 30; grid: its size)")
    r.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop starting trials after this long")
    r.add_argument("--pruner", default="median",
                   help="median, hyperband or none: stop poor train trials early (default median)")
    r.add_argument("--seed", type=int, default=0, help="seed of the samplers (default 0)")
    w = p.add_argument_group("study")
    w.add_argument("--storage", metavar="URL",
                   help="postgresql://USER:PW@HOST:PORT/DB (many workers), sqlite:///FILE or "
                        "FILE.journal (default OUT/study.journal)")
    w.add_argument("--study", default="adamkit", metavar="NAME",
                   help="study name; workers with the same --storage and --study share it")
    w.add_argument("--heartbeat", type=int, default=60, metavar="S",
                   help="seconds between a running trial's heartbeats, on a database or a "
                        "journal file (default 60)")
    w.add_argument("--grace", type=int, default=120, metavar="S",
                   help="a trial silent this long is failed and re-queued (default 120; hosts "
                        "sharing a journal file must agree on the time to well within it)")
    w.add_argument("--out", default="runs/tune", metavar="DIR", help="output directory")
    w.add_argument("--resume", action="store_true",
                   help="continue OUT's study (its stored settings; --trials/--timeout may change)")
    w.add_argument("--quiet", action="store_true", help="no progress bar or table")
    w.add_argument("--json", action="store_true", help="print best.json to stdout")
    w.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG figures")
    p.set_defaults(func=run_tune)


TRAIN_FIELDS = ("dataset", "model", "epochs", "data_dir", "threads")


def space_from_args(args) -> dict | list:
    from adamkit.tune.space import TUNABLE

    flags = {name: getattr(args, f"space_{name}") for name in TUNABLE
             if getattr(args, f"space_{name}", None) is not None}
    if not args.space:
        return flags
    try:
        with open(args.space) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"space file {args.space!r} not found") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"space file {args.space!r} is not JSON: {exc}") from None
    if isinstance(data, dict):
        return {**data, **flags}
    if flags:
        raise UsageError(f"--space {args.space} holds a list of grids; add {sorted(flags)[0]} "
                         f"there, not as a flag")
    return data


def _start(text: str | None):
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"invalid --start {text!r}; write X,Y") from None


def run_tune(args) -> int:
    from adamkit.tune.api import Interrupted, search

    train = {k: getattr(args, k) for k in TRAIN_FIELDS if getattr(args, k) is not None}
    if args.function is not None and (train or args.recipe):
        raise UsageError("--function (lab) and --dataset/--recipe (train) name two objectives; "
                         "give one")
    if args.function is None and not args.resume and not train and not args.recipe:
        raise UsageError("name an objective: --function NAME (lab) or --dataset NAME (train)")
    try:
        report = search(
            function=args.function, steps=args.steps, start=_start(args.start), recipe=args.recipe,
            train=train, metric=args.metric or "test_loss",
            optimizers=[o.strip() for o in args.optimizers.split(",") if o.strip()],
            space_spec=space_from_args(args), strategy=args.strategy, trials=args.trials,
            timeout=args.timeout, out=args.out, storage=args.storage, study_name=args.study,
            pruner=args.pruner, seed=args.seed, resume=args.resume, heartbeat=args.heartbeat,
            grace=args.grace, progress=not args.quiet, plots=args.plots)
    except Interrupted as stop:
        if not args.quiet:
            print(stop.report.leaderboard, file=sys.stderr)
        print(f"adamkit: interrupted; the finished trials are kept in {args.out}; continue with: "
              f"adamkit tune --out {args.out} --resume", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report.best, indent=2))
    if not args.quiet:
        print(report.leaderboard, file=sys.stderr if args.json else sys.stdout)
        if report.best["command"]:
            print(f"best: {report.best['command']}", file=sys.stderr if args.json else sys.stdout)
    return 0
