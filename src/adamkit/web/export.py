"""The page's race as a file: PNG (the last frame), GIF or MP4 (the paths growing), in the page's look.

The drawing is :func:`adamkit.lab.animate.draw`, the same as ``adamkit race --animate``'s: the
contour map with every path on the left, the loss per step (log scale) on the right, the legend
below both, each optimizer in its fixed colour. The MP4 is written by the ffmpeg that the
``imageio-ffmpeg`` package ships, so it works on a fresh machine with no ffmpeg installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from adamkit.lab.animate import draw
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


__all__ = ["export", "draw", "FORMATS"]
