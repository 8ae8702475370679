"""Start-up time of the ``droprune`` command: ``droprune quotas`` and ``droprune --help``.

Each command is run ``--repeats`` times as a fresh process (``python -m droprune ...``, stdout
and stderr discarded) in rotation; the script prints the median and the range of the wall
times, and which optional modules (torch, scipy, matplotlib, pandas, pyarrow, pydantic) the
command imported. ``python -X importtime -m droprune quotas ...`` shows what costs.

Run: python benchmarks/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "quotas": ["quotas", "--sizes", "5,5", "--recalls", "0.5,0.9", "--density", "0.5"],
    "--help": ["--help"],
}
HEAVY = ("torch", "scipy", "matplotlib", "pandas", "pyarrow", "pydantic")
PROBE = ("import runpy, sys; sys.argv = ['droprune'] + sys.argv[1:]\n"
         "try:\n    runpy.run_module('droprune', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), "
         "file=sys.stderr)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "droprune", *argv], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    for name, argv in COMMANDS.items():
        probe = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                               text=True, check=True)
        heavy = probe.stderr.strip().splitlines()[-1]
        t = times[name]
        print(f"droprune {name}: median {statistics.median(t):.3f} s (min {min(t):.3f}, max "
              f"{max(t):.3f}, {len(t)} runs); imports of {', '.join(HEAVY)}: {heavy}")


if __name__ == "__main__":
    main()
