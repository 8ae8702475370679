"""The out-of-core kept list (droprune.outofcore, DuckDB) equals the in-memory hash-order
reference (droprune.hash_order.hashed_kept) exactly, and its per-class counts equal
droprune.prune's; the emitted SQL keeps the same set; bad inputs fail before anything is
written."""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import droprune
from droprune.hash_order import hash_keys, hashed_kept, round_keys, select_hashed
from droprune.manifest_sql import DIALECTS, _key_ctes, selection_sql

needs_duckdb = pytest.mark.skipif(
    find_spec("duckdb") is None or find_spec("pyarrow") is None,
    reason='the out-of-core path needs DuckDB and pyarrow: pip install "droprune[outofcore]"')

K = 37
NAMES = [f"c{k:02d}" for k in range(K - 2)] + ["dog's", "a, b"]  # a quote and a comma


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.minimum((rng.random(n) ** 1.5 * K).astype(np.int64), K - 1)
    scores = rng.integers(0, 40, n).astype(np.float64)  # many ties
    scores[rng.random(n) < 0.01] = -0.0  # -0.0 ties with 0.0
    recalls = np.round(rng.uniform(0.3, 1.0, K), 3)
    return labels, scores, recalls


def write_parquet(path: Path, labels, scores, *, names: bool = False) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    label = np.asarray(NAMES, dtype=object)[labels] if names else labels
    pq.write_table(pa.table({"label": label, "path": [f"img/{i}.jpg" for i in range(len(labels))],
                             "el2n": scores}), path, row_group_size=len(labels) // 3 + 1)
    return path


def write_csv(path: Path, labels, scores, *, names: bool = False) -> Path:
    label = np.asarray(NAMES, dtype=object)[labels] if names else labels
    pd.DataFrame({"path": [f"img/{i}.jpg" for i in range(len(labels))], "label": label,
                  "el2n": scores}).to_csv(path, index=False)
    return path


def write_recalls(path: Path, recalls, *, names: bool = False) -> Path:
    """Names in class order (a file that names its classes sets the order); ids reversed."""
    frame = pd.DataFrame({"class": NAMES if names else range(len(recalls)), "recall": recalls})
    (frame if names else frame.iloc[::-1]).to_csv(path, index=False)
    return path


def kept_index(path: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    return pq.read_table(path).column("index").to_numpy()


# -- the hash order ----------------------------------------------------------------------------

def test_hash_keys_are_pinned_and_a_bijection():
    assert round_keys(0) == (677500425, 1324069668, 1706502269, 354901561)
    assert hash_keys([0, 1, 2, 2**40, 2**62 - 1], 0).tolist() == [
        1875637199987745371, 775514218580134924, 2683114667513085686, 710317621793731403,
        2819267535733668420]
    keys = hash_keys(np.arange(200_000), 5)
    assert np.unique(keys).size == keys.size and keys.min() >= 0 and keys.max() < 2**62
    assert not np.array_equal(np.argsort(keys), np.argsort(hash_keys(np.arange(200_000), 6)))
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        hash_keys([0], -1)


def test_hash_order_looks_random():
    labels = np.repeat(np.arange(100), 1000)  # classes in contiguous runs
    kept = select_hashed(labels, np.full(100, 300), seed=1)
    position = kept % 1000  # where in its class run each kept sample sits
    counts = np.histogram(position, bins=10, range=(0, 1000))[0]
    assert np.all(np.abs(counts - 3000) < 250)  # ~4.6 sigma
    mask = np.zeros(labels.size, bool)
    mask[kept] = True
    assert abs(np.corrcoef(mask[:-1], mask[1:])[0, 1]) < 0.02


def test_select_hashed_keeps_the_counts_and_ranks_by_score():
    labels, scores, _ = make_data(5000)
    counts = np.bincount(labels, minlength=K) // 3
    kept = select_hashed(labels, counts, scores=scores, seed=2)
    assert np.array_equal(np.bincount(labels[kept], minlength=K), counts)
    for k in range(K):  # inside a class: nothing dropped scores above anything kept
        inside = labels == k
        kept_k = np.isin(np.flatnonzero(inside), kept)
        if kept_k.any() and (~kept_k).any():
            assert scores[inside][kept_k].min() >= scores[inside][~kept_k].max()


@needs_duckdb
@pytest.mark.parametrize("dialect", ["duckdb", "trino"])
def test_sql_key_equals_numpy_key(dialect):
    import duckdb

    con = duckdb.connect()
    if dialect == "trino":  # Trino's function names, as DuckDB macros of the same arithmetic
        con.execute("CREATE MACRO bitwise_xor(a, b) AS xor(a, b)")
        con.execute("CREATE MACRO bitwise_right_shift(a, n) AS a >> n")
        con.execute("CREATE MACRO bitwise_and(a, b) AS a & b")
    index = np.array([0, 1, 2, 12345, 2**31 - 1, 2**31, 2**40 + 7, 2**62 - 1], dtype=np.int64)
    rows = ", ".join(f"({i})" for i in index.tolist())
    ctes = [("base", f"SELECT idx FROM (VALUES {rows}) AS t(idx)")] + _key_ctes("idx", 9,
                                                                              dialect)
    sql = "WITH " + ", ".join(f"{n} AS ({b})" for n, b in ctes) + " SELECT idx, k FROM keyed"
    got = dict(con.execute(sql).fetchall())
    assert [got[i] for i in index.tolist()] == hash_keys(index, 9).tolist()


# -- exact agreement with the in-memory reference ----------------------------------------------

METHODS = ["Random+DRoP", "EL2N+DRoP", "Random", "EL2N", "Random+EL2NQ", "Random+Balanced",
           "EL2N+Proportional"]


@needs_duckdb
@pytest.mark.parametrize("method", METHODS)
def test_exact_agreement_at_1e5_rows(tmp_path, method):
    from droprune.outofcore import prune_manifest

    labels, scores, recalls = make_data(100_000)
    manifest = write_parquet(tmp_path / "m.parquet", labels, scores)
    sc = scores if "EL2N" in method else None
    result = prune_manifest(manifest, 0.3, tmp_path / "kept.parquet", recalls=recalls,
                            method=method, seed=4)
    reference = hashed_kept(labels, 0.3, recalls=recalls, scores=sc, method=method, seed=4)
    assert np.array_equal(kept_index(tmp_path / "kept.parquet"), reference)
    assert result.kept == reference.size
    in_memory = droprune.prune(labels, 0.3, recalls=recalls, scores=sc, method=method, seed=4)
    if method not in ("Random", "EL2N", "Random+EL2NQ"):  # quotas do not depend on the order
        pd.testing.assert_frame_equal(result.table, in_memory.table)
    assert np.array_equal(result.table["kept"], np.bincount(labels[reference], minlength=K))


@needs_duckdb
@pytest.mark.parametrize("method", ["Random+DRoP", "EL2N+DRoP"])
def test_exact_agreement_at_1e6_rows(tmp_path, method):
    from droprune.outofcore import prune_manifest

    labels, scores, recalls = make_data(1_000_000, seed=1)
    manifest = write_parquet(tmp_path / "m.parquet", labels, scores)
    sc = scores if method == "EL2N+DRoP" else None
    prune_manifest(manifest, 0.25, tmp_path / "kept.parquet", recalls=recalls, method=method,
                   min_per_class=5, threads=1)
    reference = hashed_kept(labels, 0.25, recalls=recalls, scores=sc, method=method,
                            min_per_class=5)
    assert np.array_equal(kept_index(tmp_path / "kept.parquet"), reference)


@needs_duckdb
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("method", ["Random+DRoP", "EL2N+DRoP"])
def test_names_and_integers_csv_and_parquet_keep_the_same_set(tmp_path, fmt, method):
    import pyarrow.parquet as pq

    from droprune.outofcore import prune_manifest

    labels, scores, recalls = make_data(20_000, seed=2)
    write = write_parquet if fmt == "parquet" else write_csv
    by_id = write(tmp_path / f"ids.{fmt}", labels, scores)
    by_name = write(tmp_path / f"names.{fmt}", labels, scores, names=True)
    rec_ids = write_recalls(tmp_path / "rec_ids.csv", recalls)
    rec_names = write_recalls(tmp_path / "rec_names.csv", recalls, names=True)
    a = prune_manifest(by_id, 0.4, tmp_path / "a.parquet", recalls=rec_ids, method=method)
    b = prune_manifest(by_name, 0.4, tmp_path / "b.parquet", recalls=rec_names, method=method)
    sc = scores if method == "EL2N+DRoP" else None
    reference = hashed_kept(labels, 0.4, recalls=recalls, scores=sc, method=method)
    assert np.array_equal(kept_index(tmp_path / "a.parquet"), reference)
    assert np.array_equal(kept_index(tmp_path / "b.parquet"), reference)
    assert b.class_names == tuple(NAMES) and a.class_names == tuple(map(str, range(K)))
    kept = pq.read_table(tmp_path / "b.parquet").to_pandas()
    assert kept.columns.tolist() == ["index", "label", "class_name", "path"]
    assert np.array_equal(kept["label"], labels[reference])
    assert kept["class_name"].tolist() == [NAMES[k] for k in labels[reference]]
    assert kept["path"].tolist() == [f"img/{i}.jpg" for i in reference]
    # the in-memory reader reads the same labels from the same file
    names = droprune.read_recalls(rec_names).class_names
    if fmt == "csv":
        assert np.array_equal(droprune.read_labels(by_name, class_names=names), labels)


@needs_duckdb
def test_csv_rows_are_read_exactly(tmp_path):
    from droprune.outofcore import prune_manifest

    text = "\ufefflabel,path\r\n 1 ,a\r\n0, b\r\n3.000000000000000000e+00,c\r\n1,d\r\n\r\n\r\n"
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    result = prune_manifest(tmp_path / "m.csv", 1.0, tmp_path / "kept.parquet",
                            method="Random+Proportional")
    assert result.samples == 4 and result.table["size"].tolist() == [1, 2, 0, 1]
    assert kept_index(tmp_path / "kept.parquet").tolist() == [0, 1, 2, 3]


# -- the emitted SQL ---------------------------------------------------------------------------

@needs_duckdb
@pytest.mark.parametrize("method", ["Random+DRoP", "EL2N+DRoP", "EL2N"])
def test_emitted_sql_runs_in_duckdb_and_keeps_the_same_set(tmp_path, method):
    import duckdb

    from droprune.outofcore import emit_sql, prune_manifest

    labels, scores, recalls = make_data(30_000, seed=3)
    manifest = write_parquet(tmp_path / "m.parquet", labels, scores, names=True)
    rec = write_recalls(tmp_path / "rec.csv", recalls, names=True)
    prune_manifest(manifest, 0.3, tmp_path / "kept.parquet", recalls=rec, method=method,
                   seed=7)
    expected = kept_index(tmp_path / "kept.parquet")
    con = duckdb.connect()
    on_file = emit_sql(manifest, 0.3, dialect="duckdb", recalls=rec, method=method, seed=7)
    assert np.array_equal(con.sql(on_file).fetchnumpy()["index"], expected)
    # a table with an index column, as on a cluster
    con.execute(f"CREATE TABLE manifest AS SELECT file_row_number AS idx, * FROM "
                f"read_parquet('{manifest}', file_row_number = true) ORDER BY random()")
    on_table = emit_sql(manifest, 0.3, dialect="duckdb", table="manifest", recalls=rec,
                        method=method, seed=7)
    assert np.array_equal(con.sql(on_table).fetchnumpy()["index"], expected)
    # from the class counts alone (as counted on the cluster)
    counts = dict(con.execute("SELECT label, count(*) FROM manifest GROUP BY label").fetchall())
    from_counts = emit_sql(counts, 0.3, dialect="duckdb", recalls=rec, method=method, seed=7,
                           score="el2n" if "EL2N" in method else None)
    assert np.array_equal(con.sql(from_counts).fetchnumpy()["index"], expected)
    # Trino's dialect, its bit functions as DuckDB macros
    con.execute("CREATE MACRO bitwise_xor(a, b) AS xor(a, b)")
    con.execute("CREATE MACRO bitwise_right_shift(a, n) AS a >> n")
    con.execute("CREATE MACRO bitwise_and(a, b) AS a & b")
    trino = emit_sql(counts, 0.3, dialect="trino", recalls=rec, method=method, seed=7,
                     score="el2n" if "EL2N" in method else None)
    assert "bitwise_xor(" in trino
    assert np.array_equal(con.sql(trino).fetchnumpy()["index"], expected)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_parses(dialect):
    sqlglot = pytest.importorskip("sqlglot", reason="the syntax check needs sqlglot")
    from droprune.manifest_sql import ManifestPlan

    plan = ManifestPlan("EL2N+DRoP", 0.5, 0, ("cat", "dog's"), np.array([0, 1]),
                        ("cat", "dog's"), np.array([10, 10]), np.array([5, 6]), 11, "el2n")
    for p in (plan, ManifestPlan("Random", 0.5, 0, (0, 1), np.array([0, 1]), ("0", "1"),
                                 np.array([10, 10]), None, 10)):
        sql = selection_sql(p, dialect=dialect, source="manifest", path="path")
        assert sqlglot.parse_one(sql, read=dialect) is not None


# -- errors, atomicity, outputs ----------------------------------------------------------------

@needs_duckdb
@pytest.mark.parametrize("case, match", [
    ("no_label", "needs a label column 'label'"),
    ("unknown_name", "'zebra' is not a class of the training data"),
    ("density_high", r"density must be in \[0, 1\].*got 1.5"),
    ("density_percent", "not a percentage"),
    ("null_label", "the label of sample 3 is empty"),
    ("blank_line", "line 4 is blank"),
    ("empty_label_csv", r"the label of sample 1 \(line 3\) is empty"),
    ("bad_score", "the score of sample 2 is empty or not finite"),
    ("text_score_csv", r"the score of sample 0 \(line 2\) is 'high'"),
    ("no_score_column", r"needs a score column 'EL2N' \(found label, path\)"),
    ("outside", "the training labels include label 5"),
    ("ids_vs_names", "holds integer class ids"),
    ("names_no_order", "holds class names"),
    ("seed", "seed must be an integer >= 0"),
    ("suffix", "use a .parquet or .csv manifest"),
    ("ragged_csv", "cannot read it as CSV .*Expected 2 columns"),
    ("header_only_csv", "holds no rows"),
])
def test_bad_inputs_fail_in_one_line_before_anything_is_written(tmp_path, case, match):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from droprune.outofcore import prune_manifest

    rec = tmp_path / "rec.csv"
    rec.write_text("class,recall\n0,0.5\n1,0.7\n2,0.9\n")
    named_rec = tmp_path / "named.csv"
    named_rec.write_text("class,recall\ncat,0.5\ndog,0.7\n")
    m = tmp_path / "m.parquet"
    kw: dict = dict(recalls=rec)
    density = 0.5
    table = {"label": [0, 1, 2, 1, 0, 2], "path": list("abcdef"),
             "EL2N": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}
    if case == "no_label":
        table["klass"] = table.pop("label")
    elif case == "unknown_name":
        table["label"] = ["cat", "dog", "zebra", "cat", "dog", "cat"]
        kw["recalls"] = named_rec
    elif case in ("density_high", "density_percent"):
        density = 1.5 if case == "density_high" else 30
    elif case == "null_label":
        table["label"] = [0, 1, 2, None, 0, 2]
    elif case == "bad_score":
        table["EL2N"][2] = float("nan")
        kw["method"] = "EL2N+DRoP"
    elif case == "no_score_column":
        table.pop("EL2N")
        kw["method"] = "EL2N+DRoP"
    elif case == "outside":
        table["label"][4] = 5
    elif case == "ids_vs_names":
        kw["recalls"] = named_rec
    elif case == "names_no_order":
        table["label"] = ["cat", "dog", "cat", "cat", "dog", "cat"]
        kw = dict(method="Random+Balanced")
    elif case == "seed":
        kw["seed"] = -1
    pq.write_table(pa.table(table), m)
    if case.endswith("_csv") or case == "blank_line":
        m = tmp_path / "m.csv"
        m.write_text({"blank_line": "label,path\n0,a\n1,b\n\n2,c\n",
                      "empty_label_csv": "label,path\n0,a\n,b\n2,c\n",
                      "text_score_csv": "label,EL2N\n0,high\n1,0.2\n2,0.3\n",
                      "ragged_csv": "label,path\n0,a\n1,b,c\n",
                      "header_only_csv": "label,path\n"}[case])
        if case == "text_score_csv":
            kw["method"] = "EL2N+DRoP"
    if case == "suffix":
        m = tmp_path / "m.txt"
        m.write_text("label\n0\n")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=match) as info:
        prune_manifest(m, density, out / "kept.parquet", **kw)
    assert "\n" not in str(info.value)
    assert not out.exists()


@needs_duckdb
def test_existing_kept_list_is_replaced_atomically(tmp_path):
    from droprune.outofcore import prune_manifest, write_manifest_outputs

    labels, scores, recalls = make_data(3000)
    manifest = write_parquet(tmp_path / "m.parquet", labels, scores)
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.parquet").write_bytes(b"old")
    with pytest.raises(ValueError):
        prune_manifest(manifest, 2.0, out / "kept.parquet", recalls=recalls)
    assert (out / "kept.parquet").read_bytes() == b"old"
    result = prune_manifest(manifest, 0.5, out / "kept.parquet", recalls=recalls)
    assert sorted(p.name for p in out.iterdir()) == ["kept.parquet"]  # no temporary left
    files = write_manifest_outputs(result, out, manifest={"labels": str(manifest)})
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in files)
    assert pd.read_csv(out / "classes.csv")["kept"].sum() == result.kept == 1500
    assert "WITH base" in (out / "selection.sql").read_text()
    assert "out of core" in result.summary()


