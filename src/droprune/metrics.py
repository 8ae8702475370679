"""Class-wise robustness metrics of a classifier and of a selection.

All functions take plain integer arrays. A class that has no test samples has an undefined
recall (NaN); the summaries (worst class, gap, std) ignore such classes. Groups generalise
classes: pass ``groups`` (e.g. class x background for Waterbirds) for group accuracies and the
group-weighted average, where each group's accuracy is weighted by that group's proportion in
the TRAINING set (not the test set).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from ._checks import (
    as_class_sizes,
    as_labels,
    as_selection,
    check_num_classes,
    infer_num_classes,
)

__all__ = [
    "RobustnessReport",
    "class_counts",
    "class_densities",
    "class_recalls",
    "density_accuracy_correlation",
    "min_samples_per_class",
    "robustness_report",
]


def class_recalls(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Recall of every class: the fraction of its samples predicted correctly.

    Returns float64, shape (K,); NaN for a class with no samples in ``y_true``.

    Examples
    --------
    >>> class_recalls([0, 0, 1, 1], [0, 1, 1, 1])
    array([0.5, 1. ])
    """
    yt = as_labels(y_true, name="y_true")
    yp = as_labels(y_pred, name="y_pred")
    if yt.size != yp.size:
        raise ValueError(f"y_true has {yt.size} entries but y_pred has {yp.size}")
    k = _num_classes(num_classes, yt, yp)
    as_labels(yt, name="y_true", num_classes=k)
    as_labels(yp, name="y_pred", num_classes=k)
    support = np.bincount(yt, minlength=k)
    hits = np.bincount(yt[yt == yp], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.maximum(support, 1), np.nan)


def _num_classes(num_classes: int | None, *arrays: np.ndarray,
                 names: tuple[str, ...] = ("y_true", "y_pred"), what: str = "num_classes"
                 ) -> int:
    """``num_classes`` checked, or inferred from the labels (a label far above the number of
    samples is refused before anything is counted: :func:`droprune._checks.infer_num_classes`)."""
    if num_classes is not None:
        return check_num_classes(num_classes, what)
    return infer_num_classes(*zip(names, arrays))


def _real_1d(values: Any, name: str) -> np.ndarray:
    """A 1-D float64 array of real numbers (complex numbers refused by name)."""
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} holds complex numbers: pass real numbers")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}") from None


