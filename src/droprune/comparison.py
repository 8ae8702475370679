"""Evidence on your data: compare pruning rules on held-out validation data, recommend one.

No quota rule wins everywhere (DRoP where class errors spread, a class-balanced subset on long
tails, random on easy balanced data). :func:`compare` answers "which subset keeps my worst
class?" on the user's own data, before the final model is trained, without reading the test
split:

1. The validation split is cut in two halves per class (seeded). The query model's validation
   predictions on one half set the quotas (class recalls and counts); the other half measures.
2. For every candidate rule, the kept subset is built (:func:`droprune.prune`) and a *proxy*
   model is trained on it (``fit_predict(kept, seed)``, any framework); its predictions on the
   measuring half give the worst-class accuracy (the lowest class recall) and the average
   accuracy.
3. The halves swap roles (cross-fitting) and the two measurements are averaged: one estimate
   per seed. This repeats over ``seeds`` (each seed a new split, a new random subset and a new
   proxy initialisation).

The table gives, per candidate, the mean over seeds and a 95% t-interval of the mean
(``mean +- t_{0.975, S-1} * sd / sqrt(S)``, clipped to [0, 1]; none with one seed), the paired difference against
``Random stratified`` (same seed, same halves), and the classes the rule starved.

The recommendation is one documented criterion: among the candidates whose mean average
accuracy is within ``tolerance`` of the best mean average accuracy, take the best mean
worst-class accuracy; then prefer the first candidate in the list (the defaults are ordered
simplest first) whose mean worst-class accuracy is within ``tie`` of that best: a difference
smaller than ``tie`` is treated as noise. The recommended rule's :class:`~droprune.PruneResult`
is then computed with the WHOLE validation split.

Noise: each estimate averages ``2 * len(seeds)`` proxy trainings measured on half the
validation split; with 20 validation samples per class a class recall moves in steps of 0.1.
The intervals say how far the means can be trusted; widen ``seeds`` when they overlap.

Part of the numpy core: no torch (the torch proxy lives in :mod:`droprune.training.proxy`);
the scikit-learn adapter imports scikit-learn when used.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ._checks import as_labels, as_scores, check_density, check_int, check_number
from ._recall_inputs import _num_classes
from .pruning import PruneResult, parse_prune_method, prune, validation_predictions
from .splits import stratified_split

__all__ = ["DEFAULT_CANDIDATES", "Candidate", "CompareResult", "check_candidates", "compare",
           "sklearn_proxy"]

#: the paired baseline of the comparison
BASELINE = "Random stratified"


@dataclass(frozen=True)
class Candidate:
    """One rule to compare: a display name, a method and the :func:`droprune.prune` options.

    Attributes
    ----------
    name
        Display name (unique within a comparison).
    method
        A method :func:`droprune.prune` takes (``"Random+DRoP"``, ``"Random"``,
        ``"EL2N+Balanced"``, any registered quota rule ``"Random+<Rule>"``).
    options
        Keyword options of :func:`droprune.prune` (``min_density``, ``error_estimate``,
        ``mode``, ``min_per_class``, ``prior``); absent keys take its defaults (the front
        door's floor for rules that read recalls).

    Examples
    --------
    >>> Candidate("DRoP (paper)", "Random+DRoP", {"min_density": 0}).method
    'Random+DRoP'
    """

    name: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: Any) -> Candidate:
        """A :class:`Candidate` as given, or one from a method name (front-door defaults)."""
        if isinstance(spec, Candidate):
            return spec
        if isinstance(spec, str) and spec.strip():
            return cls(spec.strip(), spec.strip())
        raise ValueError(f"a candidate is a method name such as 'Random+Balanced' or a "
                         f"droprune.compare.Candidate, got {spec!r}")


#: The default candidates, simplest first (the order breaks ties, see the module docstring).
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate(BASELINE, "Random+Proportional"),
    Candidate("Random", "Random"),
    Candidate("Class-balanced", "Random+Balanced"),
    Candidate("DRoP + floor (default)", "Random+DRoP"),
    Candidate("DRoP + beta + floor", "Random+DRoP", {"error_estimate": "beta"}),
    Candidate("DRoP count mode", "Random+DRoP", {"mode": "count", "min_density": 0}),
    Candidate("DRoP (paper)", "Random+DRoP", {"min_density": 0}),
)

#: two-sided 95% quantiles of Student's t, by degrees of freedom (1..30; 1.96 beyond)
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

#: Columns of :attr:`CompareResult.table`.
TABLE_COLUMNS = ("candidate", "method", "worst_mean", "worst_lo", "worst_hi", "avg_mean",
                 "avg_lo", "avg_hi", "worst_diff", "worst_diff_lo", "worst_diff_hi",
                 "avg_diff", "starved", "seeds", "error", "eligible", "recommended")


def _interval(values: np.ndarray, low: float = 0.0, high: float = 1.0
              ) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the mean, clipped to [low, high] (what the quantity can
    take); NaN bounds with fewer than 2 values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    t = _T95[v.size - 2] if v.size - 1 <= len(_T95) else 1.96
    half = t * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, max(low, mean - half), min(high, mean + half)


def sklearn_proxy(estimator: Any, X: Any, X_val: Any, labels: Any) -> Callable[..., np.ndarray]:
    """A ``fit_predict(kept, seed)`` proxy from a scikit-learn estimator.

    Each call fits a fresh clone (``random_state=seed`` when the estimator has one) on
    ``X[kept], labels[kept]`` and predicts ``X_val``. A subset holding one class predicts that
    class (most estimators refuse to fit one class).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> fp = sklearn_proxy(LogisticRegression(), np.array([[0.], [1.], [10.], [11.]]),
    ...                    np.array([[0.5], [10.5]]), [0, 0, 1, 1])
    >>> fp(np.array([0, 1, 2, 3]), seed=0).tolist()
    [0, 1]
    >>> fp(np.array([0, 1]), seed=0).tolist()  # one class kept: predicts it
    [0, 0]
    """
    from sklearn.base import clone

    x, x_val = np.asarray(X), np.asarray(X_val)
    y = as_labels(labels)
    if len(x) != y.size:
        raise ValueError(f"X has {len(x)} rows but there are {y.size} training labels")

    def fit_predict(kept: np.ndarray, seed: int) -> np.ndarray:
        present = np.unique(y[kept])
        if present.size == 1:
            return np.full(len(x_val), present[0], dtype=np.int64)
        model = clone(estimator)
        if "random_state" in model.get_params():
            model.set_params(random_state=seed)
        return np.asarray(model.fit(x[kept], y[kept]).predict(x_val))

    return fit_predict


@dataclass(frozen=True, eq=False, repr=False)
class CompareResult:
    """What :func:`compare` measured and recommends.

    Attributes
    ----------
    table
        One row per candidate (pandas DataFrame, :data:`TABLE_COLUMNS`): worst-class and
        average accuracy (fractions) as mean and 95% interval over seeds, the paired
        worst-class and average difference against ``Random stratified``, the number of
        starved classes (whole validation split), the seeds measured, an error message when
        the proxy failed, whether it met the accuracy tolerance, and the recommendation.
    evaluations
        One row per (candidate, seed, fold): ``worst``, ``avg``, ``error``.
    recommended
        Name of the recommended candidate.
    reason
        Why, in plain words.
    result
        The recommended rule's :class:`~droprune.PruneResult`, on the whole validation split.
    density, tolerance, tie
        The settings of the comparison.
    """

    table: Any
    evaluations: Any
    recommended: str
    reason: str
    result: PruneResult
    density: float
    tolerance: float
    tie: float

    def __repr__(self) -> str:
        return (f"CompareResult(density={self.density!r}, candidates={len(self.table)}, "
                f"recommended={self.recommended!r})")

    def summary(self) -> str:
        """The table as text, then the recommendation and why."""
        t = self.table
        lines = [f"compared {len(t)} rules at density {self.density:g} (worst-class / average "
                 f"accuracy on held-out validation halves, mean [95% interval] over seeds):"]
        for _, r in t.iterrows():
            mark = "*" if r["recommended"] else " "
            if r["error"]:
                lines.append(f"{mark} {r['candidate']:<26} failed: {r['error']}")
                continue
            lines.append(
                f"{mark} {r['candidate']:<26} worst {_pct(r['worst_mean'])} "
                f"[{_pct(r['worst_lo'])}-{_pct(r['worst_hi'])}]  avg {_pct(r['avg_mean'])}  "
                f"vs {BASELINE}: {_signed(r['worst_diff'])} worst"
                + (f", starves {int(r['starved'])}" if r["starved"] else ""))
        lines.append(f"recommended: {self.recommended}: {self.reason}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Worst-class vs average accuracy per candidate, with the 95% intervals (PNG)."""
        from ._plot import agg_figure, save_png

        t = self.table[self.table["error"] == ""]
        fig = agg_figure(7.5, 5.0, layout="constrained")
        ax = fig.subplots()
        for i, (_, r) in enumerate(t.iterrows()):
            x, y = 100 * r["avg_mean"], 100 * r["worst_mean"]
            xerr = None if math.isnan(r["avg_lo"]) else [[x - 100 * r["avg_lo"]],
                                                          [100 * r["avg_hi"] - x]]
            yerr = None if math.isnan(r["worst_lo"]) else [[y - 100 * r["worst_lo"]],
                                                            [100 * r["worst_hi"] - y]]
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="*" if r["recommended"] else "o",
                        ms=14 if r["recommended"] else 7, capsize=3, color=f"C{i % 10}",
                        label=r["candidate"] + (" (recommended)" if r["recommended"] else ""))
        ax.set_xlabel("average accuracy on held-out validation (%)")
        ax.set_ylabel("worst-class accuracy on held-out validation (%)")
        ax.set_title(f"pruning rules at density {self.density:g} (mean, 95% interval)")
        ax.legend(fontsize=8, loc="best")
        return save_png(fig, path, dpi=100)


