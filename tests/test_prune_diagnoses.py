"""Natural mistakes with droprune.prune and the numpy core get the right diagnosis (naming the
input and the fix), and the silent cases now fail loudly or do the right thing: recalls as a
dict, probabilities as val_pred, text labels, seed=None, complex numbers, a class missing from
the validation split, tied probabilities, absurd labels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import droprune
from droprune import class_recalls, prune, robustness_report, select
from droprune._checks import (
    MAX_CLASSES,
    as_class_sizes,
    as_labels,
    as_per_class_counts,
    as_recalls,
    as_scores,
    as_selection,
    check_beta_prior,
    check_density,
    check_number,
    infer_num_classes,
)
from droprune.metrics import class_densities, density_accuracy_correlation
from droprune.pruning import validation_predictions

LABELS = np.repeat([0, 1, 2], 100)
VAL_LABELS = np.repeat([0, 1, 2], 20)

pytestmark = pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")


def test_recalls_as_a_dict_get_a_message_about_recalls():
    with pytest.raises(ValueError, match=r"^recalls is a dict: pass an array \(a list\) in "
                                         r"class order, entry k for class k"):
        prune(LABELS, 0.5, recalls={0: 0.9, 1: 0.8, 2: 0.5})
    with pytest.raises(ValueError, match="^recalls is a dict: .*droprune.read_recalls"):
        prune(LABELS, 0.5, recalls={"cat": 0.9, "dog": 0.8, "emu": 0.5},
              class_names=["cat", "dog", "emu"])
    with pytest.raises(ValueError, match="^val_counts is a dict"):
        prune(LABELS, 0.5, recalls=[0.9, 0.8, 0.5], val_counts={0: 1, 1: 2, 2: 3},
              error_estimate="beta")
    with pytest.raises(ValueError, match="^class_names is a dict"):  # keys would be the names
        prune(LABELS, 0.5, recalls=[0.9, 0.8, 0.5], class_names={0: "a", 1: "b", 2: "c"})
    with pytest.raises(ValueError, match="^recalls is a set"):
        as_recalls({0.5, 0.9}, 2)


@pytest.mark.parametrize("val_pred", [
    np.random.default_rng(0).random((60, 3)),  # probabilities (M, K)
    np.random.default_rng(0).random(60),       # binary probabilities (M,)
    np.eye(3)[VAL_LABELS],                     # one-hot rows (integers, but 2-D)
])
def test_probabilities_as_val_pred_say_use_val_proba(val_pred):
    with pytest.raises(ValueError, match=r"^val_pred holds .*like predicted probabilities or "
                                         r"logits: pass them as val_proba="):
        prune(LABELS, 0.5, val_labels=VAL_LABELS, val_pred=val_pred)
    with pytest.raises(ValueError, match="pass them as val_proba="):
        validation_predictions(VAL_LABELS, val_pred, None, 3)


def test_predicted_classes_as_val_proba_say_use_val_pred():
    with pytest.raises(ValueError, match=r"val_proba has shape \(60,\), one value per sample: "
                                         r"for predicted class ids use val_pred="):
        prune(LABELS, 0.5, val_labels=VAL_LABELS, val_proba=VAL_LABELS, num_classes=3)


@pytest.mark.parametrize("labels", [np.array(["cat", "dog", "cat"]),
                                    ["cat", "dog", "cat"],
                                    np.array(["cat", "dog", "cat"], dtype=object)])
def test_text_labels_get_the_hint_to_encode_them(labels):
    with pytest.raises(ValueError, match=r"^labels holds text \(class names such as 'cat'\), "
                                         r"not integer class ids: encode them first, e\.g\. "
                                         r"names, ids = np\.unique\(labels, "
                                         r"return_inverse=True\).*droprune\.read_labels"):
        prune(labels, 0.5, recalls=[0.5, 0.5])
    names, ids = np.unique(labels, return_inverse=True)  # the fix works as written
    assert prune(ids, 0.5, recalls=[0.5, 0.5], class_names=names).table["name"].tolist() == \
        ["cat", "dog"]
    with pytest.raises(ValueError, match="^val_labels holds text"):
        prune(LABELS, 0.5, val_labels=np.array(["a"] * 60), val_pred=VAL_LABELS)


def test_seed_none_is_accepted_as_select_accepts_it():
    r = prune(LABELS, 0.5, recalls=[0.9, 0.8, 0.5], seed=None)
    assert r.seed is None and r.kept.size == 150
    assert np.bincount(LABELS[r.kept]).tolist() == \
        np.bincount(LABELS[prune(LABELS, 0.5, recalls=[0.9, 0.8, 0.5]).kept]).tolist()
    assert select(LABELS, [10, 10, 10], seed=None).size == 30  # what select does
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match="seed must be an integer >= 0, or None"):
            prune(LABELS, 0.5, recalls=[0.9, 0.8, 0.5], seed=bad)


@pytest.mark.parametrize("call", [
    lambda: check_number(1 + 2j, "lr"),
    lambda: check_number(np.complex128(0.5), "lr"),
    lambda: check_density(0.5 + 0j),
    lambda: as_recalls([0.5 + 0j, 0.9], 2),
    lambda: as_recalls(np.array([0.5, 0.9], dtype=np.complex64), 2),
    lambda: as_scores([1 + 1j, 2.0, 3.0], 3),
    lambda: as_labels(np.array([0, 1 + 0j])),
    lambda: as_selection(np.array([0j, 1]), 3),
    lambda: as_class_sizes([10 + 0j, 5]),
    lambda: as_per_class_counts([1 + 0j, 2], 2, "val_counts"),
    lambda: check_beta_prior((0.5 + 0j, 0.5)),
    lambda: check_beta_prior((np.complex128(0.5), 0.5)),
    lambda: prune(LABELS, 0.5, recalls=[0.9 + 0j, 0.8, 0.5]),
    lambda: prune(LABELS, 0.5, val_labels=VAL_LABELS,
                  val_proba=np.eye(3)[VAL_LABELS].astype(complex)),
    lambda: prune(LABELS, 0.5, scores=np.ones(300) * 1j, method="EL2N+DRoP",
                  recalls=[0.9, 0.8, 0.5]),
    lambda: density_accuracy_correlation([0.2 + 1j, 0.5], [0.9, 0.7]),
    lambda: robustness_report([0, 1], [0, 1], groups=[0, 1],
                              train_group_proportions=[0.5 + 1j, 0.5]),
])
def test_complex_numbers_are_refused_in_every_numeric_check(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: refused before any cast
        with pytest.raises(ValueError, match="complex|must be a number|must be an integer|"
                                             "must be a pair"):
            call()


def test_a_class_absent_from_validation_gets_nan_and_the_prior_mean_under_beta():
    val_labels = np.repeat([0, 1], 20)  # class 2 has no validation sample
    val_pred = val_labels.copy()
    val_pred[:5] = 1
    r = prune(LABELS, 0.5, val_labels=val_labels, val_pred=val_pred, num_classes=3,
              error_estimate="beta")
    assert np.isnan(r.table["val_recall"][2]) and r.table["val_count"][2] == 0
    # a recall given for a class with no validation sample is ignored, and not shown
    given = prune(LABELS, 0.5, recalls=[0.75, 1.0, 0.2], val_counts=[20, 20, 0],
                  error_estimate="beta")
    assert np.isnan(given.table["val_recall"][2])
    assert given.table["val_recall"][:2].tolist() == [0.75, 1.0]
    np.testing.assert_array_equal(given.kept, r.kept)  # the prior mean, not 0.2, was used
    # the point estimate cannot do without its recall: refused with both fixes
    with pytest.raises(ValueError, match=r"^class 2 has training samples but none in "
                                         r"val_labels, so its recall is unknown: add "
                                         r"validation samples of it, or pass "
                                         r"error_estimate='beta'"):
        prune(LABELS, 0.5, val_labels=val_labels, val_pred=val_pred, num_classes=3)
    # a method that does not read recalls does not need it
    prune(LABELS, 0.5, val_labels=val_labels, val_pred=val_pred, num_classes=3,
          method="Random+Balanced")


def test_tied_probabilities_count_as_wrong_not_as_class_0():
    y = np.repeat([0, 1, 2], 4)
    proba = np.full((12, 3), 1 / 3)  # a model that learnt nothing: every row tied
    _, pred = validation_predictions(y, None, proba, 3)
    assert np.all(pred != y)
    np.testing.assert_array_equal(class_recalls(y, pred, 3), [0.0, 0.0, 0.0])  # not [1, 0, 0]
    r = prune(LABELS, 0.5, val_labels=y, val_proba=proba)
    assert r.table["val_recall"].tolist() == [0.0, 0.0, 0.0]
    assert r.table["kept"].tolist() == [50, 50, 50]  # equal errors: proportional
    # a tie between two other classes is wrong anyway; a strict maximum is what it was
    proba = np.array([[0.2, 0.4, 0.4], [0.5, 0.3, 0.2], [0.1, 0.45, 0.45]])
    _, pred = validation_predictions([0, 0, 1], None, proba, 3)
    assert pred.tolist() == [1, 0, 2]


def test_absurd_labels_are_refused_by_name_before_any_allocation():
    n = 1000
    bound = 10 * n + 1000
    labels = np.zeros(n, dtype=np.int64)
    labels[-1] = 10**9
    with pytest.raises(ValueError, match=r"^labels holds the label 1000000000 among 1000 "
                                         r"samples: with no num_classes given, labels may go "
                                         rf"up to 10 \* N \+ 1000 = {bound} .*8\.0 GB"):
        prune(labels, 0.5, method="Random")
    labels[-1] = bound  # at the bound: accepted (11001 classes, most empty)
    assert prune(labels, 0.5, method="Random").table.shape[0] == bound + 1
    with pytest.raises(ValueError, match="^y_pred holds the label 1000000000"):
        class_recalls([0, 1], [0, 10**9])
    with pytest.raises(ValueError, match="^labels holds the label"):
        class_densities([0, 10**9], [0])
    with pytest.raises(ValueError, match="^groups holds the label"):
        robustness_report([0, 1], [0, 1], groups=[0, 10**9])
    with pytest.raises(ValueError, match="^labels holds the label"):
        droprune.quotas_from_selection([0, 10**9], [0])
    # num_classes says there are that many: then the bound is MAX_CLASSES
    assert infer_num_classes(("labels", np.r_[np.zeros(499, dtype=np.int64), 5000])) == 5001
    assert class_recalls([0, 1], [0, 20_000], num_classes=20_001).size == 20_001
    with pytest.raises(ValueError, match=rf"num_classes must be an integer in \[1, "
                                         rf"{MAX_CLASSES}\]"):
        prune(labels, 0.5, method="Random", num_classes=10**9)
    with pytest.raises(ValueError, match="holds 1e\\+20, beyond the int64 range"):
        as_labels([0.0, 1e20])