@dataclass(frozen=True)
class RobustnessReport:
    """Average and class-wise quality of predictions (see :func:`robustness_report`).

    Attributes
    ----------
    accuracy
        Average accuracy over all test samples.
    class_recall
        Recall of each class (NaN for classes absent from the test set).
    worst_class_accuracy
        Minimum class recall.
    worst_class
        Index of the worst class (lowest index on ties).
    gap
        Max minus min class recall.
    std
        Standard deviation (population, ddof=0) of class recalls.
    class_names
        Names of the classes, when known.
    group_accuracy, worst_group_accuracy, group_weighted_accuracy
        Only with ``groups``: accuracy per group, its minimum, and the average of group
        accuracies weighted by the training group proportions.
    """

    accuracy: float
    class_recall: np.ndarray
    worst_class_accuracy: float
    worst_class: int
    gap: float
    std: float
    class_names: tuple[str, ...] | None = None
    group_accuracy: np.ndarray | None = None
    worst_group_accuracy: float | None = None
    group_weighted_accuracy: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def worst_class_name(self) -> str:
        """Name of the worst class (its index as text when names are unknown)."""
        if self.class_names is None:
            return str(self.worst_class)
        return self.class_names[self.worst_class]

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists instead of arrays; NaN kept), e.g. for JSON."""
        out = asdict(self)
        for key, value in list(out.items()):
            if isinstance(value, np.ndarray):
                out[key] = [float(v) for v in value]
        out["worst_class_name"] = self.worst_class_name
        return out

    def class_table(self):
        """Per-class recall as a pandas DataFrame (columns: class, name, recall)."""
        import pandas as pd

        names = self.class_names or tuple(str(k) for k in range(self.class_recall.size))
        return pd.DataFrame({"class": np.arange(self.class_recall.size), "name": list(names),
                             "recall": self.class_recall})

    def summary(self) -> str:
        """One line for logs: average, worst class (with its name), gap."""
        text = (f"accuracy {self.accuracy:.4f}, worst class {self.worst_class_name} "
                f"{self.worst_class_accuracy:.4f}, gap {self.gap:.4f}, std {self.std:.4f}")
        if self.group_weighted_accuracy is not None:
            text += (f", group-weighted {self.group_weighted_accuracy:.4f}, worst group "
                     f"{self.worst_group_accuracy:.4f}")
        return text


def robustness_report(y_true: Any, y_pred: Any, *, num_classes: int | None = None,
                      class_names: Sequence[str] | None = None, groups: Any = None,
                      train_group_proportions: Any = None,
                      num_groups: int | None = None) -> RobustnessReport:
    """Average accuracy and the class-wise robustness of predictions.

    Parameters
    ----------
    y_true, y_pred
        True and predicted class of each test sample, shape (n,).
    num_classes
        Number of classes K (default: the largest label seen + 1).
    class_names
        Optional names of the K classes, shown in reports.
    groups
        Optional group of each test sample (any partition, e.g. class x attribute).
    train_group_proportions
        Fraction (or count) of TRAINING samples in each group; needed for the group-weighted
        average. Normalised to sum to 1.
    num_groups
        Number of groups (default: the largest group seen + 1, or the length of
        ``train_group_proportions``).

    Returns
    -------
    RobustnessReport

    Examples
    --------
    >>> r = robustness_report([0, 0, 1, 1, 2, 2], [0, 0, 1, 0, 2, 2])
    >>> r.accuracy, r.worst_class, r.worst_class_accuracy, r.gap
    (0.8333333333333334, 1, 0.5, 0.5)
    """
    yt = as_labels(y_true, name="y_true")
    yp = as_labels(y_pred, name="y_pred")
    if yt.size == 0:
        raise ValueError("y_true is empty: there is nothing to evaluate")
    recall = class_recalls(yt, yp, num_classes=num_classes)
    k = recall.size
    names = None
    if class_names is not None:
        names = tuple(str(c) for c in class_names)
        if len(names) != k:
            raise ValueError(f"class_names has {len(names)} names but there are {k} classes")
    present = recall[~np.isnan(recall)]
    worst = int(np.nanargmin(recall))
    report: dict[str, Any] = dict(
        accuracy=float(np.mean(yt == yp)),

        class_recall=recall,
        worst_class_accuracy=float(present.min()),
        worst_class=worst,
        gap=float(present.max() - present.min()),
        std=float(present.std()),
        class_names=names,
    )
    if groups is not None:
        g = as_labels(groups, name="groups")
        if g.size != yt.size:
            raise ValueError(f"groups has {g.size} entries but y_true has {yt.size}")
        if num_groups is None and train_group_proportions is not None:
            num_groups = np.asarray(train_group_proportions).size
        g_acc = _group_accuracy(g, yt == yp, num_groups)
        report["group_accuracy"] = g_acc
        report["worst_group_accuracy"] = float(np.nanmin(g_acc))
        if train_group_proportions is not None:
            report["group_weighted_accuracy"] = _weighted(g_acc, train_group_proportions)
    elif train_group_proportions is not None:
        raise ValueError("train_group_proportions needs groups (the group of each test sample)")
    return RobustnessReport(**report)


def _group_accuracy(groups: np.ndarray, correct: np.ndarray, num_groups: int | None) -> np.ndarray:
    m = _num_classes(num_groups, groups, names=("groups",), what="num_groups")
    as_labels(groups, name="groups", num_classes=m)
    support = np.bincount(groups, minlength=m)
    hits = np.bincount(groups[correct], minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.maximum(support, 1), np.nan)


def _weighted(group_acc: np.ndarray, proportions: Any) -> float:
    p = _real_1d(proportions, "train_group_proportions")
    if p.ndim != 1 or p.size != group_acc.size:
        raise ValueError(f"train_group_proportions must have one entry per group "
                         f"({group_acc.size}), got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("train_group_proportions must be finite, >= 0 and not all zero")
    p = p / p.sum()
    used = p > 0
    if np.any(np.isnan(group_acc[used])):
        g = int(np.flatnonzero(used & np.isnan(group_acc))[0])
        raise ValueError(f"group {g} has training samples but no test samples: its accuracy "
                         f"is undefined, so the group-weighted average is too")
    return float(np.sum(p[used] * group_acc[used]))


def class_densities(labels: Any, selected: Any, num_classes: int | None = None) -> np.ndarray:
    """Fraction of each class kept by a selection (NaN for empty classes).

    ``selected`` holds the indices of the kept samples, each once, in ``[0, N)`` (see
    :func:`droprune._checks.as_selection`; a boolean mask is refused).

    Examples
    --------
    >>> class_densities([0, 0, 1, 1], [0, 2, 3])
    array([0.5, 1. ])
    """
    lab = as_labels(labels, num_classes=num_classes)
    k = _num_classes(num_classes, lab, names=("labels",))
    sizes = np.bincount(lab, minlength=k)
    kept = np.bincount(lab[as_selection(selected, lab.size)], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, kept / np.maximum(sizes, 1), np.nan)


def min_samples_per_class(labels: Any, selected: Any, num_classes: int | None = None) -> int:
    """Smallest number of samples any class keeps in a selection (empty classes count as 0).

    ``selected`` is validated as in :func:`class_densities`.

    Examples
    --------
    >>> min_samples_per_class([0, 0, 1, 1, 2], [0, 1, 2])
    0
    """
    lab = as_labels(labels, num_classes=num_classes)
    k = _num_classes(num_classes, lab, names=("labels",))
    return int(np.bincount(lab[as_selection(selected, lab.size)], minlength=k).min())


def density_accuracy_correlation(class_density: Any, class_accuracy: Any) -> float:
    """Pearson correlation across classes of class density and full-data class accuracy.

    The paper shows that existing scores keep MORE of the easy classes (positive correlation),
    while DRoP keeps more of the hard ones (negative). Classes where either value is NaN are
    ignored; NaN is returned when fewer than two classes remain or a value is constant.

    Examples
    --------
    >>> round(density_accuracy_correlation([0.2, 0.5, 0.8], [0.9, 0.7, 0.5]), 6)
    -1.0
    """
    d = _real_1d(class_density, "class_density")
    a = _real_1d(class_accuracy, "class_accuracy")
    if d.shape != a.shape or d.ndim != 1:
        raise ValueError(f"class_density and class_accuracy must be 1-D of the same length, "
                         f"got shapes {d.shape} and {a.shape}")
    ok = ~(np.isnan(d) | np.isnan(a))
    d, a = d[ok], a[ok]
    if d.size < 2 or np.ptp(d) == 0 or np.ptp(a) == 0:
        return float("nan")
    return float(np.corrcoef(d, a)[0, 1])


def class_counts(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Per-class sample counts of a label array (a thin, validated ``bincount``)."""
    lab = as_labels(labels, num_classes=num_classes)
    return as_class_sizes(np.bincount(lab, minlength=_num_classes(
        num_classes, lab, names=("labels",))))
