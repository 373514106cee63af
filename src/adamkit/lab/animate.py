"""Animated races: the paths grow step by step over the contours (GIF always, MP4 with ffmpeg).

The GIF is written with matplotlib's PillowWriter (pillow); the MP4 only when ``ffmpeg`` is on
PATH. Frames are sub-sampled to at most ``max_frames``, and every GIF frame is quantized to the
first frame's palette (matplotlib's PillowWriter gives each frame its own palette, so no two
frames share pixels and the file grows to megabytes); with one palette Pillow stores only the
part of each frame that changed, which keeps files small (hundreds of kB, well under 3 MB).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adamkit.lab import plots
from adamkit.lab.engine import RunResult

plt = plots.plt


def _shared_palette_writer():
    from matplotlib.animation import PillowWriter
    from PIL import Image

    class SharedPalettePillowWriter(PillowWriter):
        """PillowWriter that maps every frame onto the first frame's palette before saving."""

        def finish(self):
            first = self._frames[0].convert("RGB").quantize(colors=255)
            rest = [f.convert("RGB").quantize(palette=first, dither=Image.Dither.NONE)
                    for f in self._frames[1:]]
            first.save(self.outfile, save_all=True, append_images=rest,
                       duration=int(1000 / self.fps), loop=0)

    return SharedPalettePillowWriter


def frame_steps(steps: int, max_frames: int) -> np.ndarray:
    """The steps shown in each frame: all of them for short runs, else an even subsample that
    is denser early on (most of the motion happens in the first steps)."""
    if steps + 1 <= max_frames:
        return np.arange(steps + 1)
    u = np.linspace(0.0, 1.0, max_frames)
    return np.unique(np.round(steps * u**1.5).astype(int))


def animate(results: Sequence[RunResult], out: str | Path, *, c: int = 0,
            max_frames: int = 60, fps: int = 12, dpi: int = 72) -> list[Path]:
    """Write ``out`` (a .gif) and, when ffmpeg is available, the same animation as .mp4.

    Returns the paths written.
    """
    from matplotlib.animation import FFMpegWriter, FuncAnimation

    fn = results[0].function
    out = Path(out).with_suffix(".gif")
    steps = results[0].steps
    shown = frame_steps(steps, max_frames)
    fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
    lines, heads = [], []
    if fn.dim == 1:
        (x0, x1), = plots.view_window(results, c)
        xs = np.linspace(x0, x1, 300)
        ax.plot(xs, fn.value(xs[:, None]), color="0.3", lw=2, label=f"f(x) = {fn.formula}")
        ax.set_xlim(x0, x1)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
        ax.grid(True, alpha=0.3)
    else:
        window = plots.view_window(results, c)
        plots.contour_background(ax, fn, n=150, window=window)
        plots.mark_minima(ax, fn)
        start = results[0].path[c, 0]
        ax.plot(*start, marker="o", markersize=9, color="black", linestyle="none", label="start")
        (x0, x1), (y0, y1) = window
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for r in results:
        st = plots.style(r.optimizer)
        (line,) = ax.plot([], [], lw=1.8, color=st["color"], linestyle=st["linestyle"],
                          label=plots.label(r, c), zorder=4)
        (head,) = ax.plot([], [], marker=st["marker"], markersize=8, color=st["color"],
                          markeredgecolor="black", linestyle="none", zorder=6)
        lines.append(line)
        heads.append(head)
    ax.legend(loc="best", fontsize=7, framealpha=0.9)
    title = ax.set_title("", fontsize=10)

    def coordinates(r: RunResult, t: int):
        if fn.dim == 1:
            return r.path[c, : t + 1, 0], r.loss[c, : t + 1]
        return r.path[c, : t + 1, 0], r.path[c, : t + 1, 1]

    def draw(k: int):
        t = int(shown[k])
        for r, line, head in zip(results, lines, heads, strict=True):
            xs, ys = coordinates(r, t)
            line.set_data(xs, ys)
            ok = np.isfinite(xs) & np.isfinite(ys)
            head.set_data(xs[ok][-1:], ys[ok][-1:])
        title.set_text(f"{fn.name}: step {t} of {steps}")
        return [*lines, *heads, title]

    anim = FuncAnimation(fig, draw, frames=len(shown), blit=False)
    anim.save(out, writer=_shared_palette_writer()(fps=fps), dpi=dpi)
    written = [out]
    if shutil.which("ffmpeg"):
        mp4 = out.with_suffix(".mp4")
        anim.save(mp4, writer=FFMpegWriter(fps=fps), dpi=dpi)
        written.append(mp4)
    plt.close(fig)
    return written
