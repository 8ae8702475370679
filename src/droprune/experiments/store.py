"""The results store: one SQLite row per finished final run.

Each row is one :class:`~droprune.experiments.record.RunRecord` (its fields are the columns):
the run's identity (method, density, seed and a fingerprint of the rest of the config), its
metrics (average, worst-class, gap, std, per-class recall as JSON) and a summary of its
selection (per-class kept counts and densities). A row is written in one transaction, so an
interrupted sweep never leaves half a row; a rerun skips the run ids already present.

A store written by another schema version is refused (never migrated in place or corrupted),
and so is a damaged one (SQLite's ``quick_check`` runs on opening): every SQLite error becomes
a one-line ``ValueError`` naming the file and the fix, never a ``sqlite3`` traceback.
Shards of a sweep write one store each (``results-shard-I-of-N.sqlite``); :func:`read_results`
merges every store of a folder.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .._json import dumps
from .record import RunRecord

__all__ = ["SCHEMA_VERSION", "ResultStore", "read_results", "store_paths"]

SCHEMA_VERSION = 1

#: column name -> SQL type, in table order: the fields of :class:`RunRecord`
COLUMNS: dict[str, str] = {f.name: f.metadata["sql"] for f in dataclasses.fields(RunRecord)}
#: columns that hold JSON text (lists / dicts)
JSON_COLUMNS = tuple(f.name for f in dataclasses.fields(RunRecord) if f.metadata["json"])


class ResultStore:
    """A SQLite file of final-run results.

    Parameters
    ----------
    path
        The ``.sqlite`` file; created (with its folder) when missing.
    readonly
        Open without creating or writing.

    Raises
    ------
    ValueError
        If the file is not a droprune store or was written with another schema version.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.is_file():
            raise FileNotFoundError(f"no results store at {self.path}")
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._readonly = readonly
        self._check_or_create()

    def _connect(self) -> sqlite3.Connection:
        if self._readonly:
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
        return sqlite3.connect(self.path, timeout=60)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection, closed afterwards; SQLite errors become one-line ``ValueError``s."""
        try:
            with closing(self._connect()) as conn:
                yield conn
        except sqlite3.OperationalError as exc:
            raise ValueError(f"results store {self.path} could not be used ({exc}); check that "
                             f"it and its folder are readable and writable and that its disk "
                             f"has free space, then run the same command again") from None
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"{self.path} is not a readable SQLite results store, it is damaged ({exc}): "
                f"move it aside (e.g. rename it "
                f"to {self.path.name}.damaged) and run the sweep again: its runs are redone, "
                f"every other file of the folder is kept") from None

    def _check_or_create(self) -> None:
        """Check the file (and create its tables when it has none) in ONE write transaction
        (``BEGIN IMMEDIATE``): of several workers starting together exactly one creates the
        tables, the others wait for its commit and then find them."""
        from droprune import __version__

        with self._db() as conn:
            if not self._readonly:
                conn.isolation_level = None  # explicit transactions
                conn.execute("BEGIN IMMEDIATE")
            try:
                check = conn.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"quick_check: {check and check[0]}")
                tables = {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")}
                if not tables and not self._readonly:
                    cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
                    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                                 "value TEXT NOT NULL)")
                    conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
                    conn.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)", [
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("created_by", f"droprune {__version__}"),
                        ("created", datetime.now(timezone.utc).isoformat())])
                    conn.execute("COMMIT")
                    return
                if "meta" not in tables or "runs" not in tables:
                    raise ValueError(f"{self.path} is not a droprune results store (tables "
                                     f"{sorted(tables)}); point to another file")
                meta = dict(conn.execute("SELECT key, value FROM meta"))
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        version = meta.get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise ValueError(
                f"{self.path} was written by {meta.get('created_by', 'an unknown droprune')} with "
                f"store schema {version}; this droprune reads schema {SCHEMA_VERSION}. It is left "
                f"untouched: use that droprune version, or write to a new folder")

    # -- reading ------------------------------------------------------------------------------
    def run_ids(self) -> set[str]:
        """Ids of every finished run in this store."""
        with self._db() as conn:
            return {r[0] for r in conn.execute("SELECT run_id FROM runs")}

    def records(self) -> list[dict[str, Any]]:
        """Every row as a dict, JSON columns decoded."""
        with self._db() as conn:
            conn.row_factory = sqlite3.Row
            rows = [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY rowid")]
        for row in rows:
            for key in JSON_COLUMNS:
                if row.get(key) is not None:
                    row[key] = json.loads(row[key])
        return rows

    def __len__(self) -> int:
        with self._db() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    # -- writing ------------------------------------------------------------------------------
    def add(self, record: RunRecord | Mapping[str, Any]) -> bool:
        """Insert one finished run in a single transaction.

        ``record`` is a :class:`RunRecord`, or a mapping of its fields (checked by
        :meth:`RunRecord.from_mapping`). ``droprune_version`` and ``created`` are filled in
        when None. Returns False (and writes nothing) when the run id is already present, so a
        resumed or repeated sweep never duplicates a row.
        """
        if self._readonly:
            raise ValueError(f"{self.path} was opened read-only")
        from droprune import __version__

        if not isinstance(record, RunRecord):
            record = RunRecord.from_mapping(record)
        row = {key: getattr(record, key) for key in COLUMNS}
        if row["droprune_version"] is None:
            row["droprune_version"] = __version__
        if row["created"] is None:
            row["created"] = datetime.now(timezone.utc).isoformat()
        for key in JSON_COLUMNS:
            if row[key] is not None:
                row[key] = dumps(row[key], key)
        keys = list(row)
        with self._db() as conn, conn:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO runs ({', '.join(keys)}) VALUES "
                f"({', '.join('?' for _ in keys)})", [row[k] for k in keys])
            return cur.rowcount == 1


def store_paths(folder: str | Path) -> list[Path]:
    """Every results store of a sweep folder (the main one and the shards), sorted."""
    folder = Path(folder)
    return sorted(folder.glob("results*.sqlite"))


def read_results(folders: Iterable[str | Path] | str | Path):
    """All finished runs of one or more sweep folders (every shard) as a pandas DataFrame.

    Rows are de-duplicated by ``run_id`` (a run present in two shards counts once). JSON
    columns are decoded into Python lists.
    """
    import pandas as pd

    if isinstance(folders, (str, Path)):
        folders = [folders]
    rows: dict[str, dict[str, Any]] = {}
    found = False
    for folder in folders:
        paths = store_paths(folder)
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"{folder} is not a folder (give a sweep's --out folder)")
        for path in paths:
            found = True
            for rec in ResultStore(path, readonly=True).records():
                rows.setdefault(rec["run_id"], rec)
    if not found:
        raise FileNotFoundError(f"no results*.sqlite in {', '.join(map(str, folders))}: run "
                                f"`droprune sweep --out FOLDER` first")
    return pd.DataFrame(list(rows.values()), columns=list(COLUMNS))
