"""Kill-and-resume campaign: SIGKILL a sweep at random points, resume, compare.

A tiny MNIST-1D sweep (6 methods x 2 densities x 2 seeds = 26 final runs, with query models) is
run once without interruption (the reference), then again in a fresh folder where the
``droprune sweep`` process is SIGKILLed ``--kills`` times at random moments (uniform in
``[--min-delay, --max-delay]`` seconds after each start, seeded) and restarted until it
finishes. It then checks: no row lost, none duplicated, every stored metric and every kept-index
file identical to the reference, and no temporary file left anywhere in the folder.

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--min-delay", type=float, default=2.0)
    parser.add_argument("--max-delay", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from droprune.experiments.store import read_results

    work = Path(tempfile.mkdtemp(prefix="kill-campaign-"))
    env = dict(os.environ, DROPRUNE_CACHE=str(work / "cache"), OMP_NUM_THREADS="1")
    reference = run_to_end(work / "reference", env)
    print(f"reference sweep: {reference:.0f} s", flush=True)
    rng = random.Random(args.seed)
    out = work / "killed"
    kills, finished_early = 0, 0
    while kills < args.kills:
        proc = subprocess.Popen(command(out), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        delay = rng.uniform(args.min_delay, args.max_delay)
        try:
            proc.wait(timeout=delay)
            finished_early += 1  # the sweep ended before this kill: start over in a new folder
            out = work / f"killed-{finished_early}"
            continue
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            rows = len(read_results(out)) if list(out.glob("results*.sqlite")) else 0
            print(f"kill {kills:2d} after {delay:4.1f} s: {rows} rows stored", flush=True)
    resume = run_to_end(out, env)
    ref = read_results(work / "reference").set_index("run_id").sort_index()
    got = read_results(out)
    duplicated = int(got["run_id"].duplicated().sum())
    got = got.set_index("run_id").sort_index()
    lost = sorted(set(ref.index) - set(got.index))
    differing = [c for c in METRICS if not ref[c].astype(str).equals(got[c].astype(str))]
    selections = [r for r in ref.index if not np.array_equal(
        np.load(work / "reference" / ref.loc[r, "selection_file"]),
        np.load(out / got.loc[r, "selection_file"]))] if not lost else ["(rows lost)"]
    leftovers = [p for p in out.rglob("*") if p.is_file() and (
        p.name.endswith(".tmp") or p.name.startswith(".") and "tmp" in p.name)]
    print(f"\n{kills} kills (plus {finished_early} sweeps that ended before their kill), "
          f"final resume {resume:.0f} s")
    print(f"rows: reference {len(ref)}, after the campaign {len(got)}; lost {len(lost)}, "
          f"duplicated {duplicated}")
    print(f"metric columns differing from the reference: {differing or 'none'}")
    print(f"kept-index files differing: {len(selections)}")
    print(f"temporary files left: {len(leftovers)} {[str(p) for p in leftovers][:5]}")
    ok = not lost and not duplicated and not differing and not selections and not leftovers
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
