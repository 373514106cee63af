"""One dispatcher for the page's two transports: HTTP (``adamkit serve``) and the notebook widget.

The page's front end asks for things by route name (``meta``, ``function``, ``surface``, ``run``,
...) with a JSON body. Over HTTP a route is ``/api/<name>`` (:mod:`adamkit.web.server` builds its
routes from :data:`ROUTES`); in a notebook it is a custom message to the kernel
(:mod:`adamkit.lab.widget`). Both call :func:`answer`, so the checks, the limits, the error
messages and the bytes of every answer are the same whichever way the request came: a route
added to :data:`ROUTES` is served by both with no other line.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adamkit.errors import UsageError
from adamkit.web import api, inputs

log = logging.getLogger("adamkit.web")


def _export(body: dict) -> tuple[bytes, str, str]:
    from adamkit.web import export  # matplotlib loads only when exporting

    return export.export(body)


def _step(body: dict) -> dict:
    from adamkit.web import step  # the step-through mode's one-update breakdown

    return step.step(body)


@functools.lru_cache(maxsize=1)
def _meta() -> dict:
    return api.meta()  # fixed for the life of the process


def _get_meta(body: dict) -> dict:
    return _meta()


# name -> handler(parsed JSON body). A handler returns a JSON-ready dict, or (bytes, media type,
# file name) for a download; bad input raises a UsageError (adamkit.web.inputs' BadRequest: 400,
# TooLarge: 413).
ROUTES: dict[str, Callable[[dict], Any]] = {
    "meta": _get_meta,
    "function": api.function_info,
    "surface": api.surface,
    "run": api.race,
    "step": _step,
    "sweep": api.sweep,
    "tune": api.tune,
    "export": _export,
}
# Routes that take no body: GET over HTTP, answered at once (cached) instead of queueing behind
# the computations, so the page loads while a long sweep runs.
CONSTANT = frozenset({"meta"})


@dataclass(frozen=True)
class Reply:
    """An answer as bytes, ready for either transport (an HTTP response or a widget message)."""

    status: int
    content: bytes
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def answer(route: str, raw: bytes | None) -> Reply:
    """The reply to ``route`` with the request body ``raw`` (JSON bytes; None or empty for none)."""
    try:
        if route not in ROUTES:
            raise inputs.BadRequest(f"unknown route {route!r}; valid: {', '.join(ROUTES)}")
        if route in CONSTANT:
            return json_reply(ROUTES[route]({}))
        result = ROUTES[route](inputs.parse_body(raw or b""))
    except UsageError as exc:  # BadRequest, TooLarge, and the lab's own UsageErrors
        return error_reply(exc)
    except Exception:  # a bug: keep the traceback in the log, not in the reply
        log.exception("error while answering %s", route)
        return json_reply({"error": "internal error; see the server's log"}, 500)
    if isinstance(result, tuple):
        data, media_type, filename = result
        return Reply(200, data, media_type, {"Content-Disposition": f'attachment; filename="{filename}"'})
    return json_reply(result)


def warm_up() -> None:
    """Load the sensitivity map's fused kernel (Numba's cache: about a second) and the meta before
    the first page asks (both transports start this on a thread when they start)."""
    try:
        _meta()
        api.sweep({"steps": 2, "optimizer": {"name": "adam"}, "x": {"name": "lr", "n": 2},
                   "y": {"name": "beta1", "n": 2}})
    except Exception:  # only a warm-up: the first real sweep reports any problem
        log.exception("warm-up of the sweep path failed")


def error_reply(exc: UsageError) -> Reply:
    """adamkit's one-line message as ``{"error": ...}`` with the error's status (400 unless set)."""
    message = str(exc).splitlines()[0] if str(exc) else "bad request"
    return json_reply({"error": message}, getattr(exc, "status", 400))


def json_reply(payload: Any, status: int = 200) -> Reply:
    # the bytes Starlette's JSONResponse writes: compact, UTF-8, and no NaN (api sends None instead)
    content = json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None,
                         separators=(",", ":")).encode("utf-8")
    return Reply(status, content)
