"""Under-served classes: a class kept at less than a quarter of the target density warns (one
warning per call, beside the starvation warning), shows in PruneResult.table and is recorded in
result.warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import droprune
from droprune.quotas import (
    STARVATION_FLOOR,
    UNDER_SERVED_FRACTION,
    QuotaWarning,
    UnderServedWarning,
    drop_quotas,
    make_quotas,
    under_served_classes,
)


def test_the_threshold_is_a_quarter_of_the_density_beside_the_starvation_floor():
    assert UNDER_SERVED_FRACTION == 0.25 and STARVATION_FLOOR == 5
    assert issubclass(UnderServedWarning, QuotaWarning)
    # 12 of 100 at d = 0.5 is below 0.125; 13 is not; a class of 0 samples never counts
    assert under_served_classes([12, 13, 0], [100, 100, 0], 0.5) == [0]
    # on the decimals as written: 5 of 100 at 0.2 is exactly d / 4, not below
    assert under_served_classes([5, 95], [100, 100], 0.2) == []
    assert under_served_classes([0, 0], [10, 10], 0.5) == []  # nothing kept on purpose
    with pytest.raises(ValueError, match="density must be in"):
        under_served_classes([1], [10], 1.5)


def test_an_easy_class_cut_far_below_the_density_warns_once_with_its_own_category():
    # errors 0.01, 0.5, 0.5 at d = 0.3: class 0 keeps 11 of 1000 (density 0.011 < 0.075)
    with pytest.warns(UnderServedWarning) as record:
        counts = drop_quotas([1000, 1000, 100], [0.99, 0.5, 0.5], 0.3)
    assert counts[0] == 11 and len(record) == 1
    assert record[0].filename == __file__  # attributed to the caller
    message = str(record[0].message)
    assert message.startswith("drop quotas under-serve classes: 1 of 3 non-empty classes keep "
                              "less than a quarter of the target density 0.3 (density < "
                              "0.075): class 0 keeps 11 of 1000 (density 0.011); pass "
                              "min_density=0.075")


def test_starved_and_under_served_classes_share_one_quota_warning():
    # class 0 starved (0 kept), class 1 under-served (20 of 1000 at d = 0.3: 0.02 < 0.075)
    with pytest.warns(QuotaWarning) as record:
        counts = make_quotas("from_selection", [100, 1000, 1000], 0.3,
                             selection_counts=[0, 20, 610])
    assert counts.tolist() == [0, 20, 610]
    assert len(record) == 1 and record[0].category is QuotaWarning  # not the subclass
    message = str(record[0].message)
    assert "starve 1 of 3 non-empty classes" in message and "class 0 keeps 0 of 100" in message
    assert message.endswith("under-served besides: 1 of 3 non-empty classes keep less than a "
                            "quarter of the target density 0.3 (density < 0.075): class 1 "
                            "keeps 20 of 1000 (density 0.02)")


def test_a_floor_of_a_quarter_of_the_density_silences_it():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drop_quotas([1000, 1000, 100], [0.99, 0.5, 0.5], 0.3, min_density=0.075)
        drop_quotas([1000, 1000, 100], [0.99, 0.5, 0.5], 0.3, min_density=0.15)


def test_prune_records_it_in_the_table_and_the_warnings():
    labels = np.repeat([0, 1, 2], [1000, 1000, 100])
    recalls = [0.99, 0.5, 0.5]
    with pytest.warns(UnderServedWarning) as record:
        r = droprune.prune(labels, 0.3, recalls=recalls, min_density=0)  # the paper's rule
    assert record[0].filename == __file__
    assert r.under_served == (0,) and r.starved == ()
    assert r.table["under_served"].tolist() == [True, False, False]
    assert r.warnings == tuple(str(w.message) for w in record) and len(r.warnings) == 1
    assert "under-served classes (density below a quarter of the target): 0" in r.summary()
    with warnings.catch_warnings():  # the front door's default floor (d / 2) prevents it
        warnings.simplefilter("error")
        r = droprune.prune(labels, 0.3, recalls=recalls)
    assert r.under_served == () and not r.table["under_served"].any() and r.warnings == ()


def test_a_global_ranking_that_under_serves_a_class_warns():
    labels = np.repeat([0, 1], [1000, 1000])
    scores = np.where(labels == 0, np.linspace(0, 1, 2000), 2.0)  # class 1 ranked first
    scores[:40] = 3.0  # 40 samples of class 0 ranked above all
    with pytest.warns(UnderServedWarning, match="global ranking Hardness .* under-serves "
                                                "classes: .*class 0 keeps 40 of 1000"):
        r = droprune.prune(labels, 0.52, scores=scores, method="Hardness")
    assert r.under_served == (0,) and r.starved == () and len(r.warnings) == 1
