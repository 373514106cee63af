"""The ``adamkit`` command: a thin dispatcher over the tools' own sub-command modules.

Each tool module named in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func`` on each parser; ``func(args)`` returns an exit status. Registering
is light: it loads no torch, so ``adamkit --help``, ``race``, ``phase`` and ``functions`` never
do; a command imports what it needs when it runs.

Only user errors become one line on stderr and exit status 2: a :class:`~adamkit.errors.UsageError`
(argparse's errors included), and an optional dependency that a command
needs but is not installed (named with its extra: ``torch``, or ``tune`` for Optuna and the
PostgreSQL driver). Anything else, a ``ValueError`` from a bug included, keeps its
traceback. Ctrl-C, during start-up too, prints one line and exits with status 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from adamkit import __version__
from adamkit.errors import UsageError

COMMAND_MODULES = ("adamkit.lab.cli", "adamkit.train.cli", "adamkit.bench.cli", "adamkit.web.cli",
                   "adamkit.tune.cli")
# import name -> the package of a pyproject.toml extra that provides it
OPTIONAL_DEPENDENCIES = {"torch": "torch", "numba": "numba", "sklearn": "scikit-learn", "PIL": "pillow",
                         "optuna": "optuna", "sqlalchemy": "optuna", "psycopg2": "psycopg2-binary",
                         "starlette": "starlette", "uvicorn": "uvicorn",
                         "imageio_ffmpeg": "imageio-ffmpeg"}
# package -> its extra, where that is not ``torch``: the tuner's (Optuna and the PostgreSQL driver)
# and the page's (adamkit serve)
EXTRA_OF = {"optuna": "tune", "psycopg2-binary": "tune", "starlette": "web", "uvicorn": "web",
            "imageio-ffmpeg": "web"}
INSTALL_EXTRA = 'pip install -c constraints.txt -e ".[torch]"'


def install_hint(package: str) -> str:
    """The pip command that installs ``package``'s extra."""
    return INSTALL_EXTRA.replace("[torch]", f"[{EXTRA_OF.get(package, 'torch')}]")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse would print usage too)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="adamkit",
        description="The Adam optimizer family: races on test functions, training, benchmarks, tuning.",
    )
    parser.add_argument("--version", action="version", version=f"adamkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """The optional package whose absence ``exc`` reports, or None for any other missing module."""
    return OPTIONAL_DEPENDENCIES.get((exc.name or "").partition(".")[0])


def main(argv: list[str] | None = None) -> int:
    command = None
    try:  # building the parser imports the tools: a Ctrl-C there is an interrupt like any other
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"adamkit: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        package = missing_dependency(exc)
        if package is None:
            raise
        print(f"adamkit: error: 'adamkit {command}' needs {package}, which is not installed; "
              f"install it with: {install_hint(package)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adamkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
