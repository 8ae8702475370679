"""``droprune prune``: from CSV/NPY files without training, on a tiny image folder with the
query protocol, and every bad input refused in one line (exit 2) before anything is trained or
written."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import droprune
from droprune.cli import main

K = 4
LABELS = np.random.default_rng(0).permutation(np.repeat(np.arange(K), [60, 40, 30, 20]))
RECALLS = np.array([0.9, 0.8, 0.6, 0.95])
NAMES = ["ant", "bee", "cat", "dog"]
# expected values come from droprune.prune, which warns like the command (tested above)
pytestmark = pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")

OUTPUTS = ["class_densities.png", "classes.csv", "kept.csv", "kept.npy", "manifest.json",
           "summary.html", "warnings.txt"]


@pytest.fixture
def files(tmp_path):
    """labels.csv / labels.npy / recalls.csv (indices, with counts) / scores.npy."""
    pd.DataFrame({"label": LABELS}).to_csv(tmp_path / "labels.csv", index=False)
    np.save(tmp_path / "labels.npy", LABELS)
    pd.DataFrame({"class": range(K), "recall": RECALLS, "count": [25] * K}).to_csv(
        tmp_path / "recalls.csv", index=False)
    np.save(tmp_path / "scores.npy", np.random.default_rng(1).random(LABELS.size))
    return tmp_path


def run(*argv: str) -> int:
    return main(["prune", *map(str, argv)])


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("droprune prune: error: ")
    return err


def test_the_default_floor_is_half_the_density(files):
    out = files / "out"
    assert run("--recalls", files / "recalls.csv", "--labels", files / "labels.csv",
               "--density", 0.5, "--out", out, "--seed", 3) == 0
    expected = droprune.prune(LABELS, 0.5, recalls=RECALLS, val_counts=[25] * K, seed=3,
                              min_density=0.25)
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)
    manifest = json.loads((out / "manifest.json").read_text())
    # not set: droprune.prune's default (half the density, giving way where it cannot fit)
    assert manifest["min_density"] is None and manifest["starved"] == []


def test_no_training_from_csv_files(files, capsys):
    out = files / "out"
    assert run("--recalls", files / "recalls.csv", "--labels", files / "labels.csv",
               "--density", 0.5, "--out", out, "--seed", 3, "--min-density", 0) == 0
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    expected = droprune.prune(LABELS, 0.5, recalls=RECALLS, val_counts=[25] * K, seed=3,
                              min_density=0)
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)
    kept = pd.read_csv(out / "kept.csv", keep_default_na=False)
    assert list(kept.columns) == ["index", "label", "class_name", "path"]
    np.testing.assert_array_equal(kept["index"], expected.kept)
    np.testing.assert_array_equal(kept["label"], LABELS[expected.kept])
    assert set(kept["path"]) == {""}  # no files behind these labels
    classes = pd.read_csv(out / "classes.csv")
    assert list(classes.columns) == list(droprune.pruning.TABLE_COLUMNS)
    assert classes["kept"].tolist() == expected.table["kept"].tolist()
    assert classes["val_count"].tolist() == [25] * K
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "Random+DRoP" and manifest["kept"] == expected.kept.size
    assert manifest["droprune_version"] == droprune.__version__
    assert manifest["command"].startswith("droprune prune --density 0.5 --method Random+DRoP")
    assert manifest["recalls"]["path"].endswith("recalls.csv") and "sha256" in manifest["labels"]
    # class 3 (recall 0.95) keeps 3 of 20: recorded, not only printed
    assert manifest["starved"] == [3] and list(expected.starved) == [3]
    assert (out / "warnings.txt").read_text() == expected.warnings[0] + "\n"
    assert "class 3 keeps 3 of 20" in expected.warnings[0]
    html = (out / "summary.html").read_text()
    assert 'src="class_densities.png"' in html and "Random+DRoP at density 0.5" in html
    assert (out / "class_densities.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "kept list:" in printed and "--min-per-class 5" in printed


def test_labels_and_recalls_by_class_name(files):
    names = np.array(NAMES, dtype=object)
    pd.DataFrame({"label": names[LABELS]}).to_parquet(files / "labels.parquet")
    pd.DataFrame({"class": NAMES[::-1], "recall": RECALLS[::-1]}).to_csv(
        files / "named.csv", index=False)
    out = files / "out"
    assert run("--recalls", files / "named.csv", "--labels", files / "labels.parquet",
               "--density", 0.4, "--out", out, "--min-per-class", 5) == 0
    expected = droprune.prune(LABELS, 0.4, recalls=RECALLS, min_per_class=5)
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)
    kept = pd.read_csv(out / "kept.csv")
    assert kept["class_name"].tolist() == [NAMES[y] for y in LABELS[expected.kept]]


@pytest.mark.parametrize("method", ["MyScore+DRoP", "MyScore", "Random+MyScoreQ"])
def test_scores_from_npy(files, method):
    out = files / "out"
    assert run("--recalls", files / "recalls.csv", "--labels", files / "labels.npy",
               "--scores", files / "scores.npy", "--method", method, "--density", 0.5,
               "--out", out) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", droprune.QuotaWarning)
        expected = droprune.prune(LABELS, 0.5, recalls=RECALLS,
                                  scores=np.load(files / "scores.npy"), method=method)
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)


def test_scores_from_a_droprune_score_file(files):
    from droprune.scoring import save_scores

    scores = np.random.default_rng(2).random(LABELS.size)
    save_scores(files / "s.parquet", {"el2n": scores, "forgetting": -scores}, labels=LABELS)
    out = files / "out"
    assert run("--recalls", files / "recalls.csv", "--labels", files / "labels.csv",
               "--scores", files / "s.parquet", "--method", "Forgetting+DRoP",
               "--density", 0.5, "--out", out) == 0
    expected = droprune.prune(LABELS, 0.5, recalls=RECALLS, scores=-scores,
                              method="Forgetting+DRoP")
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)


def bad_cases(files):
    rec, lab, npy = files / "recalls.csv", files / "labels.csv", files / "scores.npy"
    pd.DataFrame({"label": np.append(LABELS, 4)}).to_csv(files / "big.csv", index=False)
    pd.DataFrame({"class": [0, 1, 3], "recall": [0.9, 0.8, 0.7]}).to_csv(files / "gap.csv",
                                                                        index=False)
    pd.DataFrame({"class": range(K), "recall": RECALLS * 100}).to_csv(files / "pct.csv",
                                                                     index=False)
    np.save(files / "short.npy", np.zeros(LABELS.size - 1))
    (files / "hugeid.csv").write_text("class,recall\n0,0.9\n1,0.6\n2,0.3\n1000000000,0.5\n")
    (files / "mixed.csv").write_text("class,recall\n0,0.9\ndog,0.6\n2,0.3\n3,0.5\n")
    (files / "header.csv").write_text("label\n")
    (files / "e30.csv").write_text("label\n0\n1e30\n")
    from droprune.scoring import save_scores

    save_scores(files / "short.parquet", {"el2n": np.zeros(10)}, labels=LABELS[:10])
    common = ["--density", "0.5"]
    return {
        "labels outside [0, K)": ([*common, "--recalls", rec, "--labels", files / "big.csv"],
                                  r"error: --labels \S*big\.csv: label 4 at line 152 has no "
                                  r"class: there are 4 classes, 0\.\.3 \(on the command line, "
                                  r"the rows of --recalls\): fix the label, or give its class a "
                                  r"recall$"),
        "missing classes": ([*common, "--recalls", files / "gap.csv", "--labels", lab],
                            r"missing 1 of 4 classes \(2\)"),
        "percentages": ([*common, "--recalls", files / "pct.csv", "--labels", lab],
                        "look like percentages"),
        "score length (npy)": ([*common, "--recalls", rec, "--labels", lab, "--scores",
                                files / "short.npy", "--method", "X+DRoP"],
                               "has 149 entries but there are 150 samples"),
        "score length (parquet)": ([*common, "--recalls", rec, "--labels", lab, "--scores",
                                    files / "short.parquet", "--method", "EL2N+DRoP"],
                                   "holds 10 samples but the training data has 150"),
        "scores with a random method": ([*common, "--recalls", rec, "--labels", lab,
                                         "--scores", npy],
                                        r"error: --scores \S*scores\.npy was given but method "
                                        r"'Random\+DRoP' picks at random: .* or leave --scores "
                                        r"\S*scores\.npy out$"),
        "no recalls, no data": ([*common, "--labels", lab],
                                r"needs the per-class validation recalls \(--recalls FILE\)"),
        "no scores, no data": ([*common, "--labels", lab, "--recalls", rec, "--method",
                                "EL2N+DRoP"], r"needs EL2N scores \(--scores FILE\)"),
        "labels twice": ([*common, "--labels", lab, "--data", "mnist1d"], "not both"),
        "no labels": ([*common, "--recalls", rec], "give the training labels"),
        "model without data": ([*common, "--labels", lab, "--recalls", rec, "--model", "mlp"],
                               "give --data NAME too"),
        "infeasible floor": ([*common, "--labels", lab, "--recalls", rec, "--min-per-class",
                              "50", "--min-density", "0"], "--min-per-class=50 needs"),
        "beta without counts": ([*common, "--labels", lab, "--recalls", files / "pct.csv",
                                 "--error-estimate", "beta"], "look like percentages"),
        "full": ([*common, "--labels", lab, "--recalls", rec, "--method", "Full"],
                 "keeps everything"),
        "missing file": ([*common, "--labels", files / "nope.csv", "--recalls", rec],
                         "no such file"),
        "absurd recall id": ([*common, "--labels", lab, "--recalls", files / "hugeid.csv"],
                             r"error: --recalls \S*hugeid\.csv: class 1000000000 at line 5 is not "
                             r"a class index: it would make 1000000001 classes"),
        "mixed recall ids": ([*common, "--labels", lab, "--recalls", files / "mixed.csv"],
                             r"error: --recalls \S*mixed\.csv: its class column mixes integer "
                             r"ids \(0, 2, 3\) and names \(dog\)"),
        "header-only labels": ([*common, "--labels", files / "header.csv", "--recalls", rec],
                               r"error: --labels \S*header\.csv: holds a header \(label\) but no "
                               r"labels: write one label per sample below it$"),
        "label beyond int64": ([*common, "--labels", files / "e30.csv", "--recalls", rec],
                               r"error: --labels \S*e30\.csv: label 1e30 at line 3 is not a "
                               r"class index \(beyond 2\*\*63\): class indices are 0..K-1$"),
    }


@pytest.mark.parametrize("case", [
    "labels outside [0, K)", "missing classes", "percentages", "score length (npy)",
    "score length (parquet)", "scores with a random method", "no recalls, no data",
    "no scores, no data", "labels twice", "no labels", "model without data", "infeasible floor",
    "beta without counts", "full", "missing file", "absurd recall id", "mixed recall ids",
    "header-only labels", "label beyond int64"])
def test_bad_input_exits_2_in_one_line_and_writes_nothing(files, capsys, case):
    argv, match = bad_cases(files)[case]
    out = files / "out"
    assert run(*argv, "--out", out) == 2
    assert re.search(match, error_line(capsys)), case
    assert not out.exists()


def test_beta_needs_the_count_column(files, capsys):
    pd.DataFrame({"class": range(K), "recall": RECALLS}).to_csv(files / "r.csv", index=False)
    assert run("--density", 0.5, "--labels", files / "labels.csv", "--recalls", files / "r.csv",
               "--error-estimate", "beta", "--out", files / "out") == 2
    assert "add a 'count' column" in error_line(capsys)
    assert run("--density", 0.5, "--labels", files / "labels.csv", "--recalls",
               files / "recalls.csv", "--error-estimate", "beta", "--out", files / "out") == 0
    expected = droprune.prune(LABELS, 0.5, recalls=RECALLS, val_counts=[25] * K,
                              error_estimate="beta")
    np.testing.assert_array_equal(np.load(files / "out" / "kept.npy"), expected.kept)


def test_a_labels_csv_without_header_keeps_every_row(files, capsys):
    """np.savetxt writes no header: no label is taken for one (150 labels, not 149), so every
    kept index is the same as from labels.npy."""
    np.savetxt(files / "savetxt.csv", LABELS)  # '2.000000000000000000e+00' ...
    (files / "trailing.csv").write_text("".join(f"{y}\n" for y in LABELS) + "\n\n")
    kept = []
    for name in ("labels.npy", "savetxt.csv", "trailing.csv"):
        out = files / f"out-{name}"
        assert run("--recalls", files / "recalls.csv", "--labels", files / name,
                   "--density", 0.5, "--out", out) == 0
        kept.append(np.load(out / "kept.npy"))
        assert json.loads((out / "manifest.json").read_text())["samples"] == LABELS.size
    np.testing.assert_array_equal(kept[1], kept[0])
    np.testing.assert_array_equal(kept[2], kept[0])
    # a blank line inside the data would shift every later index: refused, naming the line
    rows = [f"{y}\n" for y in LABELS]
    (files / "blank.csv").write_text("label\n" + "".join(rows[:10]) + "\n" + "".join(rows[10:]))
    capsys.readouterr()
    assert run("--recalls", files / "recalls.csv", "--labels", files / "blank.csv",
               "--density", 0.5, "--out", files / "out") == 2
    assert re.search(r"--labels .*blank.csv: line 12 is blank", error_line(capsys))
    assert not (files / "out").exists()


def test_integer_labels_against_named_recalls_need_class_ids_index(files, capsys):
    pd.DataFrame({"class": NAMES, "recall": RECALLS}).to_csv(files / "named.csv", index=False)
    argv = ["--recalls", files / "named.csv", "--labels", files / "labels.npy", "--density",
            0.5, "--out", files / "out"]
    assert run(*argv) == 2
    assert "--class-ids index" in error_line(capsys)
    assert not (files / "out").exists()
    assert run(*argv, "--class-ids", "index") == 0
    assert "class order (--class-ids index): 0=ant, 1=bee, 2=cat, 3=dog" in capsys.readouterr().out
    manifest = json.loads((files / "out" / "manifest.json").read_text())
    assert manifest["class_ids"] == "index" and manifest["class_order"] == NAMES
    expected = droprune.prune(LABELS, 0.5, recalls=RECALLS)
    np.testing.assert_array_equal(np.load(files / "out" / "kept.npy"), expected.kept)


def test_a_score_column_of_another_strategy_is_refused(files, capsys):
    from droprune.scoring import save_scores

    save_scores(files / "s.parquet", {"forgetting": np.zeros(LABELS.size)}, labels=LABELS)
    assert run("--recalls", files / "recalls.csv", "--labels", files / "labels.csv", "--scores",
               files / "s.parquet", "--method", "EL2N+DRoP", "--density", 0.5, "--out",
               files / "out") == 2
    assert re.search(r"--scores .*s.parquet: no score column 'EL2N' or 'el2n' \(columns: "
                     r"forgetting\)", error_line(capsys))


# -- a tiny image folder -------------------------------------------------------------------------

CLASS_SIZES = {"cat": (10, 6), "dog": (8, 6), "fox": (6, 6)}  # train, test images per class


@pytest.fixture
def photos(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, (name, sizes) in enumerate(CLASS_SIZES.items()):
        for split, n in zip(("train", "test"), sizes):
            folder = tmp_path / "photos" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(50 + 80 * c, 25, (6, 6, 3)), 0, 255)
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"img{i:02d}.png")
    return tmp_path / "photos"


def image_args(photos, out, *extra, model="mlp"):
    return ["--data", "imagefolder", "--root", photos, "--option", "image_size=6",
            "--set", "protocol_options.fixed_query_epochs=2", "--set", "train.batch_size=8",
            "--set", "data.split_seed=1",
            "--model", model, "--density", "0.6", "--out", out, "--no-progress",
            "--min-per-class", "2", *extra]


def test_image_folder_with_query_models_writes_file_paths(photos, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run(*image_args(photos, out)) == 0
    kept = pd.read_csv(out / "kept.csv")
    train = sorted((photos / "train").rglob("*.png"))
    assert kept["path"].tolist() == [str(train[i]) for i in kept["index"]]
    assert kept["class_name"].tolist() == [train[i].parent.name for i in kept["index"]]
    assert len(kept) == round(0.6 * len(train))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["name"] == "imagefolder" and manifest["dataset"]["fingerprint"]
    # what ran: one fixed query model of 2 epochs (Random+DRoP's recalls, the paper protocol)
    (ran,) = manifest["query"]["runs"]
    assert ran["kind"] == "fixed" and ran["epochs_trained"] == [2] and ran["train"]["epochs"] == 2
    assert ran["trained_seeds"] == ran["seeds"] == [800] and ran["train"]["batch_size"] == 8
    assert manifest["query"]["input_shape"] == [3, 6, 6] and manifest["query"]["device"] == "cpu"
    assert manifest["query"]["torch_version"] == manifest["torch_version"]
    # --set applies after --data: it may set the dataset's keys too
    assert manifest["dataset"]["name"] == "imagefolder" and manifest["dataset"]["split_seed"] == 1
    classes = pd.read_csv(out / "classes.csv")
    assert classes["name"].tolist() == list(CLASS_SIZES)
    assert classes["val_count"].tolist() == [3, 3, 3]  # half of each test class validates
    first = np.load(out / "kept.npy")

    # a second run with the same inputs reuses the query models: nothing is trained
    import droprune.scoring.query as query

    def no_training(*args, **kwargs):
        raise AssertionError("the query models were trained again")

    monkeypatch.setattr(query, "_run_seed", no_training)
    assert run(*image_args(photos, out)) == 0
    np.testing.assert_array_equal(np.load(out / "kept.npy"), first)


def test_image_folder_without_training(photos, tmp_path, monkeypatch):
    import droprune.scoring.query as query

    monkeypatch.setattr(query, "_run_seed", lambda *a, **k: pytest.fail("trained"))
    pd.DataFrame({"class": ["fox", "cat", "dog"], "recall": [0.5, 0.9, 0.7]}).to_csv(
        tmp_path / "r.csv", index=False)
    out = tmp_path / "out"
    assert run("--data", "imagefolder", "--root", photos, "--option", "image_size=6",
               "--recalls", tmp_path / "r.csv", "--density", 0.5, "--out", out) == 0
    kept = pd.read_csv(out / "kept.csv")
    labels = np.repeat([0, 1, 2], [10, 8, 6])
    expected = droprune.prune(labels, 0.5, recalls=[0.9, 0.7, 0.5])
    np.testing.assert_array_equal(kept["index"], expected.kept)
    assert all(p.startswith(str(photos.resolve())) for p in kept["path"])


def test_image_folder_bad_inputs(photos, tmp_path, capsys, monkeypatch):
    import droprune.scoring.query as query
    from droprune.scoring import save_scores

    monkeypatch.setattr(query, "_run_seed", lambda *a, **k: pytest.fail("trained"))
    out = tmp_path / "out"
    # an import path that does not resolve: refused before any training
    assert run(*image_args(photos, out, model="no_such_pkg.nets:make")) == 2
    assert "cannot import module 'no_such_pkg.nets'" in error_line(capsys)
    assert run(*image_args(photos, out, model="droprune.models:NOPE")) == 2
    assert "'droprune.models' has no attribute 'NOPE'" in error_line(capsys)
    # a score file of another dataset (fingerprint) or of the right length but other labels
    labels = np.repeat([0, 1, 2], [10, 8, 6])
    save_scores(tmp_path / "other.parquet", {"el2n": np.zeros(24)}, labels=labels,
                metadata={"dataset_fingerprint": "0123456789abcdef"})
    pd.DataFrame({"class": ["cat", "dog", "fox"], "recall": [0.9, 0.7, 0.5]}).to_csv(
        tmp_path / "r.csv", index=False)
    assert run("--data", "imagefolder", "--root", photos, "--option", "image_size=6",
               "--recalls", tmp_path / "r.csv", "--scores", tmp_path / "other.parquet",
               "--method", "EL2N+DRoP", "--density", 0.5, "--out", out) == 2
    assert "fingerprint '0123456789abcdef'" in error_line(capsys)
    # recalls naming a class the folder does not have
    pd.DataFrame({"class": ["cat", "dog", "owl"], "recall": [0.9, 0.7, 0.5]}).to_csv(
        tmp_path / "owl.csv", index=False)
    assert run("--data", "imagefolder", "--root", photos, "--option", "image_size=6",
               "--recalls", tmp_path / "owl.csv", "--density", 0.5, "--out", out) == 2
    assert "class 'owl' is not a class of the training data" in error_line(capsys)
    # an unregistered strategy whose scores the query should compute
    assert run(*image_args(photos, out), "--method", "Nope+DRoP") == 2
    assert "unknown strategy 'Nope'" in error_line(capsys)
    assert not out.exists()


def test_integer_recall_ids_against_an_image_folder_are_refused(photos, tmp_path, capsys,
                                                                 monkeypatch):
    """An image folder's classes are its folder names in alphabetical order: integer ids in
    --recalls are refused unless --class-ids index says they are positions in that order."""
    import droprune.scoring.query as query

    monkeypatch.setattr(query, "_run_seed", lambda *a, **k: pytest.fail("trained"))
    pd.DataFrame({"class": [2, 0, 1], "recall": [0.5, 0.9, 0.7]}).to_csv(tmp_path / "r.csv",
                                                                         index=False)
    out = tmp_path / "out"
    argv = ["--data", "imagefolder", "--root", photos, "--option", "image_size=6", "--recalls",
            tmp_path / "r.csv", "--density", 0.5, "--out", out]
    assert run(*argv) == 2
    err = error_line(capsys)
    assert "holds integer class ids (2, 0, 1) but the classes have names (cat, dog, fox)" in err
    assert "--class-ids index" in err and not out.exists()
    assert run(*argv, "--class-ids", "index") == 0
    assert "class order (--class-ids index): 0=cat, 1=dog, 2=fox" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["class_ids"] == "index" and manifest["class_order"] == list(CLASS_SIZES)
    expected = droprune.prune(np.repeat([0, 1, 2], [10, 8, 6]), 0.5, recalls=[0.9, 0.7, 0.5])
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)


def tiny_image_net(seed):
    """A model of the user's own (no droprune Classifier): 3x6x6 images, 3 classes."""
    import torch

    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(108, 8), torch.nn.ReLU(),
                               torch.nn.Linear(8, 3))


