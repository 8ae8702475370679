"""Full-network GraNd: each method against one batched forward+backward pass, and against the
per-sample loop, with agreement.

Target (issue #20): exact GraNd over all parameters on ``cnn2d`` and a width-reduced
``resnet18`` at most 1.5x one batched forward+backward pass over the same samples (median of
repeats, one thread), matching a per-sample loop to 1e-4 relative.

Baseline measured in the same run: forward + cross-entropy + ``backward()`` (parameter
gradients) over the same samples in batches of ``--chunk``, model in eval mode (as GraNd; the
train-mode figure is printed too). The per-sample loop (one backward per sample, the paper's
method minus its per-sample data loader) runs on the first ``--loop-samples`` samples only and
is extrapolated per sample to all of them (said in the table). Every method runs ``--repeats``
times, interleaved with the baseline (the machine is shared and noisy): ``ratio`` is the median
of the per-round ratios (method time / baseline time of the same round) and ``range`` their
minimum and maximum. Agreement: max relative difference of each method's scores against the
loop's on the loop's samples.

Models are built by ``droprune.models.build_model`` on CIFAR-shaped inputs (3x32x32 uint8,
random pixels, 10 classes); batch-norm running statistics are set by a few train-mode forward
passes first, so eval-mode batch norm is not the identity.

Run: nice python benchmarks/bench_grand.py --threads 1 [--n 512] [--chunk 128] [--repeats 7]
     [--models cnn2d:1,cnn2d:0.25,resnet18:0.25] [--methods ghost,vmap]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.scoring.grand import grand_auto_method, grand_scores

MODELS = "cnn2d:1,cnn2d:0.25,resnet18:0.25"
METHODS = "ghost,vmap"


def cifar_like(n: int) -> LabelledDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    return LabelledDataset(x, np.arange(n) % 10, 10, name="random-cifar",
                           mean=(0.5,) * 3, std=(0.25,) * 3)


def forward_backward(model: torch.nn.Module, data: LabelledDataset, chunk: int,
                     train_mode: bool) -> Callable[[], None]:
    x, y = data.to_float(data.inputs), torch.from_numpy(data.labels)

    def run() -> None:
        model.train(train_mode)
        for s in range(0, len(data), chunk):
            F.cross_entropy(model(x[s:s + chunk]), y[s:s + chunk]).backward()
        model.zero_grad(set_to_none=True)
        model.eval()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="samples scored")
    ap.add_argument("--chunk", type=int, default=128, help="batch / chunk size")
    ap.add_argument("--loop-samples", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default=MODELS, help="name:width,... (default %(default)s)")
    ap.add_argument("--methods", default=METHODS, help="batched methods timed (default "
                    "%(default)s; the loop always runs, as the reference)")
    args = ap.parse_args()
    models = [(m.split(":")[0], float(m.split(":")[1])) for m in args.models.split(",")]
    methods = tuple(args.methods.split(","))
    torch.set_num_threads(args.threads)
    data = cifar_like(args.n)
    loop_idx = np.arange(min(args.loop_samples, args.n))
    print(f"N={args.n} CIFAR-shaped samples, chunk/batch {args.chunk}, torch threads "
          f"{args.threads}, medians of {args.repeats} interleaved rounds; ratio = median over "
          f"rounds of (method s / fwd+bwd s of the same round), range = min-max; loop timed on "
          f"{loop_idx.size} samples and extrapolated per sample to N")
    print(f"{'model':15s} {'params':>8s} {'fwd+bwd s':>9s} {'(train)':>8s} {'method':>6s} "
          f"{'s':>8s} {'ratio':>6s} {'range':>11s} {'max rel diff':>12s}")
    for name, width in models:
        torch.manual_seed(0)
        model = build_model(name, num_classes=10, in_channels=3, input_size=(32, 32),
                            width=width)
        with torch.no_grad():  # realistic running statistics for eval-mode batch norm
            model.train()
            for s in range(0, args.n, args.chunk):
                model(data.to_float(data.inputs[s:s + args.chunk]))
        model.eval()
        runs: dict[str, Callable[[], object]] = {
            "fwd+bwd": forward_backward(model, data, args.chunk, train_mode=False),
            "fwd+bwd train": forward_backward(model, data, args.chunk, train_mode=True),
            "loop": lambda: grand_scores(model, data, method="loop", indices=loop_idx),
        }
        for method in methods:
            runs[method] = (lambda m=method: grand_scores(model, data, method=m,
                                                          chunk_size=args.chunk))
        times: dict[str, list[float]] = {k: [] for k in runs}
        outputs: dict[str, object] = {}
        for k, fn in runs.items():  # warm-up (and the scores for the agreement check)
            outputs[k] = fn()
        for _ in range(args.repeats):
            for k, fn in runs.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        base = med["fwd+bwd"]
        per_round = {k: [t / b for t, b in zip(v, times["fwd+bwd"])] for k, v in times.items()}
        reference = np.asarray(outputs["loop"])
        params = sum(p.numel() for p in model.parameters())
        label = f"{name} w{width:g}"
        scale = args.n / loop_idx.size  # the loop ran on a subset: extrapolate per sample
        rows = [(m, med[m], per_round[m], float(np.max(np.abs(
            np.asarray(outputs[m])[loop_idx] / reference - 1)))) for m in methods]
        rows.append(("loop*", med["loop"] * scale, [r * scale for r in per_round["loop"]], 0.0))
        for i, (m, sec, ratios, diff) in enumerate(rows):
            head = (f"{label:15s} {params:8d} {base:9.3f} {med['fwd+bwd train']:8.3f}" if i == 0
                    else " " * 43)
            diff_text = "(reference)" if m == "loop*" else f"{diff:.1e}"
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{head} {m:>6s} {sec:8.3f} {statistics.median(ratios):6.2f} {spread:>11s} "
                  f"{diff_text:>12s}")
        print(" " * 43 + f" auto = {grand_auto_method(model)}", flush=True)
    print("loop* = per-sample loop, extrapolated from its subset to N samples")


if __name__ == "__main__":
    main()
