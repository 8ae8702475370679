"""droprune.prune: every input kind and method form gives exactly what the building blocks give;
bad input fails in one line before any work; warnings are emitted and recorded."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import droprune
from droprune import (
    QuotaWarning,
    balanced_quotas,
    class_recalls,
    drop_quotas,
    proportional_quotas,
    prune,
    select,
    select_global,
)
from droprune.methods import parse_method

SIZES = np.array([60, 40, 25, 15])
K = SIZES.size
LABELS = np.random.default_rng(0).permutation(np.repeat(np.arange(K), SIZES))
N = LABELS.size
VAL_LABELS = np.repeat(np.arange(K), 20)
VAL_PRED = VAL_LABELS.copy()
VAL_PRED[[0, 1, 20, 21, 22, 23, 40, 41, 42, 43, 44, 45, 46, 47, 60, 61, 62]] = 3
VAL_PRED[[60, 61, 62]] = 0
RECALLS = class_recalls(VAL_LABELS, VAL_PRED)  # [0.9, 0.8, 0.6, 0.85]
SCORES = np.random.default_rng(1).random(N)

# the expected values are computed with the quota rules too, which warn on the small class at
# low densities; the warnings themselves are tested in test_starved_classes_warn_and_are_recorded
pytestmark = pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")


def quiet(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        return prune(LABELS, **kwargs)


def test_recalls_from_each_source_agree():
    by_recalls = prune(LABELS, 0.5, recalls=RECALLS)
    by_pred = prune(LABELS, 0.5, val_labels=VAL_LABELS, val_pred=VAL_PRED)
    proba = np.eye(K)[VAL_PRED] * 0.7 + 0.075  # rows sum to 1, argmax = VAL_PRED
    by_proba = prune(LABELS, 0.5, val_labels=VAL_LABELS, val_proba=proba)
    expected = select(LABELS, drop_quotas(SIZES, RECALLS, 0.5), seed=0)
    for r in (by_recalls, by_pred, by_proba):
        np.testing.assert_array_equal(r.kept, expected)
        assert r.kept.dtype == np.int64 and np.all(np.diff(r.kept) > 0)
    np.testing.assert_allclose(by_pred.table["val_recall"], [0.9, 0.8, 0.6, 0.85])
    assert by_pred.table["val_count"].tolist() == [20] * K
    assert by_recalls.table["val_count"].isna().all()


def test_table_columns_and_values():
    r = prune(LABELS, 0.5, recalls=RECALLS, class_names=["a", "b", "c", "d"], seed=4)
    t = r.table
    assert list(t.columns) == ["class", "name", "size", "val_recall", "val_count", "kept",
                               "density", "starved", "under_served", "bound", "paper_kept"]
    counts = drop_quotas(SIZES, RECALLS, 0.5)
    assert t["class"].tolist() == [0, 1, 2, 3] and t["name"].tolist() == ["a", "b", "c", "d"]
    assert t["size"].tolist() == SIZES.tolist() and t["kept"].tolist() == counts.tolist()
    np.testing.assert_allclose(t["density"], counts / SIZES)
    assert not t["starved"].any() and r.starved == () and r.warnings == ()
    assert not t["under_served"].any() and r.under_served == ()
    assert t["paper_kept"].tolist() == counts.tolist()  # the floor did not bind here
    assert set(t["bound"]) <= {"", "whole class"}
    assert r.method == "Random+DRoP" and r.density == 0.5 and r.seed == 4
    np.testing.assert_array_equal(r.kept, select(LABELS, counts, seed=4))
    assert r.kept_frame()["class_name"].tolist() == [["a", "b", "c", "d"][y]
                                                     for y in LABELS[r.kept]]


@pytest.mark.parametrize("density", [0.2, 0.6])
def test_every_method_form_matches_the_building_blocks(density):
    def run(method, **kw):
        return quiet(density=density, method=method, seed=3, **kw).kept

    np.testing.assert_array_equal(run("Random"), select_global(None, density, seed=3, n=N))
    np.testing.assert_array_equal(run("EL2N", scores=SCORES),
                                  select_global(SCORES, density, seed=3))
    counts = drop_quotas(SIZES, RECALLS, density)
    np.testing.assert_array_equal(run("random+drop", recalls=RECALLS),
                                  select(LABELS, counts, seed=3))
    np.testing.assert_array_equal(run("MyScore+DRoP", recalls=RECALLS, scores=SCORES),
                                  select(LABELS, counts, scores=SCORES, seed=3))
    hist = np.bincount(LABELS[select_global(SCORES, density, seed=3)], minlength=K)
    np.testing.assert_array_equal(run("Random+EL2NQ", scores=SCORES),
                                  select(LABELS, hist, seed=3))
    np.testing.assert_array_equal(run("Random+Balanced"),
                                  select(LABELS, balanced_quotas(SIZES, density), seed=3))
    np.testing.assert_array_equal(run("Random+Proportional"),
                                  select(LABELS, proportional_quotas(SIZES, density), seed=3))
    np.testing.assert_array_equal(run("Forgetting+Balanced", scores=SCORES),
                                  select(LABELS, balanced_quotas(SIZES, density),
                                         scores=SCORES, seed=3))


def test_the_pipeline_and_prune_share_one_dispatch():
    from droprune.experiments.pipeline import QueryOutputs, select_indices

    query = QueryOutputs(scores={"el2n": SCORES}, val_recall=RECALLS)
    for method in ("Random+DRoP", "EL2N+DRoP", "EL2N", "Random+EL2NQ", "Random"):
        kw = {"scores": SCORES} if parse_method(method).reads_scores else {}
        np.testing.assert_array_equal(
            select_indices(parse_method(method), 0.4, 2, LABELS, K, query),
            quiet(density=0.4, method=method, recalls=RECALLS, seed=2, **kw).kept)


def test_quota_options_are_passed_through():
    r = prune(LABELS, 0.3, recalls=RECALLS, val_counts=[20] * K, error_estimate="beta",
              prior=(1, 1), min_per_class=5, min_density=0.1, mode="count")
    counts = drop_quotas(SIZES, RECALLS, 0.3, val_counts=[20] * K, error_estimate="beta",
                         prior=(1, 1), min_per_class=5, min_density=0.1, mode="count")
    assert r.table["kept"].tolist() == counts.tolist()
    assert r.table["val_count"].tolist() == [20] * K
    # val_counts come from val_labels for the beta estimate
    r = prune(LABELS, 0.3, val_labels=VAL_LABELS, val_pred=VAL_PRED, error_estimate="beta")
    counts = drop_quotas(SIZES, RECALLS, 0.3, val_counts=[20] * K, error_estimate="beta")
    assert r.table["kept"].tolist() == counts.tolist()


def test_the_default_floor_is_half_the_density_for_drop():
    recalls = [1.0, 0.5, 0.5, 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = prune(LABELS, 0.3, recalls=recalls)
    sizes = np.bincount(LABELS)
    assert r.starved == () and r.table["kept"][0] == int(np.ceil(0.15 * sizes[0]))
    np.testing.assert_array_equal(r.kept, prune(LABELS, 0.3, recalls=recalls,
                                                min_density=0.15).kept)
    np.testing.assert_array_equal(r.kept, select(LABELS, drop_quotas(
        sizes, recalls, 0.3, min_density=0.15), seed=0))
    # other quota rules get no default floor
    np.testing.assert_array_equal(prune(LABELS, 0.3, method="Random+Balanced").kept,
                                  select(LABELS, balanced_quotas(sizes, 0.3), seed=0))


def test_starved_classes_warn_and_are_recorded():
    recalls = [1.0, 0.5, 0.5, 0.5]
    with pytest.warns(QuotaWarning, match="class 0 keeps 0 of 60") as caught:
        r = prune(LABELS, 0.3, recalls=recalls, min_density=0)  # the paper's rule
    assert r.starved == (0,) and r.table["starved"].tolist() == [True, False, False, False]
    assert r.warnings == tuple(str(w.message) for w in caught)
    assert caught[0].filename == __file__  # attributed to the caller
    assert "starved classes: 0" in r.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = prune(LABELS, 0.3, recalls=recalls, min_per_class=5, min_density=0)
    assert r.starved == () and r.warnings == () and r.table["kept"][0] == 5


def test_a_global_ranking_that_starves_a_class_warns_too():
    scores = np.where(LABELS == 3, -1.0, SCORES)  # class 3 ranked last
    with pytest.warns(QuotaWarning, match="global ranking Hardness"):
        r = prune(LABELS, 0.3, scores=scores, method="Hardness")
    assert r.starved == (3,) and len(r.warnings) == 1


def test_density_edges():
    assert quiet(density=0.0, recalls=RECALLS).kept.size == 0
    np.testing.assert_array_equal(prune(LABELS, 1.0, recalls=RECALLS).kept, np.arange(N))


def test_to_csv_and_summary(tmp_path):
    r = prune(LABELS, 0.5, recalls=RECALLS, class_names=list("abcd"))
    path = r.to_csv(tmp_path / "kept.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["index", "label", "class_name"]
    np.testing.assert_array_equal(frame["index"], r.kept)
    paths = [f"img{i}.png" for i in range(N)]
    assert r.kept_frame(paths)["path"].tolist() == [paths[i] for i in r.kept]
    text = r.summary()
    assert text.startswith(f"Random+DRoP at density 0.5: kept {r.kept.size} of {N} samples")
    assert "starved classes: none" in text
    assert repr(r) == f"PruneResult(method='Random+DRoP', density=0.5, kept={r.kept.size} of " \
                      f"{N}, starved=())"
    with pytest.raises(ValueError, match="paths has 3 entries"):
        r.kept_frame(["a", "b", "c"])


def test_result_is_frozen():
    r = prune(LABELS, 0.5, recalls=RECALLS)
    with pytest.raises(AttributeError):
        r.kept = np.arange(3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="EL2N+DRoP", recalls=RECALLS), "reads EL2N scores: pass scores="),
    (dict(method="Random+EL2NQ"), "reads EL2N scores"),
    (dict(method="Random+DRoP", recalls=RECALLS, scores=SCORES),
     r"^scores= was given but method 'Random\+DRoP' picks at random: .* or leave scores= out$"),
    (dict(method="Full"), "keeps everything"),
    (dict(method="Random+DRoP+CDBW", recalls=RECALLS), "CDBW weights the final training"),
    (dict(method="Random+Nope", recalls=RECALLS), "unknown quota rule 'Nope'"),
    (dict(method="Random+DRoP"), "pass recalls=, or val_labels="),
    (dict(recalls=RECALLS * 100), "look like percentages"),
    (dict(recalls=RECALLS[:3], num_classes=4), "recalls has 3 entries but there are 4"),
    (dict(recalls=RECALLS, val_pred=VAL_PRED), "give one source of recalls"),
    (dict(val_pred=VAL_PRED), "val_pred needs val_labels"),
    (dict(val_labels=VAL_LABELS), "val_labels needs val_pred="),
    (dict(val_labels=VAL_LABELS, val_pred=VAL_PRED, val_counts=[20] * K),
     "val_counts is computed from val_labels"),
    (dict(val_labels=VAL_LABELS, val_proba=np.ones((80, 3)), num_classes=4),
     r"val_proba must have shape \(len\(val_labels\), K\) = \(80, 4\)"),
    (dict(val_labels=VAL_LABELS, val_pred=VAL_PRED[:10]), "val_pred has 10 entries but val_labels 80"),
    (dict(recalls=RECALLS, scores=SCORES[:5], method="X+DRoP"), "scores has 5 entries"),
    (dict(recalls=RECALLS, class_names=["a"]), "labels must be in \\[0, 4\\)|class_names"),
    (dict(method="Random", min_per_class=5), "do not apply to the 'none' quota rule"),
    (dict(recalls=RECALLS, min_per_class=50, min_density=0), "min_per_class=50 needs"),
])
def test_bad_input_is_one_line(kwargs, match):
    with pytest.raises(ValueError, match=match) as exc:
        prune(LABELS, kwargs.pop("density", 0.5), **kwargs)
    assert "\n" not in str(exc.value)


def test_labels_outside_the_classes():
    with pytest.raises(ValueError, match=r"^recalls has 4 entries but labels has 5 classes "
                                         r"\(0..4\): give one recall per class$"):
        prune(np.append(LABELS, 4), 0.5, recalls=RECALLS)
    with pytest.raises(ValueError, match="labels must be >= 0"):
        prune(np.append(LABELS, -1), 0.5, recalls=RECALLS)
    with pytest.raises(ValueError, match=r"density must be in \[0, 1\]"):
        prune(LABELS, 50, recalls=RECALLS)


def test_the_source_of_the_class_count_is_named_when_the_labels_do_not_fit_it():
    labels = np.repeat([0, 1, 2], 10)
    with pytest.raises(ValueError, match=r"^recalls has 2 entries but labels has 3 classes "
                                         r"\(0..2\): give one recall per class$"):
        prune(labels, 0.5, recalls=[0.9, 0.6])
    val = np.repeat([0, 1, 2], 10)
    with pytest.raises(ValueError, match=r"^val_proba has 2 columns \(shape \(30, 2\)\) but "
                                         r"labels has 3 classes \(0..2\): give one column per "
                                         r"class$"):
        prune(labels, 0.5, val_labels=val, val_proba=np.full((30, 2), 0.5))
    with pytest.raises(ValueError, match=r"^val_proba has 2 columns \(shape \(30, 2\)\) but "
                                         r"val_labels has 3 classes \(0..2\)"):
        prune(labels % 2, 0.5, val_labels=val, val_proba=np.full((30, 2), 0.5))
    with pytest.raises(ValueError, match=r"^class_names has 2 entries but labels has 3 classes "
                                         r"\(0..2\): give one name per class$"):
        prune(labels, 0.5, recalls=None, class_names=["a", "b"], method="Random")


def test_a_prediction_never_adds_a_class():
    labels, val = np.repeat([0, 1, 2], 10), np.repeat([0, 1, 2], 5)
    pred = val.copy()
    pred[4] = 7
    message = (r"^val_pred\[4\] is 7, not one of the 3 classes \(0..2\): a prediction must "
               r"be a class of the labels \(or pass num_classes= when there are more classes\)$")
    with pytest.raises(ValueError, match=message):
        prune(labels, 0.5, val_labels=val, val_pred=pred)
    r = prune(labels, 0.5, val_labels=val, val_pred=pred, num_classes=8)  # as the caller says
    assert r.table["class"].tolist() == list(range(8))


def test_repeated_class_names_are_refused():
    with pytest.raises(ValueError, match=r"^class_names repeats the name 'a': give each class "
                                         r"its own name$"):
        prune(np.repeat([0, 1, 2], 10), 0.5, recalls=[0.9, 0.6, 0.3], class_names=["a", "a", "b"])


def test_sklearn_story_in_a_few_lines():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    assert sklearn
    x, y = load_digits(return_X_y=True)
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    model = LogisticRegression(max_iter=200).fit(x_tr / 16, y_tr)
    result = prune(y_tr, 0.5, val_labels=y_val, val_pred=model.predict(x_val / 16),
                   min_per_class=5)
    assert result.kept.size == droprune.target_count(0.5, y_tr.size) == 629
    assert result.starved == ()
    recalls = result.table["val_recall"].to_numpy()
    dens = result.table["density"].to_numpy()
    # DRoP: the classes the model gets wrong most keep the most
    assert dens[np.argmin(recalls)] == dens.max()


def test_exported_at_top_level():
    assert droprune.prune is prune and droprune.PruneResult.__name__ == "PruneResult"


def test_method_names_parse_without_the_registry():
    assert parse_method("margin+drop", strategies="any").strategy == "margin"
    assert parse_method("RANDOM+myQ", strategies="any").quota_strategy == "my"
    assert parse_method("el2n+Balanced", strategies=["EL2N"]).name == "EL2N+Balanced"
    with pytest.raises(ValueError, match="unknown strategy 'EL2N'.*valid strategies: Random"):
        parse_method("EL2N+DRoP", strategies=())
    with pytest.raises(ValueError, match="has an empty strategy"):
        parse_method("Random+Q", strategies="any")
    with pytest.raises(ValueError, match="strategies must be a collection of names"):
        parse_method("Random", strategies="EL2N")


def test_the_table_says_which_bound_decided_and_what_the_paper_would_keep():
    labels = np.repeat([0, 1, 2], [100, 100, 20])
    r = prune(labels, 0.5, recalls=[1.0, 0.6, 0.2])  # the default floor: half the density
    t = r.table.set_index("class")
    paper = drop_quotas([100, 100, 20], [1.0, 0.6, 0.2], 0.5)
    assert t["paper_kept"].tolist() == paper.tolist() and paper[0] == 0
    assert t.loc[0, "kept"] == 25 and t.loc[0, "bound"] == "floor"  # ceil(0.25 * 100)
    assert t.loc[2, "kept"] == 20 and t.loc[2, "bound"] == "whole class"
    assert t.loc[1, "bound"] == ""  # the rule itself decided
    # methods without recalls have no paper count; a global ranking has no bound but whole
    plain = prune(labels, 0.5, method="Random+Balanced").table
    assert plain["paper_kept"].isna().all() and plain.loc[2, "bound"] == "whole class"
