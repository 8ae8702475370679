"""The SQLite results store: rows, de-duplication, schema checks, shard merging."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from .run_records import make_record as record

from droprune.experiments.store import ResultStore, read_results


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
    bad = dataclasses.asdict(record("a"))
    del bad["accuracy"]
    with pytest.raises(ValueError, match=r"lacks \['accuracy'\]"):
        store.add(bad)
    with pytest.raises(ValueError, match=r"unknown fields \['colour'\]"):
        store.add({**dataclasses.asdict(record("a")), "colour": "red"})
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


# the table of schema 1 as the first droprune release wrote it: stores written then must stay
# readable and writable, so the columns derived from RunRecord may never drift from it
SCHEMA_1_RUNS = (
    "CREATE TABLE runs (run_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, fingerprint TEXT NOT "
    "NULL, dataset TEXT NOT NULL, model TEXT NOT NULL, method TEXT NOT NULL, strategy TEXT NOT "
    "NULL, family TEXT NOT NULL, quota TEXT NOT NULL, cdbw INTEGER NOT NULL, density REAL NOT "
    "NULL, seed INTEGER NOT NULL, kept INTEGER NOT NULL, epochs INTEGER NOT NULL, accuracy REAL "
    "NOT NULL, worst_class_accuracy REAL NOT NULL, worst_class INTEGER NOT NULL, "
    "worst_class_name TEXT NOT NULL, gap REAL NOT NULL, std REAL NOT NULL, worst_group_accuracy "
    "REAL, group_weighted_accuracy REAL, min_samples_per_class INTEGER NOT NULL, class_recall "
    "TEXT NOT NULL, group_accuracy TEXT, class_sizes TEXT NOT NULL, class_counts TEXT NOT NULL, "
    "class_density TEXT NOT NULL, class_names TEXT, val_recall TEXT, selection_file TEXT, "
    "seconds REAL NOT NULL, config TEXT NOT NULL, droprune_version TEXT NOT NULL, created TEXT "
    "NOT NULL)")


def test_the_table_is_schema_1(tmp_path):
    path = tmp_path / "results.sqlite"
    ResultStore(path)
    with sqlite3.connect(path) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name='runs'").fetchone()
    assert sql == SCHEMA_1_RUNS


def test_a_schema_1_store_written_elsewhere_stays_readable_and_writable(tmp_path):
    path = tmp_path / "results.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute(SCHEMA_1_RUNS)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema_version", "1"), ("created_by", "droprune 0.1"), ("created", "2024")])
        conn.execute("INSERT INTO runs (run_id, experiment, fingerprint, dataset, model, method, "
                     "strategy, family, quota, cdbw, density, seed, kept, epochs, accuracy, "
                     "worst_class_accuracy, worst_class, worst_class_name, gap, std, "
                     "min_samples_per_class, class_recall, class_sizes, class_counts, "
                     "class_density, seconds, config, droprune_version, created) VALUES ('old', "
                     "'t', 'f', 'd', 'm', 'Random', 'Random', 'Random', 'none', 0, 0.5, 0, 10, 3, "
                     "0.7, 0.4, 2, '2', 0.5, 0.2, 3, '[0.9, null]', '[10, 10]', '[5, 5]', "
                     "'[0.5, 0.5]', 1.0, '{}', '0.1', '2024')")
    store = ResultStore(path)
    assert store.add(record("new"))
    old, new = store.records()
    assert old["run_id"] == "old" and old["class_recall"] == [0.9, None]
    assert new["class_counts"] == [5, 3, 2]


def test_a_record_and_its_mapping_store_the_same_row(tmp_path):
    rec = record("a", val_recall=(0.25, float("nan"), 1.0), class_names=("x", "y", "z"),
                 created="2024-01-01", droprune_version="9")
    one, two = ResultStore(tmp_path / "one.sqlite"), ResultStore(tmp_path / "two.sqlite")
    assert one.add(rec) and two.add(dataclasses.asdict(rec))
    row = one.records()[0]
    assert row == two.records()[0] == dataclasses.asdict(rec)
    assert row["val_recall"] == [0.25, None, 1.0] and row["class_names"] == ["x", "y", "z"]
    assert row["worst_group_accuracy"] is None and row["group_accuracy"] is None


def test_json_columns_follow_the_one_json_convention(tmp_path):
    # NaN -> null, +-inf -> "inf"/"-inf" (droprune._json); an infinity used to be refused here
    store = ResultStore(tmp_path / "results.sqlite")
    store.add(record("a", config={"lr": float("inf"), "floor": -float("inf"),
                                  "gamma": float("nan")}))
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        (text,) = conn.execute("SELECT config FROM runs").fetchone()
    assert text == '{"lr": "inf", "floor": "-inf", "gamma": null}'
