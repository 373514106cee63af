"""``adamkit serve``: start the page's local web server.

Registering imports nothing but argparse; starlette, uvicorn and the lab load when the command runs.
"""

from __future__ import annotations

import argparse
import socket
import sys

SERVE_HELP = """\
Start a local web server with the page: pick a test function (or type one), click the map to set
the start, race any optimizers side by side with their own sliders (lr and eps on log scales,
beta1, beta2, momentum, weight decay, eps placement), play the paths, look inside Adam (m-hat,
v-hat, the per-coordinate step, the eps share), tune each optimizer fairly, and map the final
loss over lr x beta1 for thousands of configurations at once. Every number is computed by
adamkit's own rules (adamkit.lab), never re-implemented in JavaScript. The page works offline.

The whole state is in the URL: a link reproduces the picture. The JSON API is described in the
README ("The page").

examples:
  adamkit serve                 # http://127.0.0.1:<free port>/, printed
  adamkit serve --port 8000 --open
  adamkit serve --host 0.0.0.0  # reachable from other machines: read the warning
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="the page: sliders, races and maps in a browser",
                              description=SERVE_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=0,
                   help="port (default 0: a free port, printed at start)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=serve_command)


def serve_command(args) -> int:
    import uvicorn

    from adamkit.errors import UsageError
    from adamkit.web.server import create_app

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port; valid range [0, 65535]")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"adamkit: warning: serving on {args.host}: anyone who can reach this machine can use "
              "the page and its CPU; there is no authentication", file=sys.stderr)
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    print(f"adamkit serve: {url}  (Ctrl-C to stop)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(create_app(), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening: connections queue from now on, so the
    URL printed next works at once.

    ``proto=IPPROTO_TCP``, not the default 0: asyncio sets TCP_NODELAY only on sockets that say
    they are TCP (accepted ones inherit it), and without it a kept-alive connection stalled (Nagle
    waiting for the browser's delayed ACK) before the body of most responses
    (benchmarks/results/design_measurements.md#serve-tcp-nodelay).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock
