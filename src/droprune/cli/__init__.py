"""The ``droprune`` command.

Each subcommand lives in its own module of this package and defines ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed arguments returning an
exit code). Handlers turn the arguments into plain typed values at once and call the library;
no argparse namespace travels further.

Every failure the user can fix ends in one line on stderr and exit code 2: bad input
(``ValueError``, ``CLIError``), a missing, unreadable or unwritable file, a full disk or a path
too long (``OSError``: the line names the path and the fix) and a diverged training
(``FloatingPointError``). Ctrl-C exits with 130. When stdout is closed early (``droprune
presets | head -1``) the command stops quietly with exit code 141 (128 + SIGPIPE), what
``cat`` or ``grep`` report in the same pipe, so ``set -o pipefail`` scripts see the same as
with any other tool. A missing optional dependency is one line naming the ``pip install
"droprune[EXTRA]"`` that brings it (:mod:`droprune._extras`), exit code 2; subcommand modules
import nothing heavy at start-up (``droprune --help`` and ``droprune quotas`` import neither
torch, scipy nor matplotlib).

Output: what the user asked for (tables, summaries, JSON) goes to stdout; progress and notes go
through the ``droprune`` logger to stderr (:func:`log_to_stderr`): ``--quiet`` keeps warnings
only, ``--verbose`` adds debug lines. Progress bars are drawn only on a terminal
(:mod:`droprune._progress`). A command given ``--json`` that fails with exit code 2 also
prints ``{"error": LINE}`` on stdout, so a script reading its stdout always gets one JSON
object; argparse's own usage errors (a missing or unknown option) print nothing on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import pkgutil
import sys
from typing import Sequence

from droprune._extras import missing_extra

__all__ = ["build_parser", "log_to_stderr", "main", "os_error_message"]


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
    _add_verbosity(parser, 0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        importlib.import_module(f"{__name__}.{name}").register(sub)
    for command in sub.choices.values():  # `droprune sweep -q` as well as `droprune -q sweep`
        _add_verbosity(command, argparse.SUPPRESS)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1,
                       default=default, help="warnings and errors only on stderr (no progress)")
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1,
                       default=default, help="debug lines too on stderr")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``droprune`` command; returns the exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return _stdout_closed()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        with log_to_stderr(getattr(args, "verbosity", 0)), _distributed_session():
            code = int(handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        return code
    except BrokenPipeError:
        raise
    except (CLIError, ValueError, FloatingPointError) as exc:
        return _fail(args, str(exc))
    except ImportError as exc:  # an optional dependency: which extra brings it
        missing = missing_extra(exc, f"droprune {args.command}")
        if missing is None:
            raise
        return _fail(args, str(missing))
    except OSError as exc:
        return _fail(args, os_error_message(exc))
    except KeyboardInterrupt:
        print(f"droprune {args.command}: interrupted; finished work is saved, run the same "
              f"command again to resume", file=sys.stderr)
        return 130


class _Formatter(logging.Formatter):
    """The message alone; ``warning: `` (``error: ``) in front of a warning (an error)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


class _StderrHandler(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is when a record is emitted (a test's
    captured stream, or a stream replaced after the handler was made)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


@contextlib.contextmanager
def log_to_stderr(verbosity: int = 0):
    """While a command runs, the ``droprune`` logger writes to stderr: INFO and above
    (``verbosity`` 0), WARNING and above (-1, ``--quiet``, which draws no progress bars either)
    or everything (1, ``--verbose``); under torchrun, ranks other than 0 show warnings only.
    Only the command line configures logging; the library only logs. The logger's handlers and
    level are restored afterwards."""
    from droprune._progress import silenced

    if not _is_rank_zero():  # one progress log per launch, as one error line
        verbosity = -1
    logger = logging.getLogger("droprune")
    handler = _StderrHandler()
    handler.setFormatter(_Formatter("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel({-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG))
    try:
        with silenced() if verbosity < 0 else contextlib.nullcontext():
            yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def as_flags(line: str, args: argparse.Namespace) -> str:
    """The library's keyword names in an error (``min_per_class=``) as the command's options
    (``--min-per-class=``): every snake_case word that is one of the command's options.

    Examples
    --------
    >>> as_flags("min_per_class=50 needs 150: lower min_per_class. See min_per_class.csv",
    ...          argparse.Namespace(min_per_class=50, density=0.1))
    '--min-per-class=50 needs 150: lower --min-per-class. See min_per_class.csv'
    """
    import re

    def flag(match: re.Match) -> str:
        name = match.group(1)
        return f"--{name.replace('_', '-')}" if name in vars(args) else name

    return re.sub(r"(?<![\w./-])([a-z]+(?:_[a-z]+)+)(?![\w/-]|\.\w)", flag, line)


def _fail(args: argparse.Namespace, message: str) -> int:
    """Print ``droprune COMMAND: error: MESSAGE`` to stderr, on one line (the lines of a
    longer message joined with "; "), and with ``--json`` ``{"error": MESSAGE}`` on stdout, on
    rank 0 only under torchrun; exit code 2."""
    line = "; ".join(t.strip() for t in message.splitlines() if t.strip()) or "unknown error"
    line = as_flags(line, args)
    if _is_rank_zero():  # under torchrun every rank fails alike: rank 0 says it, once
        print(f"droprune {args.command}: error: {line}", file=sys.stderr)
        if getattr(args, "json", False):
            from droprune._json import dumps

            print(dumps({"error": line}, "error"))
    return 2


def _is_rank_zero() -> bool:
    """Whether this process is rank 0 of a torchrun launch (or not launched by torchrun)."""
    return os.environ.get("RANK", "0").strip() in ("", "0")


def os_error_message(exc: OSError) -> str:
    """One line for an ``OSError``: what failed, on which path, and the fix.

    Examples
    --------
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device", "runs/a/x.npy"))
    'no space left on the device of runs/a/x.npy: free space there (or give another folder) and run the same command again; finished work is kept'
    >>> os_error_message(FileNotFoundError("no results store at runs/a/results.sqlite"))
    'no results store at runs/a/results.sqlite'
    """
    path = exc.filename if exc.filename is not None else None
    if exc.errno is None or path is None and exc.strerror is None:
        return str(exc)  # raised by droprune with its own message
    where = f" {path}" if path is not None else ""
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", None):
        return (f"no space left on the device of{where or ' the output folder'}: free space there "
                f"(or give another folder) and run the same command again; finished work is kept")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"permission denied:{where}: make it (and its folder) readable and writable by "
                f"you, or give another path")
    if exc.errno == errno.EROFS:
        return f"read-only file system:{where}: give a folder on a writable file system"
    if exc.errno == errno.ENAMETOOLONG:
        return f"file name too long:{where}: give a shorter --out path (or folder name)"
    if exc.errno == errno.ENOENT:
        return f"no such file or folder:{where}: check the path"
    if exc.errno == errno.EISDIR:
        return f"{path} is a folder, a file is needed here: give a file"
    if exc.errno == errno.ENOTDIR:
        return f"a part of{where} is a file, not a folder: give another path"
    return f"{exc.strerror or type(exc).__name__}:{where}: check the path and the file system"


def _stdout_closed() -> int:
    """stdout's reader went away (``| head``): send what is left to /dev/null (so Python's
    final flush cannot fail again) and return 141, the exit code of a process killed by
    SIGPIPE (the recipe of Python's ``signal`` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # not a real file descriptor (stdout replaced, e.g. under a test runner)
    return 141


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
