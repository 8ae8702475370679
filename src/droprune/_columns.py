"""A file's columns, read exactly: the primitives of :mod:`droprune.inputs`.

A CSV is read with its line numbers, so that every error names the line; nothing is skipped or
shifted: blank lines after the last row are dropped, a blank line before it and rows of
another width are errors. Every error is one ``ValueError`` (``FileNotFoundError`` for a
missing file) that starts with the file. numpy and the standard library only (pyarrow when a
Parquet file is read).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._extras import require

__all__ = ["NUMBER", "Column", "as_floats", "as_numbers", "as_text", "check_suffix",
           "csv_columns", "csv_rows", "existing_file", "is_empty", "listed", "read_npy",
           "read_parquet", "read_table"]

#: a number as text: ``3``, ``-0.5``, ``2.000000000000000000e+00`` (what ``np.savetxt`` writes)
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Column:
    """One column of a file: its values and, for a CSV, the line of each value."""

    values: np.ndarray
    lines: np.ndarray | None = None

    def where(self, i: int) -> str:
        return f"row {i}" if self.lines is None else f"line {int(self.lines[i])}"


def existing_file(path: str | Path) -> Path:
    """``path`` as a ``Path``, if it is a file (else ``FileNotFoundError`` naming it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file" if not path.exists() else
                                f"{path}: is a folder, not a file: give a file")
    return path


def check_suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    """The suffix of ``path`` (lower case, no dot), if it is one of ``allowed``."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise ValueError(f"{path}: use {what} ({', '.join('.' + s for s in allowed)})")
    return suffix


def read_npy(path: Path) -> np.ndarray:
    """A plain 1-D .npy array (no pickles)."""
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a plain .npy array ({exc}); save it with numpy.save, "
                         f"one entry per sample") from None
    if values.ndim != 1:
        raise ValueError(f"{path}: holds an array of shape {values.shape}: save one entry per "
                         f"sample, shape (N,)")
    return values.astype(str) if values.dtype.kind == "S" else values


def read_table(path: Path, allowed: tuple[str, ...], what: str) -> dict[str, Column]:
    """The columns of a CSV (with a header row) or Parquet table."""
    if check_suffix(path, allowed, what) == "parquet":
        return read_parquet(path)
    rows = csv_rows(path)
    if all(NUMBER.fullmatch(c) for c in rows[0][1]):
        raise ValueError(f"{path}: has no header row (line {rows[0][0]} is data): write the column "
                         f"names on the first line")
    return csv_columns(rows[0][1], rows[1:])


def read_parquet(path: Path) -> dict[str, Column]:
    require("parquet", "pyarrow", what=f"reading {path}")
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read it as Parquet ({type(exc).__name__}: {exc})") \
            from None
    return {str(n): Column(table.column(n).to_numpy()) for n in table.column_names}


def csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line, stripped cells) of every row; blank lines at the end are dropped, a blank line
    before the last row and rows of another width are refused.

    Examples
    --------
    >>> import os, tempfile
    >>> path = Path(tempfile.mkdtemp(), "labels.csv")
    >>> _ = path.write_text("label\\n1\\n0\\n\\n")
    >>> csv_rows(path)
    [(1, ['label']), (2, ['1']), (3, ['0'])]
    >>> _ = path.write_text("label\\n1\\n\\n0\\n")
    >>> csv_rows(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../labels.csv: line 3 is blank: ...
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            rows = [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: cannot read it as a UTF-8 CSV file ({exc})") from None
    while rows and not any(rows[-1][1]):
        rows.pop()
    if not rows:
        raise ValueError(f"{path}: is empty: write one row per sample (or class)")
    for line, cells in rows:
        if not any(cells):
            raise ValueError(f"{path}: line {line} is blank: a blank line inside the data would "
                             f"shift every later row; remove it, or write the missing value")
        if len(cells) != len(rows[0][1]):
            raise ValueError(f"{path}: line {line} has {len(cells)} fields but line "
                             f"{rows[0][0]} has {len(rows[0][1])}: give every row the same "
                             f"columns")
    return rows


def csv_columns(header: list[str], rows: list[tuple[int, list[str]]]) -> dict[str, Column]:
    """The columns of ``rows`` (from :func:`csv_rows`), named by ``header``, as text cells."""
    lines = np.array([line for line, _ in rows], dtype=np.int64)
    return {name: Column(np.array([cells[j] for _, cells in rows], dtype=object), lines)
            for j, name in enumerate(header)}


def is_empty(value: Any) -> bool:
    """Whether a cell is empty: ``None``, ``""`` or a float NaN."""
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def as_numbers(column: Column) -> np.ndarray | None:
    """The column as numbers (float64; empty cells NaN), or None when it holds text."""
    values = column.values
    if values.dtype.kind in "iub":
        return values
    if values.dtype.kind == "f":
        return values.astype(np.float64)
    if all(is_empty(v) or (isinstance(v, str) and NUMBER.fullmatch(v)) for v in values):
        return np.array([np.nan if is_empty(v) else float(v) for v in values], dtype=np.float64)
    return None


def _first_empty(column: Column) -> int | None:
    empty = [i for i, v in enumerate(column.values.tolist()) if is_empty(v)]
    return empty[0] if empty else None


def as_text(column: Column, path: Path, what: str) -> list[str]:
    i = _first_empty(column)
    if i is not None:
        raise ValueError(f"{path}: {what} at {column.where(i)} is empty: write a value in every "
                         f"row (rows are samples or classes, in order)")
    return [str(v) for v in column.values.tolist()]


def as_floats(column: Column, path: Path, name: str) -> np.ndarray:
    numbers = as_numbers(column)
    if numbers is None or numbers.dtype.kind == "b":
        bad = next((i for i, v in enumerate(column.values.tolist())
                    if not (isinstance(v, str) and NUMBER.fullmatch(v)) and not is_empty(v)), 0)
        raise ValueError(f"{path}: the {name} column must hold numbers, got "
                         f"{column.values[bad]!r} at {column.where(bad)}")
    return numbers.astype(np.float64)


def listed(values: Sequence[Any], most: int = 10) -> str:
    shown = list(dict.fromkeys(values))
    return ", ".join(map(str, shown[:most])) + (", ..." if len(shown) > most else "")
