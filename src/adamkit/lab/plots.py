"""Pictures of races: contour with paths, loss per step, 3-D surface, the 1-D view, phase diagrams.

Every figure is titled, labelled and has a legend; each optimizer has one fixed colour and marker
(:mod:`adamkit.lab.style`, shared with the page), so lines are told apart without colour too.
Matplotlib runs on the Agg backend (files only, no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from adamkit.lab.engine import RunResult  # noqa: E402
from adamkit.lab.functions import TestFunction  # noqa: E402
from adamkit.lab.style import optimizer_style  # noqa: E402

LINESTYLES = ["-", "--", "-.", ":"]


def style(name: str, repeat: int = 0) -> dict:
    """Colour, marker and line style of the optimizer called ``name``: fixed per name (see
    :mod:`adamkit.lab.style`), so every figure and the page agree; ``repeat`` > 0 dashes a second
    line of the same optimizer."""
    return {**optimizer_style(name), "linestyle": LINESTYLES[repeat % len(LINESTYLES)]}


def label(result: RunResult, c: int = 0) -> str:
    hp = result.config(c)
    text = f"{result.optimizer} (lr={hp['lr']:.3g})"
    if result.diverged[c]:
        text += f", diverged at step {int(result.diverged_step[c])}"
    return text


def view_window(results: Sequence[RunResult], c: int = 0, reach: float = 0.25):
    """The axes' limits: the function's window, widened to show the paths where they leave it,
    by at most ``reach`` window-widths on each side (so a diverging path cannot squash the
    picture; it is drawn leaving the axes)."""
    fn = results[0].function
    limits = []
    for d, (lo, hi) in enumerate(fn.window):
        width = hi - lo
        coords = np.concatenate([r.path[c, :, d] for r in results])
        coords = coords[np.isfinite(coords)]
        pad = 0.03 * width
        a = max(min(lo, coords.min() - pad), lo - reach * width) if coords.size else lo
        b = min(max(hi, coords.max() + pad), hi + reach * width) if coords.size else hi
        limits.append((float(a), float(b)))
    return tuple(limits)


def grid(fn: TestFunction, n: int = 300, window=None):
    """X, Y, Z = f on an n x n grid over ``window`` (default: the function's window)."""
    (x0, x1), (y0, y1) = window or fn.window
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = fn.value(np.stack([X, Y], axis=-1))
    return X, Y, Z


def contour_background(ax, fn: TestFunction, n: int = 300, window=None):
    """Filled contours of f over the window: log-spaced levels of f - f* where that reads better."""
    X, Y, Z = grid(fn, n, window)
    if fn.log_levels and fn.f_min is not None:
        shifted = Z - fn.f_min
        lo = max(np.percentile(shifted, 0.5), 1e-3)
        levels = np.logspace(np.log10(lo), np.log10(shifted.max()), 25)
        cs = ax.contourf(X, Y, np.maximum(shifted, lo), levels=levels, norm=LogNorm(),
                         cmap="Greys", alpha=0.4)
        ax.contour(X, Y, shifted, levels=levels, colors="0.45", linewidths=0.5)
        bar_label = "f - f* (log scale)"
    else:
        cs = ax.contourf(X, Y, Z, levels=30, cmap="Greys", alpha=0.4)
        ax.contour(X, Y, Z, levels=30, colors="0.45", linewidths=0.5)
        bar_label = "f"
    return cs, bar_label


def colorbar(fig, ax, cs, bar_label):
    """A colour bar with readable ticks (decades on a log scale)."""
    bar = fig.colorbar(cs, ax=ax, label=bar_label, shrink=0.85)
    if isinstance(cs.norm, LogNorm):
        lo, hi = np.log10(cs.norm.vmin), np.log10(cs.norm.vmax)
        decades = np.arange(np.ceil(lo), np.floor(hi) + 1)
        bar.set_ticks(10.0**decades)
        bar.set_ticklabels([f"1e{int(d)}" for d in decades])
    return bar


def mark_minima(ax, fn: TestFunction):
    if len(fn.minima):
        ax.plot(fn.minima[:, 0], fn.minima[:, 1], linestyle="none", marker="*", markersize=16,
                color="#F0E442", markeredgecolor="black", label="global minimum", zorder=5)


def _name(fn: TestFunction) -> str:
    """'name: ' for registered functions; nothing for expressions (the formula says it all)."""
    return "" if fn.name == fn.formula or "expression" in fn.extra else f"{fn.name}: "


def _markevery(n_points: int) -> int:
    return max(1, n_points // 15)


def plot_race(results: Sequence[RunResult], out: str | Path | None = None, *, c: int = 0,
              title: str | None = None, arrows: bool = False):
    """Contour of a 2-D function with every optimizer's path (start and minima marked),
    or for a 1-D function the seeds' view: the curve f(x) with each optimizer's iterates on it.

    ``arrows``: for runs with a first moment (Adam family) recorded by ``run(...,
    internals=True)``, draw at a few points along the path the direction of -m̂ (the
    bias-corrected momentum) and the step actually taken (see :func:`moment_arrows`)."""
    fn = results[0].function
    if fn.dim == 1:
        return plot_1d(results, out, c=c, title=title)
    fig, ax = plt.subplots(figsize=(8, 7.2), layout="constrained")
    window = view_window(results, c)
    cs, bar_label = contour_background(ax, fn, window=window)
    colorbar(fig, ax, cs, bar_label)
    for i, r in enumerate(results):
        p = r.path[c]
        ax.plot(p[:, 0], p[:, 1], lw=1.8, markersize=4, markevery=_markevery(len(p)),
                label=label(r, c), zorder=4 + (len(results) - i) / 100, alpha=0.9,
                **style(r.optimizer))
        last = p[np.isfinite(p).all(axis=1)][-1]
        ax.plot(*last, marker="o", markersize=7, markerfacecolor="white",
                markeredgecolor=style(r.optimizer)["color"], markeredgewidth=2, zorder=6)
    start = results[0].path[c, 0]
    ax.plot(*start, marker="o", markersize=10, color="black", linestyle="none", label="start",
            zorder=6)
    mark_minima(ax, fn)
    if arrows:
        moment_arrows(ax, results, c, window)
    (x0, x1), (y0, y1) = window
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or f"{_name(fn)}f = {fn.formula}\n{results[0].steps} steps from "
                 f"({start[0]:g}, {start[1]:g}); open circles mark where each path ended",
                 fontsize=11)
    # below the axes, so it can never hide a path
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=min(3, len(results) + 2), frameon=False)
    return _finish(fig, out)


