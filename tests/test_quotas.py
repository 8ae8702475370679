"""Quota rules: exact sums, caps, monotonicity, agreement with Algorithm 1, edge cases, errors."""

from __future__ import annotations

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
    quotas_from_selection,
    target_count,
)
from droprune.quotas import largest_remainder, waterfill


def algorithm1(sizes, recalls, total):
    """Direct transcription of Algorithm 1 of the paper (floating-point loop), E = total."""
    sizes = np.asarray(sizes, dtype=float)
    err = 1.0 - np.asarray(recalls, dtype=float)
    active = set(range(sizes.size))
    budget = float(total)
    d = np.zeros(sizes.size)
    for _ in range(10_000):
        if budget <= 1e-9 * max(total, 1):
            break
        z = sum(sizes[k] * err[k] for k in active) / budget
        if z == 0:
            break
        for k in sorted(active):
            step = err[k] / z
            d[k] += step
            budget -= sizes[k] * step
            if d[k] > 1:
                active.discard(k)
                budget += sizes[k] * (d[k] - 1)
                d[k] = 1.0
    return d


sizes_st = st.lists(st.integers(0, 300), min_size=1, max_size=12)


@st.composite
def instances(draw, allow_perfect=True):
    sizes = draw(sizes_st)
    lo = 0.0
    hi = 1.0 if allow_perfect else 0.999
    recalls = draw(st.lists(st.floats(lo, hi), min_size=len(sizes), max_size=len(sizes)))
    density = draw(st.floats(0.0, 1.0))
    return np.array(sizes), np.array(recalls), density


# ---------------------------------------------------------------------------------------------
# Exact semantics
# ---------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")  # starved cases are drawn too
@settings(max_examples=300, deadline=None)
@given(instances())
def test_counts_sum_exactly_and_respect_caps(inst):
    sizes, recalls, density = inst
    for mode in ("density", "count"):
        counts = drop_quotas(sizes, recalls, density, mode=mode)
        assert counts.dtype == np.int64
        assert counts.shape == sizes.shape
        assert counts.sum() == target_count(density, sizes.sum())
        assert np.all(counts >= 0) and np.all(counts <= sizes)


@settings(max_examples=300, deadline=None)
@given(instances(allow_perfect=False))
def test_densities_match_direct_transcription_of_algorithm1(inst):
    sizes, recalls, density = inst
    assume(sizes.sum() > 0)
    total = target_count(density, sizes.sum())
    expected = algorithm1(sizes, recalls, total)
    got = drop_densities(sizes, recalls, density)
    nonempty = sizes > 0
    np.testing.assert_allclose(got[nonempty], expected[nonempty], rtol=1e-7, atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(instances(allow_perfect=False))
def test_fixed_point_form(inst):
    """d_k = min(1, lam (1 - r_k)) with one lam for all non-empty classes."""
    sizes, recalls, density = inst
    assume(sizes.sum() > 0 and 0 < density)
    d = drop_densities(sizes, recalls, density)
    err = 1 - recalls
    free = (sizes > 0) & (d < 1 - 1e-12)
    if free.sum() >= 1:
        lam = d[free] / err[free]
        np.testing.assert_allclose(lam, lam[0], rtol=1e-9)
        saturated = (sizes > 0) & ~free
        assert np.all(lam[0] * err[saturated] >= 1 - 1e-9)
    np.testing.assert_allclose((d * sizes).sum(), target_count(density, sizes.sum()), atol=1e-6)


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")  # starved cases are drawn too
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200), st.lists(st.floats(0, 1), min_size=2, max_size=10), st.floats(0, 1))
def test_monotone_in_error_for_equal_sizes(n, recalls, density):
    sizes = np.full(len(recalls), n)
    rec = np.array(recalls)
    for mode in ("density", "count"):
        counts = drop_quotas(sizes, rec, density, mode=mode)
        err = 1.0 - rec  # compare errors as computed (1 - 1e-300 == 1 in floating point)
        for i in range(rec.size):
            for j in range(rec.size):
                if err[i] > err[j]:  # class i has the larger error
                    assert counts[i] >= counts[j]