def _pct(value: float) -> str:
    return "  n/a" if value is None or math.isnan(value) else f"{100 * value:5.1f}"


def _signed(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:+.1f}"


def check_candidates(candidates: Iterable[Any] | None, scores_given: bool) -> list[Candidate]:
    """The candidates as :class:`Candidate` objects (default :data:`DEFAULT_CANDIDATES`),
    each method parsed and its options named; ``ValueError`` naming the first bad one."""
    out = [Candidate.of(c) for c in (DEFAULT_CANDIDATES if candidates is None else candidates)]
    if not out:
        raise ValueError("candidates is empty: name at least one rule, e.g. 'Random+Balanced'")
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ValueError(f"candidates has repeated names: {names}")
    for c in out:
        try:
            parse_prune_method(c.method, scores_given=None)
        except ValueError as exc:
            raise ValueError(f"candidate {c.name!r}: {exc}") from None
        if parse_prune_method(c.method, scores_given=None).reads_scores and not scores_given:
            raise ValueError(f"candidate {c.name!r} ({c.method}) ranks by scores: pass scores=")
        bad = sorted(set(c.options) - {"min_density", "min_per_class", "error_estimate", "mode",
                                       "prior"})
        if bad:
            raise ValueError(f"candidate {c.name!r}: unknown option(s) {bad}; valid: "
                             f"min_density, min_per_class, error_estimate, mode, prior")
    return out


