"""Method -> quota rule -> selection through the experiment layer, for every quota rule, each
checked against the numpy core called directly (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from droprune import (
    balanced_quotas,
    drop_quotas,
    proportional_quotas,
    select,
    select_global,
    target_count,
)
from droprune.experiments import load_config
from droprune.experiments.methods import parse_method
from droprune.experiments.pipeline import QueryOutputs, select_indices
from droprune.experiments.sweep import query_plan

# the rules' QuotaWarning on the tiny classes is tested in tests/test_quota_floors.py
pytestmark = pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")

SIZES = np.array([40, 25, 10, 0, 5])  # imbalanced, with an empty class
LABELS = np.random.default_rng(0).permutation(np.repeat(np.arange(5), SIZES))
N, K = LABELS.size, SIZES.size
RECALLS = np.array([0.9, 0.6, 0.3, np.nan, 1.0])
SCORES = {name: np.random.default_rng(i).random(N) for i, name in
          enumerate(["el2n", "forgetting", "loss"])}
QUERY = QueryOutputs(scores=SCORES, val_recall=RECALLS)


def run(method: str, density: float, seed: int = 3, mode: str = "density") -> np.ndarray:
    return select_indices(parse_method(method), density, seed, LABELS, K, QUERY, mode)


@pytest.mark.parametrize("density", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("mode", ["density", "count"])
def test_drop_in_both_modes(density, mode):
    counts = drop_quotas(SIZES, RECALLS, density, mode=mode)
    kept = run("Random+DRoP", density, mode=mode)
    np.testing.assert_array_equal(kept, select(LABELS, counts, seed=3))
    np.testing.assert_array_equal(np.bincount(LABELS[kept], minlength=K), counts)
    kept = run("EL2N+DRoP", density, mode=mode)
    np.testing.assert_array_equal(kept, select(LABELS, counts, scores=SCORES["el2n"], seed=3))
    for k in range(K):  # within each class, the highest EL2N scores are kept
        mine = np.flatnonzero(LABELS == k)
        top = mine[np.argsort(-SCORES["el2n"][mine])][:counts[k]]
        np.testing.assert_array_equal(np.sort(top), kept[LABELS[kept] == k])


def test_count_mode_differs_on_imbalanced_data():
    assert not np.array_equal(run("Random+DRoP", 0.5), run("Random+DRoP", 0.5, mode="count"))


@pytest.mark.parametrize("density", [0.3, 0.7])
def test_proportional_and_balanced(density):
    kept = run("Random+Proportional", density)
    np.testing.assert_array_equal(kept, select(LABELS, proportional_quotas(SIZES, density),
                                               seed=3))
    kept = run("Forgetting+Balanced", density)
    counts = balanced_quotas(SIZES, density)
    np.testing.assert_array_equal(kept, select(LABELS, counts, scores=SCORES["forgetting"],
                                               seed=3))
    np.testing.assert_array_equal(np.bincount(LABELS[kept], minlength=K), counts)


def test_from_selection_takes_the_class_histogram_of_the_strategy_alone():
    alone = select_global(SCORES["el2n"], 0.4, seed=3)
    counts = np.bincount(LABELS[alone], minlength=K)
    kept = run("Random+EL2NQ", 0.4)
    np.testing.assert_array_equal(kept, select(LABELS, counts, seed=3))
    assert not np.array_equal(kept, alone)  # same histogram, random samples inside classes


def test_no_quotas_full_and_random():
    np.testing.assert_array_equal(run("EL2N", 0.4), select_global(SCORES["el2n"], 0.4, seed=3))
    np.testing.assert_array_equal(run("Random", 0.4), select_global(None, 0.4, seed=3, n=N))
    assert run("Random", 0.4).size == target_count(0.4, N)
    np.testing.assert_array_equal(run("Full", 0.4), np.arange(N))


def test_a_score_is_usable_from_a_method_name_in_a_config():
    cfg = load_config("mnist1d-cpu", ["methods=Loss+DRoP,Random+LossQ,EL2NTrace"])
    runs, recall_runs = query_plan(cfg)
    assert (runs["short"], runs["long"], bool(recall_runs)) == (["loss"], ["el2n_trace"], True)
    kept = run("Loss+DRoP", 0.5)
    np.testing.assert_array_equal(kept, select(LABELS, drop_quotas(SIZES, RECALLS, 0.5),
                                               scores=SCORES["loss"], seed=3))


VAL_COUNTS = np.array([50, 20, 4, 0, 30])
QUERY_N = QueryOutputs(scores=SCORES, val_recall=RECALLS, val_counts=VAL_COUNTS)


def test_safeguards_reach_the_quota_rules_exactly():
    cfg = load_config("mnist1d-cpu", ["quotas.error_estimate=beta", "quotas.prior=[1, 1]",
                                      "quotas.min_per_class=3", "quotas.min_density=0.1"])
    method = parse_method("Random+DRoP")
    kept = select_indices(method, 0.3, 3, LABELS, K, QUERY_N, "density", cfg.quotas)
    counts = drop_quotas(SIZES, RECALLS, 0.3, val_counts=VAL_COUNTS, error_estimate="beta",
                         prior=(1, 1), min_per_class=3, min_density=0.1)
    np.testing.assert_array_equal(kept, select(LABELS, counts, seed=3))
    assert not np.array_equal(counts, drop_quotas(SIZES, RECALLS, 0.3))  # it did change
    kept = select_indices(parse_method("Random+Balanced"), 0.3, 3, LABELS, K, QUERY_N,
                          "density", cfg.quotas)
    np.testing.assert_array_equal(kept, select(LABELS, balanced_quotas(
        SIZES, 0.3, min_per_class=3, min_density=0.1), seed=3))
    # no quotas, or another strategy's class histogram: floors do not apply
    np.testing.assert_array_equal(
        select_indices(parse_method("EL2N"), 0.3, 3, LABELS, K, QUERY_N, "density", cfg.quotas),
        select_global(SCORES["el2n"], 0.3, seed=3))


def test_default_safeguards_are_the_paper_rule():
    cfg = load_config("mnist1d-cpu")
    assert cfg.quotas.is_paper_rule
    np.testing.assert_array_equal(
        select_indices(parse_method("Random+DRoP"), 0.3, 3, LABELS, K, QUERY_N, "density",
                       cfg.quotas),
        run("Random+DRoP", 0.3))  # val_counts given, point estimate: they are not used


def test_safeguards_change_the_fingerprint_only_when_set():
    base = load_config("mnist1d-cpu")
    same = load_config("mnist1d-cpu", ["quotas.min_per_class=0"])
    floor = load_config("mnist1d-cpu", ["quotas.min_per_class=5"])
    assert base.final_fingerprint() == same.final_fingerprint() != floor.final_fingerprint()
    assert base.query_fingerprint() == floor.query_fingerprint()  # query runs are shared


@pytest.mark.parametrize("override, message", [
    ("quotas.min_density=2", "config: quotas.min_density: must be in"),
    ("quotas.min_per_class=-1", "config: quotas.min_per_class: must be an integer >= 0"),
    ("quotas.error_estimate=bayes", "config: quotas.error_estimate: must be 'point' or 'beta'"),
    ("quotas.prior=[0, 1]", "config: quotas.prior: must be a pair"),
    ("quotas.floor=3", "config: quotas.floor: unknown key"),
])
def test_bad_safeguards_name_the_key(override, message):
    with pytest.raises(ValueError, match=message):
        load_config("mnist1d-cpu", [override])


def test_the_reference_rounding_keeps_the_safeguards():
    from droprune.experiments.config import QuotaSpec

    labels = np.repeat([0, 1, 2], [100, 100, 20])
    query = QueryOutputs(scores={}, val_recall=np.array([0.5, 0.6, 1.0]),
                         val_counts=np.array([40, 40, 10]))
    method = parse_method("Random+DRoP")
    paper = select_indices(method, 0.3, 0, labels, 3, query, "count", rounding="floor_topup")
    floored = select_indices(method, 0.3, 0, labels, 3, query, "count",
                             QuotaSpec(min_per_class=10), rounding="floor_topup")
    assert np.bincount(labels[paper], minlength=3)[2] == 0  # the paper's rule starves it
    assert np.bincount(labels[floored], minlength=3)[2] >= 10
    assert floored.size == paper.size == target_count(0.3, labels.size)
