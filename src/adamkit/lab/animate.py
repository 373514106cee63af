"""A race as a picture or a film: the map with every path beside the loss per step (log scale).

ONE drawing, :func:`draw`, used by ``adamkit race --animate`` (:func:`animate`) and by the page's
export (``POST /api/export``, :mod:`adamkit.web.export`): the contour map (or, for a 1-D
function, the curve f(x)) with every path on the left, f - f* per step on a log scale on the
right with a marker at the current step, the legend below both (so it never hides a path), each
optimizer in its fixed colour (:mod:`adamkit.lab.style`).

Frames are drawn by blitting: axes, ticks and background are drawn once, each frame redraws only
the paths, heads, loss lines and title. The GIF gives every frame the first frame's palette, so
Pillow stores only what changed (hundreds of kB). The MP4 (H.264) is written by
``imageio-ffmpeg``'s bundled ffmpeg when that package is installed (the ``web`` extra), else by an
``ffmpeg`` on PATH, else not at all.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adamkit.lab import plots
from adamkit.lab.engine import RunResult
from adamkit.lab.functions import contour_levels

FPS = 12


def frame_steps(steps: int, max_frames: int) -> np.ndarray:
    """The steps shown in each frame: all of them for short runs, else an even subsample that
    is denser early on (most of the motion happens in the first steps)."""
    if steps + 1 <= max_frames:
        return np.arange(steps + 1)
    u = np.linspace(0.0, 1.0, max_frames)
    return np.unique(np.round(steps * u**1.5).astype(int))


def ffmpeg_exe() -> str | None:
    """imageio-ffmpeg's bundled ffmpeg, else one on PATH, else None."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def animate(results: Sequence[RunResult], out: str | Path, *, c: int = 0,
            max_frames: int = 60) -> list[Path]:
    """Write ``out`` (a .gif) and, when an ffmpeg is available, the same film as .mp4.

    Returns the paths written.
    """
    gif = Path(out).with_suffix(".gif")
    written = [gif]
    frames = draw(results, gif, "gif", c=c, max_frames=max_frames)
    if frames is not None and ffmpeg_exe():
        mp4 = gif.with_suffix(".mp4")
        _write_mp4(frames, mp4, FPS)
        written.append(mp4)
    return written


def _bands(ax, fn, window) -> None:
    """The page's background: f in bands between the contour levels, drawn as one image (a
    matplotlib contour set is redrawn at every frame and made a GIF take half a minute)."""
    from matplotlib.colors import BoundaryNorm

    X, Y, Z = plots.grid(fn, 220, window)
    levels, _ = contour_levels(fn, Z)
    if len(levels) < 2:
        return
    norm = BoundaryNorm(levels, ncolors=256, extend="both")
    (x0, x1), (y0, y1) = window
    ax.imshow(np.ma.masked_invalid(Z), origin="lower", extent=(x0, x1, y0, y1), aspect="auto",
              cmap="Greys", norm=norm, alpha=0.45, interpolation="nearest")


def _map(ax, results, c: int):
    """The left panel's background; returns the x/y data of configuration c of a run to step t."""
    fn = results[0].function
    if fn.dim == 1:
        (x0, x1), = plots.view_window(results, c)
        xs = np.linspace(x0, x1, 400)
        ax.plot(xs, fn.value(xs[:, None]), color="0.3", lw=2, label=f"f(x) = {fn.formula}")
        ax.set(xlim=(x0, x1), xlabel="x", ylabel="f(x)")
        ax.grid(True, alpha=0.3)
        return lambda r, t: (r.path[c, : t + 1, 0], r.loss[c, : t + 1])
    window = plots.view_window(results, c)
    _bands(ax, fn, window)
    plots.mark_minima(ax, fn)
    ax.plot(*results[0].path[c, 0], marker="o", markersize=8, color="black", linestyle="none",
            label="start")
    (x0, x1), (y0, y1) = window
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
    return lambda r, t: (r.path[c, : t + 1, 0], r.path[c, : t + 1, 1])


def _loss_axes(ax, results, c: int, shift: float) -> None:
    fn = results[0].function
    y = np.concatenate([r.loss[c] - shift for r in results])
    y = y[np.isfinite(y) & (y > 0)]
    ax.set_xlim(0, max(results[0].steps, 1) * 1.02)  # room for the marker at the last step
    if fn.f_min is not None and y.size:
        ax.set_yscale("log")
        ax.set_ylim(max(y.min(), 1e-16) / 2, y.max() * 2)
        ax.set_ylabel("f - f*  (log scale)")
    else:
        finite = np.concatenate([r.loss[c][np.isfinite(r.loss[c])] for r in results])
        if finite.size:
            pad = 0.05 * max(np.ptp(finite), 1e-3)
            ax.set_ylim(finite.min() - pad, finite.max() + pad)
        ax.set_ylabel("f")
    ax.set_xlabel("step")
    ax.set_title("loss per step", fontsize=9)
    ax.grid(True, alpha=0.3)


