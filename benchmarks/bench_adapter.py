"""Training throughput on the user's own data: an adapted ``TensorDataset`` against droprune's
own in-memory ``LabelledDataset`` holding the same tensors.

Target (issue "Prune your own data"): an adapted ``TensorDataset`` within 10% of the
``LabelledDataset`` (``droprune.data.as_labelled`` holds its tensors in memory: batches are
sliced, no per-item Python). Also shown: a ``Subset`` of it (what ``random_split`` returns; its
rows are gathered once) and a plain map-style ``Dataset`` of ``(x, y)`` items (the lazy
per-item path, for contrast).

Every variant is ``train(model, data, config)`` from the same initial weights, batch size,
number of SGD steps and CPU threads, without validation, so the time includes the conversion
of the data. Variants are timed ``--repeats`` times in rotation (each round starts with the
next variant); the ratio to the ``LabelledDataset`` is taken within each round and reported
as median [min, max] over rounds, with the images/s range, for wall-clock time and for the
process's CPU time (the machine is shared: CPU time is less disturbed by other jobs; run under
``nice`` and compare ratios rather than absolute figures).

Run: nice python benchmarks/bench_adapter.py [--threads 1] [--epochs 2] [--repeats 7]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.training import TrainConfig, train


class Pairs(Dataset):
    """A plain map-style dataset of (x, y) items: the lazy per-item path."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], int(self.y[i])


def run_case(name: str, x: torch.Tensor, y: torch.Tensor, model_name: str, args) -> None:
    k = int(y.max()) + 1
    own = LabelledDataset(x, y.numpy(), num_classes=k, name=name)
    torch.manual_seed(0)
    init = build_model(model_name, num_classes=k, in_channels=own.in_channels,
                       input_size=own.sample_shape[1:])
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.01)
    everything = np.arange(len(x))
    variants = {
        "LabelledDataset": lambda: own,
        "TensorDataset": lambda: TensorDataset(x, y),
        "Subset(TensorDataset)": lambda: Subset(TensorDataset(x, y), everything),
    }
    if not args.no_lazy:
        variants["map-style Dataset (lazy)"] = lambda: Pairs(x, y)
    warm = TrainConfig(epochs=1, batch_size=args.batch_size, lr=0.01)
    for make in variants.values():  # warm-up: allocator, kernels, lazy imports
        train(copy.deepcopy(init), make(), warm, progress=False, device="cpu")
    wall: dict[str, list[float]] = {key: [] for key in variants}
    cpu: dict[str, list[float]] = {key: [] for key in variants}
    keys = list(variants)
    for r in range(args.repeats):
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:  # rotate: no position bias
            model = copy.deepcopy(init)
            t0, c0 = time.perf_counter(), time.process_time()
            train(model, variants[key](), config, progress=False, device="cpu")
            wall[key].append(time.perf_counter() - t0)
            cpu[key].append(time.process_time() - c0)
    images = args.epochs * len(x)
    print(f"\n{name}: {len(x)} samples {tuple(x.shape[1:])} {x.dtype}, {model_name}, batch "
          f"{args.batch_size}, {args.epochs} epochs, {torch.get_num_threads()} thread(s), "
          f"{args.repeats} rounds; ratio = LabelledDataset time / variant time (> 1: faster)")
    for clock, times in (("wall", wall), ("CPU", cpu)):
        base = np.asarray(times["LabelledDataset"])
        print(f"  {clock + ' clock':<26} {'img/s median [min, max]':>28}   "
              f"{'ratio median [min, max]':>26}")
        for key in variants:
            t = np.asarray(times[key])
            rate, ratio = images / t, base / t
            print(f"  {key:<26} {np.median(rate):>8.0f} [{rate.min():>7.0f}, "
                  f"{rate.max():>7.0f}]   {np.median(ratio):>10.3f} [{ratio.min():.3f}, "
                  f"{ratio.max():.3f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--n-signals", type=int, default=16384)
    ap.add_argument("--n-images", type=int, default=2048)
    ap.add_argument("--no-lazy", action="store_true", help="skip the lazy per-item variant")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    signals = torch.randn(args.n_signals, 1, 40, generator=g)
    run_case("signals", signals, torch.randint(0, 10, (args.n_signals,), generator=g), "mlp",
             args)
    images = torch.randint(0, 256, (args.n_images, 1, 28, 28), dtype=torch.uint8, generator=g)
    run_case("images", images, torch.randint(0, 10, (args.n_images,), generator=g), "cnn2d",
             args)


if __name__ == "__main__":
    main()
