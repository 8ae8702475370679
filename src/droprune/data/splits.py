"""The validation / test split of an official test set (stratified, deterministic).

The paper reserves 50% of each class of the test set as the validation split that DRoP and
CDB-W read their class recalls from; the other half is the test split every metric is reported
on. :func:`stratified_split` (from the numpy core, :mod:`droprune.splits`) does that on plain
labels:

- per class k of size n_k, ``floor(val_fraction * n_k)`` samples go to validation (computed on
  the decimal the fraction prints as, so 0.5 * 7 = 3), the rest to test: with an odd class size
  and ``val_fraction=0.5`` the extra sample goes to the TEST split (the one reported);
- which samples go where: ``order="random"`` (default) takes a random permutation per class
  from ``numpy.random.default_rng(seed)``, so the split is the same for the same labels and
  seed, on every machine; ``order="first"`` sends the first ``floor(val_fraction * n_k)``
  samples of each class, by index, to validation (the DRoP reference code's split; no seed);
- both index arrays are sorted, disjoint, and their union is every index.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..splits import SPLIT_ORDERS, _check_fraction, stratified_split, validation_counts
from .base import LabelledDataset

__all__ = ["SPLIT_ORDERS", "check_reportable", "split_val_test", "stratified_split",
           "validation_counts"]


def split_val_test(heldout: LabelledDataset, val_fraction: float = 0.5, seed: int = 0,
                   order: str = "random") -> tuple[LabelledDataset, LabelledDataset]:
    """Split an official test set into the validation and test :class:`LabelledDataset`
    (:func:`stratified_split`, ``order`` "random" or "first").

    The results carry ``split="val"`` and ``split="test"``; their ``source_indices`` are rows
    of ``heldout`` (the official test set).
    """
    val_idx, test_idx = stratified_split(heldout.labels, val_fraction, seed, order)
    val = heldout.subset(val_idx)
    test = heldout.subset(test_idx)
    return _with_split(val, "val"), _with_split(test, "test")


def _with_split(dataset: LabelledDataset, split: str) -> LabelledDataset:
    return replace(dataset, split=split)


def check_reportable(dataset: LabelledDataset) -> LabelledDataset:
    """Return ``dataset`` if metrics may be reported on it; refuse the validation split.

    The validation half drives DRoP and CDB-W; reporting on it would leak the quantity being
    optimised into the result. Report on ``splits.test``.

    Examples
    --------
    >>> import torch
    >>> ds = LabelledDataset(torch.zeros(2, 1, 3), np.array([0, 1]), 2, split="val")
    >>> check_reportable(ds)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: dataset: refusing to report metrics on the validation split ...
    """
    if dataset.split == "val":
        raise ValueError(f"{dataset.name}: refusing to report metrics on the validation split "
                         f"(it drives DRoP/CDB-W); report on the test split (splits.test)")
    return dataset
