"""The scorer registry: entries carry kind, query run, method name and options; errors;
registration; shared-pass post-hoc scoring."""

from __future__ import annotations

import numpy as np
import pytest

from droprune.experiments.methods import parse_method, strategies
from droprune.scoring import (
    SCORERS,
    AUMRecorder,
    ForgettingRecorder,
    Scorer,
    check_scorers,
    grand_scores,
    make_recorders,
    posthoc_scores,
    register_scorer,
)
from droprune.scoring.registry import scorer_info
from .scoring_nets import TinyCNN, image_dataset, randomize_bn


def test_names_kinds_query_runs_and_method_names():
    assert set(SCORERS) == {"random", "el2n", "grand", "grand_last_layer", "loss",
                            "forgetting", "dynunc", "aum", "el2n_trace", "ssp", "kcenter"}
    recorders = {n for n, s in SCORERS.items() if s.kind == "recorder"}
    assert recorders == {"forgetting", "dynunc", "aum", "el2n_trace"}
    long = {n for n, s in SCORERS.items() if s.query == "long"}
    assert long == {"forgetting", "dynunc", "aum", "el2n_trace", "ssp", "kcenter"}
    assert {s.method_name: n for n, s in SCORERS.items() if s.method_name} == {
        "EL2N": "el2n", "GraNd": "grand", "GraNdLL": "grand_last_layer", "Loss": "loss",
        "Forgetting": "forgetting", "DynUnc": "dynunc", "AUM": "aum", "EL2NTrace": "el2n_trace",
        "SSP": "ssp", "CoreSet": "kcenter"}
    assert all(s.description and s.reference for s in SCORERS.values())


def test_options_come_from_the_compute_signature():
    assert SCORERS["grand"].options == {"method": "auto", "chunk_size": 128}
    assert SCORERS["forgetting"].options == {"never_learned": "max"}
    assert SCORERS["dynunc"].options == {"window": 10, "window_mode": "paper"}
    assert SCORERS["el2n_trace"].options == {"reduce": "mean"}
    assert SCORERS["ssp"].options == {"metric": "euclidean"}
    assert SCORERS["kcenter"].options == {"budget": None, "start": "random"}
    assert SCORERS["el2n"].options == SCORERS["aum"].options == SCORERS["loss"].options == {}


def test_every_strategy_is_derived_from_the_registry():
    assert strategies() == {"Random": None, **{s.method_name: n for n, s in SCORERS.items()
                                                 if s.method_name}}
    assert parse_method("el2ntrace+drop").scorer == "el2n_trace"  # selectable now
    assert parse_method("Random+GraNdLLQ").scorers_needed == ("grand_last_layer",)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown scorer 'gradnorm'.*el2n.*kcenter"):
        scorer_info("gradnorm")
    with pytest.raises(ValueError, match="unknown scorer"):
        check_scorers(["el2n", "nope"])


@pytest.mark.parametrize("options, message", [
    ({"el2n": {"window": 3}}, "scorer 'el2n' has no option"),
    ({"grand": {"method": "fast"}}, "grand method must be one of"),
    ({"grand": {"chunk_size": 0}}, "chunk_size must be a positive integer"),
    ({"ssp": {"metric": "l1"}}, "ssp metric must be one of"),
    ({"kcenter": {"budget": 1.5}}, "budget must be None"),
    ({"dynunc": {"window": 1}}, "window must be an integer >= 2"),
    ({"forgetting": {"never_learned": "never"}}, "never_learned must be one of"),
    ({"el2n_trace": {"reduce": "max"}}, "reduce must be 'mean' or 'last'"),
    ({"nope": {}}, "unknown scorer 'nope'"),
    ({"grand": [1]}, "options of scorer 'grand' must be a mapping"),
])
def test_option_names_and_values_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        check_scorers(["el2n"], options)


def test_check_scorers_errors():
    with pytest.raises(ValueError, match="scorers is empty"):
        check_scorers([])
    assert check_scorers([], allow_empty=True) == []
    with pytest.raises(ValueError, match="repeated"):
        check_scorers(["el2n", "el2n"])
    assert check_scorers("aum") == ["aum"]


