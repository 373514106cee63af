"""``adamkit compare``: one model, seed, initial weights and data order; several optimizers.

The seed fixes the initial weights (the model is built before the optimizer, which draws no
random numbers) and ``trainer.epoch_order`` fixes the batches, so the runs differ only in the
optimizer. Each optimizer gets its usual learning rate (its declaration's ``train_lr``,
:func:`~adamkit.train.optim_factory.default_settings`) unless ``--lr`` is given;
an option flag such as ``--momentum`` goes to the optimizers that take it (:func:`configs_for`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from adamkit.errors import UsageError, choice
from adamkit.train import optim_factory
from adamkit.train.config import OPTIMIZER_FIELDS, TrainConfig, resolve
from adamkit.train.trainer import train


def configs_for(recipe: str | None, given: dict, names: list[str]) -> dict[str, TrainConfig]:
    """One config per optimizer in ``names``: the recipe, then ``given`` (the user's settings).

    An optimizer option in ``given`` (momentum, betas, ...) goes to the optimizers that take it;
    each optimizer gets its declared training settings (lr, SGD's momentum) unless ``given`` sets
    them.
    """
    for n in names:
        if n not in optim_factory.optimizer_names():
            raise choice("optimizer", n, optim_factory.optimizer_names())
    configs = {}
    for n in names:
        cfg = resolve(recipe, {**given, "optimizer": n})
        for key in sorted(set(given) & set(OPTIMIZER_FIELDS)):
            if key not in optim_factory.accepted_options(n):
                if not any(key in optim_factory.accepted_options(m) for m in names):
                    raise UsageError(f"--{key.replace('_', '-')} applies to none of "
                                     f"{', '.join(names)}")
                setattr(cfg, key, None)
        for key, value in optim_factory.default_settings(n).items():
            if key not in given:
                setattr(cfg, key, value)
        configs[n] = cfg
    return configs


def compare(configs: dict[str, TrainConfig], out: Path, *, quiet: bool = False,
            plots: bool = True) -> dict:
    """Train once per config (name -> config); write OUT/NAME/, OUT/compare.json, compare.png.

    Returns compare.json's content: the table's rows under ``"table"`` (see :func:`format_table`).
    """
    names = list(configs)
    first = configs[names[0]]
    out.mkdir(parents=True, exist_ok=True)
    histories, rows = {}, []
    for n in names:
        if not quiet:
            print(f"== {n} (lr {configs[n].lr:g})", file=sys.stderr)
        run = train(configs[n], out / n, quiet=quiet, plots=plots)
        histories[n] = run.history
        s = run.summary
        rows.append({
            "optimizer": n, "lr": configs[n].lr, "test_accuracy": s["test_accuracy"],
            "test_loss": s["test_loss"], "train_loss": s["train_loss"], "seconds": s["seconds"],
            **({"test_r2": s["test_r2"]} if "test_r2" in s else {}),
        })
    title = (f"{first.model} on {first.dataset}, seed {first.seed}, {first.epochs} epochs, "
             f"batch {first.batch_size}, schedule {first.schedule}")
    if plots:
        from adamkit.train.plots import comparison as plot_comparison  # matplotlib: ~1 s

        plot_comparison(histories, out / "compare.png", title=title)
    result = {"dataset": first.dataset, "model": first.model, "seed": first.seed,
              "epochs": first.epochs, "table": rows, "runs": {n: str(out / n) for n in names}}
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def format_table(rows: list[dict]) -> str:
    metric = "test_accuracy" if rows[0]["test_accuracy"] is not None else "test_r2"
    head = f"{'optimizer':<12} {'lr':>8} {metric:>14} {'test loss':>10} {'train loss':>10} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: -(r.get(metric) or float("-inf"))):
        lines.append(f"{r['optimizer']:<12} {r['lr']:>8.3g} {r.get(metric) or float('nan'):>14.4f} "
                     f"{r['test_loss']:>10.4f} {r['train_loss']:>10.4f} {r['seconds']:>8.1f}")
    return "\n".join(lines)
