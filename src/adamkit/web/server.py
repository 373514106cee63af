"""The page's server: a Starlette app serving the static page and the JSON API over ``adamkit.lab``.

Why Starlette: a small, well-kept ASGI toolkit (the layer FastAPI is built on) with routing, static
files and a test client, and nothing else; validation stays with adamkit's own declarations
(:mod:`adamkit.web.inputs`) instead of a second schema language. uvicorn runs it.

Every computation runs in a worker thread (``run_in_threadpool``), so the event loop keeps
answering while a long sweep runs; ``COMPUTE_SLOTS`` bounds how many run at once, so a burst of
heavy requests queues instead of starving the machine. Errors a user can cause become JSON
``{"error": "<adamkit's one-line message>"}`` with status 400 (or 413 for requests over a limit);
anything else is a 500 with a generic message, and the traceback goes to the server's log.
The routes are :data:`adamkit.web.dispatch.ROUTES`, answered by :func:`adamkit.web.dispatch.answer`:
the notebook widget (:mod:`adamkit.lab.widget`) calls the same, so both transports answer alike.
"""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adamkit.web import dispatch, inputs

STATIC = Path(__file__).parent / "static"
COMPUTE_SLOTS = 4


def create_app() -> Starlette:
    limiter = anyio.CapacityLimiter(COMPUTE_SLOTS)
    dispatch.answer("meta", None)  # computed once, before the first page asks
    # load the fused sweep kernel (Numba's cache: about a second) before the first map is asked for
    threading.Thread(target=dispatch.warm_up, daemon=True).start()

    def endpoint(route: str):
        """``/api/<route>``: the body read within the limit, answered by the one dispatcher."""
        async def handle(request: Request) -> Response:
            if route in dispatch.CONSTANT:  # cached: never queued behind a computation
                return _response(dispatch.answer(route, None))
            try:
                raw = await _read_limited(request)
            except inputs.TooLarge as exc:
                return _response(dispatch.error_reply(exc))
            async with limiter:
                reply = await run_in_threadpool(dispatch.answer, route, raw)
            return _response(reply)
        return handle

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    routes = [
        Route("/", index),
        *(Route(f"/api/{name}", endpoint(name), methods=["GET" if name in dispatch.CONSTANT else "POST"])
          for name in dispatch.ROUTES),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


def _response(reply: dispatch.Reply) -> Response:
    return Response(reply.content, status_code=reply.status, media_type=reply.media_type,
                    headers=reply.headers)


async def _read_limited(request: Request) -> bytes:
    """The body, refusing more than the limit without reading it all into memory first."""
    limit = inputs.LIMITS["body_bytes"]
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise inputs.TooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise inputs.TooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
