"""Time and peak memory of the out-of-core kept list (DuckDB) vs the in-memory droprune.prune.

Generates manifests (Parquet: ``label`` in 1,000 classes, ``path`` like
``train/c0123/000012345678.jpg``, a float ``el2n`` score) of 10^6 and 10^7 rows (and 10^8
with ``--big``), and a recalls file; then, on the same data, in one run:

- out of core: ``droprune.outofcore.prune_manifest`` -> ``kept.parquet`` (index, label,
  class_name, path), DuckDB memory_limit 2GB (``--memory-limit``);
- in memory: read the label, score and path columns with pyarrow, ``droprune.prune``, write
  the kept rows (index, label, path) with pyarrow (skipped at 10^8 unless ``--in-memory-big``).

Each run is a fresh Python process (``--run`` below), so its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, Python and imports included) is its own.
Methods: Random+DRoP (hash order) and EL2N+DRoP (by score). Repeats give ranges.

Run: nice -n 10 python benchmarks/bench_outofcore.py [--rows 1e6 1e7] [--repeats 3] [--big]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

K = 1000


def generate(path: Path, n: int) -> float:
    """A manifest of ``n`` rows written by DuckDB (streamed; labels skewed over K classes)."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"""COPY (
        SELECT CAST(floor(pow((hash(i) % 1000003) / 1000003.0, 1.5) * {K}) AS INTEGER) AS label,
               'train/c' || lpad(CAST(i % {K} AS VARCHAR), 4, '0') || '/'
                   || lpad(CAST(i AS VARCHAR), 12, '0') || '.jpg' AS path,
               (hash(i * 7 + 1) % 1000000) / 1000000.0 AS el2n
        FROM range({n}) t(i)) TO '{path}' (FORMAT PARQUET)""")
    con.close()
    return time.perf_counter() - t0


def recalls_file(path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    rec = rng.beta(5, 2, K)
    path.write_text("class,recall\n" + "".join(f"{k},{r:.4f}\n" for k, r in enumerate(rec)))


def run_one(mode: str, manifest: Path, recalls: Path, method: str, out: Path,
            memory_limit: str) -> dict:
    """In this process: one pruning; time and peak RSS."""
    t0 = time.perf_counter()
    if mode == "ooc":
        from droprune.outofcore import prune_manifest

        result = prune_manifest(manifest, 0.3, out / "kept.parquet", recalls=recalls,
                                method=method, memory_limit=memory_limit)
        kept = result.kept
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        import droprune

        table = pq.read_table(manifest, columns=["label", "path", "el2n"])
        labels = table.column("label").to_numpy()
        rec = droprune.read_recalls(recalls, labels=labels)
        scores = table.column("el2n").to_numpy() if method != "Random+DRoP" else None
        result = droprune.prune(labels, 0.3, recalls=rec.recalls, scores=scores, method=method)
        kept = result.kept.size
        pq.write_table(pa.table({"index": result.kept, "label": labels[result.kept],
                                 "path": table.column("path").cast(pa.large_string())
                                 .take(result.kept)}),  # > 2 GB of text at 10^8 rows
                       out / "kept.parquet")
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {"mode": mode, "method": method, "seconds": seconds, "peak_mib": peak, "kept": kept}


def child(mode: str, manifest: Path, recalls: Path, method: str, memory_limit: str) -> dict:
    with tempfile.TemporaryDirectory(dir=manifest.parent) as out:
        cmd = [sys.executable, __file__, "--run", mode, "--manifest", str(manifest),
               "--recalls", str(recalls), "--method", method, "--out", out,
               "--memory-limit", memory_limit]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            return {"mode": mode, "method": method, "error": done.stderr.strip()[-300:]}
        return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(values: list[float], unit: str) -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo:.1f}{unit}" if len(values) == 1 or hi - lo < 0.05 else \
        f"{lo:.1f}-{hi:.1f}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=float, nargs="+", default=[1e6, 1e7])
    ap.add_argument("--big", action="store_true", help="also 10^8 rows (~2-3 GB of Parquet)")
    ap.add_argument("--in-memory-big", action="store_true",
                    help="also run the in-memory path at 10^8 rows")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--methods", nargs="+", default=["Random+DRoP", "EL2N+DRoP"])
    ap.add_argument("--modes", nargs="+", default=["ooc", "memory"],
                    choices=("ooc", "memory"), help="out of core, in memory, or both")
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--dir", type=Path, default=None, help="where manifests are written")
    ap.add_argument("--run", choices=("ooc", "memory"), help=argparse.SUPPRESS)
    ap.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--recalls", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run, args.manifest, args.recalls, args.method, args.out,
                                 args.memory_limit)))
        return
    rows = [int(r) for r in args.rows] + ([10**8] if args.big else [])
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-ooc-") as folder:
        folder = Path(folder)
        recalls = folder / "recalls.csv"
        recalls_file(recalls)
        print(f"{'rows':>11} {'method':<12} {'path':<12} {'time':>14} {'peak RSS':>16}  runs")
        for n in rows:
            manifest = folder / f"manifest_{n}.parquet"
            seconds = generate(manifest, n)
            size = os.path.getsize(manifest) / 2**20
            print(f"# {n} rows: manifest {size:.0f} MiB, generated in {seconds:.1f} s",
                  flush=True)
            for method in args.methods:
                for mode in args.modes:
                    if mode == "memory" and n >= 10**8 and not args.in_memory_big:
                        print(f"{n:>11} {method:<12} {'in memory':<12} {'not run':>14}")
                        continue
                    runs = [child(mode, manifest, recalls, method, args.memory_limit)
                            for _ in range(args.repeats if n < 10**8 else 1)]
                    ok = [r for r in runs if "error" not in r]
                    name = "out of core" if mode == "ooc" else "in memory"
                    print(f"{n:>11} {method:<12} {name:<12} "
                          f"{fmt([r['seconds'] for r in ok], ' s'):>14} "
                          f"{fmt([r['peak_mib'] for r in ok], ' MiB'):>16}  {len(ok)}"
                          + "".join(f"  error: {r['error']}" for r in runs if "error" in r),
                          flush=True)
            manifest.unlink()


if __name__ == "__main__":
    main()
