"""Real (tiny) sweeps: end to end, exact selection semantics, resume after a kill, shards,
reports, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from droprune import drop_quotas, quotas_from_selection, select_global, target_count
from droprune.cli import main
from droprune.experiments import load_config, plan_runs, read_results, run_sweep, write_report
from droprune.experiments.store import ResultStore

TINY = ['data.options={"num_samples": 1200}', "model.width=0.25", "train.epochs=2",
        "train.drop_epochs=[]", "query.seeds=2", "query.epochs_fraction=0.5",
        "query.scorer_options.dynunc.window=2", "seeds=0", "densities=0.5"]
METHODS = "methods=Full,Random,Random+DRoP,EL2N,Forgetting+DRoP,Random+EL2NQ"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    old = os.environ.get("DROPRUNE_CACHE")
    os.environ["DROPRUNE_CACHE"] = str(path)
    yield path
    if old is None:
        del os.environ["DROPRUNE_CACHE"]
    else:
        os.environ["DROPRUNE_CACHE"] = old


@pytest.fixture(scope="module")
def tiny_sweep(cache, tmp_path_factory):
    cfg = load_config("mnist1d-cpu", TINY + [METHODS])
    out = tmp_path_factory.mktemp("sweep")
    summary = run_sweep(cfg, out, progress=False, log=lambda *_: None)
    return cfg, out, summary


def test_sweep_writes_one_row_per_run(tiny_sweep):
    cfg, out, summary = tiny_sweep
    plan = plan_runs(cfg)
    assert len(summary.completed) == len(plan) == 6
    df = read_results(out)
    assert sorted(df["run_id"]) == sorted(r.run_id(cfg) for r in plan)
    assert set(df["method"]) == {"Full", "Random", "Random+DRoP", "EL2N", "Forgetting+DRoP",
                                 "Random+EL2NQ"}
    assert df["accuracy"].between(0, 1).all() and df["worst_class_accuracy"].between(0, 1).all()
    assert (df["worst_class_accuracy"] <= df["accuracy"] + 1e-12).all()
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_selections_follow_the_methods_exactly(tiny_sweep):
    cfg, out, _ = tiny_sweep
    df = read_results(out).set_index("method")
    sizes = np.array(df.loc["Full", "class_sizes"])
    n = int(sizes.sum())
    labels = None
    for method in df.index:
        row = df.loc[method]
        kept = np.load(out / row["selection_file"])
        assert kept.size == row["kept"] and np.all(np.diff(kept) > 0)
        if method == "Full":
            np.testing.assert_array_equal(kept, np.arange(n))
            continue
        assert kept.size == target_count(0.5, n)
        np.testing.assert_array_equal(row["class_counts"], np.bincount(
            _labels(cfg)[kept], minlength=sizes.size))
    labels = _labels(cfg)
    # DRoP runs keep exactly drop_quotas(sizes, the stored validation recalls, d) per class
    for method in ("Random+DRoP", "Forgetting+DRoP"):
        row = df.loc[method]
        np.testing.assert_array_equal(row["class_counts"],
                                      drop_quotas(sizes, row["val_recall"], 0.5))
    # Random+EL2NQ keeps EL2N's class histogram, EL2N keeps the top EL2N scores globally
    el2n = np.load(out / df.loc["EL2N", "selection_file"])
    np.testing.assert_array_equal(df.loc["Random+EL2NQ", "class_counts"],
                                  quotas_from_selection(labels, el2n, sizes.size))
    q = _query_scores(out)
    np.testing.assert_array_equal(el2n, select_global(q["el2n"], 0.5, seed=0))


def _labels(cfg):
    from droprune.experiments.sweep import load_splits

    return load_splits(cfg).train.labels


def _query_scores(out: Path) -> dict[str, np.ndarray]:
    import pandas as pd

    files = sorted((out / "query" / "seed-0" / "short").glob("seed*.parquet"))
    assert len(files) == 2  # two short query models
    tables = [pd.read_parquet(f) for f in files]
    return {"el2n": np.mean([t["el2n"].to_numpy() for t in tables], axis=0)}


def test_rerun_does_nothing_and_duplicates_nothing(tiny_sweep):
    cfg, out, _ = tiny_sweep
    before = {r["run_id"]: r["created"] for r in ResultStore(out / "results.sqlite").records()}
    summary = run_sweep(cfg, out, progress=False, log=lambda *_: None)
    assert summary.completed == [] and summary.skipped == 6
    after = {r["run_id"]: r["created"] for r in ResultStore(out / "results.sqlite").records()}
    assert after == before


def test_shards_reproduce_the_unsharded_sweep(tiny_sweep, tmp_path):
    cfg, out, _ = tiny_sweep
    for i in range(3):
        run_sweep(cfg, tmp_path, shard=(i, 3), progress=False, log=lambda *_: None)
    assert sorted(p.name for p in tmp_path.glob("results*.sqlite")) == [
        f"results-shard-{i}-of-3.sqlite" for i in range(3)]
    sharded = read_results(tmp_path).set_index("run_id").sort_index()
    whole = read_results(out).set_index("run_id").sort_index()
    assert list(sharded.index) == list(whole.index)
    # training is deterministic: the same runs give the same metrics
    np.testing.assert_allclose(sharded["accuracy"], whole["accuracy"])
    np.testing.assert_allclose(sharded["worst_class_accuracy"], whole["worst_class_accuracy"])
    rep = write_report(tmp_path)  # the report merges the shards
    assert len(read_results(tmp_path)) == 6 and rep.html.stat().st_size > 0


def test_report_files_of_a_real_sweep(tiny_sweep, tmp_path):
    _, out, _ = tiny_sweep
    write_report(out, tmp_path / "report")
    for name in ("report.html", "results.csv", "results.parquet", "summary.csv", "table.csv",
                 "accuracy_vs_density.png", "worst_class_vs_density.png",
                 "class_densities.png", "density_vs_accuracy.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0, name


def test_folder_with_another_setup_is_refused(tiny_sweep):
    _, out, _ = tiny_sweep
    other = load_config("mnist1d-cpu", TINY + [METHODS, "train.lr=0.2"])
    with pytest.raises(ValueError, match="different train"):
        run_sweep(other, out, progress=False, log=lambda *_: None)
    # a different grid of the same setup is fine (and reuses the finished runs)
    grown = load_config("mnist1d-cpu", TINY + ["methods=Full,Random"])
    assert run_sweep(grown, out, progress=False, log=lambda *_: None).skipped == 2


#: runs the `droprune sweep` command, SIGKILLed by itself right after its 2nd row is committed
KILL_AFTER_TWO_ROWS = """
import os, signal, sys
import droprune.experiments.sweep as sweep
from droprune.cli import main

