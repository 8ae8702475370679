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
    exactly by sorting (no floating-point loop). ``mode="count"`` follows the rule of the
    paper's reference code instead: kept COUNT ``c_k = min(N_k, lambda * (1 - r_k))`` (its
    rounding differs, see docs/fidelity.md). The two agree on balanced data and differ on
    imbalanced data.
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

Starved classes and :class:`QuotaWarning`
-----------------------------------------
A class is *starved* when it has samples (``N_k > 0``) but keeps fewer than
``min(N_k, STARVATION_FLOOR)`` of them (:data:`STARVATION_FLOOR` is 5): it keeps nothing, or too
few samples to be learnt from, and is not small enough to be kept whole. Every quota rule
(:func:`drop_quotas`, :func:`proportional_quotas`, :func:`balanced_quotas`, and
:func:`make_quotas` for every rule including ``"from_selection"``) issues ONE
:class:`QuotaWarning` per call that starves a class; its message lists the starved classes
(index, name when ``class_names`` is given, kept and size) and says how to avoid it.
:func:`starved_classes` returns the same list without a warning, for result objects. A
selection that keeps nothing at all (``density == 0``, or ``round(d * N) == 0``) starves no
class: it is empty on purpose, and a warning for every class would say nothing. The library's
rules always warn; only two callers record it instead (the simulations of
:mod:`droprune.theory`, where an empty class is the outcome measured, and ``droprune prune``,
which writes it to ``warnings.txt`` and prints it); filter it with :mod:`warnings` if a starved
class is intended.
:func:`drop_densities` (real-valued densities, no counts) does not warn.

Under-served classes and :class:`UnderServedWarning`
----------------------------------------------------
A class is *under-served* when it has samples but keeps less than a quarter
(:data:`UNDER_SERVED_FRACTION`) of the target density: ``c_k / N_k < d / 4``, compared on the
decimals as written. It is not starved (it may keep hundreds of samples) but has been cut far
below its share, and may become the worst class. The same one warning per call names these
classes too: a call that starves a class issues a :class:`QuotaWarning` whose message ends with
the under-served classes not already starved; a call that starves none but under-serves some
issues an :class:`UnderServedWarning` (a subclass of :class:`QuotaWarning`, so filters on
``QuotaWarning`` cover it). :func:`under_served_classes` returns the list without a warning.
A floor of ``min_density >= d / 4`` guarantees none (:func:`droprune.prune`'s default for DRoP
is ``d / 2``).

Floors: ``min_per_class`` and ``min_density``
---------------------------------------------
``drop``, ``proportional`` and ``balanced`` accept a floor (default 0: no floor, results exactly
as without the option). Class ``k``'s lower bound is

    ``L_k = min(N_k, max(min_per_class, ceil(min_density * N_k)))``

(``ceil`` on the decimal as written, like :func:`droprune.target_count`), so a class smaller than
the floor is kept whole and an empty class keeps 0. The rule is then solved with lower AND
upper bounds by the same exact water-filling: for ``drop``,
``d_k = clip(lambda * (1 - r_k), L_k / N_k, 1)`` (``"count"`` mode: kept count
``clip(lambda * (1 - r_k), L_k, N_k)``), for ``proportional`` ``d_k = clip(lambda, L_k / N_k, 1)``,
for ``balanced`` the count ``clip(lambda, L_k, N_k)``; one ``lambda`` makes the kept total
exactly ``round(d * N)``. Integer counts are by largest remainder within both bounds, so
``L_k <= c_k <= N_k`` exactly. Zero-error classes sit at their floor until every class with an
error is full, then share the rest as above. ``min_per_class = STARVATION_FLOOR`` guarantees no
starved class, and ``min_density >= d / 4`` no under-served one: both together, no
:class:`QuotaWarning`. Floors do not apply to ``from_selection`` (another selection's
histogram) nor to ``none`` (a global ranking): asking for one there is a ``ValueError``.

Errors: ``min_per_class`` must be an integer >= 0 (Python or numpy, not a float);
``min_density`` a number in [0, 1]; if the floors need more samples than the density keeps
(``sum_k L_k > round(d * N)``), a ``ValueError`` names the floor and the largest feasible
value of it (``min_density`` to 6 decimals).

Validation noise: ``val_counts`` and ``error_estimate``
-------------------------------------------------------
A recall measured on 25 validation samples is not exact, and a recall of 1.0 makes DRoP's
class error 0: the class keeps nothing until every other class is full. With
``error_estimate="beta"`` and ``val_counts`` (``n_k``, the number of validation samples each
recall was measured on), DRoP uses the posterior mean of the class error under a
``Beta(a, b)`` prior (``prior=(a, b)``, default Jeffreys ``(0.5, 0.5)``; Laplace is ``(1, 1)``):

    ``e_k = (n_k * (1 - r_k) + a) / (n_k + a + b)``