@settings(max_examples=200, deadline=None)
@given(instances())
def test_densities_monotone_in_error_any_sizes(inst):
    sizes, recalls, density = inst
    d = drop_densities(sizes, recalls, density)
    err = 1 - recalls
    idx = np.flatnonzero(sizes > 0)
    for i in idx:
        for j in idx:
            if err[i] > err[j]:
                assert d[i] >= d[j] - 1e-12


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")  # starved cases are drawn too
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 100), st.lists(st.floats(0, 0.99), min_size=1, max_size=8),
       st.floats(0, 1))
def test_modes_agree_on_balanced_data(n, recalls, density):
    sizes = np.full(len(recalls), n)
    np.testing.assert_array_equal(drop_quotas(sizes, recalls, density, mode="density"),
                                  drop_quotas(sizes, recalls, density, mode="count"))


def test_worked_example_density_mode():
    # lam (50 + 100 + 30) = 550 -> lam = 3.0556: densities 0.3056, 0.6111, 0.9167
    sizes, rec = [500, 500, 100], [0.9, 0.8, 0.7]
    d = drop_densities(sizes, rec, 0.5)
    np.testing.assert_allclose(d, np.array([0.1, 0.2, 0.3]) * 550 / 180)
    # real counts 152.78, 305.56, 91.67 -> floors 152, 305, 91 (548), +1 to the two largest
    # fractional parts (.78 and .67)
    np.testing.assert_array_equal(drop_quotas(sizes, rec, 0.5), [153, 305, 92])


def test_worked_example_count_mode_caps_and_redistributes():
    # counts lam * (0.1, 0.2, 0.3); class 2 capped at 100, the rest 450 split 1:2
    np.testing.assert_array_equal(
        drop_quotas([500, 500, 100], [0.9, 0.8, 0.7], 0.5, mode="count"), [150, 300, 100])


def test_density_mode_caps_and_redistributes():
    # errors 0.1, 0.9: lam*0.9 would exceed 1 -> class 1 keeps all 100, class 0 gets the rest
    counts = drop_quotas([100, 100], [0.9, 0.1], 0.8)
    np.testing.assert_array_equal(counts, [60, 100])


def test_paper_reference_mode_differs_on_imbalanced_data():
    sizes, rec = [1000, 100], [0.8, 0.8]
    np.testing.assert_array_equal(drop_quotas(sizes, rec, 0.5), [500, 50])  # equal densities
    np.testing.assert_array_equal(drop_quotas(sizes, rec, 0.5, mode="count"), [450, 100])


# ---------------------------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------------------------

def test_density_zero_and_one():
    sizes, rec = [10, 20, 0, 5], [0.5, 1.0, np.nan, 0.1]
    for mode in ("density", "count"):
        np.testing.assert_array_equal(drop_quotas(sizes, rec, 0.0, mode=mode), [0, 0, 0, 0])
        np.testing.assert_array_equal(drop_quotas(sizes, rec, 1.0, mode=mode), [10, 20, 0, 5])


def test_empty_class_keeps_nothing_and_may_have_nan_recall():
    counts = drop_quotas([100, 0, 100], [0.5, np.nan, 0.7], 0.5)
    assert counts[1] == 0 and counts.sum() == 100
    assert drop_densities([100, 0], [0.5, 0.2], 0.5)[1] == 0.0


def test_all_recalls_one_falls_back_to_proportional_or_balanced():
    sizes, rec = [600, 300, 100], [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(drop_quotas(sizes, rec, 0.5), proportional_quotas(sizes, 0.5))
    np.testing.assert_array_equal(drop_quotas(sizes, rec, 0.5, mode="count"),
                                  balanced_quotas(sizes, 0.5))


def test_zero_error_classes_filled_only_after_error_classes_are_full():
    # class 0 has error; classes 1, 2 perfect. Target 150 > 100: class 0 full, 50 shared 1:1
    counts = drop_quotas([100, 100, 100], [0.5, 1.0, 1.0], 0.5)
    np.testing.assert_array_equal(counts, [100, 25, 25])
    # below the error classes' capacity the perfect classes get nothing, with a warning
    with pytest.warns(QuotaWarning, match="class 1 keeps 0 of 100, class 2 keeps 0 of 100"):
        np.testing.assert_array_equal(drop_quotas([100, 100, 100], [0.5, 1.0, 1.0], 0.2),
                                      [60, 0, 0])


def test_one_class():
    with pytest.warns(QuotaWarning, match="class 0 keeps 4 of 7"):  # fewer than 5
        np.testing.assert_array_equal(drop_quotas([7], [0.3], 0.5), [4])  # round(3.5) = 4
    with pytest.warns(QuotaWarning, match="class 0 keeps 2 of 7"):
        np.testing.assert_array_equal(drop_quotas([7], [1.0], 0.3), [2])


def test_target_count_rounds_half_up_on_the_decimal_written():
    assert target_count(0.5, 3) == 2
    assert target_count(0.15, 10) == 2  # binary 0.15 is 0.1499..., the decimal is what counts
    assert target_count(0.25, 10) == 3
    assert target_count(0.3, 0) == 0
    assert target_count(1.0, 12345) == 12345


def test_largest_remainder_ties_go_to_lower_index():
    np.testing.assert_array_equal(largest_remainder(np.array([0.5, 0.5, 0.5, 0.5]),
                                                    np.array([1, 1, 1, 1]), 2), [1, 1, 0, 0])


def test_waterfill_exact_on_example():
    np.testing.assert_allclose(waterfill(np.array([1.0, 2.0, 0.0]), np.array([10, 10, 10]), 12),
                               [4.0, 8.0, 0.0])
    # cannot reach the total: saturate
    np.testing.assert_allclose(waterfill(np.array([1.0, 0.0]), np.array([5, 5]), 8), [5.0, 0.0])


# ---------------------------------------------------------------------------------------------
# Other rules
# ---------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")  # starved cases are drawn too
@settings(max_examples=200, deadline=None)
@given(sizes_st, st.floats(0, 1))
def test_proportional_and_balanced_sums_and_caps(sizes, density):
    sizes = np.array(sizes)
    total = target_count(density, sizes.sum())
    for fn in (proportional_quotas, balanced_quotas):
        c = fn(sizes, density)
        assert c.sum() == total and np.all(c >= 0) and np.all(c <= sizes)
    prop = proportional_quotas(sizes, density)
    assert np.all(np.abs(prop - density * sizes) < 1 + 1e-9)  # within rounding of d * N_k
    bal = balanced_quotas(sizes, density)
    uncapped = (bal < sizes) & (sizes > 0)
    if uncapped.any():  # all classes below their cap get equal counts (within one)
        assert bal[uncapped].max() - bal[uncapped].min() <= 1
        capped = (bal == sizes) & (sizes > 0)  # a class is full only if it is small
        assert np.all(bal[capped] <= bal[uncapped].max() + 1)  # (up to the rounding unit)


def test_balanced_rounding_case():
    # total 1 over two classes of one sample: the tie goes to the lower index, which is full
    with pytest.warns(QuotaWarning, match="class 1 keeps 0 of 1"):
        np.testing.assert_array_equal(balanced_quotas([1, 1], 0.5), [1, 0])


def test_balanced_example():
    np.testing.assert_array_equal(balanced_quotas([500, 500, 100], 0.5), [225, 225, 100])
    with pytest.warns(QuotaWarning, match="class 0 keeps 3 of 5, class 1 keeps 2 of 5;"):
        np.testing.assert_array_equal(balanced_quotas([5, 5, 0], 0.5), [3, 2, 0])


def test_quotas_from_selection_and_groups():
    labels = np.array([0, 0, 1, 1, 1, 2])
    np.testing.assert_array_equal(quotas_from_selection(labels, [0, 2, 3]), [1, 2, 0])
    np.testing.assert_array_equal(quotas_from_selection(labels, [], num_classes=4), [0, 0, 0, 0])
    # any partition works: class x attribute groups
    groups = np.array([0, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(quotas_from_selection(groups, [3, 4, 5]), [0, 0, 0, 3])


def test_make_quotas_dispatch():
    sizes = [100, 50]
    assert make_quotas("none", sizes, 0.5) is None
    np.testing.assert_array_equal(make_quotas("drop", sizes, 0.5, recalls=[0.9, 0.5]),
                                  drop_quotas(sizes, [0.9, 0.5], 0.5))
    np.testing.assert_array_equal(make_quotas("proportional", sizes, 0.5), [50, 25])
    np.testing.assert_array_equal(make_quotas("balanced", sizes, 0.5), [38, 37])
    np.testing.assert_array_equal(
        make_quotas("from_selection", sizes, 0.5, selection_counts=[70, 5]), [70, 5])


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(class_sizes=[10, 10], recalls=[0.5, np.nan], density=0.5), "recalls contains NaN"),
    (dict(class_sizes=[10, 10], recalls=[0.5, 1.2], density=0.5), r"recalls must be in \[0, 1\]"),
    (dict(class_sizes=[10, 10], recalls=[-0.1, 0.5], density=0.5), r"recalls must be in \[0, 1\]"),
    (dict(class_sizes=[10, 10], recalls=[50, 90], density=0.5), "percentages"),
    (dict(class_sizes=[10, 10], recalls=[0.5, 0.5], density=1.5), "density must be in"),
    (dict(class_sizes=[10, 10], recalls=[0.5, 0.5], density=-0.1), "density must be in"),
    (dict(class_sizes=[10, 10], recalls=[0.5, 0.5], density=50), "percentage"),
    (dict(class_sizes=[10, 10], recalls=[0.5, 0.5], density=np.nan), "density"),
    (dict(class_sizes=[10, -1], recalls=[0.5, 0.5], density=0.5), "class_sizes must be >= 0"),
    (dict(class_sizes=[10, 2.5], recalls=[0.5, 0.5], density=0.5), "class_sizes must hold integers"),
    (dict(class_sizes=[10, 10, 10], recalls=[0.5, 0.5], density=0.5), "3 classes"),
    (dict(class_sizes=[], recalls=[], density=0.5), "class_sizes is empty"),
    (dict(class_sizes=[[10, 10]], recalls=[0.5, 0.5], density=0.5), "one-dimensional"),
    (dict(class_sizes=[10, 10], recalls=[0.5, 0.5], density="half"), "density"),
])
def test_bad_input_raises_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        drop_quotas(**kwargs)


