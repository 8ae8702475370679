"""Many one-sample classes under the default floor: time and peak memory of ``droprune.prune``
(the API) and of ``droprune prune --labels --recalls --out`` (the command), each in a fresh
process, at 10^4, 10^5 and 10^6 classes.

The data of K classes: labels 0..K-1 once each plus 1,000 more samples of each of the first 10
classes (N = K + 10,000), shuffled; a recall per class uniform in [0.3, 1] (a ``recalls.csv``
for the command). Density 0.5 by default: the half-density floor rounded up (one sample of
every one-sample class) does not fit, so the default floor is rounded down (issue #22: this
was refused, blaming a ``min_density`` the caller never set).

Each case runs in a child process; its wall time is measured around the call (the API) or the
whole process (the command: start-up, reading both files, pruning, writing the 7 outputs), and
its peak memory is the child's maximum resident set size (``ru_maxrss``, read by the child at
exit; it includes the interpreter and numpy / pandas, about 100 MB). Prints one line per case.

    python benchmarks/bench_many_classes.py [--classes 10000,100000,1000000] [--density 0.5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: the child of the API case: argv = labels.npy, recalls.npy, density; prints seconds and kept
API = """
import sys, time, warnings
import numpy as np
import droprune
labels, recalls = np.load(sys.argv[1]), np.load(sys.argv[2])
t = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    result = droprune.prune(labels, float(sys.argv[3]), recalls=recalls)
print(time.perf_counter() - t, result.kept.size)
"""
#: the child of the command case: ``droprune`` with argv
COMMAND = """
import sys
from droprune.cli import main
sys.exit(main(sys.argv[1:]))
"""
#: appended to each child: its own peak resident memory (kB on Linux) on stderr, at exit
PEAK = """
import atexit, resource, sys
atexit.register(lambda: print("peak-rss-kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                              file=sys.stderr))
"""


def make_data(folder: Path, k: int, seed: int = 0) -> tuple[Path, Path, Path, int]:
    """labels.npy, recalls.npy, recalls.csv of ``k`` classes in ``folder``; the sample count."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.concatenate([np.arange(k), np.repeat(np.arange(10), 1000)]))
    recalls = rng.uniform(0.3, 1.0, k).round(4)
    paths = folder / "labels.npy", folder / "recalls.npy", folder / "recalls.csv"
    np.save(paths[0], labels)
    np.save(paths[1], recalls)
    with open(paths[2], "w") as fh:
        fh.write("class,recall\n")
        fh.writelines(f"{c},{r}\n" for c, r in enumerate(recalls.tolist()))
    return (*paths, labels.size)


def run_child(code: str, args: list[str]) -> tuple[float, float, str, int]:
    """Run ``python -c code args`` in a fresh process: wall seconds, its peak resident memory
    in MB, its output (stdout, then the end of stderr) and exit code."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK + code, *args], capture_output=True,
                          text=True, env=env)
    seconds = time.perf_counter() - t
    peaks = [line.split()[1] for line in proc.stderr.splitlines()
             if line.startswith("peak-rss-kb ")]
    peak = int(peaks[-1]) / 1024 if peaks else float("nan")
    return seconds, peak, proc.stdout + proc.stderr[-500:], proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", default="10000,100000,1000000",
                   help="comma-separated class counts")
    p.add_argument("--density", type=float, default=0.5)
    args = p.parse_args(argv)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs; "
          f"density {args.density}")
    for k in (int(c) for c in args.classes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            labels, recalls, csv, n = make_data(Path(tmp), k)
            wall, peak, out, code = run_child(API, [str(labels), str(recalls),
                                                    str(args.density)])
            if code != 0:
                print(f"K={k:>9,}: API failed: {out.strip()[-300:]}")
            else:
                inner, kept = out.split()[:2]
                print(f"K={k:>9,}, N={n:>9,}: API {float(inner):7.2f} s in the call "
                      f"({wall:.2f} s with start-up), peak RSS {peak:7.0f} MB, kept {kept}")
            wall, peak, out, code = run_child(COMMAND, [
                "prune", "--labels", str(labels), "--recalls", str(csv),
                "--density", str(args.density), "--out", str(Path(tmp) / "out")])
            state = "ok" if code == 0 else f"exit {code}: {out.strip()[-300:]}"
            print(f"K={k:>9,}, N={n:>9,}: command {wall:7.2f} s, peak RSS {peak:7.0f} MB ({state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
