"""What a study leaves behind: trials.jsonl, best.json, a leaderboard, and plots.

Everything is read back from the studies' storage, so a worker reports every worker's trials,
and a resumed run reports the whole study, not only what it ran itself.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from adamkit import outdir


def trial_record(optimizer: str, t) -> dict:
    """One trial as a JSON line: state, value, configuration, slot, where and how long it ran."""
    attrs = t.user_attrs
    return {
        "optimizer": optimizer,
        "number": t.number,
        "state": t.state.name.lower(),
        "value": _json_number(t.value) if t.value is not None else None,
        "config": attrs.get("config"),
        "params": t.params,
        "slot": attrs.get("slot"),
        "retry_of": attrs.get("retry_of"),
        "retry_reason": attrs.get("retry_reason"),
        "surplus": bool(attrs.get("surplus", False)),
        "batched": bool(attrs.get("batched", False)),
        "intermediate": {str(k): _json_number(v) for k, v in t.intermediate_values.items()},
        "worker": attrs.get("worker"),
        "seconds": attrs.get("seconds"),
    }


def _json_number(v: float) -> float | str:
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")


def _sort_key(direction: str):
    sign = 1.0 if direction == "minimize" else -1.0
    return lambda r: sign * _as_float(r["value"])


def _as_float(v) -> float:
    return float(v)  # a number, or "inf" / "-inf" as trials.jsonl writes them


def finished(records: list[dict]) -> list[dict]:
    return [r for r in records if r["state"] == "complete"]


def best_of(records: list[dict], direction: str) -> dict | None:
    done = finished(records)
    return min(done, key=_sort_key(direction)) if done else None


def write(out: Path, records: list[dict], direction: str, objective, settings: dict,
          stopped: str) -> dict:
    """Write ``trials.jsonl`` and ``best.json``; returns best.json's content."""
    outdir.write_text(out / "trials.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    per_optimizer = {}
    for opt in settings["optimizers"]:
        mine = [r for r in records if r["optimizer"] == opt]
        b = best_of(mine, direction)
        per_optimizer[opt] = {
            "best_value": b["value"] if b else None,
            "best_config": b["config"] if b else None,
            "command": objective.command(opt, b["config"]) if b else None,
            "complete": len(finished(mine)),
            "pruned": sum(r["state"] == "pruned" for r in mine),
            "failed": sum(r["state"] == "fail" and not r["surplus"] for r in mine),
        }
    overall = best_of(records, direction)
    best = {
        "metric": objective.metric,
        "direction": direction,
        "optimizer": overall["optimizer"] if overall else None,
        "value": overall["value"] if overall else None,
        "config": overall["config"] if overall else None,
        "command": objective.command(overall["optimizer"], overall["config"]) if overall else None,
        "per_optimizer": per_optimizer,
        "stopped": stopped,
        "settings": settings,
    }
    outdir.write_text(out / "best.json", json.dumps(best, indent=2) + "\n")
    return best


def leaderboard(records: list[dict], direction: str, metric: str, top: int = 10) -> str:
    """The best ``top`` finished trials as a table."""
    done = sorted(finished(records), key=_sort_key(direction))[:top]
    names = sorted({k for r in done for k in (r["config"] or {})})
    head = ["#", "optimizer", "trial", metric, *names]
    rows = [[str(i + 1), r["optimizer"], str(r["number"]), _fmt(r["value"]),
             *(_fmt((r["config"] or {}).get(n, "")) for n in names)] for i, r in enumerate(done)]
    widths = [max(len(h), *(len(row[j]) for row in rows)) if rows else len(h)
              for j, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    pruned = sum(r["state"] == "pruned" for r in records)
    failed = [r for r in records if r["state"] == "fail" and not r["surplus"]]
    retried = {(r["optimizer"], r["retry_of"]) for r in records if r["retry_of"] is not None}
    rerun = sum((r["optimizer"], r["number"]) in retried for r in failed)
    lines.append(f"{len(finished(records))} complete, {pruned} pruned, {len(failed)} failed"
                 f"{f' ({rerun} re-run)' if rerun else ''} "
                 f"({'lower' if direction == 'minimize' else 'higher'} {metric} is better)")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def plots(out: Path, studies: dict[str, Any], records: list[dict], metric: str) -> list[Path]:
    """Optuna's optimization history, parallel coordinates and importances per optimizer
    (``OUT/plots/OPT-*.png``) and adamkit's lr sensitivity of every optimizer (``OUT/lr.png``)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    written = []
    (out / "plots").mkdir(parents=True, exist_ok=True)
    # optuna's plots switch matplotlib to its ggplot style for the whole process: rc_context puts
    # the style back, so figures drawn after a tune in the same process (a notebook, the page's
    # server, the lab) keep adamkit's look
    with warnings.catch_warnings(), matplotlib.rc_context():
        # optuna.visualization.matplotlib is marked experimental; fANOVA warns on tiny studies
        warnings.simplefilter("ignore")
        for opt, study in studies.items():
            done = [t for t in study.get_trials(deepcopy=False)
                    if t.state == optuna.trial.TrialState.COMPLETE and math.isfinite(t.value)]
            if not done:
                continue
            params = sorted({k for t in done for k in t.params})
            figures = [("history", lambda s: ovm.plot_optimization_history(s, target_name=metric))]
            if params:
                figures.append(("parallel", lambda s: ovm.plot_parallel_coordinate(
                    s, target_name=metric)))
            if len(params) > 1 and len(done) > 2:
                figures.append(("importance", lambda s: ovm.plot_param_importances(
                    s, target_name=metric)))
            for name, draw in figures:
                try:
                    ax: Any = draw(study)
                except (ValueError, RuntimeError, ZeroDivisionError):  # too few distinct points
                    plt.close("all")
                    continue
                first: Any = ax[0] if hasattr(ax, "__len__") else ax  # one Axes or an array
                fig = first.figure
                fig.set_size_inches(9, 5.5)
                fig.tight_layout()
                path = out / "plots" / f"{opt}-{name}.png"
                fig.savefig(path, dpi=100)
                plt.close(fig)
                written.append(path)
    lr_plot = _lr_sensitivity(out / "lr.png", records, metric)
    return written + ([lr_plot] if lr_plot else [])


def _lr_sensitivity(path: Path, records: list[dict], metric: str) -> Path | None:
    """Each finished trial's value against its lr, one colour per optimizer, log lr axis: how
    sharp each optimizer's optimum is, and where it diverges (drawn at the top, as x)."""
    import matplotlib.pyplot as plt

    done = [r for r in finished(records) if (r["config"] or {}).get("lr") is not None]
    if not done:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    finite = [_as_float(r["value"]) for r in done if math.isfinite(_as_float(r["value"]))]
    top = max(finite) if finite else 1.0
    for opt in dict.fromkeys(r["optimizer"] for r in done):
        mine = [r for r in done if r["optimizer"] == opt]
        ok = [r for r in mine if math.isfinite(_as_float(r["value"]))]
        bad = [r for r in mine if not math.isfinite(_as_float(r["value"]))]
        line = ax.scatter([r["config"]["lr"] for r in ok], [_as_float(r["value"]) for r in ok],
                          s=14, alpha=0.7, label=opt)
        if bad:
            ax.scatter([r["config"]["lr"] for r in bad], [top] * len(bad), marker="x", s=20,
                       color=line.get_facecolor()[0], label=f"{opt}: diverged")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(metric)
    ax.set_title("lr sensitivity (every finished trial)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
