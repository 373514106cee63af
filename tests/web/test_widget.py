"""adamkit.lab.widget: the page's race in a notebook, answered by the server's own dispatcher.

Two checks. In Python: the widget's kernel messages get the bytes the HTTP routes send (same
dispatcher), for good and bad requests alike. In a real browser: a headless JupyterLab runs a
notebook that shows the widget in Debian's chromium; the drawn paths equal ``adamkit.lab.run``'s,
a slider moved with the keyboard recomputes them in the kernel, the new paths equal the lab's for
the slider's new value, bit for bit (the same float64 code, and JSON carries every double
exactly), as the page's own test asserts, and the kernel's ``w.state`` holds the new value.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tests.web.conftest import ARTIFACTS, ROOT, post

from adamkit.lab import FUNCTIONS, run
from adamkit.web import export

pytest.importorskip("anywidget")
widget_module = pytest.importorskip("adamkit.lab.widget")


class Replies:
    """A widget whose messages to the front end are kept here instead of sent to a kernel."""

    def __init__(self, **kwargs):
        self.widget = widget_module.widget(**kwargs)
        self.sent: list[tuple[dict, list]] = []
        self.widget.send = lambda content, buffers=None: self.sent.append((content, buffers))

    def ask(self, route: str, body=None, raw: bytes | None = None, timeout: float = 60):
        """(status, parsed JSON or bytes) of one request, through the widget's threaded handler."""
        n = len(self.sent)
        text = raw.decode() if raw is not None else None if body is None else json.dumps(body)
        self.widget._on_request(self.widget, {"kind": "adamkit-request", "id": n, "route": route,
                                              "body": text}, [])
        deadline = time.monotonic() + timeout
        while len(self.sent) == n:
            assert time.monotonic() < deadline, f"no reply to {route}"
            time.sleep(0.01)
        content, buffers = self.sent[n]
        assert content["kind"] == "adamkit-reply" and content["id"] == n
        data = bytes(buffers[0])
        return content["status"], json.loads(data) if "json" in content["media_type"] else data


def without_timing(payload):
    return {k: v for k, v in payload.items() if k != "seconds"} if isinstance(payload, dict) else payload


BODIES = [
    ("function", {"function": "x**2 + 10*sin(y)"}),
    ("surface", {"function": "himmelblau", "n": 16}),
    ("run", {"function": "rosenbrock", "steps": 50, "internals": 0,
             "optimizers": [{"name": "adam", "hyperparameters": {"lr": 0.02}}, {"name": "sgd"}]}),
    ("run", {"function": "rosenbrock", "optimizers": [{"name": "adam", "hyperparameters": {"lr": -1}}]}),
    ("run", {"function": "rosenbrock", "steps": 10**6, "optimizers": [{"name": "adam"}]}),
    ("step", {"function": "rosenbrock", "steps": 30, "step": 12,
              "optimizer": {"name": "nadam", "hyperparameters": {"lr": 0.05}}}),
    ("function", {"function": "x**2 + sin(y"}),
    ("surface", {"function": "rosenbrock", "colour": "red"}),
]


@pytest.mark.parametrize(("route", "body"), BODIES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BODIES)])
def test_messages_are_answered_as_the_http_routes(server, route, body):
    replies = Replies(steps=20)
    status, payload = replies.ask(route, body)
    http_status, http_payload = post(server + f"api/{route}", body)
    assert (status, without_timing(payload)) == (http_status, without_timing(http_payload))


def test_a_download_is_the_same_bytes(server):
    body = {"function": "rosenbrock", "steps": 20, "format": "png", "optimizers": [{"name": "adam"}]}
    replies = Replies()
    status, data = replies.ask("export", body)
    content, _ = replies.sent[-1]
    assert status == 200 and content["media_type"] == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert content["headers"] == {"Content-Disposition": 'attachment; filename="race-rosenbrock.png"'}
    assert post(server + "api/export", body) == (200, data)


def test_meta_bad_json_and_unknown_routes(server):
    replies = Replies()
    with urllib.request.urlopen(server + "api/meta") as r:
        assert replies.ask("meta") == (200, json.load(r))
    assert replies.ask("run", raw=b"{not json") == post(server + "api/run", None, raw=b"{not json")
    status, payload = replies.ask("nonsense", {})
    assert status == 400 and payload["error"].startswith("unknown route 'nonsense'; valid: meta, function")


def test_widget_arguments_and_their_errors():
    from adamkit.errors import UsageError

    w = widget_module.widget("himmelblau", ["adam", ("sgd", {"lr": 0.001})], lr=0.01, beta1=0.8, steps=300)
    adam, sgd = w.state["optimizers"]
    assert (adam["hp"]["lr"], adam["hp"]["beta1"], sgd["hp"]["lr"]) == (0.01, 0.8, 0.001)
    assert "beta1" not in sgd["hp"] and w.state["steps"] == 300 and w.state["start"] == list(FUNCTIONS["himmelblau"].start)
    for bad, words in [(dict(optimizers=["adamx"]), "unknown optimizer 'adamx'; valid:"),
                       (dict(optimizers=["sgd"], beta1=0.9), "none of sgd takes beta1; valid:"),
                       (dict(lr=-1.0), "Invalid learning rate: -1.0"),
                       (dict(steps=0), "invalid steps 0; valid range [1, 10000]"),
                       (dict(optimizers=[3]), "each must be a name or a (name, {hyperparameter: value}) pair")]:
        with pytest.raises(UsageError, match=None) as info:
            widget_module.widget(**bad)
        assert words in str(info.value)


