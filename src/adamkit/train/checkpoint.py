"""Crash-safe training checkpoints: atomic writes, a checksum, the last two kept, fallback on damage.

File layout: ``MAGIC`` line, the SHA-256 of the payload as 64 hex digits and a newline, then the
payload (``torch.save`` of a dict of tensors and plain values, loaded back with
``weights_only=True``, so a checkpoint cannot run code). A write goes to a temporary file in the
same directory, is flushed and fsync'ed, renamed over the final name with ``os.replace`` (atomic
on POSIX) and the directory is fsync'ed: a crash leaves either the old or the new file, never half
of one. The trainer writes through a ``BackgroundWriter``, so the fsyncs overlap training. A
truncated or altered file fails the checksum and is reported by name; ``load_latest`` then falls
back to the previous good checkpoint.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adamkit.errors import UsageError

MAGIC = b"ADAMKIT-TRAIN-CHECKPOINT v1\n"
KEEP = 2
PATTERN = "step-*.ckpt"


class CorruptCheckpoint(UsageError):
    """A checkpoint file that cannot be trusted; the message names the file and why."""


def rng_states() -> dict:
    """Every RNG the training loop may touch: torch (CPU and CUDA), NumPy's global, Python's."""
    numpy_state: Any = np.random.get_state()
    name, keys, pos, has_gauss, cached = numpy_state
    states = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    n = states["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def path_for(directory: Path, step: int) -> Path:
    return Path(directory) / f"step-{step:09d}.ckpt"


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint files in ``directory``, newest (highest step) first."""
    return sorted(Path(directory).glob(PATTERN), reverse=True)


def encode(payload: dict) -> bytes:
    """The bytes of a checkpoint file: ``MAGIC``, SHA-256 of the body in hex, newline, body."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    return MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def write_atomic(data: bytes, path: Path, keep: int = KEEP) -> Path:
    """Write ``data`` to ``path`` atomically, then delete all but the newest ``keep`` files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)
    for old in list_checkpoints(path.parent)[keep:]:
        old.unlink(missing_ok=True)
    return path


def save(payload: dict, path: Path, keep: int = KEEP) -> Path:
    """Serialize ``payload`` and write it atomically (see ``write_atomic``)."""
    return write_atomic(encode(payload), path, keep)


class BackgroundWriter:
    """Writes checkpoints on a thread so the training loop does not wait for ``fsync``.

    ``submit`` takes a consistent snapshot on the caller's thread (every tensor cloned, between
    two steps), waits for the previous write, then serializes and writes on a thread. ``wait``
    blocks until the last write is on disk and re-raises its error if it failed. At most one write
    is in flight, so at most one snapshot is held in memory besides the live state.
    """

    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, payload: dict, path: Path) -> Path:
        snapshot = _clone_tensors(payload)
        self.wait()
        self._thread = threading.Thread(target=self._write, args=(snapshot, Path(path)))
        self._thread.start()
        return Path(path)

    def _write(self, payload: dict, path: Path) -> None:
        try:
            write_atomic(encode(payload), path, self.keep)
        except BaseException as exc:  # noqa: BLE001 - handed to the training thread in wait()
            self._error = exc

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _clone_tensors(obj):
    """A copy of ``obj`` whose tensors are clones (containers copied, other values shared:
    they are immutable or no longer changed by the caller)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_clone_tensors(v) for v in obj)
    return obj


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some file systems do not open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path: Path) -> dict:
    """Read and verify one checkpoint; ``CorruptCheckpoint`` names the file and the defect."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorruptCheckpoint(f"checkpoint {path} cannot be read: {exc.strerror}") from None
    header = len(MAGIC) + 65
    if not data.startswith(MAGIC):
        raise CorruptCheckpoint(f"checkpoint {path} is not an adamkit checkpoint (bad header)")
    if len(data) < header:
        raise CorruptCheckpoint(f"checkpoint {path} is truncated ({len(data)} bytes)")
    digest, body = data[len(MAGIC) : header - 1], data[header:]
    if hashlib.sha256(body).hexdigest().encode() != digest:
        raise CorruptCheckpoint(
            f"checkpoint {path} is corrupt or truncated (SHA-256 mismatch, {len(data)} bytes)"
        )
    try:
        return torch.load(io.BytesIO(body), weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a verified body that does not load is still corrupt
        raise CorruptCheckpoint(f"checkpoint {path} does not load: {exc}") from None


def load_latest(directory: Path, warn=None) -> tuple[dict, Path, list[str]]:
    """The newest checkpoint in ``directory`` that verifies, its path, and the warnings given.

    Each damaged file is reported (via ``warn``, default stderr) by name before falling back to
    the next older one; if none verifies, a UsageError lists them all.
    """
    warn = warn or (lambda msg: print(f"adamkit: warning: {msg}", file=sys.stderr))
    candidates = list_checkpoints(directory)
    if not candidates:
        raise UsageError(f"--resume: no checkpoint ({PATTERN}) in {directory}")
    warnings: list[str] = []
    for i, path in enumerate(candidates):
        try:
            return load(path), path, warnings
        except CorruptCheckpoint as exc:
            nxt = candidates[i + 1] if i + 1 < len(candidates) else None
            msg = f"{exc}; " + (f"falling back to {nxt}" if nxt else "no older checkpoint left")
            warnings.append(msg)
            warn(msg)
    raise UsageError(
        f"--resume: no usable checkpoint in {directory}; damaged: "
        + ", ".join(str(p) for p in candidates)
    )
