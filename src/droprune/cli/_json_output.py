"""``droprune prune --json``: one JSON object on stdout, read back from the output folder.

The object is ``manifest.json`` (what ran, on what, and what was kept) with five keys added:

* ``out``: the output folder, as given to ``--out``;
* ``files``: every file the command wrote (the manifest's ``outputs`` inside ``out``, then the
  ``--emit-sql`` file if one was given);
* ``classes``: the rows of ``classes.csv`` (one object per class, its columns as keys, blank
  cells as null), or null above :data:`CLASSES_MAX` classes; ``classes_csv`` names that file;
* ``warnings``: the lines of ``warnings.txt`` (classes the quota rule left starved or
  under-served); ``logged_warnings``: what the run logged as a warning on stderr (e.g. the
  figure not drawn without matplotlib).

While the command runs, the text it prints otherwise (the class order, the summary, where the
kept list is) goes to the ``droprune`` logger at INFO level, so to stderr, and ``--quiet``
silences it. A failed command exits 2 with its one-line error on stderr and prints
``{"error": LINE}`` on stdout (:mod:`droprune.cli`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import CLIError
from ._common import dump_json

__all__ = ["CLASSES_MAX", "add_json_argument", "json_handler", "prune_report"]

logger = logging.getLogger(__name__)

#: the most classes listed inline under ``classes``; above, ``classes`` is null and
#: ``classes_csv`` is where they are (ImageNet's 1,000 are listed)
CLASSES_MAX = 1000


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON object on stdout when done: manifest.json with out, files, "
             f"classes (classes.csv's rows; null above {CLASSES_MAX} classes), classes_csv, "
             "warnings (warnings.txt's lines) and logged_warnings added; the text printed "
             "otherwise goes to stderr (none with --quiet); a failure prints {\"error\": LINE} "
             "(exit 2). Not with --emit-sql alone (no output folder)")


def json_handler(run: Callable[[argparse.Namespace], int]
                 ) -> Callable[[argparse.Namespace], int]:
    """``run`` (the handler of ``droprune prune``), which with ``--json`` prints
    :func:`prune_report` of its output folder, and nothing else, on stdout."""

    def handler(args: argparse.Namespace) -> int:
        if not args.json:
            return run(args)
        if args.emit_sql is not None and not args.out_of_core:
            raise CLIError("--json prints the summary of the output folder, and --emit-sql alone "
                           "writes none: add --out-of-core (to prune too), or leave out --json")
        logged: list[str] = []
        with _text_to_log(), _warnings_into(logged):
            code = run(args)
        if code == 0:
            extra = [] if args.emit_sql is None else [str(args.emit_sql)]
            print(dump_json(prune_report(args.out, extra_files=extra, logged_warnings=logged)))
        return code

    return handler


def prune_report(out: str | Path, *, extra_files: Sequence[str] = (),
                 logged_warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON object of ``droprune prune --json`` (module docstring), read from the output
    folder ``out`` that the command has just written.

    Examples
    --------
    >>> import tempfile, droprune
    >>> from droprune.prune_output import write_prune_outputs
    >>> out = tempfile.mkdtemp()
    >>> result = droprune.prune([0] * 20 + [1] * 20, 0.5, recalls=[0.9, 0.6])
    >>> _ = write_prune_outputs(result, out)
    >>> report = prune_report(out)
    >>> report["kept"], [c["kept"] for c in report["classes"]], len(report["files"])
    (20, [5, 15], 7)
    """
    import pandas as pd

    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    table = pd.read_csv(out / "classes.csv", dtype={"name": str})
    warnings = (out / "warnings.txt").read_text().splitlines()
    return dict(manifest, out=str(out),
                files=[str(out / name) for name in manifest["outputs"]] + list(extra_files),
                classes=None if len(table) > CLASSES_MAX else table.to_dict("records"),
                classes_csv=str(out / "classes.csv"), warnings=warnings,
                logged_warnings=list(logged_warnings))


class _LogLines(io.TextIOBase):
    """A text stream whose every line is logged at INFO level (what a command prints)."""

    def __init__(self) -> None:
        self._part = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._part = (self._part + text).split("\n")
        for line in lines:
            logger.info(line)
        return len(text)

    def close_lines(self) -> None:
        if self._part:
            logger.info(self._part)
        self._part = ""


@contextlib.contextmanager
def _text_to_log() -> Iterator[None]:
    """What is printed on stdout meanwhile goes to the ``droprune`` logger (INFO)."""
    stream = _LogLines()
    try:
        with contextlib.redirect_stdout(stream):
            yield
    finally:
        stream.close_lines()


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


@contextlib.contextmanager
def _warnings_into(into: list[str]) -> Iterator[None]:
    """The messages of the warnings logged by droprune meanwhile, appended to ``into``."""
    handler = _Collect(into)
    root = logging.getLogger("droprune")
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
