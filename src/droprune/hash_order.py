"""A random order that SQL engines can compute: the seeded hash order of the out-of-core path.

:func:`droprune.select` orders samples by ``numpy.random.default_rng(seed).permutation``,
which no SQL engine can reproduce. The out-of-core path (:mod:`droprune.outofcore`) ranks
samples instead by a **hash key** of (seed, row index) written in plain 64-bit integer
arithmetic, and this module computes the same keys (and the same kept sets) in numpy for data
in memory. For one seed the key is a bijection of the index (no two samples tie), so "random
inside each class" is: the samples with the smallest keys; "by score" is: highest score first,
equal scores by smallest key.

The key (every intermediate value is non-negative and below ``2**63``, so signed 64-bit
engines compute it without overflow)::

    mix(x)  = x ^ (x >> 16); x = (x * 0x7feb352d) & 0xffffffff
              x ^= x >> 15;  x = (x * 0x1b873593) & 0xffffffff;  x ^ (x >> 16)
    l, r    = index >> 31, index & 0x7fffffff                  # index < 2**62
    4 times: l, r = r, l ^ (mix(r ^ K_j) & 0x7fffffff)          # a Feistel network
    key     = l * 2**31 + r

with round keys ``K_j`` (31 bits) taken from the SHA-256 of ``"droprune-hash-order/<seed>/<j>"``
(:func:`round_keys`). The same seed gives the same order on every machine and engine;
another seed gives another order.

Examples
--------
>>> hash_keys([0, 1, 2], seed=0).dtype
dtype('int64')
>>> labels = np.repeat([0, 1], 5)
>>> select_hashed(labels, [2, 3], seed=0)
array([0, 1, 7, 8, 9])
"""

from __future__ import annotations

import hashlib
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import as_labels, as_scores, check_int, target_count
from .selection import checked_counts, first_in_each_class

if TYPE_CHECKING:  # quotas is imported where it is used
    from .quotas import DropMode, ErrorEstimate

__all__ = ["MIX_MULTIPLIERS", "hash_keys", "hashed_kept", "round_keys", "select_global_hashed",
           "select_hashed"]

#: the two odd multipliers of the mixing function (each below 2**31)
MIX_MULTIPLIERS = (0x7FEB352D, 0x1B873593)
MASK32, MASK31 = 0xFFFFFFFF, 0x7FFFFFFF
#: Feistel rounds of the key
ROUNDS = 4
_CHUNK = 1 << 22


def round_keys(seed: int) -> tuple[int, ...]:
    """The 31-bit round keys of ``seed`` (a non-negative integer).

    Examples
    --------
    >>> len(round_keys(0)), all(0 <= k < 2**31 for k in round_keys(7))
    (4, True)
    """
    seed = check_int(seed, "seed", minimum=0)
    return tuple(int.from_bytes(hashlib.sha256(f"droprune-hash-order/{seed}/{j}".encode())
                                .digest()[:4], "big") & MASK31 for j in range(ROUNDS))


def _mix(x: np.ndarray) -> np.ndarray:
    m1, m2 = (np.uint64(m) for m in MIX_MULTIPLIERS)
    x = x ^ (x >> np.uint64(16))
    x = (x * m1) & np.uint64(MASK32)
    x = x ^ (x >> np.uint64(15))
    x = (x * m2) & np.uint64(MASK32)
    return x ^ (x >> np.uint64(16))


def hash_keys(index: Any, seed: int = 0) -> np.ndarray:
    """The hash key of every row index for ``seed`` (int64 in ``[0, 2**62)``): the order of the
    out-of-core selection (module docstring).

    Parameters
    ----------
    index
        Row indices (non-negative integers below ``2**62``), any shape.
    seed
        A non-negative integer.

    Examples
    --------
    >>> keys = hash_keys(np.arange(1000), seed=3)
    >>> np.unique(keys).size                       # a bijection: no ties
    1000
    """
    idx = np.asarray(index)
    if idx.dtype.kind not in "iu" or (idx.size and (idx.min() < 0 or idx.max() >= 2**62)):
        raise ValueError("index must hold integers in [0, 2**62)")
    keys = [np.uint64(k) for k in round_keys(seed)]
    flat = idx.astype(np.uint64).ravel()
    out = np.empty(flat.size, dtype=np.int64)
    for lo in range(0, flat.size, _CHUNK):  # bounded temporaries on large inputs
        part = flat[lo:lo + _CHUNK]
        left, right = part >> np.uint64(31), part & np.uint64(MASK31)
        for k in keys:
            left, right = right, left ^ (_mix(right ^ k) & np.uint64(MASK31))
        out[lo:lo + _CHUNK] = ((left << np.uint64(31)) | right).astype(np.int64)
    return out.reshape(idx.shape)


