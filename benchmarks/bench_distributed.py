"""Distributed throughput (2 gloo CPU ranks vs 1) and a paper-size estimate of scoring cost.

Part 1 -- throughput. The same work (``droprune.training.train``, the same global batch and
number of SGD steps; see docs/distributed.md for the batch convention) runs as

- ``1 rank``: one process, one torch thread;
- ``1 rank, 2 threads``: one process, two torch threads (the other way to use both cores);
- ``2 ranks``: ``torchrun --nproc_per_node=2``, gloo, one thread per rank.

Images/s = training samples / epoch seconds (median over epochs 1.., epoch 0 is warm-up),
measured inside ``train`` (process start, imports and rendezvous excluded). Each variant runs
``--repeats`` times in rotation and the best median is kept. CAVEAT: this machine has 2 cores
shared by everything, so 2 ranks of 1 thread use the same 2 cores as "1 rank, 2 threads",
and other jobs on the machine disturb every figure; the ratio says what DDP costs or gains
on 2 cores, not what 2 GPUs would give.

Part 2 -- paper-size estimate of the query protocol (5 query models for 10% of the schedule
for EL2N/GraNd and the validation recalls, 1 full-schedule run for Forgetting/DynUnc, plus one
full-network GraNd pass per query model). Per-sample forward+backward FLOPs are COUNTED on
the models at width 1 (``torch.utils.flop_counter.FlopCounterMode``: matmuls and
convolutions, forward + backward, 2 FLOPs per multiply-add); the per-sample CPU time of the
same forward+backward and of ghost GraNd is MEASURED here on a few samples (one thread). GPU
hours = FLOPs / an ASSUMED sustained GPU throughput (``--gpu-tflops``, default 50 TFLOP/s, an
assumption for a current data-centre GPU in mixed precision, well below its tensor-core peak;
the table prints the ResNet-50 training images/s it implies, and the GPU-hours scale as
1 / throughput); GraNd costs its measured CPU time ratio to forward+backward times the
forward+backward FLOPs. Validation after every epoch (a forward pass over the validation
split) is included; data loading and the final runs are not. The FLOP count is a lower
bound on the work: batch norm, ReLU and the optimizer step are not counted, and small
32x32 images keep a GPU further from its peak than 224x224 ones.

Run: nice python benchmarks/bench_distributed.py [--repeats 3] [--epochs 4] [--gpu-tflops 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

CASES = {  # name -> (model, input shape, samples)
    "mlp": ("mlp", (1, 40), 32768),
    "cnn2d": ("cnn2d", (3, 32, 32), 2048),
}
BATCH = 128

#: the paper's setups: (dataset, model, input, classes, train samples, val samples, epochs)
PAPER = [
    ("CIFAR-10", "vgg16_bn", (3, 32, 32), 10, 50_000, 5_000, 160),
    ("ImageNet", "resnet50", (3, 224, 224), 1000, 1_281_167, 25_000, 90),
]
QUERY_SEEDS, QUERY_FRACTION, LONG_RUNS = 5, 0.1, 1


# -- part 1: throughput --------------------------------------------------------------------------

def _dataset(case: str):
    from droprune.data.base import LabelledDataset

    _, shape, n = CASES[case]
    g = torch.Generator().manual_seed(0)
    if len(shape) == 3:
        x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
    else:
        x = torch.randn(n, *shape, generator=g)
    y = torch.randint(0, 10, (n,), generator=g).numpy()
    return LabelledDataset(x, y, num_classes=10, name=f"bench-{case}")


def worker(case: str, epochs: int) -> None:
    """Train one case (inside torchrun or alone) and print the epoch seconds (rank 0)."""
    from droprune.models import build_model
    from droprune.training import TrainConfig, train
    from droprune.training.distributed import distributed_session, is_main

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    with distributed_session():
        ds = _dataset(case)
        torch.manual_seed(0)
        model = build_model(CASES[case][0], num_classes=10, in_channels=ds.in_channels,
                            input_size=ds.sample_shape[1:])
        result = train(model, ds, TrainConfig(epochs=epochs, batch_size=BATCH, lr=0.01),
                       progress=False)
        if is_main():
            print("EPOCHS " + json.dumps([h.seconds for h in result.history]), flush=True)


def _launch(case: str, epochs: int, variant: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", BENCH_THREADS="1")
    script = [str(Path(__file__).resolve()), "--worker", case, "--epochs", str(epochs)]
    if variant == "2 ranks":
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", *script]
    else:
        cmd = [sys.executable, *script]
        if variant == "1 rank, 2 threads":
            env.update(OMP_NUM_THREADS="2", BENCH_THREADS="2")
    for attempt in range(2):  # one retry: a shared machine can lose a rendezvous
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode == 0:
            break
        print(f"[{variant} {case}: exit {done.returncode}; last lines of its output:\n"
              f"{done.stderr[-1500:]}]", file=sys.stderr)
    else:
        raise SystemExit(f"{variant} {case} failed twice")
    out = done.stdout
    seconds = json.loads(next(line for line in out.splitlines()
                              if line.startswith("EPOCHS "))[len("EPOCHS "):])
    return statistics.median(seconds[1:])


def throughput(repeats: int, epochs: int) -> None:
    variants = ["1 rank", "1 rank, 2 threads", "2 ranks"]
    print(f"Part 1: train() throughput, global batch {BATCH}, {epochs} epochs (median of epochs "
          f"1..), best of {repeats} rotated rounds; 2 cores shared by all variants")
    print(f"| case | N | {' | '.join(variants)} | 2 ranks / 1 rank | 2 ranks / 1 rank 2 threads |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for case in CASES:
        best = {v: float("inf") for v in variants}
        for r in range(repeats):
            for v in variants[r % 3:] + variants[:r % 3]:
                best[v] = min(best[v], _launch(case, epochs, v))
        n = CASES[case][2]
        rate = {v: n / best[v] for v in variants}
        cells = " | ".join(f"{rate[v]:,.0f} img/s" for v in variants)
        print(f"| {case} | {n} | {cells} | {rate['2 ranks'] / rate['1 rank']:.2f} | "
              f"{rate['2 ranks'] / rate['1 rank, 2 threads']:.2f} |", flush=True)


# -- part 2: paper-size estimate -----------------------------------------------------------------

def _measure(model_name: str, shape, classes: int, batch: int, repeats: int):
    """FLOPs per sample (forward+backward, counted) and CPU seconds per sample of
    forward+backward and of ghost GraNd (measured, median of ``repeats``)."""
    from torch.utils.flop_counter import FlopCounterMode

    from droprune.data.base import LabelledDataset
    from droprune.models import build_model
    from droprune.scoring import grand_scores

    torch.manual_seed(0)
    model = build_model(model_name, num_classes=classes, in_channels=shape[0],
                        input_size=shape[1:])
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    model.train()
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    flops = counter.get_total_flops() / batch
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            model.eval()(x)
    fwd_flops = counter.get_total_flops() / batch
    times, grand_times = [], []
    ds = LabelledDataset(x, y.numpy(), num_classes=classes, name="bench")
    for _ in range(repeats):
        model.train()
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        F.cross_entropy(model(x), y).backward()
        times.append((time.perf_counter() - t0) / batch)
        t0 = time.perf_counter()
        grand_scores(model, ds, method="ghost", chunk_size=batch)
        grand_times.append((time.perf_counter() - t0) / batch)
    return flops, fwd_flops, statistics.median(times), statistics.median(grand_times)


def estimate(gpu_tflops: float, repeats: int) -> None:
    print(f"\nPart 2: query-protocol cost at paper size ({QUERY_SEEDS} query models x "
          f"{QUERY_FRACTION:.0%} of the schedule + {LONG_RUNS} full run + {QUERY_SEEDS} GraNd "
          f"passes + validation every epoch); ASSUMED sustained GPU throughput "
          f"{gpu_tflops:g} TFLOP/s")
    rows = []
    for data, name, shape, classes, n, n_val, epochs in PAPER:
        batch = 8 if shape[-1] <= 64 else 2
        flops, fwd, t_fb, t_grand = _measure(name, shape, classes, batch, repeats)
        grand_ratio = t_grand / t_fb
        short_epochs = max(1, int(QUERY_FRACTION * epochs))
        train_epochs = QUERY_SEEDS * short_epochs + LONG_RUNS * epochs
        train_flops = train_epochs * n * flops
        val_flops = train_epochs * n_val * fwd
        grand_flops = QUERY_SEEDS * n * flops * grand_ratio
        total = train_flops + val_flops + grand_flops
        gpu_h = total / (gpu_tflops * 1e12) / 3600
        cpu_h = (train_epochs * n * t_fb + QUERY_SEEDS * n * t_grand
                 + train_epochs * n_val * t_fb * fwd / flops) / 3600
        rows.append((data, name, flops, fwd, t_fb, grand_ratio, train_epochs, train_flops,
                     grand_flops, val_flops, total, gpu_h, cpu_h, flops / t_fb))
    print("| setup | fwd+bwd GFLOP/sample (counted) | fwd GFLOP/sample | CPU s/sample fwd+bwd "
          "(measured, 1 thread) | CPU GFLOP/s implied | GraNd / fwd+bwd (measured) | "
          "training epochs | PFLOP train / GraNd / val | PFLOP total | GPU-hours | "
          "CPU core-hours |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (data, name, flops, fwd, t_fb, ratio, ep, tr, gr, va, total, gpu_h, cpu_h,
         rate) in rows:
        print(f"| {data} / {name} | {flops / 1e9:.3f} | {fwd / 1e9:.3f} | {t_fb:.4f} | "
              f"{rate / 1e9:.1f} | {ratio:.2f} | {ep} | {tr / 1e15:.1f} / {gr / 1e15:.1f} / "
              f"{va / 1e15:.2f} | {total / 1e15:.1f} | {gpu_h:.2f} | {cpu_h:,.0f} |",
              flush=True)
    r50 = next(r for r in rows if r[1] == "resnet50")
    print(f"The assumed {gpu_tflops:g} TFLOP/s means {gpu_tflops * 1e12 / r50[2]:,.0f} ResNet-50 "
          f"training images/s per GPU at 224x224. Query runs, the full run and GraNd are "
          f"data-parallel: wall time ~ GPU-hours / number of GPUs (DDP); k-center (not "
          f"included) is not.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--gpu-tflops", type=float, default=50.0)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-estimate", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.epochs)
        return
    torch.set_num_threads(1)
    if not args.skip_throughput:
        throughput(args.repeats, args.epochs)
    if not args.skip_estimate:
        estimate(args.gpu_tflops, args.repeats)


if __name__ == "__main__":
    main()
