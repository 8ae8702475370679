"""Long-tailed subsampling: exact counts, the factor, determinism, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune.data import (LabelledDataset, imbalanced_indices, long_tail_counts,
                           make_imbalanced)


def test_paper_style_counts_cifar10_factor_100():
    counts = long_tail_counts(np.full(10, 5000), 100)
    # n_k = round(5000 * 100 ** (-k / 9)), computed independently
    expected = [int(np.floor(5000 * 100 ** (-k / 9) + 0.5)) for k in range(10)]
    assert counts.tolist() == expected
    assert counts[0] == 5000 and counts[-1] == 50 and counts[0] / counts[-1] == 100
    assert np.all(np.diff(counts) < 0)


def test_factor_one_and_the_reference_is_the_smallest_class():
    assert long_tail_counts(np.array([7, 5, 9]), 1).tolist() == [5, 5, 5]
    counts = long_tail_counts(np.array([820, 790, 800, 805]), 10)
    assert counts[0] == 790 and counts[-1] == 79  # every class can supply its quota


def test_single_class_is_unchanged():
    assert long_tail_counts(np.array([12]), 50).tolist() == [12]


def test_rounding_is_half_up():
    # 3 classes of 5, factor 4: 5, 5 * 4 ** -0.5 = 2.5 -> 3, 5 / 4 = 1.25 -> 1
    assert long_tail_counts(np.array([5, 5, 5]), 4).tolist() == [5, 3, 1]


@pytest.mark.parametrize("factor, match", [
    (0.5, ">= 1"), (float("inf"), ">= 1"), (float("nan"), ">= 1"), ("10", "a number"),
    (True, "a number"), (21, r"too large .*\(use a factor <= 20\)"),
])
def test_bad_factor(factor, match):
    with pytest.raises(ValueError, match=match):
        long_tail_counts(np.array([10, 10]), factor)


def test_empty_class_is_refused():
    with pytest.raises(ValueError, match="class 1 has no training samples"):
        long_tail_counts(np.array([10, 0, 10]), 2)


def test_indices_have_exact_counts_are_sorted_and_deterministic():
    labels = np.repeat(np.arange(5), 40)
    rng = np.random.default_rng(0)
    labels = labels[rng.permutation(labels.size)]
    a = imbalanced_indices(labels, 8, seed=3)
    assert np.bincount(labels[a]).tolist() == long_tail_counts(np.full(5, 40), 8).tolist()
    assert np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, imbalanced_indices(labels, 8, seed=3))
    assert not np.array_equal(a, imbalanced_indices(labels, 8, seed=4))


def test_make_imbalanced_keeps_source_indices():
    inputs = torch.arange(30, dtype=torch.float32).view(30, 1, 1)
    ds = LabelledDataset(inputs, np.arange(30) % 3, num_classes=3, name="toy")
    lt = make_imbalanced(ds, 4, seed=0)
    assert lt.class_sizes.tolist() == [10, 5, 3]  # 10, 10 / 2, 10 / 4 = 2.5 -> 3 (half up)
    np.testing.assert_array_equal(lt.inputs.view(-1).numpy(), lt.source_indices)
    np.testing.assert_array_equal(lt.labels, lt.source_indices % 3)


def test_largest_allowed_factor_leaves_one_sample():
    assert long_tail_counts(np.array([10, 10]), 20).tolist() == [10, 1]
