"""Where a study lives: a journal file in the run directory by default, a database to scale.

- no ``--storage``: ``OUT/study.journal``, Optuna's ``JournalStorage`` over a
  ``JournalFileBackend``: an append-only log that several local worker processes share through a
  file lock, without SQLite's "database is locked" (optuna#820, #4994), or, on a shared file
  system, workers on several hosts. It has no heartbeat of its own: adamkit's workers beat in
  a trial attribute (``study.beating``), and a local worker that dies is found by its process id
  at once (see ``study.fail_dead_trials``).
- ``postgresql://USER[:PASSWORD]@HOST:PORT/DB`` (or ``mysql://``): Optuna's ``RDBStorage`` with
  a heartbeat: every running trial records a beat every ``heartbeat`` seconds, and a trial
  silent for ``grace`` seconds is marked failed by the next worker that looks, which re-queues
  its configuration. ``pool_pre_ping`` drops dead connections, and ``close`` disposes the
  engine's pool, so workers do not leak connections (optuna#1347).
- ``sqlite:///FILE``: accepted with a 60 s lock timeout, for one worker; use a journal file or a
  server for several.
- a path ending in ``.journal``: that journal file.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend

from adamkit import outdir
from adamkit.errors import UsageError

SERVER_SCHEMES = ("postgresql", "mysql")
VALID = "postgresql://USER:PASSWORD@HOST:PORT/DB, mysql://..., sqlite:///FILE or FILE.journal"


@dataclass
class Storage:
    optuna: Any  # the optuna storage object
    shown: str  # where it is, password hidden
    heartbeat: bool  # whether the storage has its own heartbeat (a database: Optuna's)
    journal: Any = None  # the JournalFileBackend, for a journal file

    def add_trials(self, study, trials: list) -> None:
        """``study.add_trials(trials)``, as one journal write for a journal file.

        Optuna appends (and fsyncs) the journal once per trial, so recording a large batch took
        far longer than running it (benchmarks/results/design_measurements.md#tune-journal-batch).
        The trials are added to an in-memory copy of the journal instead, and its new entries appended at
        once. Each entry is self-contained, so their place in the file does not matter.
        """
        if self.journal is None:
            study.add_trials(trials)
            return
        memory = _MemoryJournal(self.journal.read_logs(0))
        copy = optuna.load_study(study_name=study.study_name, storage=JournalStorage(memory))
        copy.add_trials(trials)
        self.journal.append_logs(memory.new)

    def close(self) -> None:
        engine = getattr(self.optuna, "engine", None)
        if hasattr(self.optuna, "remove_session"):
            self.optuna.remove_session()
        if engine is not None:
            engine.dispose()


def hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str | None, out: Path, *, heartbeat: int = 60, grace: int = 120,
                 failed_trial_callback=None) -> Storage:
    """The storage for ``url`` (None: ``out/study.journal``); a UsageError names a malformed
    URL or an unreachable database."""
    if heartbeat < 1 or grace <= heartbeat:
        raise UsageError(f"--heartbeat {heartbeat} must be >= 1 and below --grace {grace}")
    if url is None or url.endswith(".journal"):
        path = Path(url) if url else out / "study.journal"
        outdir.make(path.parent, "--storage" if url else "--out")
        backend = JournalFileBackend(str(path))
        return Storage(JournalStorage(backend), str(path), False, backend)
    scheme = url.partition("://")[0].partition("+")[0]
    if "://" not in url or scheme not in (*SERVER_SCHEMES, "sqlite"):
        raise UsageError(f"malformed storage URL {hide_password(url)!r}; valid: {VALID}")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"malformed storage URL {hide_password(url)!r}: {exc}; valid: {VALID}") \
            from None
    if scheme in SERVER_SCHEMES and not (parsed.host and parsed.database):
        raise UsageError(f"malformed storage URL {hide_password(url)!r}: it names no host or "
                         f"database; valid: {VALID}")
    return _rdb(url, scheme, heartbeat, grace, failed_trial_callback)


def _rdb(url: str, scheme: str, heartbeat: int, grace: int, failed_trial_callback) -> Storage:
    import inspect

    from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

    shown = hide_password(url)
    if url.startswith("postgresql://"):
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the tune extra ships psycopg2
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    # Optuna 4.9 renamed failed_trial_callback (now deprecated) to heartbeat_stale_trial_callback
    takes = inspect.signature(RDBStorage).parameters
    callback = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in takes
                else "failed_trial_callback")
    engine: dict[str, Any]
    if scheme == "sqlite":
        engine = {"connect_args": {"timeout": 60}}
    else:
        # connect_timeout: an unreachable server is reported in seconds, not after TCP's minutes
        engine = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    try:
        for attempt in range(5):
            try:
                with warnings.catch_warnings():  # Optuna marks heartbeats experimental
                    warnings.simplefilter("ignore", ExperimentalWarning)
                    storage = RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                                         grace_period=grace, **{callback: failed_trial_callback})
                break
            except (IntegrityError, ProgrammingError, optuna.exceptions.StorageInternalError):
                # workers starting together on an empty database all create Optuna's tables;
                # all but one lose that race (a duplicate key): the tables exist now, try again
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    except ImportError as exc:  # Optuna wraps a missing driver
        cause = exc.__cause__ if isinstance(exc.__cause__, ModuleNotFoundError) else exc
        if getattr(cause, "name", None) in ("psycopg2", None):
            raise cause from None  # the tune extra's driver: the CLI names the extra
        raise UsageError(f"storage URL {shown} needs the Python module {cause.name}, which is not "
                         f"installed; postgresql:// uses psycopg2 (the tune extra)") from None
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise UsageError(f"cannot reach database {shown}: {reason[0] if reason else exc}") from None
    return Storage(storage, shown, True)



class _MemoryJournal(BaseJournalBackend):
    """A journal held in memory: the file's entries, then the ones written since."""

    def __init__(self, logs) -> None:
        self.old = list(logs)
        self.new: list[dict] = []

    def read_logs(self, log_number_from: int) -> list[dict]:
        return (self.old + self.new)[log_number_from:]

    def append_logs(self, logs: list[dict]) -> None:
        self.new.extend(logs)
