"""A manifest file read by DuckDB: its columns, a Parquet file in row order (a CSV is
converted, streamed, by pyarrow), the per-class counts and checks of one pass; the primitives
of :mod:`droprune.outofcore`. DuckDB is imported when a manifest is opened.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, cast

import numpy as np

from ._checks import check_int
from ._columns import NUMBER, check_suffix, existing_file, listed
from ._extras import require
from .manifest_sql import _ident, _sql_string

#: more distinct labels than this is taken for a wrong label column
MAX_CLASSES = 1_000_000


def _duckdb():
    require("outofcore", "duckdb", "pyarrow", what="the out-of-core path")
    import duckdb

    return duckdb


@dataclass(frozen=True)
class _Distinct:
    """The distinct labels as a column of :mod:`droprune.inputs` (its class-id rules), each
    located at its first sample."""

    values: np.ndarray
    rows: np.ndarray | None  # None: class counts, no samples
    csv: bool
    lines: None = None

    def where(self, i: int) -> str:
        if self.rows is None:
            return "in the class counts"
        row = int(self.rows[i])
        return f"sample {row}" + (f" (line {row + 2})" if self.csv else "")


class _Manifest:
    """A DuckDB connection on a manifest: its columns, and a Parquet file to read (the file
    itself, or the CSV converted with its row order)."""

    def __init__(self, path: Any, *, label: str, path_column: str | None, score: str | None,
                 memory_limit: str, threads: int | None, temp_dir: Any) -> None:
        duckdb = _duckdb()
        self.source = existing_file(path)
        self.csv = check_suffix(self.source, ("parquet", "csv"), "a .parquet or .csv "
                                "manifest") == "csv"
        self._tmp = tempfile.TemporaryDirectory(prefix="droprune-ooc-", dir=temp_dir)
        self.con = duckdb.connect()
        try:
            self._open(memory_limit, threads, label, path_column, score)
        except BaseException:
            self.close()
            raise

    def _open(self, memory_limit: str, threads: int | None, label: str,
              path_column: str | None, score: str | None) -> None:
        try:
            self.con.execute(f"SET memory_limit = {_sql_string(str(memory_limit))}")
        except _duckdb().Error:
            raise ValueError(f"memory_limit must be a size such as '2GB', got "
                             f"{memory_limit!r}") from None
        self.con.execute(f"SET temp_directory = {_sql_string(self._tmp.name)}")
        if threads is not None:
            self.con.execute(f"SET threads = {check_int(threads, 'threads', minimum=1)}")
        names = self._csv_header() if self.csv else self._describe(self.source)
        self.label = cast(str, _pick(names, label, "label", self.source,  # required: a str
                                     required=True, only=True))
        self.path = _pick(names, path_column, "path", self.source)
        self.score = _pick(names, score, "score", self.source)
        self.parquet = self.source
        if self.csv:
            self.parquet = Path(self._tmp.name, "manifest.parquet")
            _csv_to_parquet(self.source, self.parquet, self.label, self.path, self.score)
        self.types = dict(self._describe(self.parquet, types=True))
        if self.score is not None and not _numeric(self.types[self.score]):
            raise ValueError(f"{self.source}: score column {self.score!r} holds "
                             f"{self.types[self.score]}, not numbers")

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> _Manifest:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def relation(self) -> str:
        return f"read_parquet({_sql_string(str(self.parquet))}, file_row_number = true)"

    def query(self, sql: str, result: bool = True):
        """The result of ``sql`` as an Arrow table (None with ``result=False``); a DuckDB
        error as one line naming the manifest."""
        try:
            if not result:
                self.con.execute(sql)
                return None
            return _arrow(self.con.sql(sql))
        except _duckdb().Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise ValueError(f"{self.source}: {first}") from None

    def _describe(self, path: Path, types: bool = False) -> list:
        try:
            rows = self.con.execute(f"DESCRIBE SELECT * FROM read_parquet("
                                    f"{_sql_string(str(path))})").fetchall()
        except _duckdb().Error as exc:
            raise ValueError(f"{self.source}: cannot read it as Parquet "
                             f"({str(exc).strip().splitlines()[0]})") from None
        return [(r[0], r[1]) for r in rows] if types else [r[0] for r in rows]

    def _csv_header(self) -> list[str]:
        import pyarrow.csv as pcsv

        try:
            names = pcsv.open_csv(self.source).schema.names
        except Exception as exc:
            raise ValueError(f"{self.source}: cannot read it as CSV "
                             f"({str(exc).strip().splitlines()[0]})") from None
        if all(NUMBER.fullmatch(n.strip()) for n in names):
            raise ValueError(f"{self.source}: has no header row (line 1 is data): write the "
                             f"column names (label, and path or a score) on the first line")
        return names

    def counts(self) -> Any:
        """Per distinct label: count, first sample, first sample with a bad score."""
        lab, idx = _ident(self.label, "duckdb"), "file_row_number"
        bad = ""
        if self.score is not None:
            s = _ident(self.score, "duckdb")
            bad = f", min({idx}) FILTER (WHERE {s} IS NULL OR NOT isfinite({s})) AS bad"
        return self.query(f"SELECT {lab} AS value, count(*) AS n, min({idx}) AS first{bad} "
                          f"FROM {self.relation()} GROUP BY {lab} LIMIT {MAX_CLASSES + 1}")


def _pick(names: Sequence[str], wanted: str | None, role: str, path: Path, *,
          required: bool = False, only: bool = False) -> str | None:
    """The column of ``role``: ``wanted`` (exact, else case-insensitive); the default name
    ``role`` is optional unless ``required``; a lone column is the label (``only``)."""
    if wanted is None:
        return None
    if wanted in names:
        return wanted
    folded = [n for n in names if n.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    if only and len(names) == 1 and wanted == role:
        return names[0]
    if required or wanted != role:
        raise ValueError(f"{path}: needs a {role} column {wanted!r} (found {listed(names)}): "
                         f"name it ({role}=)")
    return None


def _numeric(sql_type: str) -> bool:
    t = sql_type.upper()
    return any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                         "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                                         "FLOAT", "DOUBLE", "DECIMAL"))


def _arrow(relation: Any) -> Any:
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):  # DuckDB 2, 1, 0.x
        if hasattr(relation, name):
            return getattr(relation, name)()
    raise ImportError("this DuckDB cannot return Arrow tables: pip install -U duckdb")


def _csv_to_parquet(source: Path, target: Path, label: str, path: str | None,
                    score: str | None) -> None:
    """The needed columns of a CSV as Parquet, streamed, row i = sample i: cells trimmed, blank
    rows after the last one dropped, a blank row before it, an empty label or score, or a score
    that is not a finite number refused (one line naming the sample and line)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    wanted = [c for c in (label, path, score) if c is not None]
    offset, blank_at, writer = 0, None, None
    try:
        reader = pcsv.open_csv(
            source, read_options=pcsv.ReadOptions(block_size=16 << 20),
            parse_options=pcsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                include_columns=wanted, column_types={c: pa.string() for c in wanted},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        for batch in reader:
            cols = {c: pc.utf8_trim_whitespace(batch.column(c)) for c in wanted}
            empty = {c: np.asarray(pc.equal(cols[c], "").to_numpy(zero_copy_only=False))
                     for c in wanted}
            blank = np.logical_and.reduce([empty[c] for c in wanted])
            filled = np.flatnonzero(~blank)
            if blank_at is not None and filled.size:
                raise ValueError(f"{source}: line {blank_at + 2} is blank: a blank line inside "
                                 f"the data would shift every later row; remove it, or write "
                                 f"the missing value")
            stop = batch.num_rows
            if filled.size < batch.num_rows:
                first_blank = int(np.flatnonzero(blank)[0])
                if filled.size and filled[-1] > first_blank:
                    blank_at = offset + first_blank
                    raise ValueError(f"{source}: line {blank_at + 2} is blank: a blank line "
                                     f"inside the data would shift every later row; remove "
                                     f"it, or write the missing value")
                stop, blank_at = first_blank, offset + first_blank
            _check_cells(source, cols, empty, label, score, offset, stop)
            arrays = {c: cols[c][:stop] for c in wanted}
            if score is not None:
                arrays[score] = pc.cast(arrays[score], pa.float64())
            table = pa.table(arrays)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            writer.write_table(table)
            offset += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise ValueError(f"{source}: cannot read it as CSV "
                         f"({str(exc).strip().splitlines()[0]})") from None
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError(f"{source}: holds no rows: write one row per sample")


def _check_cells(source: Path, cols: dict, empty: dict, label: str, score: str | None,
                 offset: int, stop: int) -> None:
    bad = np.flatnonzero(empty[label][:stop])
    if bad.size:
        i = offset + int(bad[0])
        raise ValueError(f"{source}: the label of sample {i} (line {i + 2}) is empty: write a "
                         f"class index or name in every row")
    if score is None:
        return
    import pyarrow.compute as pc

    ok = pc.match_substring_regex(cols[score][:stop], f"^(?:{NUMBER.pattern})$")
    bad = np.flatnonzero(~np.asarray(ok.to_numpy(zero_copy_only=False)))
    if bad.size:
        i = offset + int(bad[0])
        raise ValueError(f"{source}: the score of sample {i} (line {i + 2}) is "
                         f"{cols[score][int(bad[0])].as_py()!r}: scores must be finite numbers")
