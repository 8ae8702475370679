"""Long-tailed (exponentially imbalanced) versions of a training set.

With K classes and imbalance factor I (largest class / smallest class), class k keeps

    n_k = round(n_ref * I ** (-k / (K - 1)))        (round half up)

samples, so class 0 is the largest and class K-1 the smallest, as in the usual long-tailed
CIFAR / TinyImageNet benchmarks. ``n_ref`` is the size of the SMALLEST class of the original
training set: every class can then supply its quota, and the factor is exact up to rounding.
On the balanced datasets of the paper (CIFAR, TinyImageNet) ``n_ref`` is simply the common class
size. Which samples a class keeps is drawn uniformly without replacement from
``numpy.random.default_rng(seed)``, class after class, so the result is deterministic for a
seed. Imbalance applies to the TRAIN split only; validation and test stay balanced.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_class_sizes, as_labels, check_number
from .base import LabelledDataset

__all__ = ["imbalanced_indices", "long_tail_counts", "make_imbalanced"]


def _check_factor(factor: float) -> float:
    return check_number(factor, "imbalance factor", minimum=1,
                        hint="largest class / smallest class; 1 keeps the classes balanced")


def long_tail_counts(class_sizes: np.ndarray, factor: float) -> np.ndarray:
    """Per-class sizes of the long-tailed version; see the module docstring.

    Parameters
    ----------
    class_sizes
        Size of each class in the original training set (every class must be non-empty).
    factor
        Imbalance factor I >= 1: size of class 0 / size of class K-1.

    Examples
    --------
    >>> long_tail_counts(np.array([500, 500, 500]), 100).tolist()
    [500, 50, 5]
    >>> long_tail_counts(np.array([520, 500, 510]), 1).tolist()
    [500, 500, 500]
    """
    sizes = as_class_sizes(class_sizes)
    f = _check_factor(factor)
    if np.any(sizes == 0):
        raise ValueError(f"class {int(np.flatnonzero(sizes == 0)[0])} has no training samples: "
                         f"a long-tailed version needs every class non-empty")
    n_ref = int(sizes.min())
    k = sizes.size
    if k == 1:
        return sizes.copy()
    exponents = -np.arange(k, dtype=np.float64) / (k - 1)
    counts = np.floor(n_ref * f ** exponents + 0.5).astype(np.int64)
    if counts[-1] < 1:
        raise ValueError(f"imbalance factor {factor!r} is too large for classes of {n_ref} "
                         f"samples: the smallest class would be empty (use a factor <= "
                         f"{2 * n_ref})")
    return counts


def imbalanced_indices(labels: np.ndarray, factor: float, seed: int = 0,
                       num_classes: int | None = None) -> np.ndarray:
    """Sorted indices of the samples kept by the long-tailed subsampling.

    Examples
    --------
    >>> labels = np.repeat(np.arange(3), 10)
    >>> kept = imbalanced_indices(labels, 10, seed=0)
    >>> np.bincount(labels[kept]).tolist()
    [10, 3, 1]
    """
    lab = as_labels(labels, num_classes=num_classes)
    k = int(num_classes) if num_classes is not None else (int(lab.max()) + 1 if lab.size else 0)
    if k == 0:
        raise ValueError("labels is empty: nothing to subsample")
    counts = long_tail_counts(np.bincount(lab, minlength=k), factor)
    rng = np.random.default_rng(seed)
    parts = [rng.choice(np.flatnonzero(lab == c), size=int(counts[c]), replace=False)
             for c in range(k)]
    return np.sort(np.concatenate(parts)).astype(np.int64)


def make_imbalanced(dataset: LabelledDataset, factor: float, seed: int = 0) -> LabelledDataset:
    """The long-tailed subset of ``dataset`` (``source_indices`` keep the original rows)."""
    return dataset.subset(imbalanced_indices(dataset.labels, factor, seed,
                                             num_classes=dataset.num_classes))
