"""Output folders, checked before a command computes anything; an earlier run is never destroyed.

Every command that writes results into a folder (race, phase, train, compare, bench; ``data get``
for its ``--to``) goes through this module, so they all behave alike:

- a path that exists as a file (or lies under one) is a one-line error naming it, not a
  traceback from ``mkdir``;
- a folder that already holds an earlier run (any of the names the command writes) is refused
  with a hint naming the ways on: ``--overwrite`` to replace it (and ``--resume`` for ``train``),
  or another folder. With ``overwrite`` those names are removed first, so nothing from the
  earlier run (a GIF the new run does not write, old checkpoints) is left beside the new
  results. Other files in the folder are never touched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from adamkit.errors import UsageError


def check_folder(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as a Path; a UsageError if it, or the nearest existing folder above it, is a file."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                where = "is a file" if p == path else f"lies under the file {p}"
                raise UsageError(f"{flag} {path} {where}, not a folder; give a folder path")
            break
    return path


def make(path: str | Path, flag: str = "--out") -> Path:
    """Create the folder ``path`` (and its parents) after ``check_folder``; errors are one line."""
    path = check_folder(path, flag)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot create the folder ({exc.strerror})") from None
    return path


def earlier_outputs(path: Path, outputs: Iterable[str]) -> list[str]:
    """The names in ``outputs`` that exist in ``path`` (an earlier run's results)."""
    return sorted(n for n in outputs if (path / n).exists() or (path / n).is_symlink())


def check(path: str | Path, outputs: Iterable[str], *, overwrite: bool = False,
          flag: str = "--out", ways: str = "--overwrite to replace it") -> list[str]:
    """The earlier run's names in ``path`` that a run writing ``outputs`` would replace.

    Changes nothing. A UsageError if ``path`` is a file, or if it holds an earlier run (any of
    ``outputs``) and not ``overwrite``; the message names the folder and ``ways`` on.
    """
    path = check_folder(path, flag)
    found = earlier_outputs(path, outputs) if path.is_dir() else []
    if found and not overwrite:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise UsageError(f"{flag} {path} holds an earlier run ({shown}); {ways}, "
                         f"or choose another {flag}")
    return found


def prepare(path: str | Path, outputs: Iterable[str], *, overwrite: bool = False,
            flag: str = "--out", ways: str = "--overwrite to replace it") -> Path:
    """``check``, then delete the earlier run's names (``overwrite``) and create the folder.

    Call it once everything else is validated, right before the run writes, so a mistake found
    later cannot leave the earlier run deleted and no new one.
    """
    for name in check(path, outputs, overwrite=overwrite, flag=flag, ways=ways):
        target = Path(path) / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    return make(path, flag)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader (or a crash) sees the old file or the new
    one, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
