"""The one table export: flatten_frame and write_table (CSV and Parquet alike, atomically)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from droprune._io import flatten_frame, write_table


def test_flatten_nested_empty_list_and_none():
    df = pd.DataFrame({
        "id": [1, 2],
        "cfg": [{"data": {"name": "a", "options": {}}, "seeds": [0, 1]},
                {"data": {"name": "b", "options": {"n": 3}}, "seeds": []}],
        "recall": [np.array([0.5, np.nan]), None],
        "note": [None, None],
    })
    flat = flatten_frame(df)
    assert list(flat.columns) == ["id", "cfg.data.name", "cfg.data.options", "cfg.seeds",
                                  "cfg.data.options.n", "recall", "note"]
    rows = flat.to_dict("records")
    assert rows[0]["cfg.data.options"] == "{}" and pd.isna(rows[1]["cfg.data.options"])
    assert rows[1]["cfg.data.options.n"] == 3 and pd.isna(rows[0]["cfg.data.options.n"])
    assert [r["cfg.seeds"] for r in rows] == ["[0, 1]", "[]"]
    assert rows[0]["recall"] == "[0.5, null]" and pd.isna(rows[1]["recall"])
    assert [r["note"] for r in rows] == [None, None]
    assert list(df.columns) == ["id", "cfg", "recall", "note"]  # the input is left alone


def test_flatten_leaves_plain_columns_and_types_alone():
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan], "c": ["x", None], 3: [True, False]})
    flat = flatten_frame(df)
    assert list(flat.columns) == ["a", "b", "c", "3"]
    assert flat["a"].dtype == np.int64 and flat["b"].dtype == np.float64


def test_a_column_pyarrow_cannot_write_becomes_json_text():
    flat = flatten_frame(pd.DataFrame({"v": [1, "inf", None]}))
    assert flat["v"].tolist()[:2] == ["1", '"inf"'] and pd.isna(flat["v"][2])


def test_a_name_twice_after_flattening_is_refused():
    with pytest.raises(ValueError, match=r"\['a.b'\] occur twice"):
        flatten_frame(pd.DataFrame({"a.b": [1], "a": [{"b": 2}]}))


def test_write_table_writes_csv_and_parquet_of_the_same_flat_frame(tmp_path):
    df = pd.DataFrame({"run": ["r1", "r2"], "config": [{"options": {}, "x": 1.5}] * 2,
                       "recall": [[0.5, None], [1.0, 0.0]]})
    paths = write_table(df, csv=tmp_path / "t.csv", parquet=tmp_path / "out" / "t.parquet")
    assert paths == [tmp_path / "t.csv", tmp_path / "out" / "t.parquet"]
    parquet = pd.read_parquet(paths[1])
    assert list(parquet.columns) == ["run", "config.options", "config.x", "recall"]
    assert parquet.to_csv(index=False) == paths[0].read_text()


def test_write_table_one_format_and_metadata(tmp_path):
    import pyarrow.parquet as pq

    [path] = write_table(pd.DataFrame({"s": [0.1]}), parquet=tmp_path / "s.parquet",
                         metadata={b"droprune": b"{}"})
    assert pq.read_schema(path).metadata[b"droprune"] == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]
    with pytest.raises(ValueError, match="csv= or a parquet="):
        write_table(pd.DataFrame({"s": [0.1]}))


def test_a_table_that_cannot_be_written_leaves_no_file(tmp_path):
    df = pd.DataFrame({"v": [object()]})  # no JSON form, no Parquet form
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        write_table(df, csv=tmp_path / "t.csv", parquet=tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []
