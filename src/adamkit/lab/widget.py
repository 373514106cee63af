"""The page's race in a notebook: :func:`widget` (Jupyter, JupyterLab, VS Code, marimo; anywidget).

One front end, two transports. The widget is ``adamkit serve``'s page: its markup (``index.html``'s
body), its scripts (the ``static/*.js`` files ``index.html`` loads, in that order) and its style
sheet, assembled here into the one ES module and the one style sheet that anywidget takes; there
is no JavaScript build step and no copy of the page to keep in step. Where the page asks the
server (``fetch("/api/<route>")``), the widget sends the kernel a message, and the kernel answers
it with :func:`adamkit.web.dispatch.answer`, the function the server's routes call: the same
checks, limits, error messages and numbers, and a route the page gains works here with no other
line. The front end gets the kernel's answer as a fetch ``Response``, so it cannot tell the two
transports apart.

Each request is answered on a worker thread (at most ``COMPUTE_SLOTS`` at once, as the server),
so a sensitivity sweep does not hold up the paths a slider asks for, and the kernel keeps running
cells meanwhile. The widget's ``state`` trait is the page's state (what the page keeps in its
URL): the function, start, steps, and each optimizer's hyperparameters as the sliders last left
them, readable from Python.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

try:
    import anywidget
    import traitlets
except ImportError as exc:  # the notebook extra is optional; say which one
    raise ImportError(f"adamkit.lab.widget needs anywidget ({exc.name} is missing): "
                      f"pip install 'adamkit[notebook]'") from exc

from adamkit.errors import UsageError
from adamkit.web import api, dispatch, inputs

STATIC = Path(api.__file__).parent / "static"
COMPUTE_SLOTS = 4  # as adamkit.web.server's, for all the widgets of a kernel together
_POOL = ThreadPoolExecutor(COMPUTE_SLOTS, thread_name_prefix="adamkit-widget")  # threads start on use
REQUEST, REPLY = "adamkit-request", "adamkit-reply"


def _page() -> tuple[str, list[str]]:
    """index.html's markup (its body up to the first script) and the scripts it loads, in order."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    body = re.search(r"<body[^>]*>(.*?)<script", html, re.S)
    scripts = re.findall(r'<script src="/static/([\w.-]+\.js)"></script>', html)
    if body is None or not scripts:
        raise RuntimeError(f"{STATIC / 'index.html'} has no <body> markup or no /static/*.js scripts")
    return body.group(1).strip(), scripts


def _module() -> str:
    """One ES module: the page's scripts inside a function (each view gets its own app state),
    and anywidget's ``render``, which mounts that app with the kernel as its transport."""
    markup, scripts = _page()
    sources = "\n".join(f"// ---- static/{name}\n{(STATIC / name).read_text(encoding='utf-8')}"
                        for name in scripts)
    return f"""// adamkit.lab.widget: adamkit serve's page (static/{', '.join(scripts)}),
// with the kernel as its server.
const MARKUP = {json.dumps(markup)};

function instance() {{
{sources}
return mount;
}}

function render({{ model, el }}) {{
  const pending = new Map();
  // every view of the model hears every reply: ids carry this view's own random prefix
  const view = Math.random().toString(36).slice(2);
  let asked = 0;
  const onMessage = (msg, buffers) => {{
    if (!msg || msg.kind !== "{REPLY}" || !pending.has(msg.id)) return;
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    const headers = {{ "Content-Type": msg.media_type, ...msg.headers }};
    resolve(new Response(buffers && buffers.length ? buffers[0] : "", {{ status: msg.status, headers }}));
  }};
  model.on("msg:custom", onMessage);
  // fetch's shape: (path, JSON body or undefined) -> a Promise of a Response, from the kernel
  const transport = (path, body) => new Promise((resolve) => {{
    const id = `${{view}}:${{++asked}}`;
    pending.set(id, resolve);
    model.send({{ kind: "{REQUEST}", id, route: path.replace(/^\\/api\\//, ""),
                 body: body === undefined ? null : JSON.stringify(body) }});
  }});
  el.classList.add("adamkit-widget");
  instance()(el, {{
    markup: MARKUP, transport,
    save: (state) => {{ model.set("state", JSON.parse(JSON.stringify(state))); model.save_changes(); }},
    load: () => {{ const s = model.get("state"); return s && Object.keys(s).length ? s : null; }},
  }});
  return () => model.off("msg:custom", onMessage);
}}

export default {{ render }};
"""


