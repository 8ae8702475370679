"""Claims: which worker does which piece of work of a shared folder, with a lease; the one
locking scheme between droprune processes. A sweep claims each final run
(:mod:`droprune.experiments.sweep`), the query protocol each query model of its ``work_dir``
(:func:`droprune.scoring.query.run_query`), so that workers sharing a folder train each once.

Any number of processes may share one folder: before doing a piece of work, a worker claims it
in the folder's ``claims.sqlite`` (a table ``claims(run_id, worker, expires, host, pid)``, apart
from any results store, whose schema does not change). A claim is a lease: it expires ``lease``
seconds after it was last written unless its worker renews it (a sweep, or a query model in
training, renews at every epoch end), so the work of a worker that died is taken over by
another once its lease has expired. The claim is released (deleted) once the work is saved.

A claim also records the claiming process: its host (the host name and, on Linux, the PID
namespace, so that two containers with one host name are told apart) and its process id. A
claim held by a process of the SAME host that no longer exists (``os.kill(pid, 0)`` raises
``ProcessLookupError``, or the process is a zombie) is taken over at once, without waiting for
its lease: a worker killed by SIGKILL, SIGTERM or SIGHUP holds nothing. On another host the
lease alone decides (a process there cannot be checked). A claims file written before these
columns existed gets them on opening (its old claims are left to their leases).

Each claim is one ``BEGIN IMMEDIATE`` transaction (one writer at a time; others wait up to 60 s
like the results store's writers): it succeeds when the work has no claim, or its claim
expired, or the claim is the caller's own (then it is renewed).

The lease length is :data:`DEFAULT_LEASE_SECONDS`, or the number of seconds in the environment
variable :data:`LEASE_ENV`: keep it above the longest epoch of a training (a lease that
expires while its worker is alive lets a second worker do the same work; a sweep's store still
keeps one row, a query model is then trained twice with the same result).

Torch-free (``sqlite3`` only), below every layer that uses it; :mod:`droprune.experiments.claims`
re-exports it.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

__all__ = ["CLAIMS_FILE", "Claims", "DEFAULT_LEASE_SECONDS", "LEASE_ENV", "lease_seconds",
           "new_worker_id", "process_alive", "this_host"]

#: the claims file of a shared folder (a sweep's, a query run's work_dir)
CLAIMS_FILE = "claims.sqlite"
#: environment variable with the lease length in seconds
LEASE_ENV = "DROPRUNE_LEASE_SECONDS"
#: lease length when :data:`LEASE_ENV` is not set
DEFAULT_LEASE_SECONDS = 600.0


def lease_seconds(environ: Mapping[str, str] | None = None) -> float:
    """The lease length: :data:`LEASE_ENV` of ``environ`` (``os.environ`` by default) as a
    positive number of seconds, else :data:`DEFAULT_LEASE_SECONDS`.

    Examples
    --------
    >>> lease_seconds({})
    600.0
    >>> lease_seconds({"DROPRUNE_LEASE_SECONDS": "1.5"})
    1.5
    """
    text = (os.environ if environ is None else environ).get(LEASE_ENV, "").strip()
    if not text:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{LEASE_ENV} must be a positive number of seconds, got {text!r}; "
                         f"unset it for the default {DEFAULT_LEASE_SECONDS:g}")
    return value


def this_host() -> str:
    """This process's host as recorded in a claim: the host name, plus the PID namespace on
    Linux (``hostname/pid:[4026531836]``), so that processes are only checked where their ids
    mean the same thing.

    Examples
    --------
    >>> this_host().startswith(socket.gethostname())
    True
    """
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{namespace}"


def process_alive(host: str | None, pid: int | None) -> bool:
    """Whether the process ``pid`` of ``host`` may still be running: False only when ``host``
    is this host (:func:`this_host`) and the process is gone (``os.kill(pid, 0)`` raises
    ``ProcessLookupError``) or a zombie; True whenever it cannot be told (another host, no
    pid recorded, no permission to signal it).

    Examples
    --------
    >>> process_alive(this_host(), os.getpid()), process_alive("elsewhere", 1)
    (True, True)
    """
    if host is None or pid is None or host != this_host():
        return True
    pid = int(pid)
    if pid <= 0:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    try:  # a killed process its parent has not reaped yet still answers os.kill
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def new_worker_id() -> str:
    """A worker's id: ``host:pid:random`` (unique even when a process id is reused).

    Examples
    --------
    >>> new_worker_id().count(":") >= 2
    True
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Claims:
    """The claims of one shared folder, seen by one worker.

    Parameters
    ----------
    path
        The claims file (created, with its table, when missing).
    worker
        This worker's id (default: :func:`new_worker_id`).
    lease
        Lease length in seconds (default: :func:`lease_seconds`).
    clock
        Wall-clock time in seconds (``time.time``; shared by every worker of the folder).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "claims.sqlite"
    >>> a, b = Claims(path, worker="a"), Claims(path, worker="b")
    >>> a.claim("run-1"), b.claim("run-1")
    ((True, None), (False, 'a'))
    >>> a.release("run-1"); b.claim("run-1")
    (True, None)
    """

    def __init__(self, path: str | Path, *, worker: str | None = None,
                 lease: float | None = None, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.worker = new_worker_id() if worker is None else str(worker)
        self.lease = lease_seconds() if lease is None else float(lease)
        if not (math.isfinite(self.lease) and self.lease > 0):
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self._clock = clock
        self.host = this_host()
        #: why the last :meth:`claim` that took over another worker's claim could: "its lease
        #: expired" or "its process ... is gone"; None when it took over nothing
        self.takeover_reason: str | None = None
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS claims (run_id TEXT PRIMARY KEY, "
                         "worker TEXT NOT NULL, expires REAL NOT NULL, host TEXT, pid INTEGER)")
            columns = {row[1] for row in conn.execute("PRAGMA table_info(claims)")}
            for column, kind in (("host", "TEXT"), ("pid", "INTEGER")):
                if column not in columns:  # a claims file of an earlier droprune
                    conn.execute(f"ALTER TABLE claims ADD COLUMN {column} {kind}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed on success; SQLite errors become
        one-line ``ValueError``s."""
        try:
            with closing(sqlite3.connect(self.path, timeout=60, isolation_level=None)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ValueError(f"claims file {self.path} could not be used ({exc}); check that it "
                             f"and its folder are writable, or delete it when no droprune "
                             f"command is running on the folder (it holds only claims)") from None

    def claim(self, run_id: str) -> tuple[bool, str | None]:
        """Claim (or renew this worker's claim of) ``run_id`` for one lease.

        Returns ``(True, None)`` when claimed or renewed, ``(True, other)`` when the claim of
        worker ``other`` was taken over (its lease expired, or its process on this host is
        gone: :attr:`takeover_reason` says which), ``(False, other)`` when worker ``other``
        holds a live claim (nothing is written).
        """
        self.takeover_reason = None
        with self._transaction() as conn:
            now = self._clock()
            row = conn.execute("SELECT worker, expires, host, pid FROM claims WHERE run_id = ?",
                               (run_id,)).fetchone()
            other = row is not None and row[0] != self.worker
            if other and row[1] > now:
                if process_alive(row[2], row[3]):
                    return False, row[0]
                self.takeover_reason = f"its process {row[3]} on this host is gone"
            elif other:
                self.takeover_reason = "its lease expired"
            conn.execute("INSERT OR REPLACE INTO claims (run_id, worker, expires, host, pid) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (run_id, self.worker, now + self.lease, self.host, os.getpid()))
        return True, row[0] if other else None

    def holder(self, run_id: str) -> str | None:
        """The worker holding a live claim of ``run_id`` other than this one (its lease not
        expired and its process not known to be gone), else None."""
        with self._transaction() as conn:
            row = conn.execute("SELECT worker, expires, host, pid FROM claims WHERE run_id = ?",
                               (run_id,)).fetchone()
        if row is None or row[0] == self.worker or row[1] <= self._clock() \
                or not process_alive(row[2], row[3]):
            return None
        return row[0]

    def release(self, run_id: str) -> None:
        """Delete this worker's claim of ``run_id`` (another worker's is left alone)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM claims WHERE run_id = ? AND worker = ?",
                         (run_id, self.worker))
