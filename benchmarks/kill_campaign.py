"""Kill-and-resume campaign: SIGKILL a sweep at random points, resume, compare.

A tiny MNIST-1D sweep (5 methods x 2 densities x 2 seeds + Full = 22 final runs, with query
models) is
run once without interruption (the reference). Then, folder after folder, the ``droprune
sweep`` process is started and SIGKILLed at a random moment (uniform in ``[--min-delay,
--max-delay]`` seconds after each start, seeded), again and again, until a start finishes by
itself; each such folder is then checked against the reference: no row lost, none duplicated,
every stored metric and every kept-index file identical, no temporary file left. This repeats
until ``--kills`` kills have landed.

    OMP_NUM_THREADS=1 python benchmarks/kill_campaign.py --kills 20

Timing decides where each kill lands (inside a query run, a final run, a checkpoint or store
write, right after a commit): that is the point of a campaign, and why this is a script and not
a test (the suite's kill test stops at a chosen point instead).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OVERRIDES = ['data.options={"num_samples": 1500}', "model.width=0.25", "train.epochs=3",
             "train.drop_epochs=[]", "query.seeds=2", "query.epochs_fraction=0.34",
             "query.scorer_options.dynunc.window=2", "seeds=0,1", "densities=0.3,0.6",
             "methods=Full,Random,Random+DRoP,EL2N,EL2N+DRoP,Forgetting+DRoP"]
METRICS = ["accuracy", "worst_class_accuracy", "gap", "std", "kept", "epochs", "class_counts",
           "class_recall"]


def command(out: Path) -> list[str]:
    args = [sys.executable, "-m", "droprune", "sweep", "--preset", "mnist1d-cpu", "--out",
            str(out), "--no-progress", "--threads", "1"]
    for item in OVERRIDES:
        args += ["--set", item]
    return args


def run_to_end(out: Path, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(command(out), env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def check(reference: Path, out: Path) -> list[str]:
    """What differs between a resumed folder and the reference (empty: nothing)."""
    from droprune.experiments.store import read_results

    ref = read_results(reference).set_index("run_id").sort_index()
    got = read_results(out)
    problems = []
    if got["run_id"].duplicated().any():
        problems.append(f"{int(got['run_id'].duplicated().sum())} duplicated rows")
    got = got.set_index("run_id").sort_index()
    lost = sorted(set(ref.index) - set(got.index))
    if lost:
        problems.append(f"{len(lost)} rows lost")
        return problems
    problems += [f"column {c} differs" for c in METRICS
                 if not ref[c].astype(str).equals(got[c].astype(str))]
    problems += [f"selection of {r} differs" for r in ref.index if not np.array_equal(
        np.load(reference / ref.loc[r, "selection_file"]),
        np.load(out / got.loc[r, "selection_file"]))]
    problems += [f"temporary file left: {p}" for p in out.rglob("*.tmp")]
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--min-delay", type=float, default=0.5)
    parser.add_argument("--max-delay", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from droprune.experiments.store import read_results

    work = Path(tempfile.mkdtemp(prefix="kill-campaign-"))
    env = dict(os.environ, DROPRUNE_CACHE=str(work / "cache"), OMP_NUM_THREADS="1")
    reference = run_to_end(work / "reference", env)
    print(f"reference sweep: {reference:.0f} s, {len(read_results(work / 'reference'))} rows",
          flush=True)
    rng = random.Random(args.seed)
    kills, folders, failures = 0, 0, []
    while kills < args.kills:
        # one folder: start the sweep and kill it at a random moment, again and again, until a
        # start runs to the end by itself; then compare the folder with the reference
        folders += 1
        out = work / f"killed-{folders}"
        killed_here = 0
        while True:
            proc = subprocess.Popen(command(out), env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            delay = rng.uniform(args.min_delay, args.max_delay)
            try:
                proc.wait(timeout=delay)
                break  # finished before the kill: the folder is complete
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                killed_here += 1
                rows = len(read_results(out)) if list(out.glob("results*.sqlite")) else 0
                print(f"kill {kills:2d} after {delay:4.1f} s: {rows} rows stored", flush=True)
        problems = check(work / "reference", out) if killed_here else []
        print(f"folder {folders}: {killed_here} kills, "
              f"{'; '.join(problems) if problems else 'identical to the reference'}", flush=True)
        failures += problems
    print(f"\n{kills} kills in {folders} folders; every folder resumed to the end and compared "
          f"with the uninterrupted sweep (rows lost or duplicated, metrics, kept indices, "
          f"temporary files): {len(failures)} differences")
    print("PASS" if not failures else "FAIL")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
