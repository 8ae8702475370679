"""The demo on a machine kept busy: wall time with and without one competing CPU-bound process.

Runs ``droprune demo --quick`` (or the full demo with ``--full``) in a fresh folder, with the
command's default thread policy (one torch thread, see ``droprune demo --help``), ``--repeats``
times each: alone, and beside ``python -c "while True: pass"`` started and killed by this
script. Prints the wall times and the ratio busy / alone (the target: within 2x).

    python benchmarks/bench_demo_load.py                 # --quick, 2 repeats
    python benchmarks/bench_demo_load.py --threads 2     # torch's own choice on 2 cores
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def demo_seconds(full: bool, threads: int | None, cache: Path) -> float:
    out = Path(tempfile.mkdtemp(prefix="demo-"))
    args = [sys.executable, "-m", "droprune", "demo", "--out", str(out / "demo"),
            "--no-progress"]
    if not full:
        args.append("--quick")
    if threads is not None:
        args += ["--threads", str(threads)]
    env = dict(os.environ, DROPRUNE_CACHE=str(cache))
    env.pop("OMP_NUM_THREADS", None)
    t0 = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full demo (minutes)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="--threads of the demo (default: the command's policy)")
    args = parser.parse_args(argv)
    cache = Path(tempfile.mkdtemp(prefix="demo-cache-"))
    demo_seconds(False, args.threads, cache)  # warm-up: generates and caches MNIST-1D
    alone, busy = [], []
    for _ in range(args.repeats):
        alone.append(demo_seconds(args.full, args.threads, cache))
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            busy.append(demo_seconds(args.full, args.threads, cache))
        finally:
            hog.kill()
            hog.wait()
    what = "demo" if args.full else "demo --quick"
    threads = args.threads if args.threads is not None else "default (1)"
    print(f"{what}, threads {threads}: alone {', '.join(f'{t:.0f}' for t in alone)} s; "
          f"beside a CPU-bound process {', '.join(f'{t:.0f}' for t in busy)} s")
    print(f"busy / alone (medians): {statistics.median(busy) / statistics.median(alone):.2f}x "
          f"(target: within 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