instead of ``1 - r_k``. It is never 0, tends to ``1 - r_k`` as ``n_k`` grows (the difference is
at most ``max(a, b) / (n_k + a + b)``) and is the prior mean ``a / (a + b)`` for a class with
no validation sample (whose recall may then be NaN; a recall given for it is ignored, and
:func:`droprune.prune`'s table shows NaN). ``error_estimate="point"`` (default) uses
``1 - r_k`` exactly as before; ``val_counts`` and ``prior`` are then validated but not used.
``val_counts`` must hold one non-negative integer per class (NaN, negatives, fractions and a
wrong length are refused); ``"beta"`` without ``val_counts`` is a ``ValueError``.

Examples
--------
>>> drop_quotas([100, 100], [0.5, 0.9], 0.3, min_per_class=20)
array([40, 20])
>>> drop_quotas([100, 100], [1.0, 0.5], 0.3, val_counts=[25, 25], error_estimate="beta",
...             min_per_class=5)
array([ 5, 55])
>>> starved_classes([0, 60, 3], [100, 100, 3])
[0]
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from dataclasses import dataclass
from fractions import Fraction
from types import FrameType
from typing import Any, Callable, Literal, Sequence, cast

import numpy as np

from ._registry import Registry
from ._checks import (
    MAX_TOTAL,
    as_class_names,
    as_class_sizes,
    as_labels,
    as_per_class_counts,
    as_recalls,
    as_selection,
    ceil_fraction,
    check_beta_prior,
    check_density,
    check_int,
    infer_num_classes,
    target_count,
)

__all__ = [
    "ERROR_ESTIMATES",
    "JEFFREYS_PRIOR",
    "QUOTA_NEEDS",
    "QUOTA_RULES",
    "STARVATION_FLOOR",
    "QuotaInputs",
    "QuotaOptions",
    "QuotaRule",
    "QuotaWarning",
    "UNDER_SERVED_FRACTION",
    "UnderServedWarning",
    "balanced_quotas",
    "check_quota_options",
    "drop_densities",
    "drop_quotas",
    "floor_counts",
    "half_density_floors",
    "largest_remainder",
    "make_quotas",
    "proportional_quotas",
    "quota_allocation",
    "quotas_from_selection",
    "register_quota_rule",
    "starved_classes",
    "under_served_classes",
    "waterfill",
]

DropMode = Literal["density", "count"]
ErrorEstimate = Literal["point", "beta"]
ERROR_ESTIMATES: tuple[str, ...] = ("point", "beta")
#: Default ``prior`` of ``error_estimate="beta"``: Jeffreys' Beta(1/2, 1/2).
JEFFREYS_PRIOR: tuple[float, float] = (0.5, 0.5)
#: A non-empty class keeping fewer than ``min(N_k, STARVATION_FLOOR)`` samples is starved.
STARVATION_FLOOR: int = 5
#: A non-empty class whose kept density is below ``UNDER_SERVED_FRACTION * d`` (a quarter of
#: the target density ``d``) is under-served.
UNDER_SERVED_FRACTION: float = 0.25
_LISTED = 10  # starved classes named in a warning message; the rest are counted


class QuotaWarning(UserWarning):
    """A quota rule starved a class (it keeps fewer than ``min(N_k, STARVATION_FLOOR)``
    samples) or under-served one (:class:`UnderServedWarning`).

    See the module docstring (:mod:`droprune.quotas`) and :func:`starved_classes`.
    """


class UnderServedWarning(QuotaWarning):
    """A quota rule under-served a class without starving any: a non-empty class keeps less
    than ``UNDER_SERVED_FRACTION`` (a quarter) of the target density. A
    :class:`QuotaWarning` (filters on ``QuotaWarning`` catch it too); a call that also starves
    a class issues one plain :class:`QuotaWarning` naming both kinds.

    See :func:`under_served_classes`.
    """


def waterfill(weights: np.ndarray, caps: np.ndarray, total: float, *,
              lower: np.ndarray | None = None) -> np.ndarray:
    """Real allocation ``a_k = clip(lam * weights_k, lower_k, caps_k)`` with ``sum_k a_k = total``.

    Solved exactly in ``O(K log K)``: the sum is piecewise linear in ``lam`` and its breakpoints
    (where an entry leaves its lower bound, and where it reaches its cap) are sorted once.
    Entries at a bound equal it exactly. Entries with zero weight get their lower bound (0 by
    default). If ``total`` exceeds what the entries can hold, the positive-weight entries all
    get their cap and the shortfall is left to the caller. ``total`` below ``sum(lower)`` gives
    ``lower``: the caller checks feasibility.

    Parameters
    ----------
    weights
        Non-negative weights, shape (K,).
    caps
        Non-negative caps, shape (K,).
    total
        Non-negative amount to allocate.
    lower
        Optional lower bounds, ``0 <= lower_k <= caps_k``, shape (K,). ``None`` or all zero
        solves the capped problem exactly as without it.

    Returns
    -------
    numpy.ndarray
        float64 allocation, shape (K,).

    Examples
    --------
    >>> waterfill(np.array([1.0, 1.0, 1.0]), np.array([10, 10, 2]), 12)
    array([5., 5., 2.])
    >>> waterfill(np.array([1.0, 3.0, 0.0]), np.array([10, 10, 10]), 12, lower=np.array([0, 0, 4]))
    array([2., 6., 4.])
    """
    if lower is not None and np.any(np.asarray(lower) > 0):
        return _waterfill_bounded(weights, lower, caps, total)
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


def _waterfill_bounded(weights: Any, lower: Any, caps: Any, total: float) -> np.ndarray:
    """:func:`waterfill` with lower bounds: ``clip(lam * w_k, lower_k, caps_k)`` summing to total.

    The segment of ``lam`` holding the solution is found by bisection over the sorted
    breakpoints, evaluating the allocated total directly at each (no running sums, in which a
    weight 1e16 times smaller than another would vanish); ``lam`` is then solved on it.
    """
    w = np.asarray(weights, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(caps, dtype=np.float64)
    out = lo.copy()
    active = np.flatnonzero((w > 0) & (hi > lo))
    if total - lo.sum() <= 0 or active.size == 0:
        return out
    wa, la, ha = w[active], lo[active], hi[active]
    goal = total - (lo.sum() - la.sum())  # what the active entries hold together
    with np.errstate(over="ignore"):
        start, stop = la / wa, ha / wa  # lam where each entry leaves its floor / reaches its cap
        bps = np.unique(np.concatenate((start, stop)))

        def reached(lam: float) -> float:
            return float(np.clip(lam * wa, la, ha).sum())

        if reached(bps[-1]) < goal:  # cannot reach total: everything saturates
            out[active] = ha
            return out
        below, j = 0, bps.size - 1  # reached(bps[below]) < goal <= reached(bps[j])
        while j - below > 1:
            mid = (below + j) // 2
            below, j = (mid, j) if reached(bps[mid]) < goal else (below, mid)
        at_cap, at_floor = stop <= bps[below], start >= bps[j]
        free = ~(at_cap | at_floor)
        w_free = wa[free].sum()
        lam = bps[j]
        if w_free > 0:
            lam = (goal - ha[at_cap].sum() - la[at_floor].sum()) / w_free
            lam = min(max(lam, bps[below]), bps[j])
        alloc = np.clip(lam * wa, la, ha)
    alloc[at_cap], alloc[at_floor] = ha[at_cap], la[at_floor]
    out[active] = alloc
    return out


def largest_remainder(real: np.ndarray, caps: np.ndarray, total: int, *,
                      lower: np.ndarray | None = None) -> np.ndarray:
    """Round a real allocation to integers summing to ``total`` within ``[lower, caps]``.

    Every entry gets ``floor(real_k)`` (at least ``lower_k``, at most ``caps_k``); the
    ``total - sum(floor)`` units still missing go to the largest fractional parts (ties to the
    lower index) among entries below their cap. ``lower`` (integers, default 0) must satisfy
    ``lower_k <= real_k``.

    Examples
    --------
    >>> largest_remainder(np.array([1.5, 1.5, 1.0]), np.array([5, 5, 5]), 4)
    array([2, 1, 1])
    """
    real = np.asarray(real, dtype=np.float64)
    caps = np.asarray(caps, dtype=np.int64)
    floor_ = np.zeros_like(caps) if lower is None else np.asarray(lower, dtype=np.int64)
    base = np.minimum(np.floor(real + 1e-9).astype(np.int64), caps)  # 2.9999999999 -> 3
    base = np.maximum(base, floor_)
    missing = int(total) - int(base.sum())
    if missing < 0:  # only reachable through float noise: take back from smallest fractions
        frac = real - base
        order = np.lexsort((np.arange(real.size), frac))
        order = order[base[order] > floor_[order]]
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


# ---------------------------------------------------------------------------------------------
# Starved classes
# ---------------------------------------------------------------------------------------------

def starved_classes(counts: Any, class_sizes: Any, floor: int = STARVATION_FLOOR) -> list[int]:
    """Indices of the non-empty classes keeping fewer than ``min(N_k, floor)`` samples.

    The classes for which a quota rule issues a :class:`QuotaWarning`, returned instead of
    warned about (for result objects and reports). A selection that keeps nothing at all
    (``counts.sum() == 0``: density 0) starves no class.

    Parameters
    ----------
    counts
        Kept count per class, non-negative integers, shape (K,).
    class_sizes
        ``N_k``, non-negative integers, shape (K,).
    floor
        Integer >= 0; default :data:`STARVATION_FLOOR` (5). ``floor=1`` lists only the
        non-empty classes that keep nothing.

    Returns
    -------
    list of int
        Ascending class indices (empty when no class is starved).

    Examples
    --------
    >>> starved_classes([0, 60, 3, 2], [100, 100, 3, 40])
    [0, 3]
    >>> starved_classes([0, 60, 3, 2], [100, 100, 3, 40], floor=1)
    [0]
    >>> starved_classes([0, 0], [10, 10])  # density 0 keeps nothing on purpose
    []
    """
    sizes = as_class_sizes(class_sizes)
    kept = as_per_class_counts(counts, sizes.size, "counts")
    return _starved(kept, sizes, check_int(floor, "floor", minimum=0))


def _starved(counts: np.ndarray, sizes: np.ndarray, floor: int = STARVATION_FLOOR) -> list[int]:
    if counts.sum() == 0:
        return []
    return np.flatnonzero((sizes > 0) & (counts < np.minimum(sizes, floor))).tolist()


def under_served_classes(counts: Any, class_sizes: Any, density: float, *,
                         fraction: float = UNDER_SERVED_FRACTION) -> list[int]:
    """Indices of the non-empty classes whose kept density ``c_k / N_k`` is below
    ``fraction * density`` (default a quarter of the target density).

    Starved classes are usually under-served too; :func:`starved_classes` lists those. A
    selection that keeps nothing at all under-serves no class (as it starves none).

    Parameters
    ----------
    counts, class_sizes
        As in :func:`starved_classes`.
    density
        The target density ``d`` (fraction KEPT).
    fraction
        In [0, 1]; default :data:`UNDER_SERVED_FRACTION` (0.25).

    Examples
    --------
    >>> under_served_classes([5, 95, 50], [100, 100, 100], 0.5)   # 0.05 < 0.125
    [0]
    >>> under_served_classes([13, 87, 50], [100, 100, 100], 0.5)  # 0.13 >= 0.125
    []
    """
    sizes = as_class_sizes(class_sizes)
    kept = as_per_class_counts(counts, sizes.size, "counts")
    d = check_density(density)
    x = check_density(fraction, name="fraction")
    return _under_served(kept, sizes, d, x)


def _under_served(counts: np.ndarray, sizes: np.ndarray, density: float,
                  fraction: float = UNDER_SERVED_FRACTION) -> list[int]:
    if counts.sum() == 0:
        return []
    # c_k / N_k < fraction * d on the decimals as written (0.05 of 100 is 5, not 5.000...1):
    # c_k * den < num * N_k with fraction * d = num / den, in integers
    num, den = (Fraction(repr(float(fraction))) * Fraction(repr(float(density)))
                ).as_integer_ratio()
    big = max(int(sizes.max(initial=0)), int(counts.max(initial=0)))
    if max(num, den) * big < 2**62:
        below = counts * den < num * sizes
    else:
        below = np.array([int(c) * den < num * int(n) for c, n in zip(counts, sizes)])
    return np.flatnonzero((sizes > 0) & below).tolist()


def _listed(ks: list[int], counts: np.ndarray, sizes: np.ndarray, names: list[str] | None,
            density: bool = False) -> str:
    """``class 3 (cat) keeps 2 of 100[ (density 0.02)], ...`` for the first ``_LISTED``."""
    items = [f"class {k}{f' ({names[k]})' if names else ''} keeps {counts[k]} of {sizes[k]}"
             + (f" (density {counts[k] / sizes[k]:.3g})" if density else "")
             for k in ks[:_LISTED]]
    more = f" and {len(ks) - _LISTED} more" if len(ks) > _LISTED else ""
    return ", ".join(items) + more


def under_served_message(counts: np.ndarray, sizes: np.ndarray, density: float,
                         names: list[str] | None, exclude: Sequence[int] = ()) -> str | None:
    """The sentence naming the under-served classes not in ``exclude`` (the starved ones,
    already named), or None when there are none. Shared by the rules' warning and
    :func:`droprune.prune`'s global rankings."""
    skip = set(exclude)
    ks = [k for k in _under_served(counts, sizes, density) if k not in skip]
    if not ks:
        return None
    return (f"{len(ks)} of {int((sizes > 0).sum())} non-empty classes keep less than a quarter "
            f"of the target density {density:g} (density < {UNDER_SERVED_FRACTION * density:.4g}"
            f"): {_listed(ks, counts, sizes, names, density=True)}")


def _warn_if_starved(rule: QuotaRule, counts: np.ndarray, sizes: np.ndarray,
                     names: list[str] | None, hint: str, density: float) -> None:
    """One :class:`QuotaWarning` naming the starved and the under-served classes (an
    :class:`UnderServedWarning` when none is starved), attributed to the first caller outside
    this module (the user's line, whichever rule function it called)."""
    starved = _starved(counts, sizes)
    under = under_served_message(counts, sizes, density, names, exclude=starved)
    if not starved and under is None:
        return
    level = _outside_this_module()
    if not starved:
        warnings.warn(f"{rule.name} quotas under-serve classes: {under}; "
                      f"{_under_served_hint(rule, density)}", UnderServedWarning,
                      stacklevel=level)
        return
    need, total = int(np.minimum(sizes, STARVATION_FLOOR).sum()), int(counts.sum())
    if need > total and rule.floors:  # no floor of STARVATION_FLOOR fits
        hint = (f"the density keeps {total} samples, fewer than the {need} that "
                f"min_per_class={STARVATION_FLOOR} would need: keep a larger density")
    also = "" if under is None else f"; under-served besides: {under}"
    warnings.warn(
        f"{rule.name} quotas starve {len(starved)} of {int((sizes > 0).sum())} non-empty classes "
        f"(fewer than min(N_k, {STARVATION_FLOOR}) samples kept): "
        f"{_listed(starved, counts, sizes, names)}; {hint}{also}", QuotaWarning,
        stacklevel=level)


def _under_served_hint(rule: QuotaRule, density: float) -> str:
    """How to avoid under-serving a class under ``rule``."""
    floor = f"min_density={UNDER_SERVED_FRACTION * density:.4g}"
    if not rule.floors:
        with_floors = ", ".join(repr(r.name) for r in QUOTA_RULES.values() if r.floors)
        return (f"the other selection keeps few of these classes; the {with_floors} rules take "
                f"a floor such as {floor}")
    return (f"pass {floor} (a quarter of the density) or more as a floor (droprune.prune's "
            f"default for DRoP is half the density), if these classes matter")


def _outside_this_module() -> int:
    """The ``stacklevel`` of ``warnings.warn`` (called from a function of this module) that
    names the first frame outside this module."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _hint(rule: QuotaRule, options: QuotaOptions) -> str:
    """How to avoid starving a class under ``rule``, for the :class:`QuotaWarning`."""
    floor = (f"pass min_per_class={STARVATION_FLOOR} (or min_density) to give every class a "
             f"floor")
    if not rule.floors:
        with_floors = ", ".join(repr(r.name) for r in QUOTA_RULES.values() if r.floors)
        return (f"the other selection keeps (almost) none of these classes; the {with_floors} "
                f"rules take min_per_class={STARVATION_FLOOR} (or min_density) as a floor")
    if rule.needs_recalls and options.error_estimate == "point":
        return (f"{floor}, or val_counts with error_estimate='beta' so that a recall measured on "
                f"few validation samples (a recall of 1.0 above all) is not taken as exact")
    return f"{floor}, or keep a larger density"


# ---------------------------------------------------------------------------------------------
# Floors
# ---------------------------------------------------------------------------------------------

def _check_floors(min_per_class: Any, min_density: Any) -> tuple[int, float]:
    return (check_int(min_per_class, "min_per_class", minimum=0, maximum=MAX_TOTAL),
            check_density(min_density, name="min_density"))


def floor_counts(sizes: np.ndarray, min_per_class: int, min_density: float) -> np.ndarray:
    """The floors ``L_k = min(N_k, max(min_per_class, ceil(min_density * N_k)))`` (validated
    int64 sizes; no feasibility check).

    Examples
    --------
    >>> floor_counts(np.array([100, 10, 3]), 5, 0.2).tolist()
    [20, 5, 3]
    """
    lower = np.full(sizes.shape, min_per_class, dtype=np.int64)
    if min_density > 0:
        lower = np.maximum(lower, ceil_fraction(min_density, sizes))
    return np.minimum(sizes, lower)


def _lower_bounds(sizes: np.ndarray, total: int, density: float, min_per_class: Any,
                  min_density: Any) -> np.ndarray:
    """Validated floors ``L_k``; a ``ValueError`` with the largest feasible floor if
    ``sum_k L_k > total``."""
    m, x = _check_floors(min_per_class, min_density)
    lower = floor_counts(sizes, m, x)
    need = int(lower.sum())
    if need <= total:
        return lower
    asked = " and ".join(([f"min_per_class={m}"] if m else [])
                         + ([f"min_density={x}"] if x else []))
    fixes = _feasible_floors(sizes, total, m, x)
    raise ValueError(f"{asked} need{'s' if ' and ' not in asked else ''} {need} samples but "
                     f"density {density} keeps {total} of {int(sizes.sum())}: lower "
                     f"{' or '.join(fixes)}, or raise density")


def _feasible_floors(sizes: np.ndarray, total: int, m: int, x: float) -> list[str]:
    """The largest feasible value of each floor asked for, the other one held where it is
    (or at 0 when no value of the first fits beside it)."""
    def largest(fits: Any, hi: int) -> int | None:  # largest i in [0, hi] with fits(i)
        if not fits(0):
            return None
        lo = 0
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
        return lo

    def need(mm: int, xx: float) -> int:
        return int(floor_counts(sizes, mm, xx).sum())

    grid = 10**6  # min_density is reported to 6 decimals (rounded down: it fits)

    def best_m(xx: float) -> int | None:
        return largest(lambda i: need(i, xx) <= total, int(sizes.max()))

    def best_x(mm: int) -> float | None:
        i = largest(lambda i: need(mm, i / grid) <= total, grid)
        return None if i is None else i / grid

    fixes = []
    if m and (b := best_m(x)) is not None:
        fixes.append(f"min_per_class to at most {b}" + (f" (with min_density={x})" if x else ""))
    if x and (c := best_x(m)) is not None:
        fixes.append(f"min_density to at most {c}" + (f" (with min_per_class={m})" if m else ""))
    if not fixes:  # both asked for, each too large beside the other
        fixes = [f"min_per_class to at most {best_m(0.0)} (with min_density=0)",
                 f"min_density to at most {best_x(0)} (with min_per_class=0)"]
    return fixes


# ---------------------------------------------------------------------------------------------
# The options object and the rule registry
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuotaOptions:
    """The safeguards and variants of a quota rule, validated once, travelling as one object.

    Attributes
    ----------
    mode
        ``"density"`` (the paper: class density proportional to the error) or ``"count"`` (the
        reference code: kept count proportional to the error). Read by rules whose
        :attr:`QuotaRule.options` name it (``drop``).
    error_estimate
        ``"point"`` (``1 - r_k``, the paper) or ``"beta"`` (the Beta posterior mean given the
        validation counts). Read by every rule that needs recalls.
    prior
        ``(a, b)`` of the Beta prior, both > 0 (default Jeffreys ``(0.5, 0.5)``).
    min_per_class
        Floor on every class's kept count (integer >= 0).
    min_density
        Floor on every class's kept fraction, in [0, 1].

    Examples
    --------
    >>> QuotaOptions(min_density=0.25).has_floor
    True
    >>> QuotaOptions(mode="counts")
    Traceback (most recent call last):
    ...
    ValueError: mode must be 'density' (the paper) or 'count' (the paper's reference code), got 'counts'
    """

    mode: DropMode = "density"
    error_estimate: ErrorEstimate = "point"
    prior: tuple[float, float] = JEFFREYS_PRIOR
    min_per_class: int = 0
    min_density: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("density", "count"):
            raise ValueError(f"mode must be 'density' (the paper) or 'count' (the paper's "
                             f"reference code), got {self.mode!r}")
        if self.error_estimate not in ERROR_ESTIMATES:
            raise ValueError(f"error_estimate must be 'point' (1 - recall) or 'beta' (its "
                             f"posterior mean given val_counts), got {self.error_estimate!r}")
        object.__setattr__(self, "prior", check_beta_prior(self.prior))
        m, x = _check_floors(self.min_per_class, self.min_density)
        object.__setattr__(self, "min_per_class", m)
        object.__setattr__(self, "min_density", x)

    @property
    def has_floor(self) -> bool:
        """Whether a floor (``min_per_class`` or ``min_density``) is set."""
        return bool(self.min_per_class or self.min_density)

    def replace(self, **changes: Any) -> QuotaOptions:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)

    def for_rule(self, rule: str) -> QuotaOptions:
        """These options with what ``rule`` does not read reset to the defaults: the floors
        for a rule without floors, the error estimate and prior for a rule without recalls,
        ``mode`` for a rule that does not declare it. For callers that hold one set of options
        for many rules (a config, a sweep over methods).

        Examples
        --------
        >>> QuotaOptions(min_density=0.2, mode="count").for_rule("balanced")
        QuotaOptions(mode='density', error_estimate='point', prior=(0.5, 0.5), min_per_class=0, min_density=0.2)
        """
        entry = QUOTA_RULES.entry(rule)
        default = QuotaOptions()
        return dataclasses.replace(
            self,
            mode=self.mode if "mode" in entry.options else default.mode,
            error_estimate=self.error_estimate if entry.needs_recalls else default.error_estimate,
            prior=self.prior if entry.needs_recalls else default.prior,
            min_per_class=self.min_per_class if entry.floors else 0,
            min_density=self.min_density if entry.floors else 0.0)


@dataclass(frozen=True)
class QuotaInputs:
    """What a rule's ``allocate`` function reads: validated, in class order.

    Attributes
    ----------
    sizes
        ``N_k``, int64, shape (K,).
    density
        The density (fraction KEPT).
    total
        Samples to keep, ``round(density * N)``.
    lower
        The floors ``L_k`` (int64; zeros without a floor), ``sum(lower) <= total``.
    errors
        The class error estimate ``e_k`` (``1 - r_k``, or its Beta posterior mean; 0 for empty
        classes), for rules that need recalls; else None.
    selection_counts
        Another selection's class histogram, for rules that need one; else None.
    options
        The :class:`QuotaOptions` of the call.
    """

    sizes: np.ndarray
    density: float
    total: int
    lower: np.ndarray
    errors: np.ndarray | None
    selection_counts: np.ndarray | None
    options: QuotaOptions


#: What a rule may need besides the class sizes (:attr:`QuotaRule.needs`).
QUOTA_NEEDS: tuple[str, ...] = ("recalls", "selection")


@dataclass(frozen=True)
class QuotaRule:
    """One registered quota rule and everything about it.

    Attributes
    ----------
    name
        Registry key (``"drop"``); the ``quota`` of a parsed method.
    method_name
        Its part in method names (``"DRoP"`` in ``Random+DRoP``), matched case-insensitively;
        None: not written as ``+Name`` (``none``: no part; ``from_selection``: ``+<Strategy>Q``).
    description
        One line for listings.
    allocate
        ``allocate(inputs: QuotaInputs) -> array`` of per-class amounts within
        ``[inputs.lower, inputs.sizes]``: real amounts summing to ``inputs.total`` (rounded to
        integers by largest remainder) or integer counts (kept as they are). None: no quotas,
        a global ranking decides (``none``).
    needs
        What it reads besides the sizes: ``"recalls"`` (validation recall per class, turned
        into ``inputs.errors`` by the error estimate) and/or ``"selection"`` (another
        selection's class histogram).
    floors
        Whether it takes the floors ``min_per_class`` / ``min_density`` (asking for one
        otherwise is a ``ValueError``).
    options
        Which other :class:`QuotaOptions` fields it reads (``"mode"``); the error estimate and
        prior are read by every rule that needs recalls.
    reference
        Where it comes from.
    """

    name: str
    method_name: str | None
    description: str
    allocate: Callable[[QuotaInputs], np.ndarray] | None
    needs: tuple[str, ...] = ()
    floors: bool = True
    options: tuple[str, ...] = ()
    reference: str = "-"

    def __post_init__(self) -> None:
        bad = sorted(set(self.needs) - set(QUOTA_NEEDS))
        if bad:
            raise ValueError(f"quota rule {self.name!r}: needs must be among {QUOTA_NEEDS}, "
                             f"got {bad}")
        unknown = sorted(set(self.options) - {"mode"})
        if unknown:
            raise ValueError(f"quota rule {self.name!r}: options may only name 'mode' (the "
                             f"floors and error estimate are declared by floors= and needs=), "
                             f"got {unknown}")
        if self.allocate is None and (self.needs or self.floors):
            raise ValueError(f"quota rule {self.name!r}: a rule without allocate (a global "
                             f"ranking) takes no inputs and no floors")

    @property
    def needs_recalls(self) -> bool:
        """Whether it reads validation recalls (and so the error estimate)."""
        return "recalls" in self.needs


def _check_rule_entry(registry: Registry[QuotaRule], rule: QuotaRule) -> None:
    if rule.method_name is not None:
        token = rule.method_name.lower()
        taken = [r.name for r in registry.values()
                 if r.method_name is not None and r.method_name.lower() == token]
        if taken or token in ("full", "cdbw") or token.endswith("q") \
                or not token.isidentifier():
            raise ValueError(f"method name {rule.method_name!r} of quota rule {rule.name!r} is "
                             f"taken, reserved (Full, CDBW, a name ending in Q) or not a plain "
                             f"identifier; choose another")


#: name -> :class:`QuotaRule`, for every quota rule (extend with :func:`register_quota_rule`).
#: Method names, configs, ``droprune quotas`` and ``droprune prune`` read it.
QUOTA_RULES: Registry[QuotaRule] = Registry("quota rule", check=_check_rule_entry,
                                              entry_type=QuotaRule)


def register_quota_rule(rule: QuotaRule) -> QuotaRule:
    """Add ``rule`` to :data:`QUOTA_RULES`: it then works in :func:`make_quotas`, in method
    names (``Random+<method_name>``), in :func:`droprune.prune`, in configs and on the command
    line. Names and method names must be new.

    Examples
    --------
    Class density proportional to the square root of the class error:

    >>> def sqrt_allocation(inputs):
    ...     weights = inputs.sizes * np.sqrt(inputs.errors)
    ...     return waterfill(weights, inputs.sizes, inputs.total, lower=inputs.lower)
    >>> _ = register_quota_rule(QuotaRule("sqrt", "Sqrt", "density ~ sqrt(1 - recall)",
    ...                                   sqrt_allocation, needs=("recalls",)))
    >>> make_quotas("sqrt", [100, 100], 0.5, recalls=[0.96, 0.64])
    array([25, 75])
    >>> from droprune.methods import parse_method
    >>> parse_method("Random+Sqrt", strategies=()).quota
    'sqrt'
    >>> _ = QUOTA_RULES.pop("sqrt")  # (tidy up the doctest)
    """
    return QUOTA_RULES.register(rule)


def _as_options(options: QuotaOptions | None, shorthand: dict[str, Any]) -> QuotaOptions:
    """``options``, or a :class:`QuotaOptions` built from the keyword shorthand (not both)."""
    given = {k: v for k, v in shorthand.items() if v is not _UNSET}
    if options is None:
        return QuotaOptions(**given)
    if not isinstance(options, QuotaOptions):
        raise ValueError(f"options must be a droprune.QuotaOptions, got "
                         f"{type(options).__name__}")
    if given:
        raise ValueError(f"pass the quota options once: options= or {', '.join(given)}=, not "
                         f"both")
    return options


_UNSET: Any = object()


def _quota_inputs(rule: QuotaRule, sizes: np.ndarray, density: float, options: QuotaOptions,
                  recalls: Any, val_counts: Any, selection_counts: Any) -> QuotaInputs:
    """Validate what ``rule`` reads (recalls, validation counts, selection) into
    :class:`QuotaInputs`."""
    n_val = None if val_counts is None else as_per_class_counts(val_counts, sizes.size,
                                                                "val_counts")
    errors = None
    if rule.needs_recalls:
        if recalls is None:
            raise ValueError(f"the {rule.name!r} quota rule needs recalls (per-class validation "
                             f"recall)")
        errors = _class_errors(sizes, recalls, n_val, options)
    selection = None
    if "selection" in rule.needs:
        selection = _selection_counts(rule, sizes, selection_counts)
    total = target_count(density, int(sizes.sum()))
    lower = _lower_bounds(sizes, total, density, options.min_per_class, options.min_density)
    return QuotaInputs(sizes=sizes, density=density, total=total, lower=lower, errors=errors,
                       selection_counts=selection, options=options)


def _class_errors(sizes: np.ndarray, recalls: Any, n_val: np.ndarray | None,
                  options: QuotaOptions) -> np.ndarray:
    """``e_k``: ``1 - r_k``, or its Beta posterior mean given ``n_val``; 0 for empty classes."""
    beta = options.error_estimate == "beta"
    if beta and n_val is None:
        raise ValueError("error_estimate='beta' needs val_counts: pass the number of validation "
                         "samples each class's recall was measured on")
    no_recall = (sizes == 0) | (n_val == 0) if beta else sizes == 0
    rec = np.nan_to_num(as_recalls(recalls, sizes.size, allow_nan=no_recall), nan=1.0)
    if not beta:
        return np.where(sizes > 0, 1.0 - rec, 0.0)
    assert n_val is not None  # beta without val_counts was refused above
    a, b = options.prior
    n = n_val.astype(np.float64)
    return np.where(sizes > 0, (np.where(n_val > 0, n * (1.0 - rec), 0.0) + a) / (n + a + b),
                    0.0)


def _selection_counts(rule: QuotaRule, sizes: np.ndarray, selection_counts: Any) -> np.ndarray:
    if selection_counts is None:
        raise ValueError(f"the {rule.name!r} quota rule needs selection_counts")
    counts = as_class_sizes(selection_counts, name="selection_counts")
    if counts.size != sizes.size:
        raise ValueError(f"selection_counts has {counts.size} classes, class_sizes "
                         f"{sizes.size}")
    if np.any(counts > sizes):
        k = int(np.flatnonzero(counts > sizes)[0])
        raise ValueError(f"selection_counts[{k}] = {counts[k]} exceeds the class size "
                         f"{sizes[k]}")
    return counts


def check_quota_options(rule: str, class_sizes: Any, density: float,
                        options: QuotaOptions | None = None) -> QuotaRule:
    """Check, before recalls or scores exist (e.g. before training a query model), that
    ``rule`` is registered, takes the floors of ``options`` if any, and that the floors fit in
    what ``density`` keeps. Returns the rule's entry.

    Examples
    --------
    >>> check_quota_options("drop", [100, 10], 0.5, QuotaOptions(min_density=0.4)).name
    'drop'
    >>> check_quota_options("drop", [100, 10], 0.1, QuotaOptions(min_per_class=10))
    Traceback (most recent call last):
    ...
    ValueError: min_per_class=10 needs 20 samples but density 0.1 keeps 11 of 110: lower min_per_class to at most 5, or raise density
    """
    opts = _as_options(options, {})
    entry = QUOTA_RULES.entry(rule)
    sizes = as_class_sizes(class_sizes)
    d = check_density(density)
    _check_floors_apply(entry, opts)
    _lower_bounds(sizes, target_count(d, int(sizes.sum())), d, opts.min_per_class,
                  opts.min_density)
    return entry


def _check_floors_apply(entry: QuotaRule, options: QuotaOptions) -> None:
    if options.has_floor and not entry.floors:
        why = "it ranks globally" if entry.allocate is None else (
            "its counts are another selection's" if "selection" in entry.needs
            else "it takes no floor")
        with_floors = ", ".join(repr(r.name) for r in QUOTA_RULES.values() if r.floors)
        raise ValueError(f"min_per_class and min_density do not apply to the {entry.name!r} "
                         f"quota rule ({why}): use {with_floors} for a floor")


def _prepare(rule: str, class_sizes: Any, density: float, options: QuotaOptions,
             recalls: Any, val_counts: Any, selection_counts: Any
             ) -> tuple[QuotaRule, QuotaInputs | None]:
    """The rule's entry and its validated inputs (None for a rule without quotas)."""
    entry = QUOTA_RULES.entry(rule)
    sizes = as_class_sizes(class_sizes)
    d = check_density(density)
    _check_floors_apply(entry, options)
    if entry.allocate is None:
        return entry, None
    return entry, _quota_inputs(entry, sizes, d, options, recalls, val_counts, selection_counts)


def _counts(entry: QuotaRule, inputs: QuotaInputs) -> np.ndarray:
    """Integer counts of a rule: its allocation, rounded by largest remainder when real; a
    rule that breaks its contract (bounds, total) is a ``ValueError`` naming it."""
    raw = np.asarray(entry.allocate(inputs))  # type: ignore[misc]
    sizes, lower, total = inputs.sizes, inputs.lower, inputs.total
    if raw.shape != sizes.shape:
        raise ValueError(f"quota rule {entry.name!r} returned shape {raw.shape}, expected "
                         f"{sizes.shape} (one amount per class)")
    if np.issubdtype(raw.dtype, np.integer):
        counts = raw.astype(np.int64)
    else:
        if not np.all(np.isfinite(raw)) or abs(float(raw.sum()) - total) > 1e-6 * max(total, 1):
            raise ValueError(f"quota rule {entry.name!r} allocated {float(raw.sum()):g} samples, "
                             f"not the {total} the density keeps")
        _check_bounds(entry, raw, lower - 1e-6, sizes + 1e-6)
        counts = largest_remainder(raw, sizes, total, lower=lower)
    _check_bounds(entry, counts, lower, sizes)
    return counts


def _check_bounds(entry: QuotaRule, amounts: np.ndarray, lower: Any, upper: Any) -> None:
    outside = np.flatnonzero((amounts < lower) | (amounts > upper))
    if outside.size:
        k = int(outside[0])
        raise ValueError(f"quota rule {entry.name!r} allocated {amounts[k]:g} to class {k}, "
                         f"outside [floor, class size]")


def quota_allocation(rule: str, class_sizes: Any, density: float, *, recalls: Any = None,
                     val_counts: Any = None, selection_counts: Any = None,
                     options: QuotaOptions | None = None) -> np.ndarray | None:
    """A rule's real-valued per-class amounts, before rounding (None for ``"none"``).

    The arguments are those of :func:`make_quotas`. This is what the reference code's rounding
    (floors, then a random top-up) starts from; it does not warn about starved classes.

    Examples
    --------
    >>> quota_allocation("balanced", [100, 50, 10], 0.5)
    array([35., 35., 10.])
    """
    opts = _as_options(options, {})
    entry, inputs = _prepare(rule, class_sizes, density, opts, recalls, val_counts,
                             selection_counts)
    if inputs is None:
        return None
    return np.asarray(entry.allocate(inputs), dtype=np.float64)  # type: ignore[misc]


def make_quotas(rule: str, class_sizes: Any, density: float, *, recalls: Any = None,
                selection_counts: Any = None, val_counts: Any = None,
                options: QuotaOptions | None = None, class_names: Sequence[Any] | None = None,
                mode: Any = _UNSET, error_estimate: Any = _UNSET, prior: Any = _UNSET,
                min_per_class: Any = _UNSET, min_density: Any = _UNSET) -> np.ndarray | None:
    """Keep counts of any registered quota rule (:data:`QUOTA_RULES`), by name.

    Returns ``None`` for ``"none"`` (no quotas: rank globally). A rule that needs recalls
    (``"drop"``) reads ``recalls`` (and ``val_counts`` for ``error_estimate="beta"``);
    ``"from_selection"`` reads ``selection_counts`` (the class histogram of the other
    selection, e.g. from :func:`quotas_from_selection`; its ``density`` is only validated).
    The safeguards travel as one :class:`QuotaOptions` (``options=``); the keywords ``mode``,
    ``error_estimate``, ``prior``, ``min_per_class`` and ``min_density`` are a shorthand for
    it (give one or the other). A rule ignores the options it does not read, but a floor on a
    rule that takes none (``"from_selection"``, ``"none"``) is a ``ValueError``. Every rule
    with counts issues at most one :class:`QuotaWarning` per call, naming the starved classes
    (by ``class_names`` too, when given).

    Examples
    --------
    >>> make_quotas("drop", [100, 100], 0.3, recalls=[0.5, 0.9], min_per_class=20)
    array([40, 20])
    >>> make_quotas("drop", [100, 100], 0.3, recalls=[0.5, 0.9],
    ...             options=QuotaOptions(min_per_class=20))
    array([40, 20])
    >>> make_quotas("balanced", [100, 50], 0.5)
    array([38, 37])
    >>> make_quotas("none", [100, 50], 0.5) is None
    True
    """
    opts = _as_options(options, dict(mode=mode, error_estimate=error_estimate, prior=prior,
                                     min_per_class=min_per_class, min_density=min_density))
    entry, inputs = _prepare(rule, class_sizes, density, opts, recalls, val_counts,
                             selection_counts)
    sizes = as_class_sizes(class_sizes)
    names = as_class_names(class_names, sizes.size)
    if inputs is None:
        return None
    counts = _counts(entry, inputs)
    _warn_if_starved(entry, counts, sizes, names, _hint(entry, opts), inputs.density)
    return counts


# ---------------------------------------------------------------------------------------------
# The built-in rules
# ---------------------------------------------------------------------------------------------

def _drop_allocation(inputs: QuotaInputs) -> np.ndarray:
    """Real kept counts of DRoP within the floors, with the zero-error fallback of the module
    docstring."""
    sizes, err, total, lower = inputs.sizes, inputs.errors, inputs.total, inputs.lower
    assert err is not None  # the drop rules need recalls, so errors are computed
    mode = inputs.options.mode
    size_f = sizes.astype(np.float64)
    weights = size_f * err if mode == "density" else err.copy()
    real = waterfill(weights, sizes, total, lower=lower)
    short = total - real.sum()
    with_error = err > 0
    if short > 0.5:  # every class with an error is full: zero-error classes share the rest
        zero = (~with_error) & (sizes > 0)
        fallback = np.where(zero, size_f if mode == "density" else 1.0, 0.0)
        shared = waterfill(fallback, np.where(zero, sizes, 0), short + lower[zero].sum(),
                           lower=np.where(zero, lower, 0))
        real = np.where(zero, shared, real)
    return real


def half_density_floors(sizes: np.ndarray, density: float, lower: np.ndarray,
                        total: int) -> np.ndarray:
    """The lower bounds of the ``drop_floor`` rule (``droprune.prune``'s default floor): the
    given floors ``lower`` raised to half the target density per class,
    ``ceil(d / 2 * N_k)``; where those do not fit in ``total`` (many tiny classes: a
    one-sample class would be kept whole), ``floor(d / 2 * N_k)``; where even those do not fit
    beside ``lower``, ``lower`` alone. A default floor gives way: it never makes a call whose
    given floors fit fail. ``O(K)``, numpy only.

    Examples
    --------
    >>> half_density_floors(np.array([100, 3]), 0.5, np.zeros(2, np.int64), 52).tolist()
    [25, 1]
    >>> half_density_floors(np.array([100] + [1] * 60), 0.5, np.zeros(61, np.int64), 80)[:3]
    array([25,  0,  0])
    """
    half = floor_counts(sizes, 0, density / 2)  # ceil(d / 2 * N_k)
    for floors in (half, np.floor(sizes * (density / 2)).astype(np.int64)):
        bounds = np.maximum(lower, floors)
        if int(bounds.sum()) <= total:
            return bounds
    return lower


def _drop_floor_allocation(inputs: QuotaInputs) -> np.ndarray:
    """DRoP with every class kept at least at half the target density, on top of any floor of
    the options (:func:`half_density_floors`)."""
    lower = half_density_floors(inputs.sizes, inputs.density, inputs.lower, inputs.total)
    return _drop_allocation(dataclasses.replace(inputs, lower=lower))


def _proportional_allocation(inputs: QuotaInputs) -> np.ndarray:
    sizes, total, lower = inputs.sizes, inputs.total, inputs.lower
    if not lower.any():
        return sizes * (total / max(int(sizes.sum()), 1))
    return waterfill(sizes.astype(np.float64), sizes, total, lower=lower)


def _balanced_allocation(inputs: QuotaInputs) -> np.ndarray:
    return waterfill((inputs.sizes > 0).astype(np.float64), inputs.sizes, inputs.total,
                     lower=inputs.lower)


def _selection_allocation(inputs: QuotaInputs) -> np.ndarray:
    return inputs.selection_counts  # type: ignore[return-value]


for _rule in (
    QuotaRule("drop", "DRoP", "class density proportional to the validation error 1 - r_k, "
              "water-filled (mode='count': kept count proportional to it)", _drop_allocation,
              needs=("recalls",), options=("mode",),
              reference="Vysogorets, Ahuja & Kempe, ICLR 2025 (Algorithm 1)"),
    QuotaRule("drop_floor", "DRoPFloor", "DRoP with every class kept at least at half the "
              "density (droprune.prune's default for DRoP, nameable in sweeps)",
              _drop_floor_allocation, needs=("recalls",), options=("mode",),
              reference="droprune (docs/quotas.md: the starvation study)"),
    QuotaRule("proportional", "Proportional", "stratified: every class keeps the density",
              _proportional_allocation),
    QuotaRule("balanced", "Balanced", "equal counts per class, capped at the class size",
              _balanced_allocation),
    QuotaRule("from_selection", None, "the class histogram of another selection "
              "(Random+<Strategy>Q)", _selection_allocation, needs=("selection",),
              floors=False, reference="the paper's Random+StrategyQ"),
    QuotaRule("none", None, "no quotas: a global ranking decides", None, floors=False),
):
    register_quota_rule(_rule)


def drop_densities(class_sizes: Any, recalls: Any, density: float, *,
                   mode: DropMode = "density", val_counts: Any = None,
                   error_estimate: ErrorEstimate = "point",
                   prior: tuple[float, float] = JEFFREYS_PRIOR, min_per_class: int = 0,
                   min_density: float = 0.0) -> np.ndarray:
    """Real-valued DRoP class densities (the fixed point of Algorithm 1), before rounding.

    ``d_k = min(1, lam * e_k)`` with ``sum_k d_k N_k = round(d * N)``; in ``"count"`` mode,
    ``d_k N_k = min(N_k, lam * e_k)``. ``e_k = 1 - r_k`` (``error_estimate="point"``) or its
    Beta posterior mean (``"beta"``); with floors, ``d_k = clip(lam * e_k, L_k / N_k, 1)``.
    The arguments are those of :func:`drop_quotas` (see it, and the module docstring for edge
    cases). Densities are not counts: this function does not warn about starved classes.

    Returns
    -------
    numpy.ndarray
        float64 densities in [0, 1], shape (K,); 0 for empty classes.

    Examples
    --------
    >>> drop_densities([100, 100], [0.9, 0.7], 0.5).round(3)
    array([0.25, 0.75])
    >>> drop_densities([100, 100], [1.0, 0.5], 0.3).round(4)  # recall 1: nothing
    array([0. , 0.6])
    >>> drop_densities([100, 100], [1.0, 0.5], 0.3, val_counts=[25, 25],
    ...                error_estimate="beta").round(4)  # e = 0.5/26 and 13/26
    array([0.0222, 0.5778])
    """
    options = QuotaOptions(mode=mode, error_estimate=error_estimate, prior=prior,
                           min_per_class=min_per_class, min_density=min_density)
    sizes = as_class_sizes(class_sizes)
    real = quota_allocation("drop", sizes, density, recalls=recalls, val_counts=val_counts,
                            options=options)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, real / np.maximum(sizes, 1), 0.0)


def drop_quotas(class_sizes: Any, recalls: Any, density: float, *,
                mode: DropMode = "density", val_counts: Any = None,
                error_estimate: ErrorEstimate = "point",
                prior: tuple[float, float] = JEFFREYS_PRIOR, min_per_class: int = 0,
                min_density: float = 0.0, class_names: Sequence[Any] | None = None
                ) -> np.ndarray:
    """DRoP keep counts per class: Algorithm 1 of the paper, solved exactly, then rounded.

    Parameters
    ----------
    class_sizes
        ``N_k``, non-negative integers, shape (K,). Classes or any partition (groups).
    recalls
        Validation recall ``r_k`` in [0, 1] per class (NaN allowed only where ``N_k == 0``, or
        with ``error_estimate="beta"`` where ``val_counts`` is 0).
    density
        Fraction of the whole dataset KEPT, in [0, 1].
    mode
        ``"density"`` (default, the paper): class density ``d_k`` proportional to the error.
        ``"count"`` (the rule of the paper's reference code): kept count proportional to the
        error.
    val_counts
        ``n_k``, the number of validation samples each recall was measured on (non-negative
        integers, shape (K,)). Used by ``error_estimate="beta"``; validated, unused by
        ``"point"``.
    error_estimate
        ``"point"`` (default): the class error is ``1 - r_k``, as in the paper. ``"beta"``: the
        posterior mean ``(n_k (1 - r_k) + a) / (n_k + a + b)`` under the prior
        ``Beta(a, b)``, never 0, so no class is zeroed by a perfect recall on a few samples.
    prior
        ``(a, b)``, both > 0, for ``"beta"``: default Jeffreys ``(0.5, 0.5)``; ``(1, 1)`` is
        Laplace's rule of succession.
    min_per_class
        Floor on every class's kept count (integer >= 0, default 0); a smaller class is kept
        whole.
    min_density
        Floor on every class's kept fraction (in [0, 1], default 0). Class ``k`` keeps at least
        ``L_k = min(N_k, max(min_per_class, ceil(min_density * N_k)))``.
    class_names
        Optional name per class, used only in the :class:`QuotaWarning` message.

    Returns
    -------
    numpy.ndarray
        int64 counts, shape (K,), ``L_k <= c_k <= N_k``, summing exactly to ``round(d * N)``.

    Raises
    ------
    ValueError
        On NaN or out-of-range recalls, a density outside [0, 1], negative or non-integer sizes,
        a length mismatch, an unknown mode or error_estimate, ``"beta"`` without
        ``val_counts``, bad ``val_counts`` or ``prior``, a negative or non-integer
        ``min_per_class``, a ``min_density`` outside [0, 1], or floors the density cannot
        hold (the message gives the largest feasible floor).

    Warns
    -----
    QuotaWarning
        When a non-empty class keeps fewer than ``min(N_k, STARVATION_FLOOR)`` samples (see
        :func:`starved_classes`); an :class:`UnderServedWarning` when none does but a class
        keeps less than a quarter of the density (see :func:`under_served_classes`).

    Examples
    --------
    >>> drop_quotas([500, 500, 100], [0.9, 0.8, 0.7], 0.5)
    array([153, 305,  92])
    >>> drop_quotas([500, 500, 100], [0.9, 0.8, 0.7], 0.5, mode="count")
    array([150, 300, 100])
    >>> drop_quotas([500, 500, 100], [0.9, 0.8, 0.7], 0.5, min_density=0.4)
    array([200, 269,  81])

    A perfect recall zeroes a class, with a warning; a floor or the beta estimate avoid it:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     drop_quotas([100, 100], [1.0, 0.5], 0.3, class_names=["cat", "dog"])
    array([ 0, 60])
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    drop quotas starve 1 of 2 non-empty classes (...): class 0 (cat) keeps 0 of 100; pass ...
    >>> drop_quotas([100, 100], [1.0, 0.5], 0.3, min_per_class=10)
    array([10, 50])
    >>> drop_quotas([100, 100], [1.0, 0.5], 0.3, val_counts=[25, 25], error_estimate="beta",
    ...             min_per_class=5)
    array([ 5, 55])
    """
    # make_quotas returns None only for the "none" rule
    return cast(np.ndarray, make_quotas(
        "drop", class_sizes, density, recalls=recalls, val_counts=val_counts,
        class_names=class_names,
        options=QuotaOptions(mode=mode, error_estimate=error_estimate, prior=prior,
                             min_per_class=min_per_class, min_density=min_density)))


def proportional_quotas(class_sizes: Any, density: float, *, min_per_class: int = 0,
                        min_density: float = 0.0,
                        class_names: Sequence[Any] | None = None) -> np.ndarray:
    """Stratified keep counts: every class keeps the fraction ``density``, up to rounding.

    With floors (see :func:`drop_quotas` for ``min_per_class``, ``min_density`` and
    ``class_names``), ``d_k = clip(lam, L_k / N_k, 1)``: the classes above their floor keep
    one common fraction. Warns (:class:`QuotaWarning`) about starved and under-served
    classes.

    Examples
    --------
    >>> proportional_quotas([500, 500, 100], 0.5)
    array([250, 250,  50])
    >>> proportional_quotas([1000, 20], 0.1, min_per_class=10)
    array([92, 10])
    """
    return cast(np.ndarray, make_quotas(
        "proportional", class_sizes, density, class_names=class_names,
        options=QuotaOptions(min_per_class=min_per_class, min_density=min_density)))


def balanced_quotas(class_sizes: Any, density: float, *, min_per_class: int = 0,
                    min_density: float = 0.0,
                    class_names: Sequence[Any] | None = None) -> np.ndarray:
    """Equal keep counts for every non-empty class, capped at ``N_k``, excess redistributed.

    With floors (see :func:`drop_quotas`), the count is ``clip(lam, L_k, N_k)``. Warns
    (:class:`QuotaWarning`) about starved and under-served classes.

    Examples
    --------
    >>> balanced_quotas([500, 500, 100], 0.5)
    array([225, 225, 100])
    >>> balanced_quotas([500, 500, 100], 0.5, min_density=0.5)
    array([250, 250,  50])
    """
    return cast(np.ndarray, make_quotas(
        "balanced", class_sizes, density, class_names=class_names,
        options=QuotaOptions(min_per_class=min_per_class, min_density=min_density)))


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
    k = int(num_classes) if num_classes is not None else infer_num_classes(("labels", lab))
    sel = as_selection(selected, lab.size)
    return np.bincount(lab[sel], minlength=k).astype(np.int64)