def _stylesheet() -> str:
    """style.css scoped to the widget (CSS nesting), so the notebook's own page keeps its look:
    the page's ``body``/``html``/``:root`` rules style the widget's element instead, and its
    width media queries become container queries on the widget's own width (a notebook's output
    is narrower than the window)."""
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    css = re.sub(r"(^|[},]\s*)(?:html|body|:root)(?=\s*[,{])", r"\1&", css, flags=re.M)
    css = re.sub(r"@media\s*\((max|min)-width", r"@container adamkit (\1-width", css)
    return f".adamkit-widget {{\n  container: adamkit / inline-size;\n{css}\n}}\n"


class RaceWidget(anywidget.AnyWidget):
    """The page's race (sliders, map, loss, internals, sensitivity map), computed in this kernel."""

    _esm = _module()
    _css = _stylesheet()
    state = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _warm_up_once()
        self.on_msg(self._on_request)

    def _on_request(self, _widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == REQUEST:
            _POOL.submit(self._answer, content)

    def _answer(self, content: dict) -> None:
        route, body = content.get("route"), content.get("body")
        raw = body.encode("utf-8") if isinstance(body, str) else None
        if not isinstance(route, str):
            reply = dispatch.error_reply(inputs.BadRequest(f"route must be a string, got {route!r}"))
        else:
            reply = dispatch.answer(route, raw)
        self.send({"kind": REPLY, "id": content.get("id"), "status": reply.status,
                   "media_type": reply.media_type, "headers": reply.headers}, [reply.content])


@functools.cache
def _warm_up_once() -> None:
    threading.Thread(target=dispatch.warm_up, daemon=True).start()


def widget(function: str = "rosenbrock", optimizers: Any = ("adam", "sgd", "momentum", "rmsprop"), *,
           steps: int = 1000, start: Any = None, **hyperparameters: Any) -> RaceWidget:
    """The race of ``adamkit serve``'s page as a notebook widget, computed in this kernel.

    ``function``: a registered test function's name or an expression in x (and y), as on the page.
    ``optimizers``: names (``"adam"``, ``"sgd"``, ...) or ``(name, {hyperparameter: value})``
    pairs. ``**hyperparameters`` (``lr=0.01``, ``beta1=0.8``, ...) apply to every optimizer that
    takes them; the rest start at the page's defaults (the function's lr for the optimizer's
    family). Bad input raises adamkit's one-line :class:`~adamkit.errors.UsageError` here, not in
    the widget. ``widget(...).state`` follows the sliders.
    """
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    entries: list[tuple[str, dict]] = []
    for o in optimizers:
        name, own = (o, {}) if isinstance(o, str) else o if isinstance(o, tuple) and len(o) == 2 else (o, 0)
        if not isinstance(name, str) or not isinstance(own, dict):
            raise UsageError(f"optimizers: each must be a name or a (name, {{hyperparameter: value}}) "
                             f"pair, got {o!r}")
        entries.append((name, own))
    names = [name for name, _ in entries]
    takes = {k for name in names for k in inputs.sliders(name)}
    unknown = sorted(set(hyperparameters) - takes)
    if unknown:
        raise UsageError(f"none of {', '.join(names)} takes {', '.join(unknown)}; "
                         f"valid: {', '.join(sorted(takes))}")
    spec = {"function": function, "steps": steps, "start": None if start is None else
            [float(v) for v in start]}
    fn = api.function(spec)
    steps = inputs.integer(steps, "steps", 1, inputs.LIMITS["steps"], "steps")
    described = api.describe(fn)
    chosen = []
    for name, own in entries:
        offered = inputs.sliders(name)
        hp = {**inputs.optimizer_defaults(name), "lr": described["default_lr"].get(name),
              **{k: v for k, v in hyperparameters.items() if k in offered}, **own}
        chosen.append({"name": name, "hyperparameters": {k: _plain(v) for k, v in hp.items()}})
    # checked as the page's first request would be (names, ranges, start, steps): raises here
    api.race({**spec, "steps": 0, "optimizers": chosen})
    state = {"function": function, "steps": steps, "start": spec["start"] or list(fn.start),
             "optimizers": [{"name": c["name"], "hp": c["hyperparameters"]} for c in chosen],
             "inspect": 0, "sweepY": "beta1"}
    return RaceWidget(state=state)


def _plain(value: Any) -> Any:
    """JSON's numbers: a NumPy scalar or an int-valued hyperparameter as a Python float or int."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    return int(value) if isinstance(value, int) else float(value)


class _CallableModule(types.ModuleType):
    """``adamkit.lab.widget(...)`` works even where the name means this module (after an
    ``import adamkit.lab.widget``, Python binds the submodule over the package's lazy name)."""

    def __call__(self, *args: Any, **kwargs: Any) -> RaceWidget:
        return widget(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