def moment_arrows(ax, results: Sequence[RunResult], c: int, window, points: int = 6) -> int:
    """At ``points`` steps t along each path whose run recorded a first moment (``m_hat``, or
    ``exp_avg`` for NAdam/RAdam/Adamax: bias correction divides by a positive number, so the
    direction is the same), draw from x_t: a thin white arrow along -m̂_t (where momentum pushes;
    fixed length, 7% of the window, since m̂ is in gradient units), and an arrow in the
    optimizer's colour for the step taken, x_{t+1} - x_t, all steps magnified by one factor (in
    the legend) that makes the median one 6% of the window; the few longer than 15% (early
    steps are often much longer) are shortened to 15%. The angle between the two arrows is the
    per-coordinate rescaling by 1/(sqrt(v̂)+ε). Returns the number of arrow pairs drawn."""
    width = np.array([hi - lo for lo, hi in window])
    picked = []
    for i, r in enumerate(results):
        rec = r.internals or {}
        m = rec.get("m_hat", rec.get("exp_avg"))
        if m is None:
            continue
        p = r.path[c]
        ok = np.isfinite(p).all(axis=1)
        last = int(np.argmin(ok)) - 1 if not ok.all() else len(p) - 1  # last good iterate
        if last < 1:
            continue
        ts = np.unique(np.round((last - 1) * np.linspace(0.0, 1.0, points) ** 2).astype(int))
        picked.append((i, r, p[ts], -m[c, ts], p[ts + 1] - p[ts]))
    if not picked:
        return 0
    # lengths are measured in window-widths, so arrows look right on a non-square window
    lengths = np.concatenate([np.linalg.norm(step / width, axis=1) for *_, step in picked])
    typical = float(np.median(lengths[lengths > 0])) if (lengths > 0).any() else 0.0
    factor = 0.06 / typical if typical > 0 else 1.0
    drawn = 0
    for i, r, at, push, step in picked:
        unit = push / width
        norm = np.linalg.norm(unit, axis=1, keepdims=True)
        direction = np.where(norm > 0, unit / np.where(norm > 0, norm, 1.0), 0.0) * 0.07 * width
        common = dict(angles="xy", scale_units="xy", scale=1,
                      zorder=7 + (len(results) - i) / 100)  # the first optimizer's on top
        ax.quiver(at[:, 0], at[:, 1], direction[:, 0], direction[:, 1], color="white",
                  edgecolor="black", linewidth=0.6, width=0.004, headwidth=4, **common)
        shown = factor * step
        long = np.linalg.norm(shown / width, axis=1, keepdims=True)
        shown = np.where(long > 0.15, shown * 0.15 / np.maximum(long, 1e-300), shown)
        ax.quiver(at[:, 0], at[:, 1], shown[:, 0], shown[:, 1],
                  color=style(r.optimizer)["color"], edgecolor="black", linewidth=0.5,
                  width=0.006, headwidth=3.5, **common)
        drawn += len(at)
    ax.plot([], [], color="black", lw=1, marker=">", markersize=7, markerfacecolor="white",
            markeredgecolor="black", label="-m̂ direction (bias-corrected momentum)")
    ax.plot([], [], color="0.5", lw=3, marker=">", markersize=7,
            label=f"step taken x(t+1) - x(t), x{factor:.3g}, optimizer's colour")
    return drawn