# --- the browser: a headless JupyterLab runs a notebook that shows the widget --------------------
CHROMIUM = Path("/usr/bin/chromium")
needs_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
STEPS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port, its settings and runtime files kept in a temporary folder,
    serving a folder with race.ipynb; killed afterwards."""
    pytest.importorskip("jupyterlab")
    home = tmp_path_factory.mktemp("jupyter")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    sources = [f"import adamkit.lab\nw = adamkit.lab.widget('rosenbrock', ['adam', 'sgd'], steps={STEPS})\nw",
               "other = adamkit.lab.widget('himmelblau', ['rmsprop'], steps=100)\nother"]  # its own state
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell{i}", "metadata": {}, "execution_count": None,
                   "outputs": [], "source": source} for i, source in enumerate(sources)]}
    (notebooks / "race.ipynb").write_text(json.dumps(notebook))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "MPLBACKEND": "Agg", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    # no "official Jupyter news?" toast over the screenshot
    toast = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    toast.parent.mkdir(parents=True)
    toast.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port = free_port()
    log = open(home / "lab.log", "w")  # noqa: SIM115 (closed below, after the server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ServerApp.terminals_enabled=False", *(["--allow-root"] if os.geteuid() == 0 else []),
         # server extensions the test does not use (language servers, terminals, the classic
         # notebook's shim): a third of the start-up on a busy machine
         *(f"--ServerApp.jpserver_extensions={name}=False"
           for name in ("jupyter_lsp", "notebook_shim", "jupyter_server_terminals"))],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (home / "lab.log").read_text()
            try:
                with urllib.request.urlopen(url + "api/status", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start in 60 s"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@needs_browser
def test_widget_in_jupyterlab_a_slider_recomputes_in_the_kernel(lab, browser):
    # the session's one chromium (tests/web/conftest.py): a second sync_playwright in the same
    # process would run inside the first one's event loop, which playwright refuses
    page = browser.new_page(viewport={"width": 1500, "height": 1500})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(lab + "lab/tree/race.ipynb")
        page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                               ".kernel.connectionStatus == 'connected'", timeout=45000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        widget = page.locator(".adamkit-widget").first
        widget.locator("canvas#map").wait_for(timeout=45000)
        app, other = (f"document.querySelectorAll('.adamkit-widget')[{k}].adamkitApp" for k in (0, 1))
        page.wait_for_function(f"{app}.runs.filter(Boolean).length == 2 && {app}.latency !== null",
                               timeout=45000)
        page.wait_for_function(f"{other} && {other}.runs[0] && {other}.latency !== null", timeout=45000)
        second = page.evaluate(f"{other}.runs[0]")
        assert second["name"] == "rmsprop" and len(second["path"]) == 101
        np.testing.assert_array_equal(np.array(second["path"]),
                                      run("himmelblau", "rmsprop", steps=100,
                                          lr=second["hyperparameters"]["lr"]).path[0])
        first = page.evaluate(f"{app}.runs[0]")
        np.testing.assert_array_equal(np.array(first["path"]),
                                      run("rosenbrock", "adam", steps=STEPS, lr=first["hyperparameters"]["lr"])
                                      .path[0])

        slider = widget.locator(".card").first.locator("input[name=lr]")
        slider.focus()
        page.keyboard.press("PageDown")  # a tenth of the slider: the lr of the kernel's next race
        page.wait_for_function(f"{app}.runs[0].hyperparameters.lr == {app}.state.optimizers[0].hp.lr"
                               f" && {app}.runs[0].hyperparameters.lr != {first['hyperparameters']['lr']}",
                               timeout=30000)
        now = page.evaluate(f"{app}.runs[0]")
        lr = now["hyperparameters"]["lr"]
        assert lr < first["hyperparameters"]["lr"]
        assert now["path"] != first["path"]
        np.testing.assert_array_equal(np.array(now["path"]),
                                      run("rosenbrock", "adam", steps=STEPS, lr=lr).path[0])
        # the sliders' state is the widget's state trait, back in the kernel
        printed = page.evaluate("""async () => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const future = kernel.requestExecute({ code: "print(repr(w.state['optimizers'][0]['hp']['lr']))" });
            let out = "";
            future.onIOPub = (msg) => { if (msg.header.msg_type === "stream") out += msg.content.text; };
            await future.done;
            return out;
        }""")
        assert float(printed) == lr
        page.wait_for_function(f"{app}.sweep && {app}.sweep.configurations == 4096", timeout=30000)
        assert page.evaluate(f"{other}.runs[0]") == second  # the other widget kept its own race
        # a download: the kernel's bytes as a message buffer, made a file by the page's own code
        state = page.evaluate(f"{app}.state")
        with page.expect_download(timeout=30000) as download:
            widget.locator("button[data-format=png]").click()
        body = {"function": state["function"], "start": state["start"], "steps": state["steps"],
                "optimizers": [{"name": o["name"], "hyperparameters": o["hp"]} for o in state["optimizers"]],
                "format": "png"}
        assert Path(download.value.path()).read_bytes() == export.export(body)[0]
        assert page.evaluate("[...document.querySelectorAll('.adamkit-widget #error')].every((e) => e.hidden)")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "widget.png"), full_page=True)
    finally:
        page.close()
    assert not errors, errors