add_row, stored = sweep._add_row, []

def add_row_then_die(store, record):
    added = add_row(store, record)
    stored.append(added)
    if len(stored) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return added

sweep._add_row = add_row_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_killed_sweep_resumes_without_losing_or_duplicating(cache, tmp_path):
    out = tmp_path / "killed"
    args = ["sweep", "--preset", "mnist1d-cpu", "--out", str(out), "--no-progress"]
    for item in TINY + ["methods=Full,Random,Random+DRoP", "densities=0.3,0.5,0.7,0.9"]:
        args += ["--set", item]
    env = dict(os.environ, DROPRUNE_CACHE=str(cache), OMP_NUM_THREADS="1")
    # killed at a chosen point (right after the 2nd commit), not after a sleep: deterministic
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_TWO_ROWS, *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    store_path = out / "results.sqlite"
    done_before = {r["run_id"]: r["created"] for r in ResultStore(store_path).records()}
    assert len(done_before) == 2
    result = subprocess.run([sys.executable, "-m", "droprune", *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(2 already done)" in result.stderr  # progress: the droprune logger, on stderr
    rows = ResultStore(store_path).records()
    ids = [r["run_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 9  # 1 Full + 2 methods x 4 densities
    assert {k: v for k, v in ((r["run_id"], r["created"]) for r in rows)
            if k in done_before} == done_before  # finished rows untouched
    assert not list(out.glob("selections/.*.tmp"))  # no half-written files left behind


def test_cli_run_and_errors(cache, tmp_path, capsys):
    code = main(["run", "--preset", "mnist1d-cpu", "--method", "Random+DRoP", "--density",
                 "0.5", "--out", str(tmp_path / "one"), "--no-progress",
                 *sum((["--set", s] for s in TINY), [])])
    out = capsys.readouterr().out
    assert code == 0 and "Random+DRoP d=0.5 seed=0: accuracy" in out
    code = main(["sweep", "--preset", "mnist1d-cpu", "--out", str(tmp_path / "x"),
                 "--set", "methods=Random,EL3N"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown strategy 'EL3N'" in err and "valid strategies" in err
    code = main(["sweep", "--preset", "nope", "--out", str(tmp_path / "x")])
    assert code == 2 and "valid presets: mnist1d-cpu" in capsys.readouterr().err
    code = main(["sweep", "--preset", "mnist1d-cpu", "--out", str(tmp_path / "x"),
                 "--set", "densities=1.5"])
    assert code == 2 and "density must be in" in capsys.readouterr().err
    code = main(["report", str(tmp_path / "empty-missing")])
    assert code == 2 and "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing written before the config was valid
    cfg = json.loads((tmp_path / "one" / "config.json").read_text())
    assert cfg["methods"] == ["Random+DRoP"]
