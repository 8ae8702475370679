"""Atomic file writes: write a temporary file in the same folder, then ``os.replace``.

A reader (or a resumed run) therefore sees either the old file or the complete new one, never
a half-written file, even if the process is killed mid-write. A killed write leaves its
temporary file behind (``.NAME.HOST-PID-XXXXXXXX.tmp``, hidden: the writer's host and process);
:func:`remove_stale_temporaries` clears those of a folder. Files are created with mode ``0o666`` less the umask, as ``open`` does.
An ``OSError`` of a write (a full disk, a folder not writable) names the file written.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._json import dumps

__all__ = ["atomic_save_npy", "atomic_write", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "remove_stale_temporaries"]

#: name of a temporary file of :func:`atomic_write`: ``.NAME.HOST-PID-XXXXXXXX.tmp`` (HOST: 4
#: hex digits of the host name's hash, PID: the writer's process id); older droprune versions
#: wrote ``.NAME.XXXXXXXX.tmp``
TEMP_NAME = re.compile(r"^\..+\.(?:(?P<host>[0-9a-f]{4})-(?P<pid>\d+)-)?[a-z0-9_]{8}\.tmp$")
#: a temporary file untouched for this long belongs to a write that was killed
STALE_SECONDS = 3600.0
#: this host, in temporary file names (4 hex digits of a hash of the host name)
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:4]


def atomic_write(path: str | Path, write: Callable[[io.BufferedWriter], None]) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, then move it into
    place. The folder is created when missing. Returns ``path``.

    The file gets mode ``0o666`` less the umask (as ``open`` gives). An ``OSError`` (e.g.
    ``ENOSPC``, a full disk) is raised again with ``path`` as its file name.
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
        if isinstance(exc, OSError) and exc.errno is not None and (
                exc.filename is None
                or str(exc.filename).startswith(str(path.parent / f".{path.name}."))):
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from exc
        raise
    return path


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
