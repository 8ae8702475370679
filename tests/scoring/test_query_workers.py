"""Three workers started together on one ``work_dir`` train each query model once: the others
wait for it (or train another seed nobody holds) and load the saved model's results.

Deterministic, no sleeps: every worker says "ready" and waits for the parent's go (a barrier);
a worker that starts training a query model says so and waits for the parent again, which lets
the trainings go on only once both seeds are being trained and the third worker has said it
waits for each; a second training of a seed fails the test at once. Timeouts are a safety net.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]

#: a worker: argv = work_dir, trainings file; stdin lines are the parent's go signals
WORKER = """
import json, os, sys
import droprune.scoring.query as q
from tests.scoring.test_query import ARGS, splits

work, trainings = sys.argv[1], sys.argv[2]
real = q._run_seed

def run_seed(splits, seed, **kwargs):
    with open(trainings, "a") as fh:
        fh.write(f"{seed}\\n")
    print("train", seed, flush=True)
    sys.stdin.readline()  # go on once the parent has seen every worker claim or wait
    return real(splits, seed, **kwargs)

q._run_seed = run_seed
data = splits()
print("ready", flush=True)
sys.stdin.readline()  # the barrier: every worker starts at once
res = q.run_query(data, seeds=[0, 1], scorers=["el2n"], work_dir=work,
                  log=lambda line: print("log", line, flush=True), **ARGS)
print("result", json.dumps({"recall": res.val_recall.tolist(),
                            "el2n": res.scores["el2n"].tolist(),
                            "trained": res.metadata["trained_seeds"]}), flush=True)
os._exit(0)  # no interpreter teardown: the test waits for it
"""

TIMEOUT = 120  # a safety net only: nothing waits for it in a passing run


def _read_lines(i: int, stream, events: queue.Queue) -> None:
    for line in stream:
        events.put((i, line.rstrip("\n")))
    events.put((i, None))


def _next(events: queue.Queue, errors: list[Path]) -> tuple[int, str | None]:
    try:
        return events.get(timeout=TIMEOUT)
    except queue.Empty:
        pytest.fail("no word from the workers: " + " | ".join(p.read_text() for p in errors))


def _tell(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def test_three_workers_train_each_query_model_once(tmp_path):
    work, trainings = tmp_path / "query", tmp_path / "trainings.txt"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    errors = [tmp_path / f"stderr{i}.txt" for i in range(3)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(work), str(trainings)],
                              cwd=REPO, env=env, text=True, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=errors[i].open("w"))
             for i in range(3)]
    events: queue.Queue = queue.Queue()
    for i, p in enumerate(procs):
        threading.Thread(target=_read_lines, args=(i, p.stdout, events), daemon=True).start()
    results: dict[int, dict] = {}
    try:
        ready: set[int] = set()
        while len(ready) < 3:
            i, line = _next(events, errors)
            assert line is not None, errors[i].read_text()
            ready.add(i) if line == "ready" else None
        for p in procs:
            _tell(p)
        trainer: dict[int, int] = {}  # seed -> the worker training it
        waited: set[int] = set()
        while len(trainer) < 2 or waited != {0, 1}:
            i, line = _next(events, errors)
            assert line is not None, errors[i].read_text()
            if line.startswith("train "):
                seed = int(line.split()[1])
                assert seed not in trainer, f"seed {seed} trained by workers {trainer[seed]}, {i}"
                trainer[seed] = i
            elif found := re.search(r"the query model of seed (\d+); waiting for it", line):
                waited.add(int(found[1]))
        assert trainer[0] != trainer[1]  # each trainer is held inside its training
        for i in trainer.values():
            _tell(procs[i])
        ended = 0
        while ended < 3:
            i, line = _next(events, errors)
            if line is None:
                ended += 1
            elif line.startswith("train "):
                pytest.fail(f"worker {i} trained seed {line.split()[1]} again")
            elif line.startswith("result "):
                results[i] = json.loads(line[len("result "):])
        for i, p in enumerate(procs):
            assert p.wait(timeout=TIMEOUT) == 0, errors[i].read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert sorted(trainings.read_text().split()) == ["0", "1"]  # one training per model
    assert sorted(s for r in results.values() for s in r["trained"]) == [0, 1]
    third = ({0, 1, 2} - set(trainer.values())).pop()
    assert results[third]["trained"] == []  # it loaded both
    first = results[0]
    assert all(r["recall"] == first["recall"] and r["el2n"] == first["el2n"]
               for r in results.values())
    # the claims are released; the folder holds both finished seeds
    assert (work / "seed0.parquet").is_file() and (work / "seed1.parquet").is_file()
    import sqlite3

    with sqlite3.connect(work / "claims.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM claims").fetchone() == (0,)
