"""Atomic file writes: write a temporary file in the same folder, then ``os.replace``; and the
one export of a table as CSV and/or Parquet (:func:`flatten_frame`, :func:`write_table`).

A reader (or a resumed run) therefore sees either the old file or the complete new one, never
a half-written file, even if the process is killed mid-write. A killed write leaves its
temporary file behind (``.NAME.HOST-PID-XXXXXXXX.tmp``, hidden: the writer's host and process);
:func:`remove_stale_temporaries` clears those of a folder. Files are created with mode ``0o666`` less the umask, as ``open`` does.
An ``OSError`` of a write (a full disk, a folder not writable) names the file written, also
when the writer wrapped it in another exception (``torch.save``'s ``RuntimeError``).

Tables are flattened once (:func:`flatten_frame`) and the CSV and the Parquet file are written
from that same flat frame, so both files have the same columns and rows; both are serialised
before either is written, so a table that cannot be written leaves no file behind.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import secrets
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import numpy as np

from ._extras import require
from ._json import dumps

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["atomic_save_npy", "atomic_write", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "flatten_frame", "remove_stale_temporaries", "write_table"]

#: name of a temporary file of :func:`atomic_write`: ``.NAME.HOST-PID-XXXXXXXX.tmp`` (HOST: 4
#: hex digits of the host name's hash, PID: the writer's process id); older droprune versions
#: wrote ``.NAME.XXXXXXXX.tmp``
TEMP_NAME = re.compile(r"^\..+\.(?:(?P<host>[0-9a-f]{4})-(?P<pid>\d+)-)?[a-z0-9_]{8}\.tmp$")
#: a temporary file untouched for this long belongs to a write that was killed
STALE_SECONDS = 3600.0
#: this host, in temporary file names (4 hex digits of a hash of the host name)
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:4]


def atomic_write(path: str | Path, write: Callable[[io.BufferedWriter], object]) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, then move it into
    place. The folder is created when missing. Returns ``path``.

    The file gets mode ``0o666`` less the umask (as ``open`` gives). An ``OSError`` (e.g.
    ``ENOSPC``, a full disk), raised by ``write`` itself or behind another exception (the
    ``RuntimeError`` of ``torch.save`` whose write failed), is raised again as an ``OSError``
    with ``path`` as its file name (and, for a full disk or quota, the fix); the temporary file
    is removed and an earlier file at ``path`` is left as it was.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        cause = _write_error(exc, path)
        if cause is not None:
            assert cause.errno is not None  # (checked by _write_error)
            raise OSError(cause.errno, _reason(cause), str(path)) from exc
        raise
    return path


#: errno values of a full disk (or a spent quota)
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _write_error(exc: BaseException, path: Path) -> OSError | None:
    """The ``OSError`` of writing ``path``'s temporary file behind ``exc``: ``exc`` itself, or
    one in its chain (``torch.save`` turns a failed write into a ``RuntimeError``, "unexpected
    pos ...", whose context is the ``OSError``); None when ``exc`` is not a failed write there."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None and (
                current.filename is None
                or str(current.filename).startswith(str(path.parent / f".{path.name}."))):
            return current
        current = current.__cause__ or current.__context__
    return None


def _reason(exc: OSError) -> str:
    """The ``strerror`` of a failed write, with the fix for a full disk."""
    text = exc.strerror or os.strerror(exc.errno or 0)
    if exc.errno in _NO_SPACE:
        return f"{text} (free space there, or write to another folder; nothing was half-written)"
    return text


def _create_temporary(path: Path) -> tuple[int, Path]:
    """Create ``.NAME.XXXXXXXX.tmp`` next to ``path`` (exclusive, mode 0o666 less the umask);
    its descriptor and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _writer_is_gone(match: re.Match) -> bool:
    """Whether the process that wrote a temporary file has ended: known only for a writer on
    this host (a process id of another machine means nothing here)."""
    if match["pid"] is None or match["host"] != _HOST:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # alive (another user's), or not a pid
        return False
    return False


def remove_stale_temporaries(folder: str | Path, *, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files that killed :func:`atomic_write` calls left under
    ``folder`` (recursively): hidden ``.NAME.HOST-PID-XXXXXXXX.tmp`` files whose writing
    process, on this host, has ended, and any such file not modified for ``older_than``
    seconds (a writer on another machine sharing the folder). A write in progress is never
    removed. Returns the removed paths, sorted.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     stale = Path(d, ".x.npy.0123abcd.tmp"); _ = stale.write_bytes(b"")
    ...     os.utime(stale, (0, 0))
    ...     [p.name for p in remove_stale_temporaries(d)]
    ['.x.npy.0123abcd.tmp']
    """
    limit = time.time() - older_than
    removed = []
    for p in sorted(Path(folder).rglob(".*.tmp")):
        try:
            match = TEMP_NAME.match(p.name)
            if match and p.is_file() and (_writer_is_gone(match) or p.stat().st_mtime < limit):
                p.unlink()
                removed.append(p)
        except FileNotFoundError:  # removed meanwhile (renamed into place, or by another)
            continue
    return removed


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON with sorted keys (the conventions of
    :mod:`droprune._json`: NaN as null, infinities as ``"inf"`` / ``"-inf"``)."""
    return atomic_write_text(path, dumps(obj, str(path), indent=2, sort_keys=True) + "\n")


def atomic_save_npy(path: str | Path, array: np.ndarray) -> Path:
    """Atomically save one array in ``.npy`` format (readable with ``numpy.load``)."""
    return atomic_write(path, lambda fh: np.save(fh, np.asarray(array), allow_pickle=False))


# -- tables ------------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    """Whether ``value`` is a missing cell (None or a float NaN)."""
    return value is None or (isinstance(value, float) and value != value)


def _nested(value: Any) -> bool:
    """Whether ``value`` is a cell that CSV and Parquet cannot hold as it is."""
    return isinstance(value, (Mapping, list, tuple, np.ndarray))


def _flat_items(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """The cells of ``value`` at column ``key``: a non-empty dict spreads into ``key.sub``
    columns (recursively), a list / tuple / array / empty dict becomes JSON text."""
    if isinstance(value, Mapping) and value:
        for sub, item in value.items():
            yield from _flat_items(item, f"{key}.{sub}")
    elif _nested(value):
        yield key, dumps(value, key)
    else:
        yield key, value


def _arrow_writable(column: "pd.Series") -> bool:
    """Whether pyarrow can turn ``column`` into one Parquet column."""
    import pyarrow as pa

    try:
        pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False
    return True


def flatten_frame(frame: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of ``frame`` that CSV and Parquet hold alike: the one flattening of droprune's
    tables (:func:`write_table`).

    * a column of dicts spreads into dotted columns (``config`` -> ``config.data.name``, ...),
      recursively; a row without the key holds a missing value;
    * lists, tuples, arrays and empty dicts become JSON text (``"[0.5, null]"``, ``"{}"``);
    * an object column pyarrow cannot write (e.g. numbers and strings mixed) becomes JSON text;
    * missing values stay missing; column names become strings; the index is kept.

    Raises
    ------
    ValueError
        If two columns get the same name (e.g. a column ``a.b`` and a column ``a`` of dicts with
        key ``b``), or a cell has no JSON form.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"r": [[0.5, None]], "cfg": [{"a": {"b": 1}, "o": {}}], "x": [None]})
    >>> flatten_frame(df).to_dict("records")
    [{'r': '[0.5, null]', 'cfg.a.b': 1, 'cfg.o': '{}', 'x': None}]
    """
    import pandas as pd

    parts = []
    for name, column in frame.items():
        key = str(name)
        if column.dtype == object and column.map(_nested).any():
            rows = [{} if _missing(v) else dict(_flat_items(v, key)) for v in column]
            parts.append(pd.DataFrame(rows, index=frame.index))
        else:
            parts.append(column.rename(key).to_frame())
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    if not out.columns.is_unique:
        twice = sorted(set(out.columns[out.columns.duplicated()]))
        raise ValueError(f"table columns {twice} occur twice once nested dicts are spread into "
                         f"dotted columns: rename the column or the key")
    for col, column in out.items():  # every column name is a str (built above)
        if column.dtype == object and not _arrow_writable(column):
            out[col] = column.map(lambda v, k=str(col): v if _missing(v) else dumps(v, k))
    return out


def _parquet_bytes(frame: "pd.DataFrame", metadata: Mapping[bytes, bytes] | None) -> bytes:
    """``frame`` (no index) as Parquet bytes, ``metadata`` added to the schema metadata."""
    require("parquet", "pyarrow", what="writing a Parquet file")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write_table(frame: "pd.DataFrame", *, csv: str | Path | None = None,
                parquet: str | Path | None = None,
                metadata: Mapping[bytes, bytes] | None = None) -> list[Path]:
    """Write a table as CSV and/or Parquet, atomically, from one :func:`flatten_frame` of it:
    the one way droprune exports a table.

    Parameters
    ----------
    frame
        The table; its index is not written.
    csv, parquet
        Where to write each format (at least one); folders are created.
    metadata
        Extra Parquet schema metadata (e.g. the score files' ``droprune`` key).

    Returns
    -------
    list of pathlib.Path
        The files written: the CSV first, then the Parquet file.

    Raises
    ------
    ValueError
        If neither path is given, or the table cannot be flattened (:func:`flatten_frame`);
        nothing is written then.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> paths = write_table(pd.DataFrame({"cfg": [{"options": {}}]}), csv=d / "t.csv",
    ...                     parquet=d / "t.parquet")
    >>> pd.read_parquet(paths[1]).columns.tolist(), paths[0].read_text()
    (['cfg.options'], 'cfg.options\\n{}\\n')
    """
    if csv is None and parquet is None:
        raise ValueError("write_table needs a csv= or a parquet= path")
    flat = flatten_frame(frame)
    payloads = []  # serialise both before writing either
    if csv is not None:
        payloads.append((Path(csv), flat.to_csv(index=False).encode("utf-8")))
    if parquet is not None:
        payloads.append((Path(parquet), _parquet_bytes(flat, metadata)))
    return [atomic_write_bytes(path, data) for path, data in payloads]
