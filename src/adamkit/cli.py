"""The ``adamkit`` command: a thin dispatcher over the tools' own sub-command modules.

Each tool module named in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func`` on each parser; ``func(args)`` returns an exit status.
User errors (``UsageError``/``ValueError`` raised while parsing or running) become one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from adamkit import __version__
from adamkit.errors import UsageError

COMMAND_MODULES = ("adamkit.lab.cli", "adamkit.train.cli", "adamkit.bench.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse would print usage too)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="adamkit",
        description="The Adam optimizer family: races on test functions, training, benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"adamkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a tool whose optional dependency is missing
            if exc.name and exc.name.startswith("adamkit"):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except (UsageError, ValueError) as exc:
        print(f"adamkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adamkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