def test_without_duckdb_the_error_says_how_to_install(monkeypatch, tmp_path):
    from droprune import outofcore

    monkeypatch.setitem(sys.modules, "duckdb", None)
    (tmp_path / "m.csv").write_text("label\n0\n")
    with pytest.raises(ImportError, match=r'pip install "droprune\[outofcore\]"') as info:
        outofcore.prune_manifest(tmp_path / "m.csv", 0.5, tmp_path / "k.parquet",
                                 method="Random+Balanced")
    assert info.value.name == "duckdb" and "\n" not in str(info.value)


@needs_duckdb
def test_without_ties_a_score_method_keeps_what_droprune_prune_keeps(tmp_path):
    from droprune.outofcore import prune_manifest

    labels, _, recalls = make_data(50_000, seed=5)
    scores = np.random.default_rng(5).permutation(labels.size) / labels.size  # no ties
    manifest = write_parquet(tmp_path / "m.parquet", labels, scores)
    prune_manifest(manifest, 0.3, tmp_path / "kept.parquet", recalls=recalls,
                   method="EL2N+DRoP")
    in_memory = droprune.prune(labels, 0.3, recalls=recalls, scores=scores, method="EL2N+DRoP")
    assert np.array_equal(kept_index(tmp_path / "kept.parquet"), in_memory.kept)


@needs_duckdb
def test_the_worked_example_of_the_docs_runs(tmp_path, monkeypatch):
    text = (Path(__file__).parents[1] / "docs" / "prune.md").read_text()
    section = text.split("## A manifest of any size (out of core)", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/prune.md", "exec"), namespace)