def test_bad_mode_and_rule():
    with pytest.raises(ValueError, match="mode must be"):
        drop_quotas([10], [0.5], 0.5, mode="counts")
    with pytest.raises(ValueError, match="valid quota rules: drop, drop_floor, proportional"):
        make_quotas("drob", [10], 0.5)
    with pytest.raises(ValueError, match="needs recalls"):
        make_quotas("drop", [10], 0.5)
    with pytest.raises(ValueError, match="needs selection_counts"):
        make_quotas("from_selection", [10], 0.5)
    with pytest.raises(ValueError, match="exceeds the class size"):
        make_quotas("from_selection", [10, 10], 0.5, selection_counts=[11, 0])


def test_quotas_from_selection_errors():
    with pytest.raises(ValueError, match="repeated"):
        quotas_from_selection([0, 1], [1, 1])
    with pytest.raises(ValueError, match="index 5"):
        quotas_from_selection([0, 1], [5])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        quotas_from_selection([0, 3], [0], num_classes=2)

    # duplicate / out-of-range / float / 2-D / boolean selections: tests/test_metrics.py
    # (test_selection_functions_refuse_bad_selections) runs them through every selection function
    np.testing.assert_array_equal(quotas_from_selection([0, 0, 1, 1], [3.0, 0.0]), [1, 1])


def test_public_api_exports():
    for name in droprune.__all__:
        assert hasattr(droprune, name), name


def test_class_sizes_too_large_to_count_exactly_are_refused():
    # their int64 total wraps to 0: every class would silently keep nothing
    with pytest.raises(ValueError, match=r"class_sizes sum to 1\.84e\+19, more than 2\*\*53"):
        drop_quotas([2**62] * 4, [0.5] * 4, 0.5)
    with pytest.raises(ValueError, match=r"more than 2\*\*53"):
        drop_quotas([2**53, 1], [0.5, 0.5], 0.5)
    assert drop_quotas([2**53 - 2, 2], [0.5, 0.5], 1.0).tolist() == [2**53 - 2, 2]