def test_a_model_factory_of_the_users_trains_the_query_models(photos, tmp_path):
    out = tmp_path / "out"
    spec = f"{__name__}:tiny_image_net"
    assert run(*image_args(photos, out, model=spec)) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["query"]["model"] == spec
    assert manifest["query"]["model_source"]["file"] == __file__
    assert list((out / "query").rglob("*.parquet"))  # query models trained and saved
    kept = pd.read_csv(out / "kept.csv")
    assert len(kept) == round(0.6 * len(sorted((photos / "train").rglob("*.png"))))


@pytest.mark.parametrize("spec, message", [
    ("no_such_pkg.nets:f", "no_such_pkg"),
    (f"{__name__}:NOT_CALLABLE", "not a callable"),
])
def test_a_bad_model_factory_is_refused_before_anything(photos, tmp_path, capsys, spec,
                                                        message):
    assert run(*image_args(photos, tmp_path / "out", model=spec)) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "out").exists()


NOT_CALLABLE = 3


def test_the_query_models_train_with_the_commands_thread_policy(photos, tmp_path, monkeypatch):
    import droprune.cli.prune as prune_cli

    applied = []
    monkeypatch.setattr(prune_cli, "apply_threads", applied.append)
    assert run(*image_args(photos, tmp_path / "a")) == 0
    assert run(*image_args(photos, tmp_path / "b", "--threads", "2")) == 0
    assert applied == [1, 2]  # default one thread, like sweep, run and demo
    assert run(*image_args(photos, tmp_path / "c", "--threads", "0")) == 2
    assert not (tmp_path / "c").exists()
