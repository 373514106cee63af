"""The page's server: a Starlette app serving the static page and the JSON API over ``adamkit.lab``.

Why Starlette: a small, well-kept ASGI toolkit (the layer FastAPI is built on) with routing, static
files and a test client, and nothing else; validation stays with adamkit's own declarations
(:mod:`adamkit.web.inputs`) instead of a second schema language. uvicorn runs it.

Every computation runs in a worker thread (``run_in_threadpool``), so the event loop keeps
answering while a long sweep runs; ``COMPUTE_SLOTS`` bounds how many run at once, so a burst of
heavy requests queues instead of starving the machine. Errors a user can cause become JSON
``{"error": "<adamkit's one-line message>"}`` with status 400 (or 413 for requests over a limit);
anything else is a 500 with a generic message, and the traceback goes to the server's log.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adamkit.errors import UsageError
from adamkit.web import api, inputs, step

STATIC = Path(__file__).parent / "static"
COMPUTE_SLOTS = 4
log = logging.getLogger("adamkit.web")


def create_app() -> Starlette:
    limiter = anyio.CapacityLimiter(COMPUTE_SLOTS)
    meta = api.meta()  # fixed for the life of the server
    # load the fused sweep kernel (Numba's cache: about a second) before the first map is asked for
    threading.Thread(target=_warm_up, daemon=True).start()

    def endpoint(compute, *, binary: bool = False):
        async def handle(request: Request) -> Response:
            try:
                raw = await _read_limited(request)
                body = inputs.parse_body(raw)
                async with limiter:
                    result = await run_in_threadpool(compute, body)
            except UsageError as exc:  # BadRequest, TooLarge, and the lab's own UsageErrors
                status = getattr(exc, "status", 400)
                return JSONResponse({"error": str(exc).splitlines()[0] if str(exc) else "bad request"},
                                    status_code=status)
            except Exception:  # a bug: keep the traceback in the log, not in the response
                log.exception("error while answering %s", request.url.path)
                return JSONResponse({"error": "internal error; see the server's log"}, status_code=500)
            if binary:
                data, media_type, filename = result
                return Response(data, media_type=media_type,
                                headers={"Content-Disposition": f'attachment; filename="{filename}"'})
            return JSONResponse(result)
        return handle

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def get_meta(request: Request) -> Response:
        return JSONResponse(meta)

    def export(body: dict):
        from adamkit.web import export as exporter  # matplotlib loads only when exporting

        return exporter.export(body)

    routes = [
        Route("/", index),
        Route("/api/meta", get_meta),
        Route("/api/function", endpoint(api.function_info), methods=["POST"]),
        Route("/api/surface", endpoint(api.surface), methods=["POST"]),
        Route("/api/run", endpoint(api.race), methods=["POST"]),
        Route("/api/step", endpoint(step.step), methods=["POST"]),
        Route("/api/sweep", endpoint(api.sweep), methods=["POST"]),
        Route("/api/tune", endpoint(api.tune), methods=["POST"]),
        Route("/api/export", endpoint(export, binary=True), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


def _warm_up() -> None:
    try:
        api.sweep({"steps": 2, "optimizer": {"name": "adam"}, "x": {"name": "lr", "n": 2},
                   "y": {"name": "beta1", "n": 2}})
    except Exception:  # only a warm-up: the first real sweep reports any problem
        log.exception("warm-up of the sweep path failed")


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