def _hash_rank(n: int, scores: np.ndarray | None, seed: int) -> np.ndarray:
    """Permutation of ``range(n)``: highest score first, ties (or everything) by smallest hash
    key. Descending scores sort as ``~x`` (integers, exact) or ``-x`` (floats; -0.0 and 0.0
    tie), as in :mod:`droprune.selection`."""
    keys = hash_keys(np.arange(n), seed)
    if scores is None:
        return np.argsort(keys)
    flipped = ~scores if np.issubdtype(scores.dtype, np.integer) else \
        -(scores.astype(np.float64) + 0.0)
    return np.lexsort([keys, flipped])


def select_hashed(labels: Any, counts: Any, *, scores: Any = None, seed: int = 0) -> np.ndarray:
    """:func:`droprune.select` in the hash order: the kept set of the out-of-core path.

    Class ``k`` keeps its ``counts[k]`` samples of smallest :func:`hash_keys` (or of highest
    ``scores``, equal scores by smallest key). Returns sorted int64 indices.

    Examples
    --------
    >>> select_hashed([0, 0, 0, 1, 1], [1, 2], scores=[0.1, 0.9, 0.5, 0.3, 0.2])
    array([1, 3, 4])
    """
    lab, counts, sizes = checked_counts(labels, counts)
    order = _hash_rank(lab.size, None if scores is None else as_scores(scores, lab.size), seed)
    return first_in_each_class(order, lab, counts, sizes).astype(np.int64)


def select_global_hashed(density: float, n: int, *, scores: Any = None,
                         seed: int = 0) -> np.ndarray:
    """:func:`droprune.select_global` in the hash order: ``round(density * n)`` samples of
    smallest key (or highest score, ties by key). Sorted int64 indices.

    Examples
    --------
    >>> select_global_hashed(0.5, 4, scores=[0.2, 0.9, 0.1, 0.5])
    array([1, 3])
    """
    n = check_int(n, "n")
    order = _hash_rank(n, None if scores is None else as_scores(scores, n), seed)
    return np.sort(order[:target_count(density, n)]).astype(np.int64)


def hashed_kept(labels: Any, density: float, *, method: str = "Random+DRoP",
                scores: Any = None, seed: int = 0, recalls: Any = None,
                val_counts: Any = None, num_classes: int | None = None,
                error_estimate: ErrorEstimate = "point", prior: Any = None, min_per_class: int = 0,
                min_density: float | None = None, mode: DropMode = "density") -> np.ndarray:
    """The kept indices of :func:`droprune.prune` with the same arguments, picked in the hash
    order: the in-memory reference that :func:`droprune.outofcore.prune_manifest` equals
    exactly (same per-class counts as ``droprune.prune``; other samples inside each class).

    Examples
    --------
    >>> labels = np.repeat([0, 1, 2], 100)
    >>> kept = hashed_kept(labels, 0.5, recalls=[0.95, 0.8, 0.6])
    >>> import droprune
    >>> expected = droprune.prune(labels, 0.5, recalls=[0.95, 0.8, 0.6]).table["kept"]
    >>> np.bincount(labels[kept]).tolist() == expected.tolist()
    True
    """
    from .pruning import _recalls, parse_prune_method, resolve_floor
    from .quotas import JEFFREYS_PRIOR, QUOTA_RULES, QuotaOptions, QuotaWarning, make_quotas

    parsed = parse_prune_method(method, scores_given=scores is not None)
    lab = as_labels(labels)
    k = num_classes if num_classes is not None else (
        int(np.size(recalls)) if recalls is not None else int(lab.max(initial=-1)) + 1)
    lab = as_labels(lab, num_classes=k)
    sc = None if scores is None else as_scores(scores, lab.size)
    rec, n_val = _recalls(k, recalls, None, None, None, val_counts)
    quota, floor = resolve_floor(parsed.quota, min_density, density)
    options = QuotaOptions(mode=mode, error_estimate=error_estimate,
                           prior=JEFFREYS_PRIOR if prior is None else prior,
                           min_per_class=min_per_class,
                           min_density=floor)
    rule = QUOTA_RULES.entry(quota)
    selection = None
    if "selection" in rule.needs:
        chosen = select_global_hashed(density, lab.size, scores=sc, seed=seed)
        selection, sc = np.bincount(lab[chosen], minlength=k), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        counts = make_quotas(rule.name, np.bincount(lab, minlength=k), density, recalls=rec,
                             val_counts=n_val, selection_counts=selection, options=options)
    if counts is None:
        return select_global_hashed(density, lab.size, scores=sc, seed=seed)
    return select_hashed(lab, counts, scores=sc, seed=seed)
