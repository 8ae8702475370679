"""Throughput of ``droprune.training.train`` on in-memory data against a bare PyTorch loop.

Target (issue): within 10% of the bare loop's images/s. Both run in the same process with
the same model initialisation, batch size, number of SGD steps and CPU threads, without
validation:

- bare: ``randperm`` per epoch, slice the tensors, normalise (uint8 / 255), forward,
  cross-entropy, backward, SGD step;
- trainer: ``train(...)`` with no recorders, with a recorder whose ``on_batch`` does nothing,
  and with one that does a little per-batch work (an ``index_add_`` of hits by dataset index).

Cases: the MLP (256, 256) on MNIST-1D-sized float signals (N, 1, 40) and the small CNN on
28x28 uint8 images (Fashion-MNIST-sized). Every variant is timed ``--repeats`` times in
rotation (each round starts with the next variant) and the best time is kept, both wall-clock and process CPU time (the machine is
shared: CPU time is less disturbed by other jobs than wall time; run under ``nice`` and
repeat).

Run: nice python benchmarks/bench_trainer.py [--threads 1] [--epochs 3] [--repeats 8]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.training import Recorder, TrainConfig, train


class NoopRecorder(Recorder):
    name = "noop"


class HitsRecorder(Recorder):
    """A minimal real recorder: counts correct predictions per sample."""

    name = "hits"

    def on_train_begin(self, num_samples, num_classes, epochs, device):
        self.hits = torch.zeros(num_samples, device=device)

    def on_batch(self, epoch, indices, logits, labels):
        self.hits.index_add_(0, indices, (logits.argmax(1) == labels).float())


def bare_loop(model, x_all, y_all, config: TrainConfig, seed: int) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    g = torch.Generator().manual_seed(seed)
    n, bs = x_all.shape[0], config.batch_size
    model.train()
    for _ in range(config.epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            x = x_all[idx]
            x = x.float().div_(255.0) if x.dtype == torch.uint8 else x
            loss = F.cross_entropy(model(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def run_case(name: str, dataset: LabelledDataset, model_name: str, args) -> None:
    torch.manual_seed(0)
    init = build_model(model_name, num_classes=dataset.num_classes,
                       in_channels=dataset.in_channels, input_size=dataset.sample_shape[1:])
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.01)
    labels = torch.from_numpy(dataset.labels)
    variants = {
        "bare loop": lambda m: bare_loop(m, dataset.inputs, labels, config, seed=0),
        "train()": lambda m: train(m, dataset, config, progress=False, device="cpu"),
        "train() + noop recorder": lambda m: train(m, dataset, config, progress=False,
                                                   device="cpu", recorders=[NoopRecorder()]),
        "train() + hits recorder": lambda m: train(m, dataset, config, progress=False,
                                                   device="cpu", recorders=[HitsRecorder()]),
    }
    # warm-up (allocator, kernels, lazy imports) with one epoch of each
    warm = TrainConfig(epochs=1, batch_size=args.batch_size, lr=0.01)
    bare_loop(copy.deepcopy(init), dataset.inputs, labels, warm, seed=0)
    train(copy.deepcopy(init), dataset, warm, progress=False, device="cpu")
    wall = {k: float("inf") for k in variants}
    cpu = dict(wall)
    keys = list(variants)
    for r in range(args.repeats):
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:  # rotate: no position bias
            fn = variants[key]
            model = copy.deepcopy(init)
            t0, c0 = time.perf_counter(), time.process_time()
            fn(model)
            wall[key] = min(wall[key], time.perf_counter() - t0)
            cpu[key] = min(cpu[key], time.process_time() - c0)
    images = args.epochs * len(dataset)
    print(f"\n{name}: {len(dataset)} samples {dataset.sample_shape} {dataset.inputs.dtype}, "
          f"{model_name}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{torch.get_num_threads()} thread(s), best of {args.repeats}")
    print(f"  {'':<26} {'wall img/s':>10}  {'ratio':>6}  {'CPU img/s':>10}  {'ratio':>6}")
    for key in variants:
        print(f"  {key:<26} {images / wall[key]:>10.0f}  "
              f"{wall['bare loop'] / wall[key]:>6.3f}  {images / cpu[key]:>10.0f}  "
              f"{cpu['bare loop'] / cpu[key]:>6.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--n-signals", type=int, default=32768)
    ap.add_argument("--n-images", type=int, default=2048)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    signals = LabelledDataset(torch.randn(args.n_signals, 1, 40, generator=g),
                              np.arange(args.n_signals) % 10, num_classes=10, name="signals")
    images = LabelledDataset(
        torch.randint(0, 256, (args.n_images, 1, 28, 28), generator=g, dtype=torch.uint8),
        np.arange(args.n_images) % 10, num_classes=10, name="images")
    run_case("MNIST-1D-sized float signals", signals, "mlp", args)
    run_case("Fashion-MNIST-sized uint8 images", images, "cnn2d", args)


if __name__ == "__main__":
    main()
