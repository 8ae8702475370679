"""The scorer registry: exact names, kinds, errors, and shared-pass post-hoc scoring."""

from __future__ import annotations

import numpy as np
import pytest

from droprune.scoring import (
    SCORERS,
    AUMRecorder,
    ForgettingRecorder,
    check_scorers,
    el2n_scores,
    grand_last_layer_scores,
    grand_scores,
    kcenter_scores,
    make_recorder,
    posthoc_scores,
    prototype_scores,
    random_scores,
    scorer_info,
)
from scoring_nets import TinyCNN, image_dataset, randomize_bn


def test_names_and_kinds():
    assert set(SCORERS) == {"random", "el2n", "grand", "grand_last_layer", "forgetting",
                            "dynunc", "aum", "el2n_trace", "ssp", "kcenter"}
    recorders = {n for n, s in SCORERS.items() if s.kind == "recorder"}
    assert recorders == {"forgetting", "dynunc", "aum", "el2n_trace"}
    assert all(s.kind in ("recorder", "posthoc") and s.description for s in SCORERS.values())


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown scorer 'gradnorm'.*el2n.*kcenter"):
        scorer_info("gradnorm")
    with pytest.raises(ValueError, match="unknown scorer"):
        check_scorers(["el2n", "nope"])


def test_check_scorers_errors():
    with pytest.raises(ValueError, match="scorers is empty"):
        check_scorers([])
    with pytest.raises(ValueError, match="repeated"):
        check_scorers(["el2n", "el2n"])
    with pytest.raises(ValueError, match="has no option"):
        check_scorers(["el2n"], {"el2n": {"window": 3}})
    assert check_scorers("aum") == ["aum"]


def test_make_recorder():
    rec = make_recorder("forgetting", never_learned="zero")
    assert isinstance(rec, ForgettingRecorder) and rec.never_learned == "zero"
    assert isinstance(make_recorder("aum"), AUMRecorder)
    assert make_recorder("dynunc", window=4).window == 4
    for name in SCORERS:
        if SCORERS[name].kind == "recorder":
            assert make_recorder(name).name == name  # column name == registry name
    with pytest.raises(ValueError, match="computed post hoc"):
        make_recorder("el2n")
    with pytest.raises(ValueError, match="has no option"):
        make_recorder("aum", window=3)


def test_posthoc_scores_equal_the_individual_functions():
    model, data = randomize_bn(TinyCNN()), image_dataset(12)
    names = [n for n, s in SCORERS.items() if s.kind == "posthoc"]
    got = posthoc_scores(names, model, data, seed=3,
                         options={"ssp": {"metric": "cosine"}, "grand": {"chunk_size": 5}})
    assert list(got) == names
    np.testing.assert_array_equal(got["random"], random_scores(12, seed=3))
    np.testing.assert_allclose(got["el2n"], el2n_scores(model, data), rtol=1e-6)
    np.testing.assert_allclose(got["grand"], grand_scores(model, data), rtol=1e-5)
    np.testing.assert_allclose(got["grand_last_layer"], grand_last_layer_scores(model, data),
                               rtol=1e-6)
    np.testing.assert_allclose(got["ssp"], prototype_scores(model, data, metric="cosine"),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(got["kcenter"], kcenter_scores(model, data, seed=3))
    with pytest.raises(ValueError, match="recorder scorers"):
        posthoc_scores(["forgetting"], model, data)