def plot_1d(results: Sequence[RunResult], out=None, *, c: int = 0, title: str | None = None):
    """The seeds' 1-D picture: f(x) over the window with each optimizer's iterates on the curve."""
    fn = results[0].function
    (x0, x1), = view_window(results, c)
    xs = np.linspace(x0, x1, 400)
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    ax.plot(xs, fn.value(xs[:, None]), color="0.3", lw=2, label=f"f(x) = {fn.formula}")
    for r in results:
        x = r.path[c, :, 0]
        ax.plot(x, r.loss[c], lw=1.2, markersize=5, label=label(r, c), alpha=0.85, **style(r.optimizer))
    if len(fn.minima):
        ax.plot(fn.minima[:, 0], fn.value(fn.minima), linestyle="none", marker="*",
                markersize=16, color="#F0E442", markeredgecolor="black", label="minimum")
    ax.set_xlim(x0, x1)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"{fn.name}: iterates on the curve, {results[0].steps} steps from "
                 f"x = {results[0].path[c, 0, 0]:g}")
    ax.legend(fontsize=8)
    return _finish(fig, out)


def plot_loss(results: Sequence[RunResult], out=None, *, c: int = 0, title: str | None = None):
    """f - f* per step on a log scale (f itself, symlog, when f* is unknown or unbounded)."""
    fn = results[0].function
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    steps = np.arange(results[0].steps + 1)
    for r in results:
        y = r.loss[c] - (fn.f_min if fn.f_min is not None else 0.0)
        ax.plot(steps, y, lw=1.8, markersize=4, markevery=_markevery(len(steps)),
                label=label(r, c), **style(r.optimizer))
    if fn.f_min is not None:
        ax.set_yscale("log")
        ax.set_ylabel("f(x) - f*  (log scale; exact zeros are not drawn)")
    else:
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_ylabel("f(x)  (symmetric log scale)")
    ax.set_xlabel("step")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(title or f"Loss per step on {fn.name}")
    ax.legend(fontsize=8)
    return _finish(fig, out)


