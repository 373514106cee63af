"""``adamkit compare``: one model, seed, initial weights and data order; several optimizers.

The seed fixes the initial weights (the model is built before the optimizer, which draws no
random numbers) and ``trainer.epoch_order`` fixes the batches, so the runs differ only in the
optimizer. Each optimizer gets its usual learning rate (``DEFAULT_LR``) unless ``--lr`` is given;
an option flag such as ``--momentum`` goes to the optimizers that take it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from adamkit import outdir
from adamkit.errors import UsageError, choice
from adamkit.train import optim_factory, plots
from adamkit.train.trainer import train

# A learning rate that works for each optimizer on the bundled tasks (torch's defaults where those
# are sensible; plain SGD's 1e-3 barely moves in a few epochs, so SGD gets momentum 0.9 and 0.05).
DEFAULT_LR = {
    "adam": 3e-3, "adamw": 3e-3, "adamax": 3e-3, "nadam": 3e-3, "radam": 3e-3,
    "sgd": 5e-2, "rmsprop": 1e-3, "adagrad": 3e-2, "sparse_adam": 3e-3,
}
DEFAULT_MOMENTUM = {"sgd": 0.9}


def optimizer_configs(args, names: list[str]) -> dict:
    """Each optimizer's TrainConfig: the shared flags, the options it takes, its default lr."""
    from adamkit.train.cli import resolve_config

    for n in names:
        if n not in optim_factory.OPTIMIZERS:
            raise choice("optimizer", n, optim_factory.OPTIMIZERS)
    configs = {}
    from adamkit.train.cli import _OPTIMIZER_FIELDS

    for n in names:
        cfg, given = resolve_config(args, optimizer=n)
        # an option flag (--momentum, --betas, ...) goes to the optimizers that take it
        for key in sorted(set(given) & set(_OPTIMIZER_FIELDS)):
            if key not in optim_factory.accepted_options(n):
                if not any(key in optim_factory.accepted_options(m) for m in names):
                    raise UsageError(f"--{key.replace('_', '-')} applies to none of "
                                     f"{', '.join(names)}")
                setattr(cfg, key, None)
        if "lr" not in given:
            cfg.lr = DEFAULT_LR[n]
        if "momentum" not in given and n in DEFAULT_MOMENTUM:
            cfg.momentum = DEFAULT_MOMENTUM[n]
        configs[n] = cfg
    return configs


def compare(args, names: list[str]) -> dict:
    """Train once per optimizer in ``names``; write OUT/compare.json, compare.png, a table."""
    configs = optimizer_configs(args, names)
    first = configs[names[0]]
    out = Path(args.out or f"runs/compare-{first.dataset}")
    # an earlier comparison here (its files, any optimizer's run folder) is refused, not mixed in
    out = outdir.prepare(out, ("compare.json", "compare.png", *optim_factory.OPTIMIZERS),
                         overwrite=getattr(args, "overwrite", False))
    histories, rows = {}, []
    for n in names:
        if not args.quiet:
            print(f"== {n} (lr {configs[n].lr:g})", file=sys.stderr)
        run = train(configs[n], out / n, quiet=args.quiet, plots=args.plots)
        histories[n] = run.history
        s = run.summary
        rows.append({
            "optimizer": n, "lr": configs[n].lr, "test_accuracy": s["test_accuracy"],
            "test_loss": s["test_loss"], "train_loss": s["train_loss"], "seconds": s["seconds"],
            **({"test_r2": s["test_r2"]} if "test_r2" in s else {}),
        })
    title = (f"{first.model} on {first.dataset}, seed {first.seed}, {first.epochs} epochs, "
             f"batch {first.batch_size}, schedule {first.schedule}")
    if args.plots:
        plots.comparison(histories, out / "compare.png", title=title)
    result = {"dataset": first.dataset, "model": first.model, "seed": first.seed,
              "epochs": first.epochs, "table": rows, "runs": {n: str(out / n) for n in names}}
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.quiet or not args.json:
        print(format_table(rows), file=sys.stderr if args.json else sys.stdout)
    return result


def format_table(rows: list[dict]) -> str:
    metric = "test_accuracy" if rows[0]["test_accuracy"] is not None else "test_r2"
    head = f"{'optimizer':<12} {'lr':>8} {metric:>14} {'test loss':>10} {'train loss':>10} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: -(r.get(metric) or float("-inf"))):
        lines.append(f"{r['optimizer']:<12} {r['lr']:>8.3g} {r.get(metric) or float('nan'):>14.4f} "
                     f"{r['test_loss']:>10.4f} {r['train_loss']:>10.4f} {r['seconds']:>8.1f}")
    return "\n".join(lines)
