"""Fixtures for the tuner's tests: a real PostgreSQL server on loopback, helpers to run workers."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

SRC = str(Path(__file__).parents[2] / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server (Debian's package) on a free loopback port, for this session only.

    initdb refuses to run as root, so as root the server runs as the ``postgres`` user, in a
    temporary data directory that user owns. Yields a SQLAlchemy URL.
    """
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
    bindir = Path(initdb[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="adamkit-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def pg(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    pg(str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres",
       "--no-sync")
    # fsync off: a test database need not survive a power cut; sockets stay in the data dir
    pg(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "server.log"),
       "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def tune_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "adamkit.cli", "tune", *args]


def tune_env() -> dict:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "MPLBACKEND": "Agg"}


def run_tune(*args: str, cwd, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(tune_command(*args), cwd=cwd, env=tune_env(), capture_output=True,
                          text=True, timeout=timeout)
