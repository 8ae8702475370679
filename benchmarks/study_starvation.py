"""Study: does DRoP starve classes, and do the safeguards help? (a study, not a test)

Runs Random, Random+DRoP with the paper's rule, Random+DRoP with each safeguard (Beta-posterior
class errors from the validation counts, a floor, both) and EL2N+DRoP with and without both
safeguards, at densities 0.1, 0.2, 0.3, 0.5, 0.8 over 3 seeds, on four datasets:

- ``mnist1d``: the demo preset (MNIST-1D, 256-256 MLP);
- ``fashion-mnist``: real 28x28 images (the Debian package ``dataset-fashion-mnist``), MLP on a
  stratified subsample of the training set (``--fmnist-train``, default 6000);
- ``digits``: scikit-learn's 8x8 digits, made long-tailed (imbalance factor 10), logistic
  regression (the numpy path: no torch);
- ``gaussians``: a synthetic 4-class Gaussian mixture with unequal class variances, small MLP.

Per dataset and seed the query side (DRoP's validation recalls and counts, EL2N) is computed
once and shared by every variant and density. Every final model is trained from scratch on its
selection and evaluated on the held-out test half. Results go to ``--out`` (default
``runs/study-starvation``): ``runs.csv`` (one row per final run; the script resumes from it),
``table.csv`` / ``table.md`` (mean, min and max over seeds of average and worst-class accuracy)
and ``study.png``. The torch datasets use the ``mnist1d-cpu`` preset's protocol (the default,
``paper``); ``table.md`` names it. Use a fresh ``--out`` after a protocol change: rows already in
``runs.csv`` are not re-run.

    OMP_NUM_THREADS=1 python benchmarks/study_starvation.py            # all four, ~26 min idle
    OMP_NUM_THREADS=1 python benchmarks/study_starvation.py --datasets digits gaussians
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DENSITIES = (0.1, 0.2, 0.3, 0.5, 0.8)
SEEDS = (0, 1, 2)
#: variant -> (method, quota safeguards); the floor is min_density = d / 2
VARIANTS = {
    "Random": ("Random", {}),
    "Random+DRoP (paper)": ("Random+DRoP", {}),
    "Random+DRoP beta": ("Random+DRoP", {"error_estimate": "beta"}),
    "Random+DRoP floor": ("Random+DRoP", {"floor": True}),
    "Random+DRoP beta+floor": ("Random+DRoP", {"error_estimate": "beta", "floor": True}),
    "EL2N+DRoP (paper)": ("EL2N+DRoP", {}),
    "EL2N+DRoP beta+floor": ("EL2N+DRoP", {"error_estimate": "beta", "floor": True}),
}
DATASETS = ("mnist1d", "fashion-mnist", "digits", "gaussians")


def quota_spec(safeguards: dict, density: float):
    from droprune.experiments.config import QuotaSpec

    return QuotaSpec(error_estimate=safeguards.get("error_estimate", "point"),
                     min_density=density / 2 if safeguards.get("floor") else 0.0)


# -- torch datasets through the experiment pipeline ------------------------------------------

def torch_setup(name: str, fmnist_train: int):
    from droprune.experiments import load_config
    from droprune.experiments.sweep import load_splits

    common = ["methods=Random,Random+DRoP,EL2N+DRoP", "seeds=0"]
    if name == "mnist1d":
        cfg = load_config("mnist1d-cpu", common)
    elif name == "fashion-mnist":
        cfg = load_config("mnist1d-cpu", common + [
            "data.name=fashion-mnist", "data.options={}", "train.epochs=15",
            "train.drop_epochs=[8,12]", "query.seeds=2"])
    else:  # gaussians: 4 classes, unequal spread (the hard classes are the wide ones)
        cfg = load_config("mnist1d-cpu", common + [
            "data.name=gaussian-mixture",
            'data.options={"class_sizes": [1500, 1500, 1500, 1500], "test_sizes": '
            '[600, 600, 600, 600], "means": [0.0, 0.6, 1.2, 1.8], "stds": [0.3, 0.6, 1.0, 1.5],'
            ' "dim": 16}', "model.width=0.25", "train.epochs=20", "train.drop_epochs=[10,15]"])
    splits = load_splits(cfg)
    if name == "fashion-mnist" and fmnist_train < len(splits.train):
        rng = np.random.default_rng(0)
        labels = splits.train.labels
        keep = np.sort(np.concatenate([
            rng.choice(np.flatnonzero(labels == k), fmnist_train // splits.train.num_classes,
                       replace=False) for k in range(splits.train.num_classes)]))
        splits = dataclasses.replace(splits, train=splits.train.subset(keep))
    return cfg, splits


def torch_runs(name: str, args, done: set, emit) -> None:
    from droprune.experiments.methods import parse_method
    from droprune.experiments.pipeline import RunSpec, run_final
    from droprune.experiments.sweep import query_for_seed

    cfg, splits = torch_setup(name, args.fmnist_train)
    work = Path(args.out) / "work" / name
    for seed in SEEDS:
        todo = [(v, d) for v in VARIANTS for d in DENSITIES if (name, v, d, seed) not in done]
        if not todo:
            continue
        query = query_for_seed(cfg, splits, seed, work, progress=False)
        for variant, density in todo:
            method, safeguards = VARIANTS[variant]
            run_cfg = cfg.model_copy(update={"quotas": quota_spec(safeguards, density)})
            spec = RunSpec(parse_method(method), density, seed)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rec = run_final(run_cfg, spec, splits, query, work_dir=work, progress=False)
            emit(name, variant, density, seed, rec.accuracy, rec.worst_class_accuracy,
                 int(rec.min_samples_per_class), len(caught) > 0)


# -- digits: logistic regression on arrays ---------------------------------------------------

def digits_runs(args, done: set, emit) -> None:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    import droprune
    from droprune.data.imbalance import long_tail_counts

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(y.size)
    x, y = x[order], y[order]
    # half train (long-tailed, factor 10), the rest split evenly into validation and test
    train_pool = np.arange(y.size) < y.size // 2
    sizes = np.bincount(y[train_pool], minlength=10)
    want = long_tail_counts(sizes, 10)
    train = np.concatenate([np.flatnonzero(train_pool & (y == k))[:want[k]] for k in range(10)])
    rest = np.flatnonzero(~train_pool)
    val, test = rest[::2], rest[1::2]
    xt, yt = x[train], y[train]

    def fit(idx: np.ndarray):
        return LogisticRegression(max_iter=2000).fit(xt[idx], yt[idx])

    def evaluate(model) -> tuple[float, float]:
        pred = model.predict(x[test])
        report = droprune.robustness_report(y[test], pred, num_classes=10)
        return report.accuracy, report.worst_class_accuracy

    query = fit(np.arange(yt.size))
    recalls = droprune.class_recalls(y[val], query.predict(x[val]), num_classes=10)
    val_counts = np.bincount(y[val], minlength=10)
    proba = np.zeros((yt.size, 10))
    proba[:, query.classes_] = query.predict_proba(xt)
    el2n = np.linalg.norm(proba - np.eye(10)[yt], axis=1)
    for seed in SEEDS:
        for variant, (method, safeguards) in VARIANTS.items():
            for density in DENSITIES:
                if ("digits", variant, density, seed) in done:
                    continue
                if method == "Random":
                    kept = droprune.select_global(None, density, seed=seed, n=yt.size)
                    starved = False
                else:
                    spec = quota_spec(safeguards, density)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        counts = droprune.make_quotas(
                            "drop", np.bincount(yt, minlength=10), density, recalls=recalls,
                            val_counts=val_counts, options=spec.to_options())
                    starved = len(caught) > 0
                    kept = droprune.select(yt, counts, seed=seed,
                                           scores=el2n if method.startswith("EL2N") else None)
                present = np.unique(yt[kept])
                if present.size < 2:  # one class left: nothing to fit, predict it always
                    acc = float(np.mean(y[test] == present[0]))
                    worst = 0.0
                else:
                    acc, worst = evaluate(fit(kept))
                emit("digits", variant, density, seed, acc, worst,
                     int(np.bincount(yt[kept], minlength=10).min()), starved)


# -- output ----------------------------------------------------------------------------------

def summarize(runs: pd.DataFrame, out: Path) -> pd.DataFrame:
    g = runs.groupby(["dataset", "variant", "density"], sort=False)
    table = g.agg(avg_mean=("accuracy", "mean"), avg_min=("accuracy", "min"),
                  avg_max=("accuracy", "max"), worst_mean=("worst_class_accuracy", "mean"),
                  worst_min=("worst_class_accuracy", "min"),
                  worst_max=("worst_class_accuracy", "max"),
                  warned_runs=("starved", "sum"), min_kept=("min_kept", "min"),
                  seeds=("seed", "count")).reset_index()
    # every class of the four datasets has N_k >= 8, so "starved" (< min(N_k, 5)) is < 5 kept
    table["starved_runs"] = g["min_kept"].apply(lambda k: int((k < 5).sum())).to_numpy()
    table.to_csv(out / "table.csv", index=False)
    lines = []
    for dataset, block in table.groupby("dataset", sort=False):
        lines += [f"\n**{dataset}** — worst-class / average accuracy in %, mean [min-max] over "
                  f"seeds; (s) = a class starved (< min(N_k, 5) kept) in at least one seed; "
                  f"(u) = none starved but a QuotaWarning (a class under-served: < d/4 of it "
                  f"kept) in at least one seed\n",
                  "| variant | " + " | ".join(f"d={d:g}" for d in DENSITIES) + " |",
                  "|---|" + "---|" * len(DENSITIES)]
        for variant in VARIANTS:
            cells = []
            for d in DENSITIES:
                row = block[(block.variant == variant) & np.isclose(block.density, d)]
                if row.empty:
                    cells.append("-")
                    continue
                r = row.iloc[0]
                cells.append(f"{100 * r.worst_mean:.1f} [{100 * r.worst_min:.1f}-"
                             f"{100 * r.worst_max:.1f}] / {100 * r.avg_mean:.1f}"
                             + (" (s)" if r.starved_runs else " (u)" if r.warned_runs
                                else ""))
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    from droprune.experiments import load_config

    protocol = load_config("mnist1d-cpu", []).protocol
    lines.insert(0, f"protocol of the torch datasets (mnist1d, fashion-mnist, gaussians): "
                    f"`{protocol}`; digits uses no experiment protocol")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    return table


def plot(table: pd.DataFrame, out: Path) -> None:
    from droprune._plot import agg_figure, save_png

    datasets = list(dict.fromkeys(table.dataset))
    fig = agg_figure(4.2 * len(datasets), 3.6)
    axes = fig.subplots(1, len(datasets), squeeze=False)[0]
    for ax, dataset in zip(axes, datasets):
        block = table[table.dataset == dataset]
        for variant in VARIANTS:
            rows = block[block.variant == variant].sort_values("density")
            if rows.empty:
                continue
            style = "--" if variant.startswith("EL2N") else "-"
            ax.plot(rows.density, 100 * rows.worst_mean, style, marker="o", ms=3, label=variant)
        ax.set_title(dataset)
        ax.set_xlabel("density (fraction kept)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("worst-class accuracy, % (mean of 3 seeds)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_png(fig, out / "study.png", dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/study-starvation")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--fmnist-train", type=int, default=6000)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "runs.csv"
    runs = pd.read_csv(path) if path.exists() else pd.DataFrame()
    done = set() if runs.empty else {(r.dataset, r.variant, float(r.density), int(r.seed))
                                     for r in runs.itertuples()}
    rows = [] if runs.empty else runs.to_dict("records")

    def emit(dataset, variant, density, seed, acc, worst, min_kept, starved):
        rows.append(dict(dataset=dataset, variant=variant, density=density, seed=seed,
                         accuracy=acc, worst_class_accuracy=worst, min_kept=min_kept,
                         starved=bool(starved)))
        tmp = path.with_suffix(".tmp")
        pd.DataFrame(rows).to_csv(tmp, index=False)
        os.replace(tmp, path)
        print(f"{dataset:14s} {variant:24s} d={density:<4g} seed={seed} worst={worst:.3f} "
              f"avg={acc:.3f}{' starved' if starved else ''}", flush=True)

    start = time.perf_counter()
    for name in args.datasets:
        t0 = time.perf_counter()
        if name == "digits":
            digits_runs(args, done, emit)
        else:
            torch_runs(name, args, done, emit)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = summarize(pd.DataFrame(rows), out)
    plot(table, out)
    print((out / "table.md").read_text())
    print(f"total {time.perf_counter() - start:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
