"""Study: does ``droprune.compare`` recommend a rule that keeps the worst class on TEST?

For every (data set, density, seed) cell:

1. a query model (the proxy's model class, trained on the whole training split) predicts the
   validation split;
2. ``droprune.compare`` runs on the VALIDATION split only (default candidates, compare seeds
   ``(2 * seed, 2 * seed + 1)``, default tolerance and tie) and recommends a rule;
3. every default candidate's kept set is computed with the whole validation split
   (``droprune.prune(..., seed=seed)``), a final model (same family as the proxy) is trained on
   it and measured on the TEST split (worst-class and average accuracy).

The regret of a cell is the test worst-class accuracy of the best candidate in hindsight minus
that of the recommended candidate. Data sets (the splits of ``mnist1d`` and the digits change
with the seed; the others are fixed and the seed moves the subsets and model initialisations):

- ``digits``: scikit-learn's 8x8 digits, stratified 40/30/30 train/val/test, logistic regression;
- ``digits-lt``: the same with a long-tailed training split (imbalance factor 10);
- ``gaussians``: the 4-class mixture with unequal spreads of ``study_starvation.py``, logistic
  regression;
- ``mnist1d``: MNIST-1D, 5000 samples (4000 train), droprune's torch MLP (256-256; the proxy
  trains 10 epochs, the query and final models 30);
- ``fashion-mnist``: 300 images per class (``study_starvation.py``'s subsample), torch MLP;
- ``fashion-mnist-lt``: the same training subsample made long-tailed (factor 10).

Results go to ``--out`` (default ``runs/study-compare``): ``cells.jsonl`` (one line per finished
cell; a restart skips the cells already there), ``table.csv`` (data set x density, means over
seeds), ``overall.csv``, ``table.md`` and ``study-compare.png``.

    nice -n 10 python benchmarks/study_compare.py            # all six data sets
    nice -n 10 python benchmarks/study_compare.py --quick    # smoke run, seconds
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

DENSITIES = (0.1, 0.2, 0.3, 0.5)
SEEDS = (0, 1, 2)
DATASETS = ("digits", "digits-lt", "gaussians", "mnist1d", "fashion-mnist", "fashion-mnist-lt")
DEFAULT = "DRoP + floor (default)"
RANDOM = "Random"
#: regret (points) within which a recommendation counts as good
WITHIN = 3.0
#: compare's default average-accuracy tolerance, in points (for the constrained hindsight best)
TOLERANCE = 2.0


@dataclass
class Problem:
    """One data set: labels of the three splits and the model family.

    ``fit_predict(target, final)`` returns a ``fit_predict(kept, seed)`` that trains on the
    training samples ``kept`` and predicts the ``target`` split ("val" or "test"); ``final``
    selects the final (and query) schedule instead of the proxy's.
    """

    name: str
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    model: str
    fit_predict: Callable[[str, bool], Callable[..., np.ndarray]]


# -- data ------------------------------------------------------------------------------------

def _sklearn_problem(name: str, x: np.ndarray, y: np.ndarray, split: dict[str, np.ndarray]
                     ) -> Problem:
    from sklearn.linear_model import LogisticRegression

    from droprune.comparison import sklearn_proxy

    x = x.reshape(len(x), -1)
    xt, yt = x[split["train"]], y[split["train"]]

    def fit_predict(target: str, final: bool) -> Callable[..., np.ndarray]:
        return sklearn_proxy(LogisticRegression(max_iter=1000), xt, x[split[target]], yt)

    return Problem(name, yt, y[split["val"]], y[split["test"]], model_label(name, False),
                   fit_predict)


#: torch schedules (epochs, learning-rate drops): the proxy's, then the final and query model's
TORCH_SCHEDULES = {False: (10, (5, 8)), True: (30, (15, 25))}
TORCH_QUICK = {False: (3, ()), True: (5, ())}
TORCH_HIDDEN = (256, 256)


def model_label(name: str, quick: bool) -> str:
    """The model family of data set ``name`` (a cell is reused only with the same label)."""
    if name in ("digits", "digits-lt", "gaussians"):
        return "logistic regression"
    sched = TORCH_QUICK if quick else TORCH_SCHEDULES
    return (f"torch MLP {TORCH_HIDDEN}, SGD lr 0.05 batch 64, proxy {sched[False][0]} epochs, "
            f"final {sched[True][0]} epochs")


def _torch_problem(name: str, splits: Any, quick: bool) -> Problem:
    from droprune.training import TrainConfig
    from droprune.training.proxy import torch_proxy

    sched = TORCH_QUICK if quick else TORCH_SCHEDULES
    configs = {final: TrainConfig(epochs=e, lr=0.05, batch_size=64, drop_epochs=drops)
               for final, (e, drops) in sched.items()}
    targets = {"val": splits.val, "test": splits.test}

    def fit_predict(target: str, final: bool) -> Callable[..., np.ndarray]:
        return torch_proxy("mlp", splits.train, targets[target], configs[final],
                           model_kwargs={"hidden": TORCH_HIDDEN})

    return Problem(name, np.asarray(splits.train.labels), np.asarray(splits.val.labels),
                   np.asarray(splits.test.labels), model_label(name, quick), fit_predict)


def digits_split(seed: int, long_tail: bool) -> dict[str, np.ndarray]:
    """Stratified 40/30/30 train/val/test indices of digits; a long-tailed train on request."""
    from sklearn.datasets import load_digits

    from droprune.data.imbalance import imbalanced_indices
    from droprune.splits import stratified_split

    y = load_digits().target
    train, rest = stratified_split(y, 0.4, seed=seed)
    val_in_rest, test_in_rest = stratified_split(y[rest], 0.5, seed=seed)
    if long_tail:
        train = train[imbalanced_indices(y[train], 10, seed=seed)]
    return {"train": np.sort(train), "val": np.sort(rest[val_in_rest]),
            "test": np.sort(rest[test_in_rest])}


def load_problem(name: str, seed: int, quick: bool) -> Problem:
    """The data set ``name`` for ``seed`` (data loading shared with study_starvation.py)."""
    if name in ("digits", "digits-lt"):
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        return _sklearn_problem(name, x / 16.0, y, digits_split(seed, name == "digits-lt"))
    if name == "mnist1d":
        from droprune.data import load_dataset

        return _torch_problem(name, load_dataset("mnist1d", num_samples=5000,
                                                 split_seed=seed), quick)
    from study_starvation import torch_setup

    if name == "gaussians":
        splits = torch_setup("gaussians", 0)[1]
        parts = (splits.train, splits.val, splits.test)
        x = np.concatenate([s.inputs.numpy() for s in parts])
        y = np.concatenate([np.asarray(s.labels) for s in parts])
        bounds = np.cumsum([0] + [len(s) for s in parts])
        idx = {part: np.arange(bounds[i], bounds[i + 1])
               for i, part in enumerate(("train", "val", "test"))}
        return _sklearn_problem(name, x, y, idx)
    splits = torch_setup("fashion-mnist", 3000)[1]
    if name == "fashion-mnist-lt":
        import dataclasses

        from droprune.data.imbalance import make_imbalanced

        splits = dataclasses.replace(splits, train=make_imbalanced(splits.train, 10, seed=0))
    return _torch_problem(name, splits, quick)


# -- one cell --------------------------------------------------------------------------------

def run_cell(problem: Problem, query_val: np.ndarray, density: float, seed: int) -> dict:
    import droprune
    from droprune.comparison import DEFAULT_CANDIDATES, compare

    k = int(max(problem.y_train.max(), problem.y_val.max())) + 1
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # compare's up-front option check warns on starving rules
        warnings.simplefilter("ignore", droprune.QuotaWarning)
        evidence = compare(problem.y_train, density, val_labels=problem.y_val,
                           val_pred=query_val, fit_predict=problem.fit_predict("val", False),
                           seeds=[2 * seed, 2 * seed + 1], num_classes=k, progress=False)
    t_compare = time.perf_counter() - t0
    final = problem.fit_predict("test", True)
    test: dict[str, dict] = {}
    for cand in DEFAULT_CANDIDATES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", droprune.QuotaWarning)
            res = droprune.prune(problem.y_train, density, val_labels=problem.y_val,
                                 val_pred=query_val, method=cand.method, seed=seed,
                                 num_classes=k, **cand.options)
        report = droprune.robustness_report(problem.y_test, final(res.kept, seed=seed),
                                            num_classes=k)
        test[cand.name] = dict(worst=float(report.worst_class_accuracy),
                               avg=float(report.accuracy), starved=len(res.starved),
                               kept=int(res.kept.size))
    table = evidence.table.set_index("candidate")
    val = {name: dict(worst=float(r.worst_mean), avg=float(r.avg_mean), eligible=bool(r.eligible))
           for name, r in table.iterrows()}
    return dict(recommended=evidence.recommended, reason=evidence.reason, val=val, test=test,
                seconds_compare=round(t_compare, 1),
                seconds=round(time.perf_counter() - t0, 1))


# -- analysis --------------------------------------------------------------------------------

def cell_frame(cells: list[dict]) -> pd.DataFrame:
    rows = []
    for c in cells:
        test = c["test"]
        best = max(test, key=lambda n: test[n]["worst"])  # first of the best in list order
        # the same criterion as compare's, in hindsight: average accuracy within TOLERANCE
        top_avg = max(v["avg"] for v in test.values())
        best_tol = max(v["worst"] for v in test.values()
                       if v["avg"] >= top_avg - TOLERANCE / 100 - 1e-12)
        rec = c["recommended"]
        names = list(test)
        val_w = pd.Series([c["val"][n]["worst"] for n in names])
        test_w = pd.Series([test[n]["worst"] for n in names])
        rows.append(dict(
            spearman=val_w.corr(test_w, method="spearman"),
            rec_eligible_test_best=bool(c["val"][best]["eligible"]),
            dataset=c["dataset"], density=c["density"], seed=c["seed"], recommended=rec,
            hindsight=best, rec_worst=100 * test[rec]["worst"],
            default_worst=100 * test[DEFAULT]["worst"], random_worst=100 * test[RANDOM]["worst"],
            best_worst=100 * test[best]["worst"], rec_avg=100 * test[rec]["avg"],
            default_avg=100 * test[DEFAULT]["avg"], random_avg=100 * test[RANDOM]["avg"],
            best_avg=100 * test[best]["avg"], best_tol_worst=100 * best_tol,
            **{f"w:{name}": 100 * v["worst"] for name, v in test.items()}))
    frame = pd.DataFrame(rows)
    frame["regret"] = frame.best_worst - frame.rec_worst
    frame["within"] = frame.regret <= WITHIN + 1e-9
    frame["regret_tol"] = frame.best_tol_worst - frame.rec_worst
    frame["within_tol"] = frame.regret_tol <= WITHIN + 1e-9
    return frame


def _short(name: str) -> str:
    return {"Random stratified": "RS", "Random": "R", "Class-balanced": "CB", DEFAULT: "DF",
            "DRoP + beta + floor": "DBF", "DRoP count mode": "DC",
            "DRoP (paper)": "DP"}.get(name, name)


def summarize(frame: pd.DataFrame, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    g = frame.groupby(["dataset", "density"], sort=False)
    table = g.agg(seeds=("seed", "count"), rec_worst=("rec_worst", "mean"),
                  default_worst=("default_worst", "mean"), random_worst=("random_worst", "mean"),
                  best_worst=("best_worst", "mean"), regret=("regret", "mean"),
                  within=("within", "sum"), rec_avg=("rec_avg", "mean"),
                  default_avg=("default_avg", "mean"),
                  recommended=("recommended", lambda s: ",".join(map(_short, s))),
                  hindsight=("hindsight", lambda s: ",".join(map(_short, s)))).reset_index()
    table.to_csv(out / "table.csv", index=False, float_format="%.4f")

    def overall(part: pd.DataFrame, label: str) -> dict:
        return dict(
            scope=label, cells=len(part), within_3=int(part.within.sum()),
            share_within_3=float(part.within.mean()), mean_regret=part.regret.mean(),
            rec_worst=part.rec_worst.mean(), default_worst=part.default_worst.mean(),
            random_worst=part.random_worst.mean(), best_worst=part.best_worst.mean(),
            rec_avg=part.rec_avg.mean(), default_avg=part.default_avg.mean(),
            random_avg=part.random_avg.mean(),
            rec_beats_default=int((part.rec_worst > part.default_worst + 1e-9).sum()),
            rec_ties_default=int(np.isclose(part.rec_worst, part.default_worst).sum()),
            rec_loses_default=int((part.rec_worst < part.default_worst - 1e-9).sum()),
            rec_beats_random=int((part.rec_worst > part.random_worst + 1e-9).sum()),
            rec_ties_random=int(np.isclose(part.rec_worst, part.random_worst).sum()),
            rec_loses_random=int((part.rec_worst < part.random_worst - 1e-9).sum()),
            rec_is_hindsight_value=int(np.isclose(part.regret, 0).sum()),
            spearman_val_test=float(part.spearman.mean()),
            within_3_tol=int(part.within_tol.sum()),
            share_within_3_tol=float(part.within_tol.mean()),
            mean_regret_tol=part.regret_tol.mean())

    rules = [c[2:] for c in frame.columns if c.startswith("w:")]
    # seed noise: sd over seeds of one rule's test worst-class, averaged over rules and densities
    noise = frame.groupby(["dataset", "density"], sort=False)[[f"w:{r}" for r in rules]].std()
    scopes = list(frame.groupby("dataset", sort=False)) + [("all", frame)]
    rows = [dict(overall(part, name), seed_sd=float(np.nanmean(
        noise.loc[name].to_numpy() if name != "all" else noise.to_numpy())))
        for name, part in scopes]
    totals = pd.DataFrame(rows)
    totals.to_csv(out / "overall.csv", index=False, float_format="%.4f")
    fixed = []
    for name, part in scopes:
        for rule, col in [("(recommended)", "rec_worst")] + [(r, f"w:{r}") for r in rules]:
            regret = part.best_worst - part[col]
            fixed.append(dict(scope=name, rule=rule, worst=part[col].mean(),
                              share_within_3=float((regret <= WITHIN + 1e-9).mean()),
                              mean_regret=regret.mean()))
    pd.DataFrame(fixed).to_csv(out / "fixed_rules.csv", index=False, float_format="%.4f")
    return table, totals, pd.DataFrame(fixed)


def markdown(table: pd.DataFrame, totals: pd.DataFrame, fixed: pd.DataFrame) -> str:
    lines = ["| data set | d | recommended (per seed) | rec. worst | default worst | Random "
             "worst | hindsight best | regret | seeds within 3 | rec. / default avg |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.dataset} | {r.density:g} | {r.recommended} | {r.rec_worst:.1f} | "
                     f"{r.default_worst:.1f} | {r.random_worst:.1f} | {r.best_worst:.1f} "
                     f"({r.hindsight}) | {r.regret:.1f} | {r.within}/{r.seeds} | "
                     f"{r.rec_avg:.1f} / {r.default_avg:.1f} |")
    lines += ["", "| scope | cells | within 3 points | mean regret | worst: rec. / default / "
              "Random / best | avg: rec. / default / Random | rec. vs default (W-T-L) | "
              "rec. vs Random (W-T-L) | seed sd | val/test rank corr. | within 3 of the "
              "tolerance-constrained best (mean regret) |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in totals.itertuples():
        lines.append(
            f"| {r.scope} | {r.cells} | {r.within_3} ({100 * r.share_within_3:.0f}%) | "
            f"{r.mean_regret:.1f} | {r.rec_worst:.1f} / {r.default_worst:.1f} / "
            f"{r.random_worst:.1f} / {r.best_worst:.1f} | {r.rec_avg:.1f} / {r.default_avg:.1f}"
            f" / {r.random_avg:.1f} | {r.rec_beats_default}-{r.rec_ties_default}-"
            f"{r.rec_loses_default} | {r.rec_beats_random}-{r.rec_ties_random}-"
            f"{r.rec_loses_random} | {r.seed_sd:.1f} | {r.spearman_val_test:.2f} | "
            f"{r.within_3_tol} ({100 * r.share_within_3_tol:.0f}%; {r.mean_regret_tol:.1f}) |")
    scopes = list(dict.fromkeys(fixed.scope))
    lines += ["", "Share of cells within 3 points of the best in hindsight, and mean test "
              "worst-class (%), of the recommendation and of each rule used always:", "",
              "| rule | " + " | ".join(scopes) + " |", "|---|" + "---|" * len(scopes)]
    for rule in dict.fromkeys(fixed.rule):
        cells = [fixed[(fixed.rule == rule) & (fixed.scope == sc)].iloc[0] for sc in scopes]
        lines.append(f"| {rule} | " + " | ".join(
            f"{100 * c.share_within_3:.0f}% ({c.worst:.1f})" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, path: Path) -> None:
    from droprune._plot import agg_figure, save_png

    datasets = list(dict.fromkeys(table.dataset))
    cols = min(3, len(datasets))
    rows = -(-len(datasets) // cols)
    fig = agg_figure(4.2 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    series = (("best_worst", "hindsight best", "k", ":"), ("rec_worst", "recommended", "C3", "-"),
              ("default_worst", "DRoP + floor (default)", "C0", "--"),
              ("random_worst", "Random", "C2", "-."))
    for ax, dataset in zip(axes, datasets):
        block = table[table.dataset == dataset].sort_values("density")
        for col, label, color, style in series:
            ax.plot(block.density, block[col], style, color=color, marker="o", ms=4, label=label)
        ax.set_title(dataset)
        ax.set_xlabel("density (fraction kept)")
        ax.set_ylabel("test worst-class accuracy, %")
        ax.grid(alpha=0.3)
    for ax in axes[len(datasets):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("droprune.compare: recommended rule vs fixed default, Random and the best in "
                 "hindsight (test, mean of seeds)", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=110)


# -- main ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None,
                        help="results folder (default runs/study-compare, -quick with --quick)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: digits and gaussians, d=0.3, seed 0, short schedules")
    parser.add_argument("--figure", default=None, help="also save the figure here")
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    densities, seeds, datasets = DENSITIES, SEEDS, args.datasets
    if args.quick:
        densities, seeds = (0.3,), (0,)
        datasets = [d for d in datasets if d in ("digits", "gaussians")] or datasets[:1]
    out = Path(args.out or ("runs/study-compare-quick" if args.quick else "runs/study-compare"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cells.jsonl"
    cells = [json.loads(line) for line in path.read_text().splitlines()
             if line.strip()] if path.exists() else []
    models = {name: model_label(name, args.quick) for name in datasets}
    cells = [c for c in cells if c["dataset"] in models and c["model"] == models[c["dataset"]]]
    done = {(c["dataset"], c["density"], c["seed"]) for c in cells}
    start = time.perf_counter()
    for name in datasets:
        t_data = time.perf_counter()
        for seed in seeds:
            todo = [d for d in densities if (name, d, seed) not in done]
            if not todo:
                continue
            problem = load_problem(name, seed, args.quick)
            query_val = problem.fit_predict("val", True)(np.arange(problem.y_train.size), seed)
            for density in todo:
                cell = dict(dataset=name, density=density, seed=seed, model=problem.model,
                            n_train=int(problem.y_train.size), n_val=int(problem.y_val.size),
                            n_test=int(problem.y_test.size))
                cell.update(run_cell(problem, query_val, density, seed))
                with path.open("a") as fh:
                    fh.write(json.dumps(cell) + "\n")
                cells.append(cell)
                t = cell["test"]
                best = max(t, key=lambda n: t[n]["worst"])
                print(f"{name:16s} d={density:<4g} seed={seed} rec={cell['recommended']:<24s} "
                      f"worst rec/default/random/best = {100 * t[cell['recommended']]['worst']:.1f}"
                      f"/{100 * t[DEFAULT]['worst']:.1f}/{100 * t[RANDOM]['worst']:.1f}/"
                      f"{100 * t[best]['worst']:.1f} ({best}) {cell['seconds']:.0f}s", flush=True)
        print(f"{name}: {time.perf_counter() - t_data:.0f} s", flush=True)
    frame = cell_frame([c for c in cells if c["density"] in densities and c["seed"] in seeds])
    frame.to_csv(out / "cells.csv", index=False, float_format="%.4f")
    table, totals, fixed = summarize(frame, out)
    text = markdown(table, totals, fixed)
    (out / "table.md").write_text(text)
    plot(table, out / "study-compare.png")
    if args.figure:
        plot(table, Path(args.figure))
    print(text)
    print(f"this run: {time.perf_counter() - start:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
