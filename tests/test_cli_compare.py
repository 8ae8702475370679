"""``droprune prune --compare``: on a dataset and on an image folder, its outputs, resume, and
the options it refuses (before anything is trained or written)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from droprune.comparison import DEFAULT_CANDIDATES

from .test_cli_prune import error_line, photos, run  # noqa: F401 (photos is a fixture)

MIXTURE = ["--data", "gaussian-mixture", "--option", "class_sizes=[200,200]",
           "--option", "test_sizes=[100,100]",
           "--model", "mlp", "--set", "train.batch_size=32", "--proxy-epochs", "2",
           "--compare-seeds", "0,1", "--no-progress"]


def test_compare_on_a_dataset_writes_the_recommended_kept_list(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(*MIXTURE, "--compare", "--density", "0.3", "--candidate", "Random+Balanced",
               "--out", out) == 0
    printed = capsys.readouterr().err  # progress: the droprune logger, on stderr
    assert "compare: 7 rules x 2 seeds x 2 validation halves = 28 proxy trainings" in printed
    table = pd.read_csv(out / "compare.csv")
    assert table["candidate"].tolist() == [c.name for c in DEFAULT_CANDIDATES]
    assert table["recommended"].sum() == 1 and (table["seeds"] == 2).all()
    best = table.loc[table["recommended"], "candidate"].item()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["compare"]["recommended"] == best
    assert manifest["method"] == table.loc[table["recommended"], "method"].item()
    assert manifest["compare"]["seeds"] == [0, 1] and manifest["compare"]["proxy_epochs"] == 2
    kept = np.load(out / "kept.npy")
    assert kept.size == round(0.3 * 400) == len(pd.read_csv(out / "kept.csv"))
    page = (out / "summary.html").read_text()
    assert "<h2>Why this rule</h2>" in page and "compare.png" in page
    assert "The test split was not read" in page
    assert (out / "compare.png").stat().st_size > 1000
    evaluations = sorted((out / "compare" / "evaluations").glob("*.json"))
    assert len(evaluations) == 28
    # again: every evaluation and the query model are reused, the result is the same
    stamps = [p.stat().st_mtime_ns for p in evaluations]
    assert run(*MIXTURE, "--compare", "--density", "0.3", "--candidate", "Random+Balanced",
               "--out", out) == 0
    assert [p.stat().st_mtime_ns for p in evaluations] == stamps
    again = pd.read_csv(out / "compare.csv")
    pd.testing.assert_frame_equal(table, again)
    np.testing.assert_array_equal(np.load(out / "kept.npy"), kept)
    # another command is refused on this folder; with --overwrite it still reuses what matches
    capsys.readouterr()
    assert run(*MIXTURE, "--compare", "--density", "0.3", "--out", out) == 2
    assert "holds the kept list of another run" in error_line(capsys)
    assert run(*MIXTURE, "--compare", "--density", "0.3", "--out", out, "--overwrite") == 0
    assert [p.stat().st_mtime_ns for p in evaluations] == stamps
    np.testing.assert_array_equal(np.load(out / "kept.npy"), kept)


def test_compare_on_an_image_folder(photos, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    assert run("--data", "imagefolder", "--root", photos, "--option", "image_size=6",
               "--model", "mlp", "--set", "train.batch_size=8", "--density", "0.6",
               "--compare", "--compare-seeds", "0", "--proxy-epochs", "1",
               "--candidate", "Random+Balanced", "--no-progress", "--out", out) == 0
    kept = pd.read_csv(out / "kept.csv")
    train = sorted((photos / "train").rglob("*.png"))
    assert kept["path"].tolist() == [str(train[i]) for i in kept["index"]]
    assert len(pd.read_csv(out / "compare.csv")) == len(DEFAULT_CANDIDATES)


@pytest.mark.parametrize("extra, message", [
    (["--labels", "labels.npy", "--recalls", "r.csv", "--compare"],
     "--compare trains proxy models on the data: give --data"),
    ([*MIXTURE, "--compare", "--method", "Random+Balanced"], "leave out --method"),
    ([*MIXTURE, "--compare", "--min-density", "0.1"], "leave out --min-density"),
    ([*MIXTURE, "--candidate", "Random+Balanced"], "adds a rule to --compare"),
    ([*MIXTURE, "--compare", "--proxy-epochs", "0"], "--proxy-epochs must be at least 1"),
    ([*MIXTURE, "--compare", "--compare-seeds", "a"], "--compare-seeds"),
])
def test_bad_compare_options_are_refused_before_any_work(extra, message, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert run(*extra, "--density", "0.3", "--out", out) == 2
    assert message in error_line(capsys)
    assert not out.exists()


def test_an_unknown_candidate_is_refused_before_any_training(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(*MIXTURE, "--compare", "--candidate", "Random+Cube", "--density", "0.3",
               "--out", out) == 2
    assert "candidate 'Random+Cube'" in error_line(capsys)
    assert not (out / "compare" / "evaluations").exists()