def _measure(pred: np.ndarray, y: np.ndarray, part: np.ndarray, k: int) -> tuple[float, float]:
    """Worst-class recall and average accuracy of ``pred`` on the samples ``part``."""
    yt, yp = y[part], pred[part]
    counts = np.bincount(yt, minlength=k)
    hits = np.bincount(yt[yp == yt], minlength=k)
    present = counts > 0
    return float((hits[present] / counts[present]).min()), float(np.mean(yp == yt))


def _key(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _digest(*arrays: np.ndarray | None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(b"-" if a is None else np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def compare(labels: Any, density: float, *, val_labels: Any, val_pred: Any = None,
            val_proba: Any = None, fit_predict: Callable[..., Any] | None = None,
            estimator: Any = None, X: Any = None, X_val: Any = None,
            candidates: Sequence[Any] | None = None, seeds: Sequence[int] = (0, 1, 2),
            tolerance: float = 0.02, tie: float = 0.01, scores: Any = None,
            class_names: Sequence[Any] | None = None, num_classes: int | None = None,
            work_dir: str | Path | None = None, proxy_key: str = "",
            progress: bool | None = None) -> CompareResult:
    """Compare pruning rules at ``density`` on held-out validation data; recommend one.

    See the module docstring for the protocol (cross-fitted halves of the validation split,
    repeated over seeds; the test split is never read) and the recommendation criterion.

    Parameters
    ----------
    labels
        Class of every training sample, shape (N,).
    density
        Fraction of the training set KEPT, in (0, 1].
    val_labels
        True class of every validation sample, shape (M,); every class needs at least 2 (one
        per half).
    val_pred, val_proba
        The query model's validation predictions (classes, shape (M,)) or probabilities
        (M, K): they set the quotas.
    fit_predict
        The proxy: ``fit_predict(kept, seed) -> predicted class of every validation sample``
        (shape (M,)); trains a model on the training samples ``kept`` (sorted indices).
    estimator, X, X_val
        Instead of ``fit_predict``: a scikit-learn estimator and the training and validation
        features (:func:`sklearn_proxy`).
    candidates
        Method names or :class:`Candidate` objects; default :data:`DEFAULT_CANDIDATES`.
    seeds
        One estimate per seed (new halves, subsets and proxy seeds); default (0, 1, 2).
    tolerance
        Average-accuracy tolerance of the criterion, a fraction in [0, 1] (default 0.02).
    tie
        Worst-class differences below this (a fraction, default 0.01) count as noise.
    scores
        Per-sample scores for candidates that rank by a score (``"EL2N+DRoP"``).
    class_names, num_classes
        As in :func:`droprune.prune`.
    work_dir
        Folder where each proxy evaluation is saved as it finishes: a second call with the same
        inputs resumes without retraining what is done. ``proxy_key`` (any text naming the
        proxy) enters the saved keys: change it when the proxy changes.
    progress
        Progress over the proxy trainings (default None: a bar when stderr is a terminal and
        ``TQDM_DISABLE`` is not set, else one line logged to the ``droprune`` logger at the
        end; False: nothing).

    Returns
    -------
    CompareResult

    Raises
    ------
    ValueError
        Before any training: a class with fewer than 2 validation samples, an unknown or
        malformed candidate, a tolerance or tie out of [0, 1], no proxy or two proxies, inputs
        that disagree. A proxy returning the wrong shape stops the comparison; a proxy that
        raises on one candidate is reported in that candidate's row and the rest go on.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 60); x = y[:, None] + rng.normal(0, 0.8, (180, 1))
    >>> y_val = np.repeat([0, 1, 2], 20); x_val = y_val[:, None] + rng.normal(0, 0.8, (60, 1))
    >>> query = LogisticRegression().fit(x, y)
    >>> res = compare(y, 0.3, val_labels=y_val, val_pred=query.predict(x_val),
    ...               estimator=LogisticRegression(), X=x, X_val=x_val, seeds=[0, 1])
    >>> res.recommended in res.table["candidate"].tolist(), res.result.kept.size
    (True, 54)
    """
    lab = as_labels(labels)
    d = check_density(density)
    if d == 0:
        raise ValueError("density 0 keeps nothing: there is nothing to compare")
    tolerance = check_number(tolerance, "tolerance", minimum=0, maximum=1,
                             hint="a fraction of accuracy, e.g. 0.02 for 2 points")
    tie = check_number(tie, "tie", minimum=0, maximum=1,
                       hint="a fraction of accuracy, e.g. 0.01 for 1 point")
    seeds = [check_int(s, "seeds", minimum=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, at least one, got "
                         f"{seeds}")
    k = _num_classes(num_classes, lab, None, class_names, val_proba, val_labels, val_pred)
    lab = as_labels(lab, num_classes=k)
    y, pred = validation_predictions(val_labels, val_pred, val_proba, k)
    sc = None if scores is None else as_scores(scores, lab.size)
    cands = check_candidates(candidates, sc is not None)
    n_val = np.bincount(y, minlength=k)
    small = np.flatnonzero(n_val < 2)
    if small.size:
        listed = ", ".join(f"class {c} has {n_val[c]}" for c in small[:5])
        raise ValueError(f"val_labels: every class needs at least 2 validation samples (one "
                         f"for the quotas, one to measure): {listed}; add validation data or "
                         f"merge these classes")
    proxy = _proxy(fit_predict, estimator, X, X_val, lab)
    import warnings

    from .quotas import QuotaWarning

    with warnings.catch_warnings():  # a bad option fails here, before any training
        warnings.simplefilter("ignore", QuotaWarning)  # the table reports starved classes
        wholes = [prune(lab, d, val_labels=y, val_pred=pred, method=c.method, scores=sc,
                        seed=seeds[0], class_names=class_names, num_classes=k, **c.options)
                  for c in cands]  # each rule on the whole validation split
    store = _Store(work_dir, dict(n=lab.size, k=k, density=d, proxy=proxy_key,
                                  inputs=_digest(lab, y, pred, sc)))
    rows = _evaluate(cands, seeds, lab, d, y, pred, sc, class_names, k, proxy, store, progress)
    return _conclude(cands, wholes, rows, d, seeds, tolerance, tie)


def _proxy(fit_predict: Any, estimator: Any, X: Any, X_val: Any, labels: np.ndarray
           ) -> Callable[..., Any]:
    if fit_predict is not None and estimator is not None:
        raise ValueError("give one proxy: fit_predict= or estimator= (with X= and X_val=), "
                         "not both")
    if estimator is not None:
        if X is None or X_val is None:
            raise ValueError("estimator= needs X= (training features) and X_val= (validation "
                             "features)")
        return sklearn_proxy(estimator, X, X_val, labels)
    if fit_predict is None or not callable(fit_predict):
        raise ValueError("give a proxy: fit_predict=(kept, seed) -> validation predictions, or "
                         "estimator= with X= and X_val= (a scikit-learn estimator)")
    return fit_predict


class _Store:
    """One JSON file per finished evaluation under ``work_dir/evaluations`` (atomic writes)."""

    def __init__(self, work_dir: str | Path | None, context: dict[str, Any]) -> None:
        self.folder = None if work_dir is None else Path(work_dir) / "evaluations"
        self.context = context

    def path(self, cand: Candidate, seed: int, fold: int) -> Path | None:
        if self.folder is None:
            return None
        key = _key(dict(self.context, method=cand.method, options=cand.options, seed=seed,
                        fold=fold))
        return self.folder / f"{key}.json"

    def load(self, cand: Candidate, seed: int, fold: int) -> dict[str, Any] | None:
        path = self.path(cand, seed, fold)
        if path is None or not path.is_file():
            return None
        return json.loads(path.read_text())

    def save(self, cand: Candidate, seed: int, fold: int, row: dict[str, Any]) -> None:
        path = self.path(cand, seed, fold)
        if path is not None:
            from ._io import atomic_write_json

            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, row)


def _bar(total: int, progress: bool | None) -> Any:
    """The progress bar over the proxy trainings (droprune's one progress helper: a bar on a
    terminal, one logged line otherwise; ``progress=False``: nothing)."""
    from ._progress import progress_bar

    return progress_bar(total, "compare: proxy trainings", unit="model", leave=False,
                        enabled=progress is not False)


def _evaluate(cands: list[Candidate], seeds: list[int], lab: np.ndarray, d: float,
              y: np.ndarray, pred: np.ndarray, sc: np.ndarray | None, names: Any, k: int,
              proxy: Callable[..., Any], store: _Store, progress: bool | None
              ) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    bar = _bar(len(cands) * len(seeds) * 2, progress)
    failed: dict[str, str] = {}
    try:
        for seed in seeds:
            half_a, half_b = stratified_split(y, 0.5, seed=seed)
            for fold, (quota_part, measure_part) in enumerate(((half_a, half_b),
                                                               (half_b, half_a))):
                for cand in cands:
                    row = store.load(cand, seed, fold)  # keyed by method and options
                    if row is not None:
                        row = dict(row, candidate=cand.name)
                    else:
                        row = _one(cand, seed, fold, quota_part, measure_part, lab, d, y, pred,
                                   sc, names, k, proxy, failed)
                        if not row["error"]:
                            store.save(cand, seed, fold, row)
                    rows.append(row)
                    bar.set_postfix_str(f"{cand.name}, seed {seed}", refresh=False)
                    bar.update(1)
    finally:
        bar.close()
    return rows


def _one(cand: Candidate, seed: int, fold: int, quota_part: np.ndarray,
         measure_part: np.ndarray, lab: np.ndarray, d: float, y: np.ndarray,
         pred: np.ndarray, sc: np.ndarray | None, names: Any, k: int,
         proxy: Callable[..., Any], failed: dict[str, str]) -> dict[str, Any]:
    row = dict(candidate=cand.name, method=cand.method, seed=seed, fold=fold,
               worst=math.nan, avg=math.nan, error="")
    if cand.name in failed:  # the proxy already failed on this candidate: do not retry
        row["error"] = failed[cand.name]
        return row
    import warnings

    from .quotas import QuotaWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        kept = prune(lab, d, val_labels=y[quota_part], val_pred=pred[quota_part],
                     method=cand.method, scores=sc, seed=seed, class_names=names,
                     num_classes=k, **cand.options).kept
    try:
        out = proxy(kept, seed=seed)
    except Exception as exc:  # the proxy is user code: report this candidate, keep the rest
        failed[cand.name] = row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    got = np.asarray(out)
    if got.shape != y.shape:
        raise ValueError(f"the proxy returned shape {got.shape} for candidate {cand.name!r}; "
                         f"it must return one predicted class per validation sample, shape "
                         f"{y.shape}")
    row["worst"], row["avg"] = _measure(got.astype(np.int64), y, measure_part, k)
    return row


def _conclude(cands: list[Candidate], wholes: list[PruneResult], rows: list[dict[str, Any]],
              d: float, seeds: list[int], tolerance: float, tie: float) -> CompareResult:
    """The table, the recommendation, and the recommended rule's result on the whole
    validation split (``wholes``: each candidate's, computed once before training)."""
    import pandas as pd

    evals = pd.DataFrame(rows, columns=["candidate", "method", "seed", "fold", "worst", "avg",
                                        "error"])
    per_seed = evals.groupby(["candidate", "seed"], sort=False)[["worst", "avg"]].mean()
    base = per_seed.loc[BASELINE] if BASELINE in per_seed.index.get_level_values(0) else None
    table = []
    for c, whole in zip(cands, wholes):
        err = evals.loc[evals["candidate"] == c.name, "error"]
        error = next((e for e in err if e), "")
        s = per_seed.loc[c.name]
        w, a = _interval(s["worst"].to_numpy()), _interval(s["avg"].to_numpy())
        dw = da = (math.nan, math.nan, math.nan)
        if base is not None and c.name != BASELINE:
            dw = _interval((s["worst"] - base["worst"]).to_numpy(), -1.0)
            da = _interval((s["avg"] - base["avg"]).to_numpy(), -1.0)
        table.append(dict(candidate=c.name, method=whole.method, worst_mean=w[0], worst_lo=w[1],
                          worst_hi=w[2], avg_mean=a[0], avg_lo=a[1], avg_hi=a[2],
                          worst_diff=dw[0], worst_diff_lo=dw[1], worst_diff_hi=dw[2],
                          avg_diff=da[0], starved=len(whole.starved), seeds=len(seeds),
                          error=error, eligible=False, recommended=False))
    frame = pd.DataFrame(table, columns=list(TABLE_COLUMNS))
    pick, reason = _recommend(frame, tolerance, tie)
    frame.loc[pick, "recommended"] = True
    return CompareResult(table=frame, evaluations=evals, recommended=cands[pick].name,
                         reason=reason, result=wholes[pick], density=d, tolerance=tolerance, tie=tie)


def _recommend(frame: Any, tolerance: float, tie: float) -> tuple[int, str]:
    """Index of the recommended row and the reason (see the module docstring)."""
    ok = frame["error"] == ""
    if not ok.any():
        raise ValueError("the proxy failed on every candidate: "
                         + "; ".join(f"{r.candidate}: {r.error}" for r in frame.itertuples()))
    best_avg = frame.loc[ok, "avg_mean"].max()
    eligible = ok & (frame["avg_mean"] >= best_avg - tolerance - 1e-12)
    frame.loc[:, "eligible"] = eligible
    best = frame.loc[eligible, "worst_mean"].idxmax()
    best_worst = frame.loc[best, "worst_mean"]
    close = eligible & (frame["worst_mean"] >= best_worst - tie - 1e-12)
    pick = int(np.flatnonzero(close.to_numpy())[0])
    r = frame.loc[pick]
    why = (f"the highest mean worst-class accuracy ({_pct(r['worst_mean']).strip()}%) among the "
           f"{int(eligible.sum())} rules whose average accuracy is within "
           f"{100 * tolerance:g} points of the best ({_pct(best_avg).strip()}%)")
    if pick != best:
        why = (f"its mean worst-class accuracy ({_pct(r['worst_mean']).strip()}%) is within "
               f"{100 * tie:g} point(s) of the best ({frame.loc[best, 'candidate']}, "
               f"{_pct(best_worst).strip()}%), a difference treated as noise, and it is the "
               f"simpler rule (listed first); both have an average accuracy within "
               f"{100 * tolerance:g} points of the best ({_pct(best_avg).strip()}%)")
    return pick, why
