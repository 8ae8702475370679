"""droprune prune --out-of-core / --emit-sql: the manifest read by DuckDB, kept.parquet equal to
the in-memory hash-order reference, errors before anything is written."""

from __future__ import annotations

import json
from importlib.util import find_spec

import numpy as np
import pytest

from droprune.cli import main
from droprune.hash_order import hashed_kept

pytestmark = pytest.mark.skipif(find_spec("duckdb") is None or find_spec("pyarrow") is None,
                                reason="the out-of-core path needs DuckDB: pip install duckdb")


@pytest.fixture
def files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, 5000)
    scores = rng.integers(0, 10, 5000).astype(float)
    pq.write_table(pa.table({"label": labels, "path": [f"p/{i}" for i in range(5000)],
                             "el2n": scores}), tmp_path / "m.parquet")
    recalls = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95])
    (tmp_path / "rec.csv").write_text(
        "class,recall\n" + "".join(f"{k},{r}\n" for k, r in enumerate(recalls)))
    return tmp_path, labels, scores, recalls


@pytest.mark.parametrize("method", ["Random+DRoP", "EL2N+DRoP"])
def test_out_of_core_writes_the_kept_list(files, method, capsys):
    import pyarrow.parquet as pq

    d, labels, scores, recalls = files
    code = main(["prune", "--labels", str(d / "m.parquet"), "--recalls", str(d / "rec.csv"),
                 "--density", "0.3", "--method", method, "--out", str(d / "out"),
                 "--out-of-core"])
    assert code == 0
    kept = pq.read_table(d / "out" / "kept.parquet").column("index").to_numpy()
    sc = scores if method == "EL2N+DRoP" else None
    assert np.array_equal(kept, hashed_kept(labels, 0.3, recalls=recalls, scores=sc,
                                            method=method))
    manifest = json.loads((d / "out" / "manifest.json").read_text())
    assert manifest["kept"] == kept.size and manifest["out_of_core"] is True
    assert "kept list:" in capsys.readouterr().out


def test_emit_sql_alone_prunes_nothing(files):
    d, *_ = files
    code = main(["prune", "--labels", str(d / "m.parquet"), "--recalls", str(d / "rec.csv"),
                 "--density", "0.3", "--out", str(d / "out"), "--emit-sql", str(d / "q.sql"),
                 "--dialect", "trino", "--table", "lake.train"])
    assert code == 0 and not (d / "out").exists()
    assert "FROM lake.train" in (d / "q.sql").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--density", "3"], "not a percentage"),
    (["--density", "0.3", "--scores", "x.npy"], "leave out --scores"),
    (["--density", "0.3", "--method", "Margin+DRoP"], "needs a score column 'Margin'"),
])
def test_errors_are_one_line_and_write_nothing(files, extra, message, capsys):
    d, *_ = files
    code = main(["prune", "--labels", str(d / "m.parquet"), "--recalls", str(d / "rec.csv"),
                 "--out", str(d / "out"), "--out-of-core", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (d / "out").exists()
