"""The SQLite results store: rows, de-duplication, schema checks, shard merging."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from droprune.experiments.store import ResultStore, read_results


def record(run_id: str, **kw):
    base = dict(
        run_id=run_id, experiment="t", fingerprint="f", dataset="d", model="m",
        method="Random+DRoP", strategy="Random", family="Random", quota="drop", cdbw=0,
        density=0.5, seed=0, kept=10, epochs=3, accuracy=0.8, worst_class_accuracy=0.5,
        worst_class=1, worst_class_name="1", gap=0.4, std=0.2, min_samples_per_class=3,
        class_recall=np.array([0.9, 0.5, np.nan]), class_sizes=[10, 6, 4],
        class_counts=np.array([5, 3, 2]), class_density=[0.5, 0.5, 0.5], seconds=1.0,
        config={"a": 1})
    base.update(kw)
    return base


def test_add_read_and_deduplicate(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    assert store.add(record("a"))
    assert not store.add(record("a", accuracy=0.1))  # same run id: ignored, not duplicated
    assert store.add(record("b", seed=1))
    assert len(store) == 2 and store.run_ids() == {"a", "b"}
    rows = store.records()
    assert rows[0]["accuracy"] == 0.8
    assert rows[0]["class_recall"] == [0.9, 0.5, None]  # NaN stored as null
    assert rows[0]["class_counts"] == [5, 3, 2] and rows[0]["config"] == {"a": 1}
    assert rows[0]["droprune_version"]


def test_bad_records(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    bad = record("a")
    del bad["accuracy"]
    with pytest.raises(ValueError, match="lacks"):
        store.add(bad)
    with pytest.raises(ValueError, match="unknown fields"):
        store.add(record("a", colour="red"))
    assert len(store) == 0


def test_incompatible_schema_refused_and_untouched(tmp_path):
    path = tmp_path / "results.sqlite"
    ResultStore(path).add(record("a"))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="schema 999; this droprune reads schema 1"):
        ResultStore(path)
    assert path.read_bytes() == before


def test_not_a_store(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE x (y)")
    with pytest.raises(ValueError, match="not a droprune results store"):
        ResultStore(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(ValueError, match="not a readable SQLite"):
        ResultStore(junk)
    with pytest.raises(FileNotFoundError):
        ResultStore(tmp_path / "missing.sqlite", readonly=True)


def test_read_results_merges_shards(tmp_path):
    ResultStore(tmp_path / "results-shard-0-of-2.sqlite").add(record("a"))
    s1 = ResultStore(tmp_path / "results-shard-1-of-2.sqlite")
    s1.add(record("b", seed=1))
    s1.add(record("a"))  # the same run in two shards counts once
    df = read_results(tmp_path)
    assert sorted(df["run_id"]) == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        read_results(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no results"):
        read_results(tmp_path / "empty")