def test_make_recorders():
    rec, aum, dyn = make_recorders(["forgetting", "aum", "dynunc"],
                                   {"forgetting": {"never_learned": "zero"},
                                    "dynunc": {"window": 4}})
    assert isinstance(rec, ForgettingRecorder) and rec.never_learned == "zero"
    assert isinstance(aum, AUMRecorder) and dyn.window == 4
    names = [n for n, s in SCORERS.items() if s.kind == "recorder"]
    assert [r.name for r in make_recorders(names)] == names  # column name == registry name
    with pytest.raises(ValueError, match="computed post hoc"):
        make_recorders(["el2n"])
    with pytest.raises(ValueError, match="has no option"):
        make_recorders(["aum"], {"aum": {"window": 3}})


def test_posthoc_scores_share_one_pass_and_follow_the_options():
    model, data = randomize_bn(TinyCNN()), image_dataset(12)
    names = [n for n, s in SCORERS.items() if s.kind == "posthoc"]
    got = posthoc_scores(names, model, data, seed=3,
                         options={"ssp": {"metric": "cosine"}, "grand": {"chunk_size": 5}})
    assert list(got) == names
    assert all(v.dtype == np.float64 and v.shape == (12,) for v in got.values())
    np.testing.assert_allclose(got["grand"], grand_scores(model, data), rtol=1e-5)
    alone = posthoc_scores(["ssp"], model, data, options={"ssp": {"metric": "cosine"}})
    np.testing.assert_array_equal(got["ssp"], alone["ssp"])
    with pytest.raises(ValueError, match="recorder scorers"):
        posthoc_scores(["forgetting"], model, data)


def test_register_a_new_scorer_end_to_end():
    def score_first_pixel(inputs, *, sign: float = 1.0):
        return sign * inputs.dataset.to_float(inputs.dataset.inputs)[:, 0, 0, 0].double().numpy()

    def check(*, sign=1.0):
        if sign not in (1.0, -1.0):
            raise ValueError(f"sign must be 1 or -1, got {sign!r}")

    entry = Scorer("first_pixel", "FirstPixel", "posthoc", "short", "the first pixel", "-",
                   score_first_pixel, check)
    register_scorer(entry)
    try:
        assert entry.options == {"sign": 1.0}
        assert parse_method("FirstPixel+DRoP").scorer == "first_pixel"
        model, data = TinyCNN(), image_dataset(6)
        got = posthoc_scores(["first_pixel"], model, data, options={"first_pixel": {"sign": -1.0}})
        expected = -data.to_float(data.inputs)[:, 0, 0, 0].double().numpy()
        np.testing.assert_array_equal(got["first_pixel"], expected)
        with pytest.raises(ValueError, match="sign must be 1 or -1"):
            check_scorers(["first_pixel"], {"first_pixel": {"sign": 2.0}})
        with pytest.raises(ValueError, match="already registered"):
            register_scorer(entry)
        with pytest.raises(ValueError, match="method name 'el2n'.*taken"):
            register_scorer(Scorer("other", "el2n", "posthoc", "short", "-", "-",
                                   score_first_pixel))
    finally:
        SCORERS.pop("first_pixel", None)


def test_bad_entries_are_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        Scorer("x", None, "hook", "short", "-", "-", print)
    with pytest.raises(ValueError, match="query must be one of"):
        Scorer("x", None, "posthoc", "medium", "-", "-", print)
    with pytest.raises(ValueError, match="must be a Recorder subclass"):
        Scorer("x", None, "recorder", "long", "-", "-", print)
    with pytest.raises(ValueError, match="takes a Scorer"):
        register_scorer("el2n")


def test_cli_lists_the_registry(capsys):
    import json

    from droprune.cli import main

    assert main(["scorers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + len(SCORERS)
    assert any(line.split()[:4] == ["dynunc", "DynUnc", "recorder", "long"] for line in lines)
    assert main(["scorers", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == list(SCORERS)
    assert entries[[e["name"] for e in entries].index("grand")]["options"] == {
        "method": "auto", "chunk_size": 128}
