"""The page's race as a file: PNG (the last frame), GIF or MP4 (the paths growing), in the page's look.

One figure: the contour map with every path on the left, the loss per step (log scale) on the
right, the legend below both (so it never hides a path), each optimizer in its fixed colour
(:mod:`adamkit.lab.style`). The MP4 is written by the ffmpeg that the ``imageio-ffmpeg`` package
ships, so it works on a fresh machine with no ffmpeg installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from adamkit.lab import plots
from adamkit.lab.animate import frame_steps
from adamkit.lab.engine import run
from adamkit.web import api, inputs
from adamkit.web.inputs import LIMITS, BadRequest, TooLarge

FORMATS = {"png": "image/png", "gif": "image/gif", "mp4": "video/mp4"}


def export(body: dict) -> tuple[bytes, str, str]:
    inputs.only(body, {*api.SETUP, "optimizers", "format"}, "export")
    fmt = body.get("format")
    if fmt not in FORMATS:
        raise BadRequest(f"invalid format {fmt!r}; valid: {', '.join(FORMATS)}")
    fn, start, steps = api._setup(body)
    if fn.dim != 2:
        raise BadRequest(f"export draws 2-D functions; {fn.name} has {fn.dim} variable(s)")
    if steps > LIMITS["export_steps"]:
        raise TooLarge(f"steps {steps} is over the export limit of {LIMITS['export_steps']}")
    specs = api._optimizers(body)
    results = [run(fn, name, steps=steps, start=start, **hp) for name, hp in specs]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"race.{fmt}"
        draw(results, out, fmt)
        name = fn.name if fn.name.isidentifier() else "expression"
        return out.read_bytes(), FORMATS[fmt], f"race-{name}.{fmt}"


def _bands(ax, fn, window) -> None:
    """The page's background: f in bands between the contour levels, drawn as one image (a
    matplotlib contour set is redrawn at every frame and made a GIF take half a minute)."""
    from matplotlib.colors import BoundaryNorm

    X, Y, Z = plots.grid(fn, 220, window)
    levels, _ = api.contour_levels(fn, Z)
    if len(levels) < 2:
        return
    norm = BoundaryNorm(levels, ncolors=256, extend="both")
    (x0, x1), (y0, y1) = window
    ax.imshow(np.ma.masked_invalid(Z), origin="lower", extent=(x0, x1, y0, y1), aspect="auto",
              cmap="Greys", norm=norm, alpha=0.45, interpolation="nearest")


def draw(results, out: Path, fmt: str) -> None:
    plt = plots.plt
    fn = results[0].function
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained",
                                      gridspec_kw={"width_ratios": [1.15, 1]})
    window = plots.view_window(results)
    _bands(ax, fn, window)
    plots.mark_minima(ax, fn)
    start = results[0].path[0, 0]
    ax.plot(*start, marker="o", markersize=8, color="black", linestyle="none", label="start")
    (x0, x1), (y0, y1) = window
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
    shift = fn.f_min if fn.f_min is not None else 0.0
    steps = results[0].steps
    seen: dict[str, int] = {}
    lines = []
    for r in results:
        st = plots.style(r.optimizer, seen.setdefault(r.optimizer, 0))
        seen[r.optimizer] += 1
        (path,) = ax.plot([], [], lw=1.8, color=st["color"], linestyle=st["linestyle"],
                          label=plots.label(r))
        (head,) = ax.plot([], [], marker=st["marker"], markersize=7, color=st["color"],
                          markeredgecolor="black", linestyle="none")
        (loss,) = ax_loss.plot([], [], lw=1.6, color=st["color"], linestyle=st["linestyle"])
        lines.append((r, path, head, loss))
    y = np.concatenate([r.loss[0] - shift for r in results])
    y = y[np.isfinite(y) & (y > 0)]
    ax_loss.set_xlim(0, max(steps, 1))
    if fn.f_min is not None and y.size:
        ax_loss.set_yscale("log")
        ax_loss.set_ylim(max(y.min(), 1e-16) / 2, y.max() * 2)
        ax_loss.set_ylabel("f - f*  (log scale)")
    else:
        finite = np.concatenate([r.loss[0][np.isfinite(r.loss[0])] for r in results])
        ax_loss.set_ylim(finite.min() - 0.05, finite.max() + 0.05) if finite.size else None
        ax_loss.set_ylabel("f")
    ax_loss.set_xlabel("step")
    ax_loss.grid(True, alpha=0.3)
    title = fig.suptitle("", fontsize=10)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=min(4, len(results) + 2), frameon=False)

    def frame(t: int):
        for r, path, head, loss in lines:
            p = r.path[0, : t + 1]
            path.set_data(p[:, 0], p[:, 1])
            ok = p[np.isfinite(p).all(axis=1)]
            head.set_data(ok[-1:, 0], ok[-1:, 1])
            loss.set_data(np.arange(t + 1), r.loss[0, : t + 1] - shift)
        title.set_text(f"{fn.name}: step {t} of {steps}")
        return []

    if fmt == "png":
        frame(steps)
        fig.savefig(out, dpi=110)
        plt.close(fig)
        return
    # Blitting: the axes, ticks and background are drawn once; each frame redraws only the paths,
    # heads, losses and title over a copy. Redrawing the whole figure per frame (FuncAnimation)
    # spent 35 s of a 60-frame export laying out tick labels.
    fig.set_dpi(80)
    dynamic = [a for _, *arts in lines for a in arts] + [title]
    for artist in dynamic:
        artist.set_animated(True)
    frame(steps)  # lay out with the full paths, then freeze the layout
    fig.canvas.draw()
    fig.set_layout_engine("none")
    canvas: Any = fig.canvas  # the Agg canvas (MPLBACKEND=Agg via adamkit.lab.plots)
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for t in frame_steps(steps, 60):
        canvas.restore_region(background)
        frame(int(t))
        for artist in dynamic:
            fig.draw_artist(artist)
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    if fmt == "gif":
        _write_gif(frames, out, fps=12)
    else:
        _write_mp4(frames, out, fps=12)


def _write_gif(frames, out: Path, fps: int) -> None:
    """One palette for every frame (the first's), so Pillow stores only what changed."""
    from PIL import Image

    first = Image.fromarray(frames[0]).quantize(colors=255)
    rest = [Image.fromarray(f).quantize(palette=first, dither=Image.Dither.NONE) for f in frames[1:]]
    first.save(out, save_all=True, append_images=rest, duration=int(1000 / fps), loop=0)


def _write_mp4(frames, out: Path, fps: int) -> None:
    """H.264 through imageio-ffmpeg's bundled ffmpeg (no system ffmpeg needed)."""
    import imageio_ffmpeg

    h, w = frames[0].shape[:2]
    h2, w2 = h - h % 2, w - w % 2  # yuv420p needs even sides
    writer = imageio_ffmpeg.write_frames(str(out), (w2, h2), fps=fps, codec="libx264",
                                         pix_fmt_out="yuv420p", macro_block_size=1)
    writer.send(None)
    for f in frames:
        writer.send(np.ascontiguousarray(f[:h2, :w2]))
    writer.close()


__all__ = ["export", "draw", "FORMATS"]
