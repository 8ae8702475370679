"""Several workers, one folder: claims with a lease, real `droprune sweep` processes sharing a
folder (each run trained and stored once), a killed worker's run taken over."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter

import pytest

from droprune.experiments import load_config, plan_runs
from droprune.experiments.claims import DEFAULT_LEASE_SECONDS, LEASE_ENV, Claims, lease_seconds
from droprune.experiments.store import ResultStore

from .test_sweep_integration import TINY, cache  # noqa: F401 - the cache fixture

GRID = TINY + ["methods=Random,EL2N", "densities=0.3,0.5,0.7"]  # 6 runs, one query seed


class Clock:
    """A settable clock: lease expiry without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_claim_refuse_take_over_release(tmp_path):
    clock = Clock()
    path = tmp_path / "claims.sqlite"
    a = Claims(path, worker="a", lease=10, clock=clock)
    b = Claims(path, worker="b", lease=10, clock=clock)
    assert a.claim("r1") == (True, None)
    assert b.claim("r1") == (False, "a") and b.holder("r1") == "a" and a.holder("r1") is None
    clock.now += 9.5
    assert a.claim("r1") == (True, None)  # the same worker renews: expires at 1019.5
    clock.now += 9.0
    assert b.claim("r1") == (False, "a")  # still alive thanks to the renewal
    clock.now += 1.0  # now == 1019.5 == the expiry: expired
    assert b.holder("r1") is None
    assert b.claim("r1") == (True, "a")  # taken over
    assert a.claim("r1") == (False, "b")
    a.release("r1")  # not a's any more: left alone
    assert a.holder("r1") == "b"
    b.release("r1")
    assert a.holder("r1") is None and a.claim("r1") == (True, None)
    assert b.claim("r2") == (True, None)  # claims of different runs are independent


def test_claims_survive_reopening_and_bad_leases_are_refused(tmp_path, monkeypatch):
    clock = Clock()
    path = tmp_path / "claims.sqlite"
    Claims(path, worker="a", lease=5, clock=clock).claim("r")
    assert Claims(path, worker="b", lease=5, clock=clock).holder("r") == "a"
    assert Claims(path, lease=5).worker.count(":") == 2  # host:pid:random
    monkeypatch.delenv(LEASE_ENV, raising=False)
    assert lease_seconds() == DEFAULT_LEASE_SECONDS == 600
    monkeypatch.setenv(LEASE_ENV, "2.5")
    assert lease_seconds() == 2.5 and Claims(path).lease == 2.5
    for bad in ("0", "-1", "soon", "inf"):
        monkeypatch.setenv(LEASE_ENV, bad)
        with pytest.raises(ValueError, match=f"{LEASE_ENV} must be a positive number"):
            lease_seconds()
    with pytest.raises(ValueError, match="lease must be a positive"):
        Claims(path, lease=0)
    path.write_bytes(b"not sqlite" * 100)
    with pytest.raises(ValueError, match="claims file .* could not be used"):
        Claims(path, lease=1)


#: `droprune sweep` that looks at runs held by others every 0.2 s (the lease stays 600 s)
FAST_POLL = """
import sys
import droprune.experiments.sweep as sweep
import droprune.scoring.query as query
from droprune.cli import main

sweep.MAX_POLL_SECONDS = query.MAX_POLL_SECONDS = 0.2
run_seed = query._run_seed

def say_and_train(splits, seed, **kwargs):  # counted by the test: once per query model
    print("query model trained:", kwargs["checkpoint_dir"], file=sys.stderr, flush=True)
    return run_seed(splits, seed, **kwargs)

query._run_seed = say_and_train
sys.exit(main(sys.argv[1:]))
"""

#: the same, SIGKILLed by itself right after it claimed its first run
KILL_AFTER_FIRST_CLAIM = """
import os, signal, sys
import droprune.experiments.sweep as sweep
from droprune.cli import main

claim = sweep._claim

def claim_then_die(claims, run_id):
    got = claim(claims, run_id)
    if got[0]:
        print("claimed", run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return got

sweep._claim = claim_then_die
sys.exit(main(sys.argv[1:]))
"""


def _command(script, out):
    args = [sys.executable, "-c", script, "sweep", "--preset", "mnist1d-cpu", "--out",
            str(out), "--no-progress"]
    for item in GRID:
        args += ["--set", item]
    return args


def _env(cache, **extra):
    env = dict(os.environ, DROPRUNE_CACHE=str(cache), OMP_NUM_THREADS="1", **extra)
    env.pop(LEASE_ENV, None) if LEASE_ENV not in extra else None
    return env


def _started(stderr):
    """Run ids of the "training started" lines of a worker's log (stderr)."""
    return re.findall(r"training started \((\S+)\)", stderr)


def _run_ids():
    cfg = load_config("mnist1d-cpu", GRID)
    return sorted(r.run_id(cfg) for r in plan_runs(cfg))


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_split_the_grid(cache, tmp_path, workers):
    out = tmp_path / "shared"
    procs = [subprocess.Popen(_command(FAST_POLL, out), env=_env(cache), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(workers)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, stdout + stderr
    started = Counter(r for _, stderr in outputs for r in _started(stderr))
    ids = _run_ids()
    assert sorted(started) == ids and set(started.values()) == {1}  # each trained once
    query = Counter(m for _, stderr in outputs
                    for m in re.findall(r"query model trained: (\S+)", stderr))
    assert query and set(query.values()) == {1}, query  # each query model trained once
    rows = [r["run_id"] for r in ResultStore(out / "results.sqlite").records()]
    assert sorted(rows) == ids  # each stored once
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_killed_workers_run_is_taken_over_after_its_lease(cache, tmp_path):
    out = tmp_path / "shared"
    env = _env(cache, **{LEASE_ENV: "1"})
    killed = subprocess.run(_command(KILL_AFTER_FIRST_CLAIM, out), env=env, text=True,
                            capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    (first,) = re.findall(r"claimed (\S+)", killed.stdout)
    second = subprocess.run(_command(FAST_POLL, out), env=env, text=True, capture_output=True,
                            timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"taking over from worker \S+:\d+:\w+ \(its lease expired\)",
                     second.stderr)
    assert sorted(_started(second.stderr)) == _run_ids() and first in _started(second.stderr)
    rows = [r["run_id"] for r in ResultStore(out / "results.sqlite").records()]
    assert sorted(rows) == _run_ids()


def test_a_run_that_fails_releases_its_claim(cache, tmp_path, monkeypatch):  # noqa: F811
    import droprune.experiments.sweep as sweep

    cfg = load_config("mnist1d-cpu", GRID)

    def boom(*args, **kwargs):
        raise RuntimeError("the run failed")

    monkeypatch.setattr(sweep, "run_final", boom)
    out = tmp_path / "failed"
    with pytest.raises(RuntimeError, match="the run failed"):
        sweep.run_sweep(cfg, out, progress=False, log=lambda *_: None)
    claims = Claims(out / "claims.sqlite")
    assert all(claims.holder(spec.run_id(cfg)) is None for spec in plan_runs(cfg))