def plot_surface(results: Sequence[RunResult], out=None, *, c: int = 0,
                 title: str | None = None, view: tuple[float, float] = (35, -70)):
    """3-D surface of f over the race's window, its height log10(1 + f - f*) for steep functions
    (so Rosenbrock's flat valley is visible under walls a thousand times higher), shaded by
    height with contour lines on the floor, every path drawn on top of the surface (its points
    lifted by 1% of the height range so the surface never hides them), the minima starred."""
    fn = results[0].function
    window = view_window(results, c)
    X, Y, Z = grid(fn, 160, window)
    steep = fn.log_levels and fn.f_min is not None

    def height(z):
        return np.log10(1.0 + np.maximum(z - fn.f_min, 0.0)) if steep else z

    H = height(Z)
    finite = H[np.isfinite(H)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    lift = 0.01 * (hi - lo)
    fig = plt.figure(figsize=(9, 7.4), layout="constrained")
    ax = fig.add_subplot(projection="3d", computed_zorder=False)
    ax.plot_surface(X, Y, H, cmap="viridis", alpha=0.55, linewidth=0, antialiased=True,
                    rcount=160, ccount=160, zorder=1)
    ax.contour(X, Y, H, levels=15, zdir="z", offset=lo, cmap="viridis", linewidths=0.6,
               zorder=0)
    (x0, x1), (y0, y1) = window
    for i, r in enumerate(results):
        p, z = r.path[c], r.loss[c]
        inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
        p = np.where(inside[:, None], p, np.nan)
        ax.plot(p[:, 0], p[:, 1], height(np.where(inside, z, np.nan)) + lift, lw=2,
                markersize=3, markevery=_markevery(len(p)), label=label(r, c),
                zorder=5 + (len(results) - i) / 100, **style(r.optimizer))
    if len(fn.minima):
        ax.plot(fn.minima[:, 0], fn.minima[:, 1], height(fn.value(fn.minima)) + lift, "*",
                markersize=14, color="#F0E442", markeredgecolor="black", label="global minimum",
                zorder=6)
    start = results[0].path[c, 0]
    ax.plot([start[0]], [start[1]], [height(fn.value(start[None]))[0] + lift], "o",
            markersize=8, color="black", label="start", zorder=6)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), zlim=(lo, hi), xlabel="x", ylabel="y",
           zlabel="log10(1 + f - f*)" if steep else "f")
    ax.set_title(title or f"{_name(fn)}surface{' (log height)' if steep else ''} and paths",
                 fontsize=11)
    ax.view_init(elev=view[0], azim=view[1])
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=min(3, len(results) + 2), frameon=False)
    return _finish(fig, out)


def plot_phase(x_name: str, x_values, y_name: str, y_values, final_loss, diverged, out=None, *,
               function: TestFunction, optimizer: str, steps: int, x_log: bool = True,
               y_log: bool = False, title: str | None = None):
    """Final loss (f - f*, log colour scale) over a grid of two hyperparameters; diverged cells
    are drawn as hatched dark-red squares with an × so they cannot be mistaken for high loss.

    ``final_loss`` and ``diverged`` have shape (len(y_values), len(x_values)).
    """
    x_values, y_values = np.asarray(x_values, float), np.asarray(y_values, float)
    loss = np.asarray(final_loss, float) - (function.f_min or 0.0)
    diverged = np.asarray(diverged, bool)
    fig, ax = plt.subplots(figsize=(8.5, 6.5), layout="constrained")
    shown = np.where(diverged, np.nan, loss)
    positive = shown[np.isfinite(shown) & (shown > 0)]
    floor = max(positive.min(), 1e-16) if positive.size else 1e-16
    top = max(positive.max(), floor * 10) if positive.size else 1.0
    data = np.ma.masked_invalid(np.clip(shown, floor, None))
    mesh = ax.pcolormesh(_edges(x_values, x_log), _edges(y_values, y_log), data,
                         norm=LogNorm(vmin=floor, vmax=top), cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"final f - f* after {steps} steps (log scale)")
    if diverged.any():
        xe, ye = _edges(x_values, x_log), _edges(y_values, y_log)
        ax.pcolor(xe, ye, np.ma.masked_where(~diverged, np.ones_like(loss)), hatch="xx",
                  cmap=matplotlib.colors.ListedColormap(["#8B0000"]), edgecolor="white",
                  linewidth=0.0, alpha=0.9)
        ax.plot([], [], "s", color="#8B0000", markersize=10, label="diverged")
    best = np.unravel_index(np.nanargmin(np.where(diverged, np.inf, loss)), loss.shape)
    ax.plot(x_values[best[1]], y_values[best[0]], marker="*", markersize=16, color="#F0E442",
            markeredgecolor="black", linestyle="none",
            label=f"best: {x_name}={x_values[best[1]]:.3g}, {y_name}={y_values[best[0]]:.3g}")
    if x_log:
        ax.set_xscale("log")
    if y_log:
        ax.set_yscale("log")
    ax.set_xlabel(x_name + (" (log scale)" if x_log else ""))
    ax.set_ylabel(y_name + (" (log scale)" if y_log else ""))
    ax.set_title(title or f"{optimizer} on {function.name}: final loss over {x_name} x {y_name}"
                 f"\n{len(x_values)} x {len(y_values)} configurations, {steps} steps each")
    ax.legend(loc="upper left", fontsize=9, framealpha=0.9)
    return _finish(fig, out)


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around grid centres (geometric midpoints on a log axis)."""
    v = np.log10(values) if log else values
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return 10**e if log else e


def _finish(fig, out):
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return Path(out)
