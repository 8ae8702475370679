"""The ``droprune`` command.

Each subcommand lives in its own module of this package and defines ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed arguments returning an
exit code). Handlers turn the arguments into plain typed values at once and call the library;
no argparse namespace travels further.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
from typing import Sequence

__all__ = ["build_parser", "main"]


class CLIError(Exception):
    """A user error the command reports in one line (exit code 2), without a traceback."""


def _command_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    from droprune import __version__

    parser = argparse.ArgumentParser(
        prog="droprune",
        description="Distributionally robust data pruning (DRoP): prune a labelled training set "
                    "to a density (fraction KEPT) without sacrificing its hardest classes.",
    )
    parser.add_argument("--version", action="version", version=f"droprune {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``droprune`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        with _distributed_session():
            return int(handler(args) or 0)
    except (CLIError, ValueError, FileNotFoundError) as exc:
        print(f"droprune {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"droprune {args.command}: interrupted; finished work is saved, run the same "
              f"command again to resume", file=sys.stderr)
        return 130


def _distributed_session():
    """Under torchrun (WORLD_SIZE > 1), the process group for the command (see
    ``droprune.training.distributed.distributed_session``); otherwise nothing, and no torch
    import."""
    if os.environ.get("WORLD_SIZE", "1").strip() in ("", "1"):
        return contextlib.nullcontext()
    from droprune.training.distributed import distributed_session

    return distributed_session()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
