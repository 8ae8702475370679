"""Overhead of the training-dynamics recorders on a training epoch.

Target (issue): recording forgetting, dynamic uncertainty, EL2N and AUM traces all at once costs
under 5% of a plain training epoch. Baseline measured in the same run: the same epoch through
``droprune.training.train`` (same model initialisation, same seed, same data order) without
recorders. Plain and recorded epochs are interleaved ``--repeats`` times and the medians are
compared (the machine is shared, so single timings are noisy). A second, steadier figure: the
recorders alone, fed the same number of batches of random logits, as a fraction of the plain
epoch.

Run: nice python benchmarks/bench_recorders.py [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
import torch

from droprune.data.base import LabelledDataset
from droprune.data.registry import load_dataset
from droprune.models import build_model
from droprune.scoring import SCORERS, make_recorders
from droprune.training import TrainConfig, train

RECORDERS = [n for n, s in SCORERS.items() if s.kind == "recorder"]


def cifar_like(n: int = 2000) -> LabelledDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    return LabelledDataset(x, np.arange(n) % 10, 10, name="random-cifar",
                           mean=(0.5,) * 3, std=(0.25,) * 3)


def one_epoch(model: torch.nn.Module, data: LabelledDataset, recorders: list) -> float:
    config = TrainConfig(epochs=1, batch_size=128, lr=0.05)
    t0 = time.perf_counter()
    train(copy.deepcopy(model), data, config, seed=0, recorders=recorders, progress=False,
          device="cpu")
    return time.perf_counter() - t0


def recorders_alone(n: int, k: int, batch_size: int, repeats: int) -> float:
    """Median seconds for the four recorders to take one epoch of batches of random logits."""
    g = torch.Generator().manual_seed(1)
    order = torch.randperm(n, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    batches = [(idx, torch.randn(idx.numel(), k, generator=g), y[idx])
               for idx in order.split(batch_size)]
    times = []
    for _ in range(repeats):
        recs = make_recorders(RECORDERS)
        for r in recs:
            r.on_train_begin(n, k, 1, torch.device("cpu"))
        t0 = time.perf_counter()
        for idx, z, yy in batches:
            for r in recs:
                r.on_batch(0, idx, z, yy)
        for r in recs:
            r.on_epoch_end(0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    mnist1d = load_dataset("mnist1d").train
    cases = [
        ("mlp", mnist1d, {}),
        ("cnn1d", mnist1d, {}),
        ("cnn2d", cifar_like(), {}),
    ]
    print(f"recorders: {', '.join(RECORDERS)} (all at once); batch 128; torch threads "
          f"{args.threads}; medians of {args.repeats} interleaved runs")
    print(f"{'model':8s} {'data':14s} {'N':>6s} {'plain s':>9s} {'recorded s':>11s} "
          f"{'overhead':>9s} {'alone s':>8s} {'alone/plain':>11s}")
    for name, data, kwargs in cases:
        torch.manual_seed(0)
        model = build_model(name, num_classes=data.num_classes, in_channels=data.in_channels,
                            input_size=data.sample_shape[1:], **kwargs)
        one_epoch(model, data, [])  # warm-up
        plain, recorded = [], []
        for _ in range(args.repeats):
            plain.append(one_epoch(model, data, []))
            recorded.append(one_epoch(model, data, make_recorders(RECORDERS)))
        p, r = statistics.median(plain), statistics.median(recorded)
        alone = recorders_alone(len(data), data.num_classes, 128, args.repeats)
        print(f"{name:8s} {data.name:14s} {len(data):6d} {p:9.3f} {r:11.3f} "
              f"{100 * (r - p) / p:8.1f}% {alone:8.4f} {100 * alone / p:10.2f}%")


if __name__ == "__main__":
    main()
