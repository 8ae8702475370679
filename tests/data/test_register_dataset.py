"""register_dataset: one entry is all a new source needs (listing, info, reader errors, a
sweep); duplicates and malformed entries are refused; a source without help text lists fine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from droprune.cli import main
from droprune.data import (DATASETS, DatasetSource, DatasetSplits, load_dataset,
                           register_dataset)
from droprune.data.layout import missing_error
from droprune.data.synthetic import gaussian_mixture

DATA_DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def load_blobs(root, *, per_class: int = 30, seed: int = 0):
    """Two well separated Gaussian blobs in 8 dimensions: (train, official test)."""

    def draw(stream: int):
        return gaussian_mixture([per_class, per_class], [-1.5, 1.5], [1.0, 1.0], dim=8,
                                seed=seed + stream, name="blobs")

    return draw(0), draw(1)


def load_official(root):
    """A source with its own validation split."""
    train, test = load_blobs(root, per_class=6)
    return DatasetSplits(train, test, test)


@pytest.fixture
def register(request):
    """Factory: register a source for one test; the entry is popped again afterwards."""

    def add(source: DatasetSource) -> DatasetSource:
        request.addfinalizer(lambda: DATASETS.pop(source.name, None))
        return register_dataset(source)

    return add


@pytest.fixture
def blobs(register):
    return register(DatasetSource(
        "blobs", load_blobs, "two Gaussian blobs (a test source)", root="none",
        layout="no files: drawn in memory", where="made by the test",
        class_names=("left", "right")))


def test_a_registered_source_is_listed_from_its_entry(blobs, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "blobs: two Gaussian blobs (a test source)" in out
    assert "root: none; options: per_class, seed; validation split: from the test set" in out
    assert "layout: no files: drawn in memory" in out and "classes: left, right" in out
    assert main(["data", "list", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "blobs")
    assert row["where"] == "made by the test" and row["class_names"] == ["left", "right"]
    assert row["official_splits"] is False


def test_info_loads_it_with_the_entry_class_names(blobs, capsys):
    argv = ["data", "info", "blobs", "--option", "per_class=10", "--json", "--no-fingerprint"]
    assert main(argv) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["class_names"] == ["left", "right"]  # the entry's, not the loader's 0, 1
    assert [info["splits"][s]["size"] for s in ("train", "val", "test")] == [20, 10, 10]
    assert main(["data", "check", "blobs"]) == 0
    assert capsys.readouterr().out.strip() == "blobs: OK"


def test_reader_errors_show_the_entry_help(blobs):
    message = str(missing_error("blobs", "/x", "no such folder"))
    assert message.splitlines()[1:] == ["  expected layout: no files: drawn in memory",
                                        "  where to get it: made by the test"]


def test_a_tiny_sweep_runs_on_it(blobs, tmp_path, capsys):
    out = tmp_path / "sweep"
    settings = ["data.name=blobs", 'data.options={"per_class": 30}', "model.name=mlp",
                "model.width=0.25", "train.epochs=1", "train.drop_epochs=[]", "seeds=0"]
    code = main(["run", "--preset", "mnist1d-cpu", "--method", "Random", "--density", "0.5",
                 "--out", str(out), "--no-progress", *sum((["--set", s] for s in settings), [])])
    assert code == 0, capsys.readouterr().err
    assert "Random d=0.5 seed=0: accuracy" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["data"]["name"] == "blobs"


def test_a_source_without_help_text_lists_fine(register, capsys):
    register(DatasetSource("bare", load_blobs, "no help text", root="none"))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "bare: no help text\n" in out and "layout: not documented" in out
    assert main(["data", "list", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "bare")
    assert row["layout"] == row["where"] == "not documented" and row["class_names"] is None
    assert str(missing_error("bare", "/x", "gone")) == "bare: /x: gone"  # no help lines


def test_duplicates_and_malformed_entries_are_refused(blobs):
    with pytest.raises(ValueError, match="a dataset named 'blobs' is already registered"):
        register_dataset(DatasetSource("blobs", load_blobs, "again", root="none"))
    with pytest.raises(ValueError, match="'cifar10' is already registered"):
        register_dataset(DatasetSource("cifar10", load_blobs, "a second cifar10"))
    with pytest.raises(ValueError, match="takes a DatasetSource, got dict"):
        register_dataset({"name": "blobs2"})
    with pytest.raises(ValueError, match=r"lower case with '-'.*use 'my-blobs'"):
        DatasetSource("My_Blobs", load_blobs, "x")
    with pytest.raises(ValueError, match="root must be one of"):
        DatasetSource("blobs2", load_blobs, "x", root="maybe")
    with pytest.raises(ValueError, match="loader must be callable"):
        DatasetSource("blobs2", "load_blobs", "x")
    assert "blobs2" not in DATASETS and DATASETS["blobs"] is blobs


def test_official_splits_is_the_entry_flag(register):
    register(DatasetSource("official", load_official, "own val split", root="none",
                           official_splits=True))
    splits = load_dataset("official")
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 12, 12)
    with pytest.raises(ValueError, match="official uses its official train/val/test splits"):
        load_dataset("official", val_fraction=0.3)
    register(DatasetSource("liar", load_official, "says it has no val split", root="none"))
    with pytest.raises(ValueError, match=r"returned DatasetSplits, expected \(train, "
                                         r"official test\)"):
        load_dataset("liar")


def test_fixed_class_names_must_fit_the_loaded_classes(register):
    register(DatasetSource("three", load_blobs, "claims 3 classes", root="none",
                           class_names=("a", "b", "c")))
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        load_dataset("three")


def test_the_worked_example_of_the_docs_runs(request, capsys):
    section = DATA_DOCS.read_text().split("## Adding a dataset\n", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    request.addfinalizer(lambda: DATASETS.pop("spirals", None))
    exec(compile(block, str(DATA_DOCS), "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.strip() == "100 50 50 ('inner', 'outer')"
    assert main(["data", "info", "spirals", "--option", "n=50", "--no-fingerprint"]) == 0
    assert "spirals: 2 classes" in capsys.readouterr().out
