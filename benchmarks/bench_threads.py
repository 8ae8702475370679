"""Training speed of the demo's model with 1 vs 2 torch threads, on an idle and a busy CPU.

Decides the ``droprune`` command's default ``--threads``. The loop is ``bench_trainer``'s bare
PyTorch loop (forward, cross-entropy, backward, SGD step) of the demo's model: the (256, 256)
MLP on MNIST-1D-sized float signals (N, 1, 40), batch 128. Each measurement trains for
``--seconds`` of wall time (so a pathological setting cannot run for minutes) and reports
batches/s. Conditions:

- idle: nothing else started by this script (other users of the machine still run);
- busy: one competing CPU-bound process, ``python -c "while True: pass"``, started before
  the measurement and killed after it.

Every (condition, threads) pair is measured ``--repeats`` times in rotation; the script prints
the range (min - max) of batches/s and of the 1-thread / 2-thread ratio per condition.

Run: python benchmarks/bench_threads.py [--repeats 5] [--seconds 1.5]
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from droprune.models import build_model

THREADS = (1, 2)
CONDITIONS = ("idle", "busy")


def batches_per_second(model, x, y, threads: int, seconds: float, batch_size: int) -> float:
    """Train ``model`` on random batches with ``threads`` torch threads for ``seconds``."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        g = torch.Generator().manual_seed(0)
        n, done = x.shape[0], 0

        def step() -> None:
            idx = torch.randint(0, n, (batch_size,), generator=g)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(3):  # warm-up
            step()
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds or done < 3:
            step()
            done += 1
        return done / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.5, help="wall time per measurement")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--samples", type=int, default=8000)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.samples, 1, 40, generator=g)
    y = torch.arange(args.samples) % 10
    torch.manual_seed(0)
    init = build_model("mlp", num_classes=10, in_channels=1, input_size=(40,))
    rates: dict[tuple[str, int], list[float]] = {(c, t): [] for c in CONDITIONS for t in THREADS}
    for r in range(args.repeats):
        for condition in CONDITIONS:
            rival = None
            if condition == "busy":
                rival = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(0.3)  # let it get scheduled
            try:
                order = THREADS if r % 2 == 0 else THREADS[::-1]  # rotate: no position bias
                for threads in order:
                    rates[condition, threads].append(batches_per_second(
                        copy.deepcopy(init), x, y, threads, args.seconds, args.batch_size))
            finally:
                if rival is not None:
                    rival.kill()
                    rival.wait()
    print(f"MLP (256, 256) on ({args.samples}, 1, 40) signals, batch {args.batch_size}, "
          f"{args.repeats} repetitions of {args.seconds} s each; batches/s min - max")
    for condition in CONDITIONS:
        one, two = rates[condition, 1], rates[condition, 2]
        ratios = [a / b for a, b in zip(one, two)]
        print(f"  {condition:<5} 1 thread {min(one):8.1f} - {max(one):8.1f}   "
              f"2 threads {min(two):8.1f} - {max(two):8.1f}   "
              f"1 / 2 threads {min(ratios):6.2f} - {max(ratios):6.2f}")


if __name__ == "__main__":
    main()
