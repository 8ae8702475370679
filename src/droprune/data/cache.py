"""The on-disk cache of decoded or generated datasets (plain ``.npz`` files).

Sources that are slow to build (MNIST-1D generation, decoding 100k TinyImageNet JPEGs) store
their arrays once in the cache directory: ``$DROPRUNE_CACHE`` if set, else
``~/.cache/droprune``. File names carry a key that hashes everything the content depends on,
so a change of arguments or files gives a new file rather than a stale hit. Files are written
atomically (a temporary file in the same directory, then ``os.replace``, via
:func:`droprune._io.atomic_write`): a crash never leaves a half-written cache under the final
name. A cache file that cannot be read back is reported
with a warning and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._io import atomic_write

__all__ = ["cache_dir", "cache_key", "load_cached", "save_cached"]


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache directory: ``override``, else ``$DROPRUNE_CACHE``, else ``~/.cache/droprune``.

    The directory is not created here (only :func:`save_cached` creates it).

    Examples
    --------
    >>> cache_dir("/tmp/somewhere")
    PosixPath('/tmp/somewhere')
    """
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get("DROPRUNE_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "droprune"


def cache_key(obj: Any) -> str:
    """Short stable hash (16 hex digits) of a JSON-serialisable description.

    Examples
    --------
    >>> cache_key({"a": 1, "b": [2, 3]}) == cache_key({"b": [2, 3], "a": 1})
    True
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_cached(path: str | Path, keys: Sequence[str]) -> dict[str, np.ndarray] | None:
    """Read the arrays ``keys`` from a cache file; ``None`` if it is absent or unreadable.

    An unreadable file (truncated, not a zip, a key missing) is reported with a
    ``UserWarning`` naming it, so that the caller rebuilds and overwrites it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise KeyError(f"missing arrays {missing}")
            return {k: npz[k] for k in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        warnings.warn(f"droprune cache file {path} is unreadable ({exc}); rebuilding it",
                      stacklevel=2)
        return None


def save_cached(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` (uncompressed ``.npz``) atomically; returns ``path``.

    Uses :func:`droprune._io.atomic_write` (temporary file, fsync, ``os.replace``; the folder
    is created). If the cache cannot be written (read-only folder, full disk) the data is still
    usable: a ``UserWarning`` says so and nothing is raised.
    """
    path = Path(path)
    try:
        payload: dict[str, Any] = arrays  # np.savez(**kwds): every keyword is an array
        atomic_write(path, lambda fh: np.savez(fh, **payload))
    except OSError as exc:
        warnings.warn(f"droprune cache not written to {path} ({exc})", stacklevel=2)
    return path
