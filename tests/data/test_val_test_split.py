"""The validation / test split of the official test set: stratified, disjoint, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from droprune.data import LabelledDataset, check_reportable, split_val_test, stratified_split
from droprune.data.splits import validation_counts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=80), st.integers(0, 2**32 - 1))
def test_half_of_each_class_disjoint_union_is_everything(labels, seed):
    labels = np.asarray(labels)
    val, test = stratified_split(labels, 0.5, seed)
    assert np.intersect1d(val, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([val, test])), np.arange(labels.size))
    assert np.all(np.diff(val) > 0) and np.all(np.diff(test) > 0)
    sizes = np.bincount(labels, minlength=6)
    v = np.bincount(labels[val], minlength=6)
    t = np.bincount(labels[test], minlength=6)
    np.testing.assert_array_equal(v, sizes // 2)          # floor for val
    np.testing.assert_array_equal(t, sizes - sizes // 2)  # the odd sample goes to test


def test_deterministic_for_a_seed_and_different_across_seeds():
    labels = np.repeat(np.arange(4), 50)
    a = stratified_split(labels, 0.5, seed=7)
    b = stratified_split(labels, 0.5, seed=7)
    c = stratified_split(labels, 0.5, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("fraction, sizes, expected", [
    (0.5, [10, 7, 1, 0], [5, 3, 0, 0]),
    (0.3, [10, 20, 3], [3, 6, 0]),
    (0.1, [10, 100, 9], [1, 10, 0]),
    (0.7, [10, 3], [7, 2]),
])
def test_validation_counts_round_down(fraction, sizes, expected):
    assert validation_counts(np.asarray(sizes), fraction).tolist() == expected


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.0, -0.2, 1.5, float("nan"), "0.5", True, None])
def test_bad_fraction(bad):
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_split(np.array([0, 1]), bad)


def test_split_datasets_track_rows_of_the_test_set_and_refuse_reporting_on_val():
    inputs = torch.arange(12, dtype=torch.float32).view(12, 1, 1)
    held = LabelledDataset(inputs, np.array([0, 1, 2] * 4), num_classes=3, name="toy")
    val, test = split_val_test(held, 0.5, seed=1)
    assert (val.split, test.split) == ("val", "test")
    assert len(val) == 6 and len(test) == 6
    np.testing.assert_array_equal(val.inputs.view(-1).numpy(), val.source_indices)
    assert set(val.source_indices) | set(test.source_indices) == set(range(12))
    assert check_reportable(test) is test
    with pytest.raises(ValueError, match="refusing to report metrics on the validation split"):
        check_reportable(val)
