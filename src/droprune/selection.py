"""Within-class selection: which samples are kept, given per-class keep counts.

Scores are always oriented **higher = harder = kept first**. Without scores, samples are kept
uniformly at random inside each class. Ties between equal scores are broken at random (from the
same seed), never by dataset order: integer scores such as forgetting counts have many ties,
and breaking them by index would bias the selection towards the start of the file.

Both functions return the kept indices sorted ascending, run in ``O(N log N)`` time with a
handful of ``O(N)`` arrays, and are deterministic for a seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_class_sizes, as_labels, as_scores, check_seed, target_count

__all__ = ["TIES", "select", "select_global"]

#: how ties between equal scores are broken: ``"random"`` (from the seed: droprune's) or
#: ``"highest_index"`` (the DRoP reference code's stable ascending sort, kept from the end)
TIES = ("random", "highest_index")


def _rank_order(n: int, scores: np.ndarray | None, rng: np.random.Generator,
                ties: str = "random") -> np.ndarray:
    """Permutation of ``range(n)``: highest score first, ties (or everything without scores)
    in random order, or with ``ties="highest_index"`` ties by descending index."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if scores is not None and ties == "highest_index":
        order = np.arange(n - 1, -1, -1, dtype=np.int64)
    else:
        order = rng.permutation(n)
    if scores is not None:
        keys = scores[order]
        # descending order as an ascending sort of a decreasing map: -x for floats (exact),
        # ~x for integers (-x - 1 signed, MAX - x unsigned: exact, where -x would overflow at
        # the int64 minimum and a float conversion would tie integers above 2**53)
        flipped = ~keys if np.issubdtype(keys.dtype, np.integer) else -keys
        order = order[np.argsort(flipped, kind="stable")]
    return order


def select(labels: Any, counts: Any, *, scores: Any = None, seed: int | None = 0,
           ties: str = "random") -> np.ndarray:
    """Indices kept when class ``k`` keeps ``counts[k]`` samples.

    Parameters
    ----------
    labels
        Class (or group) label of every sample, integers in ``[0, K)``, shape (N,).
    counts
        Keep count per class, shape (K,), ``0 <= counts[k] <=`` size of class ``k``
        (e.g. from :func:`droprune.drop_quotas`).
    scores
        Optional per-sample scores, index-aligned with ``labels``; within each class the
        highest scores are kept (higher = harder = kept first). ``None``: uniform at random.
    seed
        Seed of the random order (random selection and tie-breaking); None: fresh
        randomness (not reproducible).
    ties
        ``"random"`` (default): equal scores in random order from ``seed``;
        ``"highest_index"``: the highest index first (the DRoP reference code).

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices, ``sum(counts)`` of them.

    Examples
    --------
    >>> select([0, 0, 0, 1, 1], [1, 2], scores=[0.1, 0.9, 0.5, 0.3, 0.2])
    array([1, 3, 4])
    """
    seed = check_seed(seed)
    lab, counts, sizes = checked_counts(labels, counts)
    sc = None if scores is None else as_scores(scores, lab.size)
    order = _rank_order(lab.size, sc, np.random.default_rng(seed), ties)
    return first_in_each_class(order, lab, counts, sizes)


def checked_counts(labels: Any, counts: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(labels, counts, class sizes)`` of a selection by keep counts (a count above
    its class's size is a ``ValueError``)."""
    counts = as_class_sizes(counts, name="counts")
    lab = as_labels(labels, num_classes=counts.size)
    sizes = np.bincount(lab, minlength=counts.size)
    if np.any(counts > sizes):
        k = int(np.flatnonzero(counts > sizes)[0])
        raise ValueError(f"counts[{k}] = {counts[k]} exceeds the {sizes[k]} samples of class {k}")
    return lab, counts, sizes


def first_in_each_class(order: np.ndarray, lab: np.ndarray, counts: np.ndarray,
                        sizes: np.ndarray) -> np.ndarray:
    """The first ``counts[k]`` samples of each class ``k`` in ``order`` (a permutation of the
    samples, first = kept first), as sorted indices."""
    # Stable sort by label keeps the rank order inside each class.
    lab_dtype = np.int16 if counts.size <= np.iinfo(np.int16).max else np.int64
    by_class = order[np.argsort(lab[order].astype(lab_dtype), kind="stable")]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    lab_sorted = lab[by_class]
    rank_in_class = np.arange(lab.size) - starts[lab_sorted]
    kept = by_class[rank_in_class < counts[lab_sorted]]
    kept.sort()
    return kept


def select_global(scores: Any, density: float, *, seed: int | None = 0,
                  n: int | None = None, ties: str = "random") -> np.ndarray:
    """Indices kept by a global ranking, with no class quotas.

    Keeps ``round(density * N)`` samples: the highest scores (higher = harder = kept first,
    ties at random), or uniformly at random over the whole dataset when ``scores`` is None
    (the paper's "Random" baseline).

    Parameters
    ----------
    scores
        Per-sample scores, shape (N,), or ``None`` for random pruning (then give ``n``).
    density
        Fraction of the dataset KEPT, in [0, 1].
    seed
        Seed of the random order; None: fresh randomness (not reproducible).
    n
        Number of samples, needed only when ``scores`` is None.
    ties
        As in :func:`select`.

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices.

    Examples
    --------
    >>> select_global([0.2, 0.9, 0.1, 0.5], 0.5)
    array([1, 3])
    """
    seed = check_seed(seed)
    if scores is None:
        if n is None:
            raise ValueError("select_global needs n (the number of samples) when scores is None")
        size, sc = int(n), None
    else:
        sc = as_scores(scores, np.asarray(scores).size)
        size = sc.size
    keep = target_count(density, size)
    kept = _rank_order(size, sc, np.random.default_rng(seed), ties)[:keep]
    kept.sort()
    return kept.astype(np.int64)
