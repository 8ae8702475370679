"""Score files: round trip, readable by plain pandas/pyarrow, fingerprint check, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import droprune
from droprune.scoring import QueryResult, load_query_result, load_scores, save_scores
from droprune.scoring.store import SeedResult, save_query_result

META = {"model": "cnn1d", "width": 0.5, "seeds": [0, 1], "epochs": 3,
        "dataset_name": "mnist1d", "dataset_fingerprint": "f00d"}


def test_round_trip_and_metadata(tmp_path):
    scores = {"el2n": np.array([0.5, 0.1, np.nan]), "forgetting": np.array([2, 0, 1])}
    path = save_scores(tmp_path / "sub" / "s.parquet", scores, labels=[1, 0, 1], metadata=META)
    frame, meta = load_scores(path, expected_fingerprint="f00d")
    assert list(frame.columns) == ["index", "label", "el2n", "forgetting"]
    assert frame["index"].tolist() == [0, 1, 2] and frame["label"].tolist() == [1, 0, 1]
    np.testing.assert_array_equal(frame["el2n"].to_numpy(), scores["el2n"])  # NaN kept
    assert frame["forgetting"].dtype == np.float64
    assert meta["scorers"] == ["el2n", "forgetting"]
    assert meta["orientation"] == "higher = harder = kept first"
    assert meta["droprune_version"] == droprune.__version__
    assert meta["num_samples"] == 3 and meta["width"] == 0.5 and meta["seeds"] == [0, 1]
    assert meta["created"].endswith("+00:00")


def test_readable_without_droprune(tmp_path):
    path = save_scores(tmp_path / "s.parquet", {"grand": np.array([3.0, 1.0])}, labels=[0, 1],
                       metadata=META)
    frame = pd.read_parquet(path)
    assert frame["grand"].tolist() == [3.0, 1.0]
    meta = json.loads(pq.read_schema(path).metadata[b"droprune"])
    assert meta["dataset_fingerprint"] == "f00d"


def test_no_temporary_files_left(tmp_path):
    save_scores(tmp_path / "s.parquet", {"a": np.zeros(2)}, labels=[0, 1])
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]


def test_fingerprint_mismatch_refused(tmp_path):
    path = save_scores(tmp_path / "s.parquet", {"a": np.zeros(2)}, labels=[0, 1], metadata=META)
    with pytest.raises(ValueError, match="another dataset"):
        load_scores(path, expected_fingerprint="beef")


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_scores(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ValueError, match="corrupt or not a Parquet file"):
        load_scores(bad)
    good = save_scores(tmp_path / "s.parquet", {"a": np.arange(50.0)}, labels=np.zeros(50))
    truncated = tmp_path / "t.parquet"
    truncated.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(ValueError, match="corrupt"):
        load_scores(truncated)
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(foreign)
    with pytest.raises(ValueError, match="without droprune metadata"):
        load_scores(foreign)


@pytest.mark.parametrize("scores, match", [
    ([np.zeros(2)], "must be a dict"),
    ({"label": np.zeros(2)}, "not allowed"),
    ({"a": np.zeros(3)}, "index-aligned"),
    ({"a": np.array(["x", "y"])}, "must be numbers"),
])
def test_bad_scores(tmp_path, scores, match):
    with pytest.raises(ValueError, match=match):
        save_scores(tmp_path / "s.parquet", scores, labels=[0, 1])


def test_bad_metadata(tmp_path):
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        save_scores(tmp_path / "s.parquet", {"a": np.zeros(2)}, labels=[0, 1],
                    metadata={"model": object()})


def test_query_result_round_trip(tmp_path):
    per_seed = [SeedResult(seed=s, scores={"el2n": np.array([s, 1.0, 2.0]),
                                           "aum": np.array([0.0, s, 1.0])},
                           val_recall=np.array([0.5, np.nan]), best_epoch=s,
                           val_accuracy=[0.1, 0.2]) for s in (3, 7)]
    result = QueryResult(scores={"el2n": np.array([5.0, 1.0, 2.0]),
                                 "aum": np.array([0.0, 5.0, 1.0])},
                         val_recall=np.array([0.5, np.nan]), labels=np.array([0, 0, 1]),
                         per_seed=per_seed, metadata=dict(META, seeds=[3, 7]))
    path = save_query_result(tmp_path / "q.parquet", result)
    back = load_query_result(path, expected_fingerprint="f00d")
    assert list(back.scores) == ["el2n", "aum"]
    np.testing.assert_array_equal(back.scores["el2n"], [5.0, 1.0, 2.0])
    np.testing.assert_array_equal(back.val_recall, [0.5, np.nan])
    assert [s.seed for s in back.per_seed] == [3, 7]
    np.testing.assert_array_equal(back.per_seed[1].scores["aum"], [0.0, 7.0, 1.0])
    assert back.per_seed[1].best_epoch == 7 and back.per_seed[0].val_accuracy == [0.1, 0.2]
    assert back.metadata["model"] == "cnn1d"
    assert pd.read_parquet(path).columns.tolist() == [
        "index", "label", "el2n", "aum", "el2n@seed3", "aum@seed3", "el2n@seed7", "aum@seed7"]
    plain = save_scores(tmp_path / "p.parquet", {"a": np.zeros(3)}, labels=[0, 0, 1])
    with pytest.raises(ValueError, match="not a query result"):
        load_query_result(plain)
