"""Speed and memory of the numpy core: DRoP quotas for many classes, selection for many samples.

Targets (issue #2): quotas for K = 100,000 classes well under a second; selection for
N = 10^7 samples in a few seconds with O(N) memory. Baselines measured in the same run:
- quotas: a vectorised transcription of the paper's Algorithm 1 (one numpy pass per round);
- selection: one ``numpy.argsort`` of N random floats (the cost of a single sort of N keys).

Run: python benchmarks/bench_core.py [--n 10000000] [--k 100000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from droprune import drop_quotas, select, select_global


def timed(fn, *args, **kwargs):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def algorithm1_vectorised(sizes, recalls, total):
    """The paper's Algorithm 1 with the inner loop over classes vectorised (baseline)."""
    err = 1.0 - recalls
    d = np.zeros(sizes.size)
    active = sizes > 0
    budget = float(total)
    rounds = 0
    while budget > 1e-9 * total and active.any():
        rounds += 1
        z = np.sum(sizes[active] * err[active]) / budget
        d[active] += err[active] / z
        budget = 0.0
        over = active & (d > 1)
        budget += np.sum(sizes[over] * (d[over] - 1))
        d[over] = 1.0
        active &= ~over
    return d, rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--k", type=int, default=100_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    sizes = rng.integers(1, 2000, args.k)
    recalls = rng.beta(5, 2, args.k)
    for density in (0.3, 0.8):  # 0.8 saturates many classes: Algorithm 1 needs several rounds
        total = int(round(density * sizes.sum()))
        (dq, t_q, m_q) = timed(drop_quotas, sizes, recalls, density)
        (_, rounds), t_b, m_b = timed(algorithm1_vectorised, sizes.astype(float), recalls, total)
        print(f"quotas  K={args.k:>10,} d={density}: drop_quotas {t_q*1e3:7.1f} ms (peak "
              f"{m_q:5.1f} MiB, {int(np.sum(dq == sizes)):,} classes full); vectorised "
              f"Algorithm 1 {t_b*1e3:7.1f} ms in {rounds} rounds; ratio {t_q/t_b:.2f}x")
    density = 0.3

    n, k = args.n, 1000
    labels = rng.integers(0, k, n)
    counts = drop_quotas(np.bincount(labels, minlength=k), rng.beta(5, 2, k), density)
    scores = rng.random(n)
    _, t_base, m_base = timed(lambda: np.argsort(rng.random(n)))
    _, t_r, m_r = timed(select, labels, counts, seed=0)
    _, t_s, m_s = timed(select, labels, counts, scores=scores, seed=0)
    _, t_g, m_g = timed(select_global, scores, density, seed=0)
    input_mib = (labels.nbytes + scores.nbytes) / 2**20
    print(f"select  N={n:>10,} (K={k}, inputs {input_mib:.0f} MiB); baseline one argsort of N "
          f"floats {t_base:.2f} s (peak {m_base:.0f} MiB)")
    for name, t, m in [("random within class", t_r, m_r), ("scores within class", t_s, m_s),
                       ("global top-k", t_g, m_g)]:
        print(f"  {name:<22} {t:6.2f} s  ratio {t/t_base:5.2f}x  peak {m:6.0f} MiB "
              f"({m / (n * 8 / 2**20):.1f} x 8N bytes)")


if __name__ == "__main__":
    main()
