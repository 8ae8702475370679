"""Prune your own data in one call: labels (and recalls or validation predictions, optionally
scores) in, the kept indices and a per-class table out.

:func:`prune` is DRoP end to end on plain arrays, from any framework: it takes the per-class
validation recalls (given, or computed from validation labels and predictions or predicted
probabilities), turns them into class keep counts with a quota rule
(:func:`droprune.make_quotas`) and picks the samples inside each class
(:func:`droprune.select`), at random or by scores the caller computed. It imports neither
torch nor anything above the numpy core. :func:`select_by_method` is the dispatch from a
parsed method name to those building blocks, shared with the experiment pipeline.

The default is the paper's rule (``error_estimate="point"``, no floors): a class with a perfect
validation recall keeps nothing until every other class is full, with a
:class:`~droprune.QuotaWarning`. See ``docs/prune.md`` and ``docs/quotas.md`` for the
safeguards (``min_per_class``, ``min_density``, ``error_estimate="beta"``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._checks import (
    as_class_names,
    as_labels,
    as_scores,
    check_density,
    check_seed,
    refuse_mapping,
    target_count,
)
from ._recall_inputs import (  # noqa: F401 - validation_predictions is part of this module's API
    _check_every_class_validated,
    _check_val_pred,
    _num_classes,
    _recalls,
    validation_predictions,
)
from .methods import Method, parse_method
from .quotas import (
    JEFFREYS_PRIOR,
    QUOTA_RULES,
    DropMode,
    ErrorEstimate,
    QuotaOptions,
    _LISTED,
    QuotaWarning,
    floor_counts,
    half_density_floors,
    make_quotas,
    quotas_from_selection,
    starved_classes,
    under_served_classes,
    under_served_message,
)
from .selection import select, select_global

__all__ = ["PruneResult", "parse_prune_method", "prune", "select_by_method"]

#: Columns of :attr:`PruneResult.table`.
TABLE_COLUMNS = ("class", "name", "size", "val_recall", "val_count", "kept", "density",
                 "starved", "under_served", "bound", "paper_kept")


def select_by_method(method: Method, labels: np.ndarray, density: float, *, num_classes: int,
                     scores: np.ndarray | None = None, recalls: Any = None,
                     val_counts: Any = None, options: QuotaOptions | None = None,
                     class_names: Sequence[Any] | None = None, seed: int | None = 0,
                     ties: str = "random") -> np.ndarray:
    """Indices a parsed method keeps at ``density`` (sorted int64): the one dispatch from a
    method to the quota rules and selections of the numpy core.

    ``Full`` keeps everything. A strategy alone ranks globally (:func:`droprune.select_global`:
    by ``scores``, or at random for ``Random``); ``Random+XQ`` takes the class histogram of the
    global ranking by ``scores`` (X's) and picks at random inside each class; every other form
    takes the quota rule's counts (:func:`droprune.make_quotas` with ``recalls``,
    ``val_counts``, the one :class:`~droprune.quotas.QuotaOptions` ``options`` and
    ``class_names``) and picks inside each class by ``scores`` (a strategy) or at random
    (``Random``).

    Parameters
    ----------
    method
        A parsed method (:func:`droprune.methods.parse_method`).
    labels
        Validated int64 labels in ``[0, num_classes)``, shape (N,).
    density
        Fraction KEPT.
    num_classes
        Number of classes K.
    scores
        The per-sample scores the method reads (:attr:`Method.reads_scores`), else None.
    recalls
        Per-class validation recalls, for DRoP.
    val_counts
        Validation samples per class (for ``error_estimate="beta"``).
    options
        The quota rule's safeguards and variants (default: the paper's rule).
    class_names
        Names of the classes, for warnings.
    seed
        Seed of the random order.
    ties
        How equal scores are ordered (:func:`droprune.select`): ``"random"`` or
        ``"highest_index"`` (the DRoP reference code).

    Examples
    --------
    >>> m = parse_method("Random+DRoP", strategies=())
    >>> labels = np.repeat([0, 1], 20)
    >>> kept = select_by_method(m, labels, 0.5, num_classes=2, recalls=[0.8, 0.6])
    >>> np.bincount(labels[kept])
    array([ 7, 13])
    """
    n = labels.size
    if method.is_full:
        return np.arange(n, dtype=np.int64)
    sizes = np.bincount(labels, minlength=num_classes)
    rule = QUOTA_RULES.entry(method.quota)
    selection_counts = None
    if "selection" in rule.needs:  # Random inside the other strategy's class counts
        selection_counts = quotas_from_selection(
            labels, select_global(scores, density, seed=seed, ties=ties), num_classes)
        scores = None
    counts = make_quotas(rule.name, sizes, density, recalls=recalls, val_counts=val_counts,
                         selection_counts=selection_counts, options=options,
                         class_names=class_names)
    if counts is None:  # no quotas: a global ranking
        return select_global(scores, density, seed=seed, n=n, ties=ties)
    return select(labels, counts, scores=scores, seed=seed, ties=ties)


@dataclass(frozen=True, eq=False, repr=False)
class PruneResult:
    """What :func:`prune` kept, and why.

    Attributes
    ----------
    kept
        Sorted int64 indices of the kept samples (row i = sample i of ``labels``).
    table
        One row per class (pandas DataFrame; columns ``class``, ``name``, ``size``,
        ``val_recall`` (NaN when unknown, and for a class without validation samples under
        ``error_estimate="beta"``, whose error is the prior mean), ``val_count`` (validation
        samples; <NA> when unknown), ``kept``, ``density`` (kept / size; NaN for an empty
        class), ``starved`` (kept fewer than ``min(size, 5)``, see
        :func:`droprune.starved_classes`) and ``under_served`` (kept density below a quarter
        of the target density, see :func:`droprune.quotas.under_served_classes`)).
    warnings
        The messages of the :class:`~droprune.QuotaWarning` issued (also emitted as warnings,
        each with its category: :class:`~droprune.quotas.UnderServedWarning` when a call
        under-serves classes without starving any).
    starved
        Indices of the starved classes.
    method
        Canonical method name (e.g. ``"Random+DRoP"``).
    density
        The density asked for (fraction KEPT); the kept fraction is ``kept.size / labels.size``.
    labels
        The training labels the selection was made on, int64.
    class_names
        Name of each class (its index as text when none were given).
    seed
        Seed of the random order (None: fresh randomness, not reproducible).
    under_served
        Indices of the under-served classes (starved ones included when their density is
        below a quarter of the target too).
    """

    kept: np.ndarray
    table: Any
    warnings: tuple[str, ...]
    starved: tuple[int, ...]
    method: str
    density: float
    labels: np.ndarray = field(repr=False)
    class_names: tuple[str, ...] = field(repr=False)
    seed: int | None = 0
    under_served: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return (f"PruneResult(method={self.method!r}, density={self.density!r}, "
                f"kept={self.kept.size} of {self.labels.size}, starved={self.starved!r})")

    def kept_frame(self, paths: Sequence[Any] | None = None):
        """The kept samples as a DataFrame: ``index``, ``label``, ``class_name`` and, with
        ``paths`` (one per sample of the dataset, ``None`` or ``""`` where there is no file),
        ``path``."""
        import pandas as pd

        lab = self.labels[self.kept]
        frame = pd.DataFrame({"index": self.kept, "label": lab,
                              "class_name": np.asarray(self.class_names, dtype=object)[lab]})
        if paths is not None:
            if len(paths) != self.labels.size:
                raise ValueError(f"paths has {len(paths)} entries but there are "
                                 f"{self.labels.size} samples")
            frame["path"] = ["" if paths[i] is None else str(paths[i]) for i in self.kept]
        return frame

    def to_csv(self, path: str | Path, paths: Sequence[Any] | None = None) -> Path:
        """Write the kept list (:meth:`kept_frame`) as CSV, atomically. Returns ``path``."""
        from ._io import atomic_write_text

        return atomic_write_text(path, self.kept_frame(paths).to_csv(index=False))

    def summary(self) -> str:
        """A few lines: what was kept, the class densities, starved classes, warnings."""
        t = self.table
        n, k = int(self.labels.size), len(t)
        dens = t["density"].dropna()
        lines = [f"{self.method} at density {self.density:g}: kept {self.kept.size} of {n} "
                 f"samples ({self.kept.size / max(n, 1):.1%}) over {k} classes"]
        if len(dens):
            lo, hi = int(dens.idxmin()), int(dens.idxmax())
            lines.append(f"class densities from {dens[lo]:.3f} ({t['name'][lo]}) to "
                         f"{dens[hi]:.3f} ({t['name'][hi]})")
        names = t["name"].to_numpy()
        lines.append(f"starved classes: {_some(names, self.starved) or 'none'}")
        starved = set(self.starved)
        under = [c for c in self.under_served if c not in starved]
        if under:
            lines.append("under-served classes (density below a quarter of the target): "
                         + _some(names, under))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _some(names: np.ndarray, classes: Sequence[int], shown: int = _LISTED) -> str:
    """The names of the first ``shown`` of ``classes``, and how many more.

    Examples
    --------
    >>> _some(np.array(["a", "b", "c"]), [0, 2], shown=1)
    'a and 1 more'
    """
    more = f" and {len(classes) - shown} more" if len(classes) > shown else ""
    return ", ".join(str(names[c]) for c in classes[:shown]) + more


def resolve_floor(quota: str, min_density: float | None, density: float) -> tuple[str, float]:
    """The front door's quota rule and ``min_density`` (``droprune.prune``, ``droprune prune``
    and the out-of-core pruning): ``min_density`` as given with ``quota`` as given; when None
    (not set by the caller), DRoP (``"drop"``) becomes the ``"drop_floor"`` rule, every class
    kept at least at half the density, a floor that gives way where it cannot fit (rounded down
    per class, then dropped: :func:`droprune.quotas.half_density_floors`), so that a feasible
    call never fails on, nor names, a floor the caller did not set; any other rule that reads
    validation recalls gets ``density / 2`` and every other rule 0.

    Examples
    --------
    >>> resolve_floor("drop", None, 0.3), resolve_floor("drop", 0.1, 0.3)
    (('drop_floor', 0.0), ('drop', 0.1))
    >>> resolve_floor("none", None, 0.3)
    ('none', 0.0)
    """
    if min_density is not None:
        return quota, min_density
    if quota == "drop":
        return "drop_floor", 0.0
    return quota, density / 2 if QUOTA_RULES.entry(quota).needs_recalls else 0.0


def prune(labels: Any, density: float, *, recalls: Any = None, val_labels: Any = None,
          val_pred: Any = None, val_proba: Any = None, val_counts: Any = None,
          scores: Any = None, method: str = "Random+DRoP", seed: int | None = 0,
          error_estimate: ErrorEstimate = "point",
          prior: tuple[float, float] = JEFFREYS_PRIOR, min_per_class: int = 0,
          min_density: float | None = None, mode: DropMode = "density",
          class_names: Sequence[Any] | None = None, num_classes: int | None = None
          ) -> PruneResult:
    """Prune a labelled training set to ``density`` with DRoP (or any method): one call.

    DRoP with a floor by default: every class keeps at least half the target density
    (``min_density=None`` means ``density / 2`` for DRoP), which in our study
    (``docs/quotas.md``) kept the paper's gains where it had them and avoided its collapses
    where a class's validation error was (close to) zero. ``min_density=0`` is the paper's rule
    exactly; see ``docs/prune.md`` for the other safeguards (``min_per_class``,
    ``error_estimate="beta"``).

    Parameters
    ----------
    labels
        Class of every training sample, integers in ``[0, K)``, shape (N,).
    density
        Fraction of the training set KEPT, in [0, 1].
    recalls
        Per-class validation recall in [0, 1], shape (K,) (a fraction, not a percentage).
        Give it, or ``val_labels`` with ``val_pred`` or ``val_proba``; only DRoP reads it
        (other methods show it in the table).
    val_labels
        True class of every validation sample (held out from training), shape (M,).
    val_pred
        Predicted class of every validation sample, shape (M,).
    val_proba
        Predicted class probabilities (or logits) of the validation samples, shape (M, K);
        the prediction is their argmax. A row whose largest value is shared by several
        classes (a tie) counts as wrong for the recalls, whichever its true class: no class
        gets the ties (``argmax`` alone would give them all to the lowest class index).
    val_counts
        Validation samples per class, for ``error_estimate="beta"``; computed from
        ``val_labels`` when they are given (then do not pass it). Under ``"beta"`` a class
        with no validation sample gets the prior mean ``a / (a + b)`` as its error, and the
        table shows its recall as NaN (a recall given for it is ignored).
    scores
        Per-sample scores, shape (N,), higher = harder = kept first, for a method that reads
        them (``"X+DRoP"``, ``"X"``, ``"Random+XQ"``: ``X`` is then just the name of these
        scores). Without scores only ``Random`` strategies are valid.
    method
        ``"Random+DRoP"`` (default, the proposed method), ``"X+DRoP"``, ``"Random"`` (no
        quotas), ``"X"`` (global ranking by ``scores``), ``"Random+XQ"`` (the class counts of
        ``X`` alone), ``"Random+Balanced"``, ``"Random+Proportional"`` or ``"X+Balanced"`` ...
        (case-insensitive). ``Full`` and ``+CDBW`` concern training and are refused.
    seed
        Seed of the random order (random selection and ties): an integer >= 0, or None for
        fresh randomness (not reproducible), as in :func:`droprune.select`.
    error_estimate, prior, min_per_class, mode
        The quota rule's options (see :func:`droprune.drop_quotas`); the floors apply to the
        DRoP, Balanced and Proportional rules.
    min_density
        Every class keeps at least this fraction of its samples. None (default): half of
        ``density`` for DRoP methods (the ``drop_floor`` rule: rounded down per class where
        rounding up does not fit, e.g. with many one-sample classes, and given up where even
        that does not fit beside ``min_per_class``, so it never refuses a call; see
        :func:`resolve_floor`), 0 for the others; 0: the paper's rule.
    class_names
        Name of each class (all different), for the table and the warnings.
    num_classes
        K; by default the length of ``recalls``, of ``class_names``, the width of
        ``val_proba`` (``labels`` and ``val_labels`` must fit it), or else the largest label
        of ``labels`` and ``val_labels`` + 1. A ``val_pred`` never adds a class: a prediction
        outside the classes is refused (pass ``num_classes`` if there are more).

    Returns
    -------
    PruneResult
        ``kept`` (sorted indices), ``table`` (per class), ``warnings``, ``starved``.

    Raises
    ------
    ValueError
        On inputs that disagree or are out of range (one line naming the argument), before any
        work.

    Warns
    -----
    QuotaWarning
        When a class keeps fewer than ``min(N_k, 5)`` samples, or (an
        :class:`~droprune.quotas.UnderServedWarning`) less than a quarter of ``density``
        (also in ``result.warnings``; the default floor of DRoP, half the density, prevents
        the latter).

    Examples
    --------
    >>> import numpy as np, droprune
    >>> labels = np.repeat([0, 1, 2], 100)               # 300 training samples, 3 classes
    >>> val_labels = np.repeat([0, 1, 2], 20)
    >>> val_pred = val_labels.copy(); val_pred[20:26] = 0; val_pred[40:52] = 0
    >>> result = droprune.prune(labels, 0.5, val_labels=val_labels, val_pred=val_pred)
    >>> result.table[["class", "val_recall", "kept"]]
       class  val_recall  kept
    0      0         1.0    25
    1      1         0.7    42
    2      2         0.4    83
    >>> result
    PruneResult(method='Random+DRoP', density=0.5, kept=150 of 300, starved=())
    >>> result.kept[result.labels[result.kept] == 1][:3]   # sorted indices, class 1 at random
    array([103, 106, 107])

    Class 0 (a perfect recall on 20 samples) keeps the floor, half the density. The paper's
    rule (``min_density=0``) leaves it nothing, with a QuotaWarning:

    >>> droprune.prune(labels, 0.5, val_labels=val_labels, val_pred=val_pred,
    ...                min_density=0).table["kept"].tolist()
    [0, 50, 100]
    """
    parsed = parse_prune_method(method, scores_given=scores is not None)
    for value, name, what in ((labels, "labels", "sample"), (recalls, "recalls", "class"),
                              (val_counts, "val_counts", "class"), (scores, "scores", "sample"),
                              (class_names, "class_names", "class")):
        refuse_mapping(value, name, what)
    seed = check_seed(seed)
    _check_val_pred(val_pred)
    lab = as_labels(labels)
    k = _num_classes(num_classes, lab, recalls, class_names, val_proba, val_labels, val_pred)
    lab = as_labels(lab, num_classes=k)
    names = as_class_names(class_names, k)
    density = check_density(density)
    sc = None if scores is None else as_scores(scores, lab.size)
    rec, n_val = _recalls(k, recalls, val_labels, val_pred, val_proba, val_counts)
    if parsed.needs_recalls and rec is None:
        raise ValueError(f"method {parsed.name!r} sets DRoP quotas from the validation recall "
                         f"of each class: pass recalls=, or val_labels= with val_pred= or "
                         f"val_proba=")
    sizes = np.bincount(lab, minlength=k)
    if parsed.needs_recalls and val_labels is not None and error_estimate == "point":
        _check_every_class_validated(sizes, n_val, names)
    quota, floor = resolve_floor(parsed.quota, min_density, density)
    ruled = replace(parsed, quota=quota)  # (its name stays the caller's)
    options = QuotaOptions(mode=mode, error_estimate=error_estimate, prior=prior,
                           min_per_class=min_per_class, min_density=floor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuotaWarning)
        kept = select_by_method(ruled, lab, density, num_classes=k, scores=sc, recalls=rec,
                                val_counts=n_val, options=options, class_names=names,
                                seed=seed)
    issued: list[tuple[str, type[Warning]]] = [(str(w.message), w.category) for w in caught
                                                if issubclass(w.category, QuotaWarning)]
    for w in caught:  # other warnings pass through untouched
        if not issubclass(w.category, QuotaWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    counts = np.bincount(lab[kept], minlength=k)
    starved = tuple(starved_classes(counts, sizes))
    under = tuple(under_served_classes(counts, sizes, density))
    if QUOTA_RULES.entry(parsed.quota).allocate is None:
        issued += _global_ranking_warning(parsed, counts, sizes, density, names, starved)
    for text, category in issued:
        warnings.warn(text, category, stacklevel=2)
    shown = tuple(names) if names is not None else tuple(np.arange(k).astype(str).tolist())
    if rec is not None and n_val is not None and error_estimate == "beta":
        rec = np.where(n_val == 0, np.nan, rec)  # the prior mean was used, not a recall
    bound, paper = _why(ruled, sizes, counts, density, rec, n_val, options)
    table = _table(sizes, counts, rec, n_val, shown, starved, under, bound, paper)
    return PruneResult(kept=kept, table=table, warnings=tuple(t for t, _ in issued),
                       starved=starved, method=parsed.name, density=density, labels=lab,
                       class_names=shown, seed=seed, under_served=under)


def _global_ranking_warning(parsed: Method, counts: np.ndarray, sizes: np.ndarray,
                            density: float, names: list[str] | None, starved: tuple[int, ...]
                            ) -> list[tuple[str, type[Warning]]]:
    """The one warning of a global ranking (no quota rule warns for it) that starves or
    under-serves classes."""
    from .quotas import UnderServedWarning

    under = under_served_message(counts, sizes, density, names, exclude=starved)
    fix = f"use a quota rule (e.g. {parsed.strategy}+DRoP)"
    if starved:
        listed = ", ".join(f"class {c} keeps {counts[c]} of {sizes[c]}" for c in starved[:10])
        also = "" if under is None else f"; under-served besides: {under}"
        return [(f"the global ranking {parsed.name} (no class quotas) starves {len(starved)} "
                 f"classes: {listed}; {fix} with min_per_class=5{also}", QuotaWarning)]
    if under is not None:
        return [(f"the global ranking {parsed.name} (no class quotas) under-serves classes: "
                 f"{under}; {fix}, whose default floor is half the density",
                 UnderServedWarning)]
    return []


def parse_prune_method(method: Any, *, scores_given: bool | str | None) -> Method:
    """A method name as :func:`prune` reads it: any strategy name is the label of the scores
    given; ``Full`` and ``+CDBW`` (training, not selection) are refused, and so is a method
    that reads scores when none are given, or one that picks at random when scores are
    (``scores_given=None`` skips these two checks; a string is given scores as the caller
    names them in that error, e.g. the command line's ``--scores FILE``; True: ``scores=``).

    Examples
    --------
    >>> parse_prune_method("margin+drop", scores_given=True).name
    'margin+DRoP'
    >>> parse_prune_method("EL2N+DRoP", scores_given=False)
    Traceback (most recent call last):
    ...
    ValueError: method 'EL2N+DRoP' reads EL2N scores: pass scores= (one per sample, higher = harder = kept first), or use a Random method such as 'Random+DRoP'
    """
    parsed = parse_method(method, strategies="any")
    if parsed.is_full:
        raise ValueError("method 'Full' keeps everything: nothing to prune (pass a density and "
                         "a method such as 'Random+DRoP')")
    if parsed.cdbw:
        raise ValueError(f"method {method!r}: +CDBW weights the final training, it selects "
                         f"nothing; drop '+CDBW' (train with CDB-W yourself)")
    if scores_given is None:
        return parsed
    if parsed.reads_scores and not scores_given:
        named = parsed.quota_strategy or parsed.strategy
        raise ValueError(f"method {parsed.name!r} reads {named} scores: pass scores= (one per "
                         f"sample, higher = harder = kept first), or use a Random method such "
                         f"as 'Random+DRoP'")
    if scores_given and not parsed.reads_scores:
        given = scores_given if isinstance(scores_given, str) else "scores="
        raise ValueError(f"{given} was given but method {parsed.name!r} picks at random: name "
                         f"the scores in the method (e.g. 'MyScore+DRoP', 'MyScore' or "
                         f"'Random+MyScoreQ') or leave {given} out")
    return parsed


def _why(parsed: Method, sizes: np.ndarray, counts: np.ndarray, density: float,
         recalls: np.ndarray | None, val_counts: np.ndarray | None, options: QuotaOptions
         ) -> tuple[list[str], np.ndarray | None]:
    """Per class, what bound decided its count (``"floor"``: the floor, where the rule without
    it keeps fewer; ``"whole class"``: every sample; ``""``: the rule itself), and what the
    paper's rule (DRoP, point estimate, no floor) would keep, for rules that read recalls."""
    rule = QUOTA_RULES.entry(parsed.quota)
    bound = np.full(sizes.size, "", dtype=object)
    bound[(counts == sizes) & (sizes > 0)] = "whole class"
    paper = bare = None
    if rule.allocate is None or "selection" in rule.needs:
        return bound.tolist(), paper
    opts = options.for_rule(rule.name)
    lower, bare_rule = floor_counts(sizes, opts.min_per_class, opts.min_density), rule.name
    if rule.name == "drop_floor":  # its own floor too; without floors it is DRoP
        lower = half_density_floors(sizes, density, lower,
                                    target_count(density, int(sizes.sum())))
        bare_rule = "drop"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        if lower.any():
            bare = make_quotas(bare_rule, sizes, density, recalls=recalls,
                               val_counts=val_counts,
                               options=opts.replace(min_per_class=0, min_density=0.0))
            bound[(counts == lower) & (lower > 0) & (bare < lower)] = "floor"
        known = recalls is not None and bool(np.all(np.isfinite(recalls[sizes > 0])))
        if rule.needs_recalls and known:  # (a class without a recall has no paper count)
            same = bare_rule == "drop" and opts.error_estimate == "point"  # computed: bare
            paper = bare if same and bare is not None else make_quotas(
                "drop", sizes, density, recalls=recalls, options=QuotaOptions(mode=options.mode))
    return bound.tolist(), paper


def _table(sizes: np.ndarray, counts: np.ndarray, recalls: np.ndarray | None,
           val_counts: np.ndarray | None, names: tuple[str, ...], starved: tuple[int, ...],
           under_served: tuple[int, ...] = (), bound: Sequence[str] | None = None,
           paper_kept: np.ndarray | None = None):
    import pandas as pd

    k = sizes.size
    with np.errstate(invalid="ignore", divide="ignore"):
        density = np.where(sizes > 0, counts / np.maximum(sizes, 1), np.nan)
    return pd.DataFrame({
        "class": np.arange(k, dtype=np.int64),
        "name": list(names),
        "size": sizes.astype(np.int64),
        "val_recall": np.full(k, np.nan) if recalls is None else recalls.astype(np.float64),
        "val_count": pd.array([None] * k if val_counts is None else val_counts.tolist(),
                              dtype="Int64"),
        "kept": counts.astype(np.int64),
        "density": density,
        "starved": np.isin(np.arange(k), starved),
        "under_served": np.isin(np.arange(k), under_served),
        "bound": [""] * k if bound is None else list(bound),
        "paper_kept": pd.array([None] * k if paper_kept is None else paper_kept.tolist(),
                               dtype="Int64"),
    }, columns=list(TABLE_COLUMNS))
