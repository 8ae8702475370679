"""Selection: per-class counts honoured, orientation, randomness, determinism, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from droprune import drop_quotas, select, select_global, target_count


@st.composite
def labelled(draw):
    k = draw(st.integers(1, 6))
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=200)))
    sizes = np.bincount(labels, minlength=k)
    counts = np.array([draw(st.integers(0, int(s))) for s in sizes])
    return labels, counts


@settings(max_examples=200, deadline=None)
@given(labelled(), st.integers(0, 2**31), st.booleans())
def test_counts_honoured_sorted_unique(case, seed, with_scores):
    labels, counts = case
    scores = np.random.default_rng(seed).random(labels.size) if with_scores else None
    kept = select(labels, counts, scores=scores, seed=seed)
    assert kept.dtype == np.int64
    assert np.all(np.diff(kept) > 0)  # sorted, unique
    np.testing.assert_array_equal(np.bincount(labels[kept], minlength=counts.size), counts)


@settings(max_examples=200, deadline=None)
@given(labelled(), st.integers(0, 2**31))
def test_scores_keep_highest_within_each_class(case, seed):
    labels, counts = case
    scores = np.random.default_rng(seed).permutation(labels.size).astype(float)  # no ties
    kept = select(labels, counts, scores=scores, seed=seed)
    mask = np.zeros(labels.size, bool)
    mask[kept] = True
    for k in range(counts.size):
        in_k = labels == k
        if mask[in_k].any() and (~mask[in_k]).any():
            assert scores[in_k & mask].min() > scores[in_k & ~mask].max()


def test_orientation_higher_is_kept():
    labels = np.zeros(5, int)
    kept = select(labels, [2], scores=[0.1, 5.0, -3.0, 4.0, 0.0])
    np.testing.assert_array_equal(kept, [1, 3])


def test_deterministic_for_a_seed_and_varies_across_seeds():
    labels = np.repeat(np.arange(4), 250)
    counts = np.array([10, 50, 100, 200])
    a = select(labels, counts, seed=3)
    np.testing.assert_array_equal(a, select(labels, counts, seed=3))
    assert not np.array_equal(a, select(labels, counts, seed=4))


def test_random_selection_is_uniform_within_class():
    labels = np.array([0] * 10 + [1] * 5)
    counts = np.array([3, 2])
    hits = np.zeros(labels.size)
    runs = 4000
    for seed in range(runs):
        hits[select(labels, counts, seed=seed)] += 1
    freq = hits / runs
    # each class-0 sample kept with prob 0.3, class-1 with 0.4; 4000 runs: sd ~ 0.008
    np.testing.assert_allclose(freq[:10], 0.3, atol=0.04)
    np.testing.assert_allclose(freq[10:], 0.4, atol=0.04)


def test_ties_broken_at_random_not_by_index():
    labels = np.zeros(1000, int)
    scores = np.zeros(1000)  # all tied (like forgetting counts of 0)
    kept = select(labels, [100], scores=scores, seed=0)
    assert kept.max() > 500  # index order would keep 0..99
    assert 0.3 < kept.mean() / 1000 < 0.7


def test_ties_do_not_override_scores():
    labels = np.zeros(6, int)
    scores = np.array([1, 2, 2, 2, 0, 2])
    for seed in range(20):
        kept = select(labels, [3], scores=scores, seed=seed)
        assert set(kept) <= {1, 2, 3, 5}


def test_works_with_drop_quotas_on_groups():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 4, 1000)
    counts = drop_quotas(np.bincount(groups, minlength=4), [0.9, 0.5, 0.7, 0.95], 0.4)
    kept = select(groups, counts, seed=1)
    assert kept.size == target_count(0.4, 1000)
    np.testing.assert_array_equal(np.bincount(groups[kept], minlength=4), counts)


def test_empty_classes_and_zero_counts():
    kept = select([0, 0, 2, 2], [0, 0, 1], seed=0)
    assert kept.size == 1 and kept[0] in (2, 3)
    assert select([0, 1], [0, 0]).size == 0


def test_select_errors():
    with pytest.raises(ValueError, match="exceeds the 2 samples of class 0"):
        select([0, 0, 1], [3, 1])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        select([0, 2], [1, 1])
    with pytest.raises(ValueError, match="scores has 2 entries but there are 3 samples"):
        select([0, 0, 1], [1, 1], scores=[0.1, 0.2])
    with pytest.raises(ValueError, match="non-finite"):
        select([0, 0, 1], [1, 1], scores=[0.1, np.nan, 0.2])
    with pytest.raises(ValueError, match="counts must be >= 0"):
        select([0, 1], [-1, 1])
    with pytest.raises(ValueError, match="labels must be >= 0"):
        select([-1, 1], [0, 1])


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_a_bad_seed_is_refused_by_name(seed):
    message = (r"^seed must be an integer >= 0, or None for fresh randomness, got "
               + re.escape(repr(seed)) + "$")
    with pytest.raises(ValueError, match=message):
        select([0, 1, 1, 2, 2, 2], [1, 2, 3], seed=seed)
    with pytest.raises(ValueError, match=message):
        select_global(None, 0.5, n=6, seed=seed)
    with pytest.raises(ValueError, match=message):
        select_global([0.1, 0.2], 0.5, seed=seed)


def test_select_global_top_scores_and_random():
    scores = np.array([0.2, 0.9, 0.1, 0.5, 0.7])
    np.testing.assert_array_equal(select_global(scores, 0.4), [1, 4])
    np.testing.assert_array_equal(select_global(scores, 0.0), [])
    np.testing.assert_array_equal(select_global(scores, 1.0), np.arange(5))
    r = select_global(None, 0.3, n=100, seed=5)
    assert r.size == 30 and np.all(np.diff(r) > 0) and r.max() < 100
    np.testing.assert_array_equal(r, select_global(None, 0.3, n=100, seed=5))
    with pytest.raises(ValueError, match="needs n"):
        select_global(None, 0.3)
    with pytest.raises(ValueError, match="density must be in"):
        select_global(scores, 1.1)
    with pytest.raises(ValueError, match="one-dimensional"):
        select_global(np.zeros((2, 2)), 0.5)


def test_select_integer_scores_of_unsigned_type():
    labels = np.zeros(4, int)
    scores = np.array([3, 0, 7, 1], dtype=np.uint8)  # -x would wrap around for unsigned ints
    np.testing.assert_array_equal(select(labels, [2], scores=scores), [0, 2])
    np.testing.assert_array_equal(select_global(scores, 0.5), [0, 2])


@pytest.mark.parametrize("seed", range(4))
def test_extreme_integer_scores_rank_exactly(seed):
    # -int64 min overflows to itself: the lowest score must not come first
    lowest = np.iinfo(np.int64).min
    assert select([0, 0, 0], [1], scores=np.array([lowest, 0, -5]), seed=seed).tolist() == [1]
    assert select_global(np.array([lowest, -5, 0]), 1 / 3, seed=seed).tolist() == [2]
    # uint64 above 2**53 would tie after a float conversion: the higher is always kept
    big = np.array([2**63 + 1, 2**63], dtype=np.uint64)
    assert select([0, 0], [1], scores=big, seed=seed).tolist() == [0]
    assert select_global(big[::-1], 0.5, seed=seed).tolist() == [1]
    assert select([0, 0], [1], scores=np.array([2**62, 2**62 + 1]), seed=seed).tolist() == [1]


def test_integer_and_float_scores_rank_alike():
    # the exact integer ranking is the float ranking wherever floats are exact (ties included)
    rng = np.random.default_rng(0)
    ints = rng.integers(-5, 5, size=200)
    labels = rng.integers(0, 3, size=200)
    for seed in range(3):
        assert np.array_equal(select(labels, [10, 20, 30], scores=ints, seed=seed),
                              select(labels, [10, 20, 30], scores=ints.astype(float), seed=seed))
        assert np.array_equal(select_global(ints.astype(np.uint8) + 5, 0.3, seed=seed),
                              select_global(ints + 5.0, 0.3, seed=seed))
