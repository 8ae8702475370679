"""``droprune prune`` on a large label file vs the API call it wraps, measured in one run.

Generates 10^6 labels over 1,000 classes (and a recalls CSV), then times, over ``--repeats``
rounds: ``droprune.prune`` on the arrays (the API), and the command ``droprune prune --labels
--recalls --out`` in a fresh process (start-up, reading both files, pruning, writing the seven
outputs including the figure). Prints each round and the medians with ranges.

    python benchmarks/bench_cli_prune.py [--n 1000000] [--classes 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10**6)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    import droprune

    rng = np.random.default_rng(0)
    labels = rng.integers(0, args.classes, args.n)
    recalls = rng.uniform(0.3, 1.0, args.classes).round(4)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "labels.npy", labels)
        (folder / "recalls.csv").write_text("class,recall\n" + "".join(
            f"{k},{r}\n" for k, r in enumerate(recalls)))
        api, cli = [], []
        for i in range(args.repeats):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                droprune.prune(labels, 0.3, recalls=recalls)
                api.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "droprune", "prune", "--labels",
                            str(folder / "labels.npy"), "--recalls", str(folder / "recalls.csv"),
                            "--density", "0.3", "--out", str(folder / f"out{i}")],
                           check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
            print(f"round {i}: API {api[-1]:.2f} s, command {cli[-1]:.2f} s")
    print(f"{args.n:,} labels, {args.classes} classes: API median {statistics.median(api):.2f} s "
          f"[{min(api):.2f}-{max(api):.2f}], command median {statistics.median(cli):.2f} s "
          f"[{min(cli):.2f}-{max(cli):.2f}] (start-up, reading, writing the 7 outputs included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
