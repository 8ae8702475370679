"""Stratified splits of labels per class (numpy core; no torch).

:func:`stratified_split` cuts indices per class into two parts (validation / test of an
official test set in :mod:`droprune.data.splits`; the two halves of a validation split in
:func:`droprune.compare`):

- per class k of size n_k, ``floor(val_fraction * n_k)`` samples go to the first part (computed
  on the decimal the fraction prints as, so 0.5 * 7 = 3), the rest to the second: with an odd
  class size and ``val_fraction=0.5`` the extra sample goes to the SECOND part;
- which samples go where: ``order="random"`` (default) takes a random permutation per class
  from ``numpy.random.default_rng(seed)``, so the split is the same for the same labels and
  seed, on every machine; ``order="first"`` sends the first ``floor(val_fraction * n_k)``
  samples of each class, by index, to the first part (the DRoP reference code's split);
- both index arrays are sorted, disjoint, and their union is every index.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import numpy as np

from ._checks import as_labels, check_number

__all__ = ["SPLIT_ORDERS", "stratified_split", "validation_counts"]

#: how :func:`stratified_split` picks the validation samples of a class
SPLIT_ORDERS = ("random", "first")


def _check_fraction(val_fraction: float) -> float:
    return check_number(val_fraction, "val_fraction", minimum=0, maximum=1,
                        min_inclusive=False, max_inclusive=False,
                        hint="the share of each test class used for validation; the paper "
                             "uses 0.5")


def validation_counts(class_sizes: np.ndarray, val_fraction: float = 0.5) -> np.ndarray:
    """Validation samples per class: ``floor(val_fraction * n_k)`` (the rest is test).

    Examples
    --------
    >>> validation_counts(np.array([10, 7, 1, 0]), 0.5).tolist()
    [5, 3, 0, 0]
    >>> validation_counts(np.array([10]), 0.3).tolist()
    [3]
    """
    f = Decimal(repr(_check_fraction(val_fraction)))
    sizes = np.asarray(class_sizes, dtype=np.int64)
    return np.array([int((f * int(n)).to_integral_value(rounding=ROUND_FLOOR)) for n in sizes],
                    dtype=np.int64)


def stratified_split(labels: np.ndarray, val_fraction: float = 0.5, seed: int = 0,
                     order: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """Split indices per class into (validation, test); see the module docstring.

    Parameters
    ----------
    labels
        Integer class label per sample of the official test set.
    val_fraction
        Share of each class that goes to validation, in (0, 1) (rounded down per class).
    seed
        Seed of the per-class permutation (``order="random"``).
    order
        ``"random"``: a seeded random half; ``"first"``: the first samples of each class by
        index (the reference code's split).

    Returns
    -------
    (val_indices, test_indices)
        Sorted int64 arrays, disjoint, covering ``range(len(labels))``.

    Examples
    --------
    >>> val, test = stratified_split(np.array([0, 0, 0, 1, 1, 1, 1]), 0.5, seed=0)
    >>> len(val), len(test)
    (3, 4)
    >>> sorted(np.concatenate([val, test]).tolist()) == list(range(7))
    True
    >>> stratified_split(np.array([0, 1, 0, 1, 0, 1]), 0.5, order="first")[0].tolist()
    [0, 1]
    """
    lab = as_labels(labels)
    f = _check_fraction(val_fraction)
    if order not in SPLIT_ORDERS:
        raise ValueError(f"order must be one of {SPLIT_ORDERS}, got {order!r}")
    rng = np.random.default_rng(seed)
    sizes = np.bincount(lab) if lab.size else np.zeros(0, dtype=np.int64)
    n_val = validation_counts(sizes, f)
    val_parts, test_parts = [], []
    for k in range(sizes.size):
        members = np.flatnonzero(lab == k)
        perm = rng.permutation(members) if order == "random" else members
        val_parts.append(perm[:n_val[k]])
        test_parts.append(perm[n_val[k]:])
    empty = np.zeros(0, dtype=np.int64)
    val = np.sort(np.concatenate(val_parts)) if val_parts else empty
    test = np.sort(np.concatenate(test_parts)) if test_parts else empty
    return val.astype(np.int64), test.astype(np.int64)
