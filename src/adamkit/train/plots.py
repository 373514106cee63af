"""PNG figures for training runs: learning curves, Adam's internals, optimizer comparisons.

Matplotlib's Agg renderer (no display), Okabe-Ito colours (colour-blind safe), every axis labelled.
Figures are built with matplotlib's object API (``Figure``), not pyplot: no global figure
registry to close, safe off the main thread, and the backend of a program that imports this
module is left alone. Only the trainer's end of run and ``compare`` import it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def _colors(n: int) -> list:
    if n <= len(OKABE_ITO):
        return OKABE_ITO[:n]
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def curves(history: list[dict], path: Path, title: str = "") -> Path:
    """Loss (train and test), test accuracy (or R²/IoU) and learning rate per epoch."""
    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(14, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    ax = axes[0]
    ax.plot(epochs, [r["train_loss"] for r in history], "o-", color=OKABE_ITO[0], label="train")
    ax.plot(epochs, [r["test_loss"] for r in history], "s-", color=OKABE_ITO[1], label="test")
    ax.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    ax.legend()
    ax = axes[1]
    if history[0].get("test_accuracy") is not None:
        ax.plot(epochs, [r["train_accuracy"] for r in history], "o-", color=OKABE_ITO[0],
                label="train (during the epoch)")
        ax.plot(epochs, [r["test_accuracy"] for r in history], "s-", color=OKABE_ITO[1],
                label="test")
        ax.set(ylabel="accuracy", title=f"test accuracy, final {history[-1]['test_accuracy']:.4f}")
        if history[0].get("test_iou") is not None:
            ax.plot(epochs, [r["test_iou"] for r in history], "^-", color=OKABE_ITO[2],
                    label="test IoU")
    else:
        ax.plot(epochs, [r.get("test_r2") for r in history], "s-", color=OKABE_ITO[1],
                label="test R²")
        ax.set(ylabel="R²", title=f"test R², final {history[-1].get('test_r2') or 0:.4f}")
    ax.set_xlabel("epoch")
    ax.legend()
    ax = axes[2]
    ax.plot(epochs, [r["lr"] for r in history], "o-", color=OKABE_ITO[2], label="lr (end of epoch)")
    ax.set(xlabel="epoch", ylabel="learning rate", title="learning rate", yscale="log")
    ax.legend()
    fig.suptitle(title or "training curves")
    fig.savefig(path, dpi=110)
    return path


def _pick_layers(layers: list[str], limit: int = 8) -> list[str]:
    """At most ``limit`` layers, weights before biases, evenly spread through the network."""
    weights = [n for n in layers if not n.endswith("bias")]
    chosen = weights if len(weights) <= limit else [
        weights[round(i * (len(weights) - 1) / (limit - 1))] for i in range(limit)
    ]
    rest = [n for n in layers if n not in chosen]
    return (chosen + rest)[:limit]


def _bands(ax, steps, records, layers, colors, key, labels) -> None:
    """Median line and 25-75th percentile band of ``key`` per layer; the y range follows the
    medians (dead units, whose moments decay towards 0, would otherwise stretch it to 1e-40)."""
    medians, highs = [], []
    for n in layers:
        pts = [(s, r["layers"][n][key]) for s, r in zip(steps, records, strict=True)
               if key in r["layers"].get(n, {})]
        if not pts:
            continue
        xs = [s for s, _ in pts]
        ax.fill_between(xs, [v[1] for _, v in pts], [v[3] for _, v in pts],
                        color=colors[n], alpha=0.18, linewidth=0)
        ax.plot(xs, [v[2] for _, v in pts], color=colors[n], label=labels[n])
        medians += [v[2] for _, v in pts if v[2] > 0]
        highs += [v[3] for _, v in pts]
    if medians:
        ax.set_ylim(min(medians) / 30, max(max(highs), max(medians)) * 3)
    ax.set_yscale("log")


def diagnostics(diag: dict, path: Path, title: str = "") -> Path:
    """Per layer over steps: effective learning rate and effective step (percentile bands),
    update/parameter RMS ratio, share of eps-dominated coordinates."""
    records = diag["records"]
    steps = [r["step"] for r in records]
    layers = _pick_layers(diag["layers"])
    colors = dict(zip(layers, _colors(len(layers)), strict=True))
    shapes = diag.get("shapes", {})
    labels = {n: f"{n} {'x'.join(map(str, shapes.get(n, [])))}" for n in layers}
    has_adam = diag["adam_internals"] and any(
        "effective_step" in r["layers"].get(n, {}) for r in records for n in layers)
    n_panels = 4 if has_adam else 1
    fig = Figure(figsize=(11, 3.3 * n_panels + 0.6), layout="constrained")
    axes = fig.subplots(n_panels, 1, sharex=True, squeeze=False)
    axes = axes[:, 0]
    if has_adam:
        _bands(axes[0], steps, records, layers, colors, "effective_lr", labels)
        axes[0].set(ylabel="lr / (√v̂ + ε)",
                    title="Adam's per-coordinate learning rate: median (line), 25-75th percentile "
                          "(band)")
        axes[0].legend(fontsize=7, ncol=2, loc="best")
        _bands(axes[1], steps, records, layers, colors, "effective_step", labels)
        axes[1].set(ylabel="|lr·m̂ / (√v̂ + ε)|",
                    title="effective step per coordinate: median (line), 25-75th percentile (band)")
    ax = axes[2] if has_adam else axes[0]
    for n in layers:
        pts = [(s, r["layers"][n]["update_ratio"]) for s, r in zip(steps, records, strict=True)
               if r["layers"].get(n, {}).get("update_ratio")]
        if pts:
            ax.plot([s for s, _ in pts], [v for _, v in pts], color=colors[n], label=labels[n])
    ax.set(yscale="log", ylabel="RMS(Δp) / RMS(p)",
           title="actual update relative to the weights (schedule, decay, clipping included)")
    if not has_adam:
        ax.legend(fontsize=7, ncol=2)
    if has_adam:
        ax = axes[3]
        for n in layers:
            pts = [(s, r["layers"][n]["eps_share"]) for s, r in zip(steps, records, strict=True)
                   if "eps_share" in r["layers"].get(n, {})]
            if pts:
                ax.plot([s for s, _ in pts], [100 * v for _, v in pts], color=colors[n],
                        label=labels[n])
        ax.set(ylabel="% of coordinates", ylim=(-2, 102),
               title="share of coordinates where ε is most of the denominator (no adaptation there)")
    axes[-1].set_xlabel("optimizer step")
    fig.suptitle(title or "inside the optimizer")
    fig.savefig(path, dpi=100)
    return path


def comparison(results: dict[str, list[dict]], path: Path, title: str = "") -> Path:
    """One line per optimizer: train loss, test loss, test accuracy (or R²) per epoch."""
    names = list(results)
    colors = dict(zip(names, _colors(len(names)), strict=True))
    accuracy_key = "test_accuracy" if results[names[0]][0].get("test_accuracy") is not None \
        else "test_r2"
    fig = Figure(figsize=(15, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = (("train_loss", "train loss", "log"), ("test_loss", "test loss", "log"),
              (accuracy_key, "test accuracy" if accuracy_key == "test_accuracy" else "test R²",
               "linear"))
    for ax, (key, label, scale) in zip(axes, panels, strict=True):
        for n in names:
            hist = results[n]
            ax.plot([r["epoch"] for r in hist], [r[key] for r in hist], "o-", color=colors[n],
                    label=n, markersize=3)
        ax.set(xlabel="epoch", ylabel=label, title=label, yscale=scale)
        ax.legend()
    fig.suptitle(title or "optimizer comparison")
    fig.savefig(path, dpi=110)
    return path
