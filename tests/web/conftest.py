"""One real ``adamkit serve`` per test session, on a free loopback port."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).parents[2]
# Screenshots of the browser tests: CI keeps this folder as the run's artifact.
ARTIFACTS = Path(os.environ.get("ADAMKIT_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "web"


@pytest.fixture(scope="session")
def server():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "adamkit.cli", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, f"no URL in the server's first line: {line!r}"
    log = []  # drained, so a chatty server never blocks on a full pipe; shown if a test fails
    drain = threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True)
    drain.start()
    yield match.group(0)
    proc.terminate()
    proc.wait(timeout=10)
    drain.join(timeout=5)
    proc.stdout.close()
    assert not any("Traceback" in line for line in log), "".join(log)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, once per session (each launch costs seconds on a shared machine)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def ready(pg, n: int, timeout: float = 30000) -> None:
    """Wait until the page has drawn n runs and measured its latency."""
    pg.wait_for_function(f"window.adamkitApp && window.adamkitApp.runs.filter(Boolean).length == {n}"
                         " && window.adamkitApp.latency !== null", timeout=timeout)


def post(url: str, body, raw: bytes | None = None, timeout: float = 60) -> tuple[int, dict | bytes]:
    """(status, parsed JSON or bytes) of a POST; 4xx/5xx are returned, not raised."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, payload, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    return status, json.loads(payload) if "json" in kind else payload
