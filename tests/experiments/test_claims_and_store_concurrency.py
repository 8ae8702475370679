"""Workers starting and dying together: the claim of a dead process on this host is taken over
at once (no lease to wait for), one on another host waits for its lease; the results store is
created exactly once however many workers open it at the same moment (threads and processes
released by one barrier, no sleeps)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import threading

import pytest

from droprune.experiments.claims import Claims, process_alive, this_host
from droprune.experiments.store import SCHEMA_VERSION, ResultStore

from .test_workers import Clock

#: a process that claims run "r" (lease 600 s) in the file argv[1], says so, then waits for a
#: line on stdin and ends WITHOUT releasing its claim (as a killed worker would)
HOLD_CLAIM = """
import os, sys
from droprune.experiments.claims import Claims
c = Claims(sys.argv[1], lease=600)
print(c.claim("r"), c.worker, os.getpid(), flush=True)
sys.stdin.readline()
os._exit(0)
"""


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD_CLAIM, str(path)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = proc.stdout.readline().split()
    assert line[:2] == ["(True,", "None)"], line
    return proc, line[2], int(line[3])


def test_a_dead_process_on_this_host_holds_nothing(tmp_path):
    path = tmp_path / "claims.sqlite"
    proc, worker, pid = _holder(path)
    me = Claims(path, worker="me", lease=600)
    assert me.claim("r") == (False, worker) and me.holder("r") == worker  # alive: it waits
    assert me.takeover_reason is None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(timeout=60) == 0  # gone, its claim (600 s left) still in the file
    assert not process_alive(this_host(), pid)
    assert me.holder("r") is None
    assert me.claim("r") == (True, worker)  # at once, not after 600 s
    assert me.takeover_reason == f"its process {pid} on this host is gone"
    assert me.claim("r") == (True, None)  # now its own: renewed
    with sqlite3.connect(path) as conn:
        host, holder_pid = conn.execute("SELECT host, pid FROM claims").fetchone()
    assert host == this_host() and holder_pid == __import__("os").getpid()


def test_a_claim_of_another_host_waits_for_its_lease(tmp_path):
    clock = Clock()
    path = tmp_path / "claims.sqlite"
    me = Claims(path, worker="me", lease=10, clock=clock)
    with sqlite3.connect(path) as conn:  # pid 2**22 + 1 exists on no host of ours
        conn.execute("INSERT INTO claims VALUES ('r', 'far:1:x', ?, 'far-away', ?)",
                     (clock.now + 10, 2**22 + 1))
    assert me.claim("r") == (False, "far:1:x")  # its process cannot be checked from here
    clock.now += 10
    assert me.claim("r") == (True, "far:1:x") and me.takeover_reason == "its lease expired"


def test_a_claims_file_of_an_earlier_version_gets_the_new_columns(tmp_path):
    clock = Clock()
    path = tmp_path / "claims.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE claims (run_id TEXT PRIMARY KEY, worker TEXT NOT NULL, "
                     "expires REAL NOT NULL)")
        conn.execute("INSERT INTO claims VALUES ('r', 'old', ?)", (clock.now + 5,))
    me = Claims(path, worker="me", lease=5, clock=clock)
    assert me.claim("r") == (False, "old")  # no host recorded: the lease decides
    clock.now += 5
    assert me.claim("r") == (True, "old")
    with sqlite3.connect(path) as conn:
        assert [r[1] for r in conn.execute("PRAGMA table_info(claims)")] == [
            "run_id", "worker", "expires", "host", "pid"]


def _open_after(barrier, path, errors):
    barrier.wait()
    try:
        ResultStore(path)
    except Exception as exc:  # noqa: BLE001 - collected, then asserted empty
        errors.append(repr(exc))


def _check_created_once(path):
    with sqlite3.connect(path) as conn:
        tables = sorted(r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'"))
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert tables == ["meta", "runs"]
    assert meta["schema_version"] == str(SCHEMA_VERSION) and len(meta) == 3
    assert len(ResultStore(path)) == 0


def test_the_store_is_created_once_by_threads_starting_together(tmp_path):
    for round_ in range(10):
        path = tmp_path / f"r{round_}" / "results.sqlite"
        barrier, errors = threading.Barrier(8), []
        threads = [threading.Thread(target=_open_after, args=(barrier, path, errors))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        _check_created_once(path)


def _open_in_process(barrier, path, queue):
    errors: list[str] = []
    _open_after(barrier, path, errors)
    queue.put(errors)


@pytest.mark.skipif(sys.platform != "linux", reason="forked processes (Linux)")
def test_the_store_is_created_once_by_processes_starting_together(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for round_ in range(3):
        path = tmp_path / f"r{round_}" / "results.sqlite"
        barrier, queue = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_in_process, args=(barrier, path, queue))
                 for _ in range(4)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=120)
            assert p.exitcode == 0
        assert results == [[]] * 4
        _check_created_once(path)