def draw(results: Sequence[RunResult], out: str | Path, fmt: str, *, c: int = 0,
         max_frames: int = 60) -> list[np.ndarray] | None:
    """Draw configuration ``c`` of every run in ``results`` (one function, one start) to ``out``:
    ``fmt`` "png" (the last step), "gif" or "mp4" (the paths growing, at most ``max_frames``).

    Returns the film's frames (RGB arrays) for "gif" and "mp4", None for "png".
    """
    plt = plots.plt
    out = Path(out)
    fn = results[0].function
    steps = results[0].steps
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained",
                                      gridspec_kw={"width_ratios": [1.15, 1]})
    coordinates = _map(ax, results, c)
    shift = fn.f_min if fn.f_min is not None else 0.0
    _loss_axes(ax_loss, results, c, shift)
    seen: dict[str, int] = {}
    lines = []
    for i, r in enumerate(results):
        st = plots.style(r.optimizer, seen.setdefault(r.optimizer, 0))
        seen[r.optimizer] += 1
        (path,) = ax.plot([], [], lw=1.8, color=st["color"], linestyle=st["linestyle"],
                          label=plots.label(r, c), zorder=4 + (len(results) - i) / 100)  # first on top
        (head,) = ax.plot([], [], marker=st["marker"], markersize=7, color=st["color"],
                          markeredgecolor="black", linestyle="none", zorder=6)
        (loss,) = ax_loss.plot([], [], lw=1.6, color=st["color"], linestyle=st["linestyle"])
        (now,) = ax_loss.plot([], [], marker=st["marker"], markersize=6, color=st["color"],
                              markeredgecolor="black", linestyle="none", zorder=5)
        lines.append((r, path, head, loss, now))
    title = fig.suptitle("", fontsize=10)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=min(4, len(results) + 2), frameon=False)

    def frame(t: int) -> None:
        for r, path, head, loss, now in lines:
            xs, ys = coordinates(r, t)
            path.set_data(xs, ys)
            ok = np.isfinite(xs) & np.isfinite(ys)
            head.set_data(xs[ok][-1:], ys[ok][-1:])
            y = r.loss[c, : t + 1] - shift
            loss.set_data(np.arange(t + 1), y)
            good = np.flatnonzero(np.isfinite(y))
            now.set_data(good[-1:], y[good[-1:]])
        title.set_text(f"{fn.name}: step {t} of {steps}")

    if fmt == "png":
        frame(steps)
        fig.savefig(out, dpi=110)
        plt.close(fig)
        return None
    # Blitting: redrawing the whole figure per frame (FuncAnimation) spent 35 s of a 60-frame
    # film laying out tick labels.
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
    for t in frame_steps(steps, max_frames):
        canvas.restore_region(background)
        frame(int(t))
        for artist in dynamic:
            fig.draw_artist(artist)
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    if fmt == "gif":
        _write_gif(frames, out, FPS)
    else:
        _write_mp4(frames, out, FPS)
    return frames


def _write_gif(frames, out: Path, fps: int) -> None:
    """One palette for every frame (the first's), so Pillow stores only what changed."""
    from PIL import Image

    first = Image.fromarray(frames[0]).quantize(colors=255)
    rest = [Image.fromarray(f).quantize(palette=first, dither=Image.Dither.NONE) for f in frames[1:]]
    first.save(out, save_all=True, append_images=rest, duration=int(1000 / fps), loop=0)


def _write_mp4(frames, out: Path, fps: int) -> None:
    """H.264 (yuv420p, even sides) from raw RGB frames piped into ffmpeg."""
    exe = ffmpeg_exe()
    if exe is None:
        raise RuntimeError("MP4 needs ffmpeg: pip install imageio-ffmpeg (adamkit[web])")
    h, w = frames[0].shape[:2]
    h2, w2 = h - h % 2, w - w % 2
    cmd = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w2}x{h2}", "-r", str(fps), "-i", "-", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]
    data = b"".join(np.ascontiguousarray(f[:h2, :w2]).tobytes() for f in frames)
    subprocess.run(cmd, input=data, check=True, capture_output=True)


__all__ = ["animate", "draw", "frame_steps", "ffmpeg_exe"]
