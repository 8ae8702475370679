"""Quota rules: how many samples each class (or group) keeps.

A quota rule maps per-class sizes ``N_k`` and a target density ``d`` (the fraction KEPT) to
integer keep counts ``c_k`` with ``0 <= c_k <= N_k`` and ``sum_k c_k = round(d * N)``
(:func:`droprune.target_count`; halves round up). Which samples of a class are kept is decided
separately, by :func:`droprune.select`; any quota rule composes with any within-class selection.

Rules
-----
``drop``
    DRoP (Vysogorets, Ahuja & Kempe, ICLR 2025, Algorithm 1): class density proportional to the
    class's validation error ``1 - r_k``, water-filled so that no class keeps more than it has.
    The fixed point of Algorithm 1 is ``d_k = min(1, lambda * (1 - r_k))``; it is computed
    exactly by sorting (no floating-point loop). ``mode="count"`` reproduces the paper's
    reference code instead: kept COUNT ``c_k = min(N_k, lambda * (1 - r_k))``. The two agree
    on balanced data and differ on imbalanced data.
``proportional``
    Stratified: every class keeps the fraction ``d`` (up to rounding).
``balanced``
    Equal counts for every non-empty class, capped at ``N_k`` and the excess redistributed.
``from_selection``
    The class histogram of another selection (the paper's "Random+StrategyQ").
``none``
    No quotas: a global ranking decides (:func:`droprune.select_global`).

Integer rounding is by largest remainder: every class gets the floor of its real-valued
allocation, and the samples still missing go to the largest fractional parts, ties to the
lower class index. This never exceeds ``N_k`` and is deterministic.

Edge cases (decided here, tested in ``tests/test_quotas.py``)
-------------------------------------------------------------
* ``density == 0`` keeps nothing; ``density == 1`` keeps everything, whatever the recalls.
* Empty classes (``N_k == 0``) keep 0; their recall is ignored and may be NaN.
* Classes with zero validation error (``r_k == 1``) receive samples only once every class with
  an error is kept entirely. They then share the remainder as if they all had the same tiny
  error (the limit of Algorithm 1 as that error goes to 0): equal densities in ``"density"``
  mode, equal counts in ``"count"`` mode. So with all ``r_k == 1`` (no error signal) DRoP
  falls back to ``proportional`` (``"density"``) or ``balanced`` (``"count"``).
* One class keeps ``round(d * N)``.
* Recalls must be fractions in [0, 1]; accuracies in percent are refused with a hint, never
  guessed (a recall of 1 could mean 100% or 1%).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ._checks import (
    as_class_sizes,
    as_labels,
    as_recalls,
    as_selection,
    check_density,
    target_count,
)

__all__ = [
    "QUOTA_RULES",
    "balanced_quotas",
    "drop_densities",
    "drop_quotas",
    "largest_remainder",
    "make_quotas",
    "proportional_quotas",
    "quotas_from_selection",
    "waterfill",
]

QUOTA_RULES: tuple[str, ...] = ("drop", "proportional", "balanced", "from_selection", "none")
DropMode = Literal["density", "count"]


def waterfill(weights: np.ndarray, caps: np.ndarray, total: float) -> np.ndarray:
    """Real allocation ``a_k = min(caps_k, lam * weights_k)`` with ``sum_k a_k = total``.

    Solved exactly in ``O(K log K)``: the classes saturate in the order of ``caps_k /
    weights_k``, so the sum is piecewise linear in ``lam`` and its breakpoints are sorted once.
    Saturated entries equal their cap exactly. Entries with zero weight or zero cap get 0. If
    ``total`` exceeds what the positive-weight entries can hold, they all get their cap and the
    shortfall is left to the caller.

    Parameters
    ----------
    weights
        Non-negative weights, shape (K,).
    caps
        Non-negative caps, shape (K,).
    total
        Non-negative amount to allocate.

    Returns
    -------
    numpy.ndarray
        float64 allocation, shape (K,).

    Examples
    --------
    >>> waterfill(np.array([1.0, 1.0, 1.0]), np.array([10, 10, 2]), 12)
    array([5., 5., 2.])
    """
    w = np.asarray(weights, dtype=np.float64)
    c = np.asarray(caps, dtype=np.float64)
    out = np.zeros_like(w)
    active = np.flatnonzero((w > 0) & (c > 0))
    if total <= 0 or active.size == 0:
        return out
    wa, ca = w[active], c[active]
    t = ca / wa  # lam at which each entry saturates
    order = np.argsort(t, kind="stable")
    t, wa, ca = t[order], wa[order], ca[order]
    sat_before = np.concatenate(([0.0], np.cumsum(ca)[:-1]))  # caps of entries saturated before j
    w_rest = np.cumsum(wa[::-1])[::-1]  # weight of entries j.. still growing
    reached = sat_before + t * w_rest  # allocated total at lam = t_j (non-decreasing)
    j = int(np.searchsorted(reached, total, side="left"))
    alloc = np.empty_like(wa)
    if j >= active.size:  # cannot reach total: everything saturates
        alloc[:] = ca
    else:
        lam = (total - sat_before[j]) / w_rest[j]
        alloc[:j] = ca[:j]
        alloc[j:] = np.minimum(ca[j:], lam * wa[j:])
    out[active[order]] = alloc
    return out


def largest_remainder(real: np.ndarray, caps: np.ndarray, total: int) -> np.ndarray:
    """Round a real allocation to integers summing to ``total`` without exceeding ``caps``.

    Every entry gets ``floor(real_k)``; the ``total - sum(floor)`` units still missing go to the
    largest fractional parts (ties to the lower index) among entries below their cap.

    Examples
    --------
    >>> largest_remainder(np.array([1.5, 1.5, 1.0]), np.array([5, 5, 5]), 4)
    array([2, 1, 1])
    """
    real = np.asarray(real, dtype=np.float64)
    caps = np.asarray(caps, dtype=np.int64)
    base = np.minimum(np.floor(real + 1e-9).astype(np.int64), caps)  # 2.9999999999 -> 3
    base = np.maximum(base, 0)
    missing = int(total) - int(base.sum())
    if missing < 0:  # only reachable through float noise: take back from smallest fractions
        frac = real - base
        order = np.lexsort((np.arange(real.size), frac))
        order = order[base[order] > 0]
        base[order[:-missing]] -= 1
        return base
    if missing == 0:
        return base
    frac = real - base
    room = np.flatnonzero(base < caps)
    order = room[np.lexsort((room, -frac[room]))]
    if order.size < missing:
        raise ValueError(f"cannot place {total} samples in classes whose sizes sum to "
                         f"{int(caps.sum())}")
    base[order[:missing]] += 1
    return base


def drop_densities(class_sizes: Any, recalls: Any, density: float, *,
                   mode: DropMode = "density") -> np.ndarray:
    """Real-valued DRoP class densities (the fixed point of Algorithm 1).

    ``d_k = min(1, lam * (1 - r_k))`` with ``sum_k d_k N_k = round(d * N)``; in ``"count"``
    mode, ``d_k N_k = min(N_k, lam * (1 - r_k))``. See the module docstring for edge cases.

    Parameters
    ----------
    class_sizes
        ``N_k``, non-negative integers, shape (K,).
    recalls
        Validation recall ``r_k`` in [0, 1] of each class, shape (K,).
    density
        Fraction of the whole dataset KEPT, in [0, 1].
    mode
        ``"density"`` (the paper, default) or ``"count"`` (the paper's reference code).

    Returns
    -------
    numpy.ndarray
        float64 densities in [0, 1], shape (K,); 0 for empty classes.

    Examples
    --------
    >>> drop_densities([100, 100], [0.9, 0.7], 0.5).round(3)
    array([0.25, 0.75])
    """
    sizes, err, total = _drop_inputs(class_sizes, recalls, density, mode)
    real = _drop_allocation(sizes, err, total, mode)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, real / np.maximum(sizes, 1), 0.0)


def drop_quotas(class_sizes: Any, recalls: Any, density: float, *,
                mode: DropMode = "density") -> np.ndarray:
    """DRoP keep counts per class: Algorithm 1 of the paper, solved exactly, then rounded.

    Parameters
    ----------
    class_sizes
        ``N_k``, non-negative integers, shape (K,). Classes or any partition (groups).
    recalls
        Validation recall ``r_k`` in [0, 1] per class (NaN allowed only where ``N_k == 0``).
    density
        Fraction of the whole dataset KEPT, in [0, 1].
    mode
        ``"density"`` (default, the paper): class density ``d_k`` proportional to ``1 - r_k``.
        ``"count"`` (the paper's reference code): kept count proportional to ``1 - r_k``.

    Returns
    -------
    numpy.ndarray
        int64 counts, shape (K,), ``0 <= c_k <= N_k``, summing exactly to ``round(d * N)``.

    Raises
    ------
    ValueError
        On NaN or out-of-range recalls, a density outside [0, 1], negative or non-integer sizes,
        a length mismatch or an unknown mode.

    Examples
    --------
    >>> drop_quotas([500, 500, 100], [0.9, 0.8, 0.7], 0.5)
    array([153, 305,  92])
    >>> drop_quotas([500, 500, 100], [0.9, 0.8, 0.7], 0.5, mode="count")
    array([150, 300, 100])
    """
    sizes, err, total = _drop_inputs(class_sizes, recalls, density, mode)
    real = _drop_allocation(sizes, err, total, mode)
    return largest_remainder(real, sizes, total)


def _drop_inputs(class_sizes: Any, recalls: Any, density: float,
                 mode: str) -> tuple[np.ndarray, np.ndarray, int]:
    if mode not in ("density", "count"):
        raise ValueError(f"mode must be 'density' (the paper) or 'count' (the paper's reference "
                         f"code), got {mode!r}")
    sizes = as_class_sizes(class_sizes)
    rec = as_recalls(recalls, sizes.size, allow_nan=sizes == 0)
    err = np.where(sizes > 0, 1.0 - np.nan_to_num(rec, nan=1.0), 0.0)
    total = target_count(check_density(density), int(sizes.sum()))
    return sizes, err, total


def _drop_allocation(sizes: np.ndarray, err: np.ndarray, total: int, mode: str) -> np.ndarray:
    """Real kept counts of DRoP, with the zero-error fallback of the module docstring."""
    size_f = sizes.astype(np.float64)
    weights = size_f * err if mode == "density" else err.copy()
    real = waterfill(weights, sizes, total)
    short = total - real.sum()
    with_error = err > 0
    if short > 0.5:  # every class with an error is full: zero-error classes share the rest
        zero = (~with_error) & (sizes > 0)
        fallback = np.where(zero, size_f if mode == "density" else 1.0, 0.0)
        real = real + waterfill(fallback, np.where(zero, sizes, 0), short)
    return real


def proportional_quotas(class_sizes: Any, density: float) -> np.ndarray:
    """Stratified keep counts: every class keeps the fraction ``density``, up to rounding.

    Examples
    --------
    >>> proportional_quotas([500, 500, 100], 0.5)
    array([250, 250,  50])
    """
    sizes = as_class_sizes(class_sizes)
    total = target_count(check_density(density), int(sizes.sum()))
    return largest_remainder(sizes * (total / max(int(sizes.sum()), 1)), sizes, total)


def balanced_quotas(class_sizes: Any, density: float) -> np.ndarray:
    """Equal keep counts for every non-empty class, capped at ``N_k``, excess redistributed.

    Examples
    --------
    >>> balanced_quotas([500, 500, 100], 0.5)
    array([225, 225, 100])
    """
    sizes = as_class_sizes(class_sizes)
    total = target_count(check_density(density), int(sizes.sum()))
    real = waterfill((sizes > 0).astype(np.float64), sizes, total)
    return largest_remainder(real, sizes, total)


def quotas_from_selection(labels: Any, selected: Any, num_classes: int | None = None) -> np.ndarray:
    """Class histogram of a selection: the quotas of the paper's "Random+StrategyQ".

    Parameters
    ----------
    labels
        Class (or group) label of every sample of the dataset, shape (N,).
    selected
        Indices of the samples another method kept (unique, in ``[0, N)``; see
        :func:`droprune._checks.as_selection`).
    num_classes
        Number of classes; default ``labels.max() + 1``.

    Examples
    --------
    >>> quotas_from_selection([0, 0, 1, 2, 2], [0, 3, 4])
    array([1, 0, 2])
    """
    lab = as_labels(labels, num_classes=num_classes)
    k = int(num_classes) if num_classes is not None else (int(lab.max()) + 1 if lab.size else 1)
    sel = as_selection(selected, lab.size)
    return np.bincount(lab[sel], minlength=k).astype(np.int64)


def make_quotas(rule: str, class_sizes: Any, density: float, *, recalls: Any = None,
                selection_counts: Any = None, mode: DropMode = "density") -> np.ndarray | None:
    """Dispatch to a quota rule by name (see :data:`QUOTA_RULES`).

    Returns ``None`` for ``"none"`` (no quotas: rank globally). ``"drop"`` needs ``recalls``;
    ``"from_selection"`` needs ``selection_counts`` (the class histogram of the other
    selection, e.g. from :func:`quotas_from_selection`); its ``density`` is only checked
    against the histogram's total.
    """
    if rule not in QUOTA_RULES:
        raise ValueError(f"unknown quota rule {rule!r}; valid rules: {', '.join(QUOTA_RULES)}")
    sizes = as_class_sizes(class_sizes)
    check_density(density)
    if rule == "none":
        return None
    if rule == "drop":
        if recalls is None:
            raise ValueError("the 'drop' quota rule needs recalls (per-class validation recall)")
        return drop_quotas(sizes, recalls, density, mode=mode)
    if rule == "proportional":
        return proportional_quotas(sizes, density)
    if rule == "balanced":
        return balanced_quotas(sizes, density)
    if selection_counts is None:
        raise ValueError("the 'from_selection' quota rule needs selection_counts")
    counts = as_class_sizes(selection_counts, name="selection_counts")
    if counts.size != sizes.size:
        raise ValueError(f"selection_counts has {counts.size} classes, class_sizes {sizes.size}")
    if np.any(counts > sizes):
        k = int(np.flatnonzero(counts > sizes)[0])
        raise ValueError(f"selection_counts[{k}] = {counts[k]} exceeds the class size {sizes[k]}")
    return counts
