"""Robustness metrics: recalls, worst class, gap, std, groups, correlations, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from droprune import (
    class_counts,
    class_densities,
    class_recalls,
    density_accuracy_correlation,
    min_samples_per_class,
    quotas_from_selection,
    robustness_report,
)


def test_report_values_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    p = np.array([0, 0, 0, 1, 1, 0, 2, 2, 2, 2])
    r = robustness_report(y, p, class_names=["cat", "dog", "eel"])
    assert r.accuracy == pytest.approx(0.8)
    np.testing.assert_allclose(r.class_recall, [0.75, 0.5, 1.0])
    assert r.worst_class == 1 and r.worst_class_name == "dog"
    assert r.worst_class_accuracy == pytest.approx(0.5)
    assert r.gap == pytest.approx(0.5)
    assert r.std == pytest.approx(np.std([0.75, 0.5, 1.0]))
    assert "dog" in r.summary()
    d = r.to_dict()
    assert d["worst_class_name"] == "dog" and d["class_recall"] == [0.75, 0.5, 1.0]
    table = r.class_table()
    assert list(table["name"]) == ["cat", "dog", "eel"]


def test_absent_class_is_nan_and_ignored_in_summaries():
    r = robustness_report([0, 0, 2], [0, 1, 2], num_classes=4)
    assert r.class_recall.shape == (4,)
    assert math.isnan(r.class_recall[1]) and math.isnan(r.class_recall[3])
    assert r.worst_class == 0 and r.worst_class_accuracy == 0.5 and r.gap == 0.5


def test_worst_class_ties_go_to_lowest_index():
    r = robustness_report([0, 1, 2], [1, 0, 2])
    assert r.worst_class == 0


def test_group_weighted_average_uses_training_proportions():
    # groups 0..3 with test accuracies 1.0, 0.5, 0.0, 1.0 (2 test samples each)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0, 0, 0, 1, 0, 0, 1, 1])
    g = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    r = robustness_report(y, p, groups=g, train_group_proportions=[700, 100, 50, 150])
    np.testing.assert_allclose(r.group_accuracy, [1.0, 0.5, 0.0, 1.0])
    assert r.worst_group_accuracy == 0.0
    assert r.group_weighted_accuracy == pytest.approx(0.7 * 1 + 0.1 * 0.5 + 0.05 * 0 + 0.15 * 1)
    # not the plain test average
    assert r.group_weighted_accuracy != pytest.approx(r.accuracy)


def test_group_errors():
    y = [0, 1]
    with pytest.raises(ValueError, match="needs groups"):
        robustness_report(y, y, train_group_proportions=[0.5, 0.5])
    with pytest.raises(ValueError, match="groups has 3 entries"):
        robustness_report(y, y, groups=[0, 1, 1])
    with pytest.raises(ValueError, match="one entry per group"):
        robustness_report(y, y, groups=[0, 1], train_group_proportions=[1.0, 1.0, 1.0],
                          num_groups=2)
    with pytest.raises(ValueError, match="no test samples"):
        robustness_report(y, y, groups=[0, 0], train_group_proportions=[0.5, 0.5])
    with pytest.raises(ValueError, match="not all zero"):
        robustness_report(y, y, groups=[0, 1], train_group_proportions=[0, 0])


def test_report_errors():
    with pytest.raises(ValueError, match="y_true has 2 entries but y_pred has 3"):
        robustness_report([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        robustness_report([], [])
    with pytest.raises(ValueError, match="class_names has 1 names but there are 2"):
        robustness_report([0, 1], [0, 1], class_names=["a"])
    with pytest.raises(ValueError, match=r"y_pred must be in \[0, 2\)"):
        class_recalls([0, 1], [0, 5], num_classes=2)
    with pytest.raises(ValueError, match="y_true must hold integers"):
        class_recalls([0.5, 1], [0, 1])


def test_class_densities_min_samples_and_counts():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    sel = [0, 1, 4]
    np.testing.assert_allclose(class_densities(labels, sel), [0.5, 0.5, 0.0])
    assert min_samples_per_class(labels, sel) == 0
    assert min_samples_per_class(labels, [0, 4, 6]) == 1
    d = class_densities(labels, sel, num_classes=4)
    assert math.isnan(d[3])
    np.testing.assert_array_equal(class_counts(labels), [4, 2, 1])
    with pytest.raises(ValueError, match="index 9"):
        class_densities(labels, [9])


# one selection check (droprune._checks.as_selection) for every function taking a selection
BAD_SELECTIONS = [
    ([0, 0, 0], "repeated index 0"),
    ([0, 4], "index 4 but there are 4 samples"),
    ([-1], "index -1 but there are 4 samples"),
    ([0.5, 2], "non-integer value 0.5"),
    ([[0, 1]], "one-dimensional"),
    ([True, False, True, True], "booleans"),
]


@pytest.mark.parametrize("selected, match", BAD_SELECTIONS)
@pytest.mark.parametrize("function", [class_densities, min_samples_per_class,
                                      quotas_from_selection])
def test_selection_functions_refuse_bad_selections(function, selected, match):
    with pytest.raises(ValueError, match=match):
        function([0, 0, 1, 1], selected)


def test_selection_metrics_count_each_sample_once():
    # these used to answer [1.5, 0.] and 2: duplicated indices were counted twice
    with pytest.raises(ValueError, match="repeated index 0"):
        class_densities([0, 0, 1, 1], [0, 0, 0])
    with pytest.raises(ValueError, match="repeated index 0"):
        min_samples_per_class([0, 0, 1, 1], [0, 0, 2, 3])
    np.testing.assert_allclose(class_densities([0, 0, 1, 1], [3.0, 0.0]), [0.5, 0.5])
    assert min_samples_per_class([0, 0, 1, 1], np.array([1, 2], dtype=np.int32)) == 1


def test_density_accuracy_correlation():
    assert density_accuracy_correlation([0.2, 0.5, 0.8], [0.9, 0.7, 0.5]) == pytest.approx(-1)
    assert density_accuracy_correlation([0.2, 0.5, 0.8], [0.5, 0.7, 0.9]) == pytest.approx(1)
    assert math.isnan(density_accuracy_correlation([0.5, 0.5], [0.1, 0.9]))
    assert density_accuracy_correlation([0.1, np.nan, 0.3, 0.2], [1.0, 0.0, 3.0, 2.0]) == \
        pytest.approx(1.0)
    with pytest.raises(ValueError, match="same length"):
        density_accuracy_correlation([0.1], [0.1, 0.2])
