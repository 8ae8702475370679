"""Quota floors (min_per_class, min_density), the beta error estimate (val_counts) and the
QuotaWarning about starved classes: exact cases, properties, warnings, bad input."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import droprune
from droprune import (
    QuotaWarning,
    balanced_quotas,
    drop_densities,
    drop_quotas,
    make_quotas,
    proportional_quotas,
    starved_classes,
    target_count,
)
from droprune._checks import as_per_class_counts, ceil_fraction, check_beta_prior
from droprune.quotas import STARVATION_FLOOR, _waterfill_bounded, waterfill


def floors(sizes, min_per_class=0, min_density=0.0):
    """L_k = min(N_k, max(min_per_class, ceil(min_density * N_k))), on the decimal written."""
    x = Fraction(repr(float(min_density)))
    return np.array([min(n, max(min_per_class, math.ceil(x * n))) for n in sizes])


@st.composite
def floored(draw):
    sizes = np.array(draw(st.lists(st.integers(0, 300), min_size=1, max_size=10)))
    k = sizes.size
    recalls = np.array(draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    val_counts = np.array(draw(st.lists(st.integers(0, 500), min_size=k, max_size=k)))
    density = draw(st.floats(0, 1))
    min_per_class = draw(st.integers(0, 60))
    min_density = draw(st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0]))
    return sizes, recalls, val_counts, density, min_per_class, min_density


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")  # starved cases are drawn too
@settings(max_examples=300, deadline=None)
@given(floored())
def test_floored_counts_sum_exactly_within_both_bounds(inst):
    sizes, recalls, val_counts, density, m, x = inst
    total = target_count(density, sizes.sum())
    lower = floors(sizes, m, x)
    for mode in ("density", "count"):
        for estimate in ("point", "beta"):
            kwargs = dict(mode=mode, error_estimate=estimate, val_counts=val_counts,
                          min_per_class=m, min_density=x)
            if lower.sum() > total:
                with pytest.raises(ValueError, match="or raise density"):
                    drop_quotas(sizes, recalls, density, **kwargs)
                continue
            counts = drop_quotas(sizes, recalls, density, **kwargs)
            assert counts.dtype == np.int64 and counts.sum() == total
            assert np.all(counts >= lower) and np.all(counts <= sizes)
            d = drop_densities(sizes, recalls, density, **kwargs)
            nonempty = sizes > 0
            assert np.all(d[nonempty] * sizes[nonempty] >= lower[nonempty] - 1e-9)
            assert np.all(d <= 1.0) and np.isclose((d * sizes).sum(), total, atol=1e-6)
    if lower.sum() <= total:
        for rule in ("proportional", "balanced"):
            counts = make_quotas(rule, sizes, density, min_per_class=m, min_density=x)
            assert counts.sum() == total
            assert np.all(counts >= lower) and np.all(counts <= sizes)


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")
@settings(max_examples=300, deadline=None)
@given(floored())
def test_densities_monotone_in_error_among_classes_off_their_bounds(inst):
    sizes, recalls, val_counts, density, m, x = inst
    lower = floors(sizes, m, x)
    assume(lower.sum() <= target_count(density, sizes.sum()))
    for estimate in ("point", "beta"):
        d = drop_densities(sizes, recalls, density, val_counts=val_counts, min_per_class=m,
                           min_density=x, error_estimate=estimate)
        n = val_counts
        err = (1 - recalls if estimate == "point"  # Jeffreys: (n (1 - r) + 1/2) / (n + 1)
               else (np.where(n > 0, n * (1 - recalls), 0.0) + 0.5) / (n + 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            floor_density = lower / sizes
        free = np.flatnonzero((sizes > 0) & (d > floor_density + 1e-9) & (d < 1 - 1e-9))
        for i in free:
            for j in free:
                if err[i] > err[j] * (1 + 1e-9):
                    assert d[i] >= d[j] - 1e-9


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200), st.lists(st.floats(0, 1), min_size=2, max_size=10), st.floats(0, 1),
       st.integers(0, 50))
def test_counts_monotone_in_error_for_equal_sizes_and_floors(n, recalls, density, m):
    sizes = np.full(len(recalls), n)
    assume(floors(sizes, m).sum() <= target_count(density, sizes.sum()))
    rec = np.array(recalls)
    err = 1.0 - rec
    for mode in ("density", "count"):
        counts = drop_quotas(sizes, rec, density, mode=mode, min_per_class=m)
        for i in range(rec.size):
            for j in range(rec.size):
                if err[i] > err[j]:
                    assert counts[i] >= counts[j]


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=10), st.floats(0, 1),
       st.data())
def test_zero_floors_and_point_estimate_give_todays_result(sizes, density, data):
    sizes = np.array(sizes)
    k = sizes.size
    recalls = np.array(data.draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    val_counts = data.draw(st.lists(st.integers(0, 99), min_size=k, max_size=k))
    for mode in ("density", "count"):
        today = drop_quotas(sizes, recalls, density, mode=mode)
        new = drop_quotas(sizes, recalls, density, mode=mode, min_per_class=0, min_density=0.0,
                          error_estimate="point", val_counts=val_counts, prior=(1, 1))
        np.testing.assert_array_equal(new, today)
        np.testing.assert_array_equal(
            drop_densities(sizes, recalls, density, mode=mode, min_per_class=0,
                           val_counts=val_counts),
            drop_densities(sizes, recalls, density, mode=mode))
        np.testing.assert_array_equal(
            make_quotas("drop", sizes, density, recalls=recalls, mode=mode, min_density=0),
            today)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.just(0.0) | st.floats(1e-300, 100), min_size=1, max_size=10), st.data())
def test_bounded_waterfill_with_zero_floors_matches_waterfill(weights, data):
    w = np.array(weights)
    k = w.size
    caps = np.array(data.draw(st.lists(st.integers(0, 300), min_size=k, max_size=k)))
    total = data.draw(st.integers(0, int(caps.sum()) + 10))
    np.testing.assert_allclose(_waterfill_bounded(w, np.zeros(k), caps, total),
                               waterfill(w, caps, total), rtol=1e-9, atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(1e-300, 100), min_size=1, max_size=10), st.data())
def test_bounded_waterfill_fixed_point(weights, data):
    """a_k = clip(lam w_k, lower_k, caps_k) with one lam, summing to the total."""
    w = np.array(weights)
    k = w.size
    caps = np.array(data.draw(st.lists(st.integers(0, 300), min_size=k, max_size=k)))
    lower = np.array([data.draw(st.integers(0, int(c))) for c in caps])
    total = data.draw(st.integers(int(lower.sum()), int(caps.sum())))
    a = waterfill(w, caps, total, lower=lower)
    assert np.all(a >= lower) and np.all(a <= caps)
    np.testing.assert_allclose(a.sum(), total, atol=1e-6)
    free = (a > lower) & (a < caps)  # entries at a bound equal it exactly
    if free.any():
        lam = a[free] / w[free]
        np.testing.assert_allclose(lam, lam[0], rtol=1e-9)
        at_floor = (a == lower) & (lower < caps)
        at_cap = (a == caps) & (lower < caps)
        assert np.all(lam[0] * w[at_floor] <= lower[at_floor] * (1 + 1e-9))
        assert np.all(lam[0] * w[at_cap] >= caps[at_cap] * (1 - 1e-9))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=10), st.floats(0.05, 1), st.data())
def test_beta_estimate_with_huge_val_counts_approaches_the_point_estimate(sizes, density, data):
    sizes = np.array(sizes)
    k = sizes.size
    # errors on a grid (0 or >= 0.001): the beta estimate moves them by at most ~1e-9
    recalls = np.array(data.draw(st.lists(st.integers(0, 1000), min_size=k, max_size=k))) / 1000
    for mode in ("density", "count"):
        point = drop_densities(sizes, recalls, density, mode=mode)
        beta = drop_densities(sizes, recalls, density, mode=mode, error_estimate="beta",
                              val_counts=np.full(k, 10**9))
        np.testing.assert_allclose(beta, point, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Exact small cases
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs, expected", [
    # errors .5, .1, total 60: [50, 10] without a floor; class 1 raised to 20, class 0 the rest
    (([100, 100], [0.5, 0.9], 0.3), dict(min_per_class=20), [40, 20]),
    # errors .1, .2, .3, total 550, L = [200, 200, 40]: class 0 at its floor, 350 shared by
    # lam (100 + 30) -> 269.23, 80.77 -> largest remainder [269, 81]
    (([500, 500, 100], [0.9, 0.8, 0.7], 0.5), dict(min_density=0.4), [200, 269, 81]),
    # a class smaller than the floor is kept whole; class 2 at its floor; lam = 1.78
    (([3, 100, 100], [0.1, 0.5, 0.99], 0.5), dict(min_per_class=10), [3, 89, 10]),
    # count mode: counts clip(lam e_k, L_k, N_k): class 2 whole (L = N = 100), lam = 1250
    (([500, 500, 100], [0.9, 0.8, 0.7], 0.5), dict(mode="count", min_per_class=200),
     [200, 250, 100]),
    # zero-error classes sit at their floor until the class with an error is full ...
    (([100, 100, 100], [0.5, 1.0, 1.0], 0.2), dict(min_per_class=5), [50, 5, 5]),
    (([100, 100, 100], [0.5, 1.0, 1.0], 0.5), dict(min_per_class=5), [100, 25, 25]),
    # ... which their floors may prevent: 150 - 30 - 30 = 90
    (([100, 100, 100], [0.5, 1.0, 1.0], 0.5), dict(min_per_class=30), [90, 30, 30]),
    # then they share the rest: equal densities (0.6 -> 120, 60 raised to its floor 70) ...
    (([300, 200, 100], [0.5, 1.0, 1.0], 0.8), dict(min_per_class=70), [300, 110, 70]),
    # ... or equal counts in count mode
    (([300, 200, 100], [0.5, 1.0, 1.0], 0.8), dict(mode="count", min_per_class=70),
     [300, 90, 90]),
    # a floor that is exactly the budget
    (([100, 100], [0.5, 0.9], 0.3), dict(min_per_class=30), [30, 30]),
    # min_density on the decimal written: ceil(0.07 * 100) = 7, not 8
    (([100, 100], [0.1, 1.0], 0.5), dict(min_density=0.07), [93, 7]),
])
def test_floors_exact_cases(args, kwargs, expected):
    np.testing.assert_array_equal(drop_quotas(*args, **kwargs), expected)
    np.testing.assert_array_equal(
        make_quotas("drop", args[0], args[2], recalls=args[1], **kwargs), expected)


def test_floors_of_the_other_rules():
    # proportional: lam = 92/1000, class 1 at its floor 10/20
    np.testing.assert_array_equal(proportional_quotas([1000, 20], 0.1, min_per_class=10),
                                  [92, 10])
    np.testing.assert_array_equal(
        make_quotas("proportional", [1000, 20], 0.1, min_per_class=10, min_density=0.05),
        [92, 10])
    # balanced: counts clip(lam, L_k, N_k); the floors use the whole budget here
    np.testing.assert_array_equal(balanced_quotas([500, 500, 100], 0.5, min_density=0.5),
                                  [250, 250, 50])
    # 80 each without a floor; class 0 raised to 150, the other two share 90
    np.testing.assert_array_equal(make_quotas("balanced", [1000, 100, 100], 0.2,
                                              min_density=0.15), [150, 45, 45])


def test_beta_estimate_exact():
    # e = (n (1 - r) + a) / (n + a + b): 0.5/26 and 13/26 (Jeffreys); total 60
    e = np.array([0.5, 13.0]) / 26
    np.testing.assert_allclose(
        drop_densities([100, 100], [1.0, 0.5], 0.3, val_counts=[25, 25], error_estimate="beta"),
        0.6 * e / e.sum())
    e = np.array([1.0, 13.5]) / 27  # Laplace
    np.testing.assert_allclose(
        drop_densities([100, 100], [1.0, 0.5], 0.3, val_counts=[25, 25], error_estimate="beta",
                       prior=(1, 1)), 0.6 * e / e.sum())
    # 300 * e_0 / sum(e) with e = (0.5, 13, 13)/26: 2.83, 73.58, 73.58 -> [3, 74, 73]
    with pytest.warns(QuotaWarning, match="class 0 keeps 3 of 100; pass min_per_class=5 "
                                          r"\(or min_density\) to give every class a floor, or "
                                          "keep a larger density"):
        counts = drop_quotas([100, 100, 100], [1.0, 0.5, 0.5], 0.5, val_counts=[25, 25, 25],
                             error_estimate="beta")
    np.testing.assert_array_equal(counts, [3, 74, 73])
    np.testing.assert_array_equal(
        drop_quotas([100, 100], [1.0, 0.5], 0.3, val_counts=[25, 25], error_estimate="beta",
                    min_per_class=5), [5, 55])


def test_beta_estimate_class_without_validation_samples_gets_the_prior_mean():
    # e_0 = 0.5 (prior mean, its recall NaN is accepted), e_1 = 500.5/1001 = 0.5: equal
    np.testing.assert_allclose(
        drop_densities([100, 100], [np.nan, 0.5], 0.3, val_counts=[0, 1000],
                       error_estimate="beta"), [0.3, 0.3])
    # a recall given for 0 validation samples is ignored; prior mean 1/4 vs e_1 = 0.75
    np.testing.assert_allclose(
        drop_densities([100, 100], [0.0, 0.25], 0.2, val_counts=[0, 10**6],
                       error_estimate="beta", prior=(1, 3)), [0.1, 0.3], rtol=1e-5)
    with pytest.raises(ValueError, match="recalls contains NaN at class 0"):
        drop_densities([100, 100], [np.nan, 0.5], 0.3, val_counts=[0, 1000])  # point estimate


def test_beta_estimate_keeps_equal_errors_equal_like_the_point_estimate():
    sizes, rec = [600, 300, 100], [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(
        drop_quotas(sizes, rec, 0.5, val_counts=[50, 50, 50], error_estimate="beta"),
        drop_quotas(sizes, rec, 0.5))


# ---------------------------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------------------------

def test_drop_warns_once_naming_the_starved_classes_and_the_fixes():
    with pytest.warns(QuotaWarning) as record:
        counts = drop_quotas([100, 100, 100], [0.5, 1.0, 1.0], 0.2)
    np.testing.assert_array_equal(counts, [60, 0, 0])
    assert len(record) == 1
    assert record[0].filename == __file__  # attributed to the caller
    message = str(record[0].message)
    assert message.startswith("drop quotas starve 2 of 3 non-empty classes (fewer than "
                              "min(N_k, 5) samples kept): class 1 keeps 0 of 100, class 2 keeps "
                              "0 of 100; pass min_per_class=5 (or min_density)")
    assert "val_counts with error_estimate='beta'" in message


def test_warning_names_classes_when_given():
    with pytest.warns(QuotaWarning, match=r"class 1 \(dog\) keeps 0 of 100, class 2 \(emu\)"):
        drop_quotas([100, 100, 100], [0.5, 1.0, 1.0], 0.2, class_names=["cat", "dog", "emu"])
    with pytest.warns(QuotaWarning, match=r"class 1 \(7\) keeps 2 of 20"):
        make_quotas("proportional", [1000, 20], 0.1, class_names=np.array([3, 7]))


@pytest.mark.parametrize("call, match", [
    (lambda: proportional_quotas([1000, 20], 0.1),
     "proportional quotas starve 1 of 2 non-empty classes .*: class 1 keeps 2 of 20; pass "
     "min_per_class=5"),
    (lambda: make_quotas("proportional", [1000, 20, 0], 0.1),
     "proportional quotas starve 1 of 2 non-empty classes .*: class 1 keeps 2 of 20;"),
    (lambda: balanced_quotas([100, 100, 100], 0.02),
     "balanced quotas starve 3 of 3 .*class 0 keeps 2 of 100, class 1 keeps 2 of 100, class 2 "
     "keeps 2 of 100; the density keeps 6 samples, fewer than the 15 that min_per_class=5 would "
     "need: keep a larger density"),
    (lambda: make_quotas("balanced", [1, 1], 0.5), "class 1 keeps 0 of 1;"),
    (lambda: make_quotas("from_selection", [100, 100], 0.5, selection_counts=[70, 0]),
     "from_selection quotas starve 1 of 2 .*: class 1 keeps 0 of 100; the other selection keeps"),
    (lambda: make_quotas("drop", [100, 100], 0.3, recalls=[1.0, 0.5]),
     "drop quotas starve 1 of 2 .*: class 0 keeps 0 of 100; .* error_estimate='beta'"),
    (lambda: drop_quotas(np.full(12, 100), np.r_[0.5, np.ones(11)], 0.05),
     r"starve 11 of 12 .*class 10 keeps 0 of 100 and 1 more; pass"),
])
def test_every_rule_warns_about_starved_classes(call, match):
    with pytest.warns(QuotaWarning, match=match) as record:
        call()
    assert len(record) == 1 and record[0].filename == __file__


def test_no_warning_when_no_class_is_starved():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drop_quotas([100, 100, 3, 0], [0.5, 0.9, 0.1, np.nan], 0.5)  # class 2 kept whole
        drop_quotas([100, 100, 100], [0.5, 1.0, 1.0], 0.2, min_per_class=5)
        drop_quotas([100, 100, 100], [0.5, 1.0, 1.0], 0.2, min_density=0.05)
        proportional_quotas([1000, 20], 0.1, min_per_class=5)
        balanced_quotas([100, 100, 100], 0.2)
        # (a selection keeping 5 of 100 at density 0.5 is under-served: tests/test_under_served.py)
        make_quotas("from_selection", [100, 100], 0.5, selection_counts=[70, 30])
        make_quotas("none", [100, 100], 0.5)
        drop_densities([100, 100], [1.0, 0.5], 0.3)  # densities, not counts: no warning
        for rule in ("drop", "proportional", "balanced"):  # density 0 keeps nothing on purpose
            make_quotas(rule, [100, 100], 0.0, recalls=[0.5, 0.5])
        make_quotas("drop", [100, 100], 0.001, recalls=[0.5, 0.5])  # round(d N) = 0


def test_starved_classes():
    assert starved_classes([0, 60, 3, 2], [100, 100, 3, 40]) == [0, 3]
    assert starved_classes([0, 60, 3, 2], [100, 100, 3, 40], floor=1) == [0]
    assert starved_classes([0, 60, 3, 2], [100, 100, 3, 40], floor=0) == []
    assert starved_classes(np.array([0, 0], dtype=np.int32), [10, 10]) == []
    assert starved_classes([0, 1], [0, 10]) == [1]  # an empty class is never starved
    assert STARVATION_FLOOR == 5
    with pytest.raises(ValueError, match="counts has 3 entries but there are 2 classes"):
        starved_classes([0, 1, 2], [10, 10])
    with pytest.raises(ValueError, match="floor must be an integer >= 0, got -1"):
        starved_classes([0, 1], [10, 10], floor=-1)


def test_quota_warning_is_public_and_a_user_warning():
    assert issubclass(droprune.QuotaWarning, UserWarning)
    assert droprune.starved_classes is starved_classes
    assert {"QuotaWarning", "starved_classes"} <= set(droprune.__all__)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

BASE = dict(class_sizes=[100, 100, 100], recalls=[0.5, 0.5, 0.5], density=0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(min_per_class=-1), "min_per_class must be an integer in \\[0, 9007199254740992\\], got -1"),
    (dict(min_per_class=2.5), "min_per_class must be an integer in \\[0, 9007199254740992\\], got 2.5"),
    (dict(min_per_class=float("nan")), "min_per_class must be an integer in \\[0, 9007199254740992\\], got nan"),
    (dict(min_per_class=True), "min_per_class must be an integer in \\[0, 9007199254740992\\], got True"),
    (dict(min_density=1.5), r"min_density must be (a number )?in \[0, 1\]"),
    (dict(min_density=-0.1), r"min_density must be (a number )?in \[0, 1\]"),
    (dict(min_density=float("nan")), r"min_density must be (a number )?in \[0, 1\]"),
    (dict(min_density=10), "not a percentage"),
    (dict(min_per_class=20), "min_per_class=20 needs 60 samples but density 0.1 keeps 30 of 300: "
                             "lower min_per_class to at most 10, or raise density"),
    (dict(min_density=0.2), "min_density=0.2 needs 60 samples but density 0.1 keeps 30 of 300: "
                            "lower min_density to at most 0.1, or raise density"),
    (dict(min_density=0.15, min_per_class=5),
     r"min_per_class=5 and min_density=0.15 need 45 samples .*: lower min_density to at most "
     r"0.1 \(with min_per_class=5\), or raise"),
    (dict(min_density=0.05, min_per_class=12),
     r"lower min_per_class to at most 10 \(with min_density=0.05\), or raise"),
    (dict(min_density=0.2, min_per_class=20),
     r"lower min_per_class to at most 10 \(with min_density=0\) or min_density to at most 0.1 "
     r"\(with min_per_class=0\), or raise density"),
    (dict(error_estimate="beta"), "error_estimate='beta' needs val_counts: pass the number"),
    (dict(error_estimate="bayes"), "error_estimate must be 'point' .* or 'beta'"),
    (dict(val_counts=[25, 25]), "val_counts has 2 entries but there are 3 classes"),
    (dict(val_counts=[25, -1, 3]), "val_counts must be >= 0, got -1 at class 1"),
    (dict(val_counts=[25, np.nan, 3]), "val_counts contains NaN"),
    (dict(val_counts=[25, 2.5, 3]), "val_counts must hold integers"),
    (dict(val_counts=[True, False, True]), "val_counts must hold integers"),
    (dict(val_counts=[2, 2, 2], error_estimate="beta", prior=(0, 1)), "prior must be a pair"),
    (dict(prior=(1,)), r"prior must be a pair \(a, b\) of numbers > 0"),
    (dict(prior=(np.nan, 1)), "prior must be a pair"),
    (dict(prior="ab"), "prior must be a pair"),
    (dict(prior=(True, 1)), "prior must be a pair"),
    (dict(class_names=["a", "b"]), "class_names has 2 entries but there are 3 classes"),
    (dict(class_names="abc"), "class_names must be a sequence of names"),
])
def test_bad_input_raises_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        drop_quotas(**{**BASE, **kwargs})


def test_bad_floors_and_options_through_make_quotas():
    with pytest.raises(ValueError, match="min_per_class must be an integer"):
        make_quotas("balanced", [10, 10], 0.5, min_per_class=-2)
    with pytest.raises(ValueError, match="lower min_per_class to at most 5"):
        make_quotas("proportional", [10, 10], 0.5, min_per_class=6)
    with pytest.raises(ValueError, match="do not apply to the 'none' quota rule"):
        make_quotas("none", [10, 10], 0.5, min_per_class=1)
    with pytest.raises(ValueError, match="do not apply to the 'from_selection' quota rule"):
        make_quotas("from_selection", [10, 10], 0.5, selection_counts=[5, 5], min_density=0.1)
    with pytest.raises(ValueError, match="error_estimate='beta' needs val_counts"):
        make_quotas("drop", [10, 10], 0.5, recalls=[0.5, 0.5], error_estimate="beta")
    with pytest.raises(ValueError, match="class_names has 1 entries"):
        make_quotas("none", [10, 10], 0.5, class_names=["a"])


def test_helpers():
    np.testing.assert_array_equal(ceil_fraction(0.07, [100, 10, 0, 1]), [7, 1, 0, 1])
    np.testing.assert_array_equal(ceil_fraction(1.0, [3, 0]), [3, 0])
    np.testing.assert_array_equal(ceil_fraction(0.0, [3]), [0])
    # exact beyond int64 products: 0.1234567890123457 * 10**9
    assert ceil_fraction(0.1234567890123457, [10**9])[0] == 123456790
    np.testing.assert_array_equal(as_per_class_counts(np.array([3, 0], dtype=np.uint8), 2, "v"),
                                  [3, 0])
    assert check_beta_prior(np.array([0.5, 2])) == (0.5, 2.0)
