"""Reading speed of the in-memory dataset readers against the raw file reads they build on.

Run:  nice python benchmarks/bench_data.py [--repeats 3]

- Fashion-MNIST from the real gzipped idx files of the Debian package (skipped with a note if
  they are absent): ``load_fashion_mnist`` (decompress, validate, parse, per-channel stats)
  against the baseline ``gzip.open(f).read()`` of the same four files.
- CIFAR-10 from full-size batches (50 000 + 10 000 random images written in the official
  pickle format into a temporary folder first; protocol 4, whose bytes opcodes load like the
  Python 2 strings of the official files): ``load_cifar10`` (restricted unpickling,
  validation, concatenation, stats) against the baseline plain
  ``pickle.load(f, encoding="bytes")`` of the same six files, and against that load plus the
  one ``np.concatenate`` any reader needs to return a single training array.
- MNIST-1D (10 000 samples): generation against a load from the cache.

Each timing is the best of ``--repeats`` runs (the machine is shared: take the minimum).
"""

from __future__ import annotations

import argparse
import gzip
import pickle
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def write_cifar10(folder: Path) -> None:
    """50 000 train + 10 000 test random images in the official CIFAR-10 python format."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
             "test_batch"]
    for name in names:
        batch = {b"batch_label": name.encode(),
                 b"labels": rng.integers(0, 10, 10000).tolist(),
                 b"data": rng.integers(0, 256, (10000, 3072), dtype=np.uint8),
                 b"filenames": [f"{i}.png".encode() for i in range(10000)]}
        with (folder / name).open("wb") as fh:
            pickle.dump(batch, fh, protocol=4)
    with (folder / "batches.meta").open("wb") as fh:
        pickle.dump({b"label_names": [f"class{k}".encode() for k in range(10)],
                     b"num_cases_per_batch": 10000, b"num_vis": 3072}, fh, protocol=2)


def row(label: str, ours: float, base: float) -> str:
    return f"{label:<44} {ours:8.3f} s   baseline {base:8.3f} s   ratio {ours / base:8.3g}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from droprune.data import load_cifar10, load_fashion_mnist, load_mnist1d
    from droprune.data.idx import DEBIAN_FASHION_MNIST

    files = sorted(DEBIAN_FASHION_MNIST.glob("*-ubyte.gz"))
    if len(files) == 4:
        def raw_gzip() -> None:
            for f in files:
                with gzip.open(f) as fh:
                    fh.read()

        base = best_of(raw_gzip, args.repeats)
        ours = best_of(load_fashion_mnist, args.repeats)
        print(row("fashion-mnist (real .gz idx, 70k images)", ours, base))
    else:
        print(f"fashion-mnist: files not found in {DEBIAN_FASHION_MNIST}; skipped")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cifar-10-batches-py"
        t0 = time.perf_counter()
        write_cifar10(folder)
        print(f"(wrote fabricated CIFAR-10 batches in {time.perf_counter() - t0:.1f} s)")
        batch_files = sorted(folder.glob("*_batch*"))

        def raw_pickle() -> None:
            for f in batch_files:
                with f.open("rb") as fh:
                    pickle.load(fh, encoding="bytes")

        def raw_pickle_concat() -> None:
            parts = []
            for f in batch_files:
                with f.open("rb") as fh:
                    parts.append(pickle.load(fh, encoding="bytes")[b"data"])
            np.concatenate(parts[:5]).reshape(-1, 3, 32, 32)

        base = best_of(raw_pickle, args.repeats)
        base_concat = best_of(raw_pickle_concat, args.repeats)
        ours = best_of(lambda: load_cifar10(tmp), args.repeats)
        print(row("cifar10 (official pickles, 60k images)", ours, base))
        print(row("cifar10 vs pickle.load + np.concatenate", ours, base_concat))

    with tempfile.TemporaryDirectory() as tmp:
        generate = best_of(lambda: load_mnist1d(cache=False), 1)
        load_mnist1d(tmp)  # fill the cache
        cached = best_of(lambda: load_mnist1d(tmp), args.repeats)
        print(row("mnist1d 10k: cached load vs generation", cached, generate))


if __name__ == "__main__":
    main()
