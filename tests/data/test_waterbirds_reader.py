"""Waterbirds reader: official splits, (y, place) groups, and every metadata error."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from droprune.data import DatasetFormatError, load_dataset, load_waterbirds
from droprune.data.waterbirds import WATERBIRDS_GROUPS


def _rows(root):
    with (root / "metadata.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write(root, rows, header=None):
    header = header or list(rows[0])
    with (root / "metadata.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def test_official_splits_labels_and_groups(waterbirds_tree):
    root = waterbirds_tree(rows_per_split=8)
    splits = load_waterbirds(root, image_size=16)
    rows = _rows(root)
    for s, ds in enumerate((splits.train, splits.val, splits.test)):
        mine = [r for r in rows if int(r["split"]) == s]
        assert len(ds) == len(mine) == 8
        np.testing.assert_array_equal(ds.labels, [int(r["y"]) for r in mine])
        np.testing.assert_array_equal(ds.groups, [2 * int(r["y"]) + int(r["place"])
                                                  for r in mine])
        np.testing.assert_array_equal(ds.source_indices, np.arange(8) + 8 * s)
        assert ds.split == ("train", "val", "test")[s]
    assert splits.train.group_names == WATERBIRDS_GROUPS and splits.train.num_groups == 4
    assert splits.train.class_names == ("landbird", "waterbird")
    x, y, i = splits.val[3]
    assert x.shape == (3, 16, 16) and x.dtype == torch.uint8 and i == 3
    assert splits.val.inputs.files[3] == rows[8 + 3]["img_filename"]


def test_parent_folder_and_load_dataset(waterbirds_tree):
    root = waterbirds_tree()
    splits = load_dataset("waterbirds", root.parent, image_size=16)  # the extracted archive
    assert (len(splits.train), len(splits.val), len(splits.test)) == (8, 8, 8)
    with pytest.raises(ValueError, match="official train/val/test splits"):
        load_dataset("waterbirds", root, val_fraction=0.3)


def test_imbalance_applies_to_train_only(waterbirds_tree):
    root = waterbirds_tree(rows_per_split=8)
    splits = load_dataset("waterbirds", root, imbalance=2, image_size=16)
    assert splits.train.class_sizes.tolist() == [4, 2]
    assert len(splits.val) == 8 and len(splits.test) == 8
    assert splits.train.groups.size == 6


def test_missing_root_and_metadata(tmp_path):
    with pytest.raises(FileNotFoundError, match="waterbird_complete95_forest2water2"):
        load_waterbirds(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="metadata.csv: no such file"):
        load_waterbirds(tmp_path / "empty")


def test_missing_columns_are_listed(waterbirds_tree):
    root = waterbirds_tree(columns=["img_id", "img_filename", "y", "split"])
    with pytest.raises(DatasetFormatError, match=r"missing column\(s\) \['place'\]"):
        load_waterbirds(root)


def test_missing_image_files_are_counted(waterbirds_tree):
    root = waterbirds_tree()
    rows = _rows(root)
    for r in rows[:2]:
        (root / r["img_filename"]).unlink()
    with pytest.raises(FileNotFoundError, match=r"2 of 24 images listed in metadata.csv"):
        load_waterbirds(root)


@pytest.mark.parametrize("column, value, match", [
    ("y", "2", r"column 'y' row 3 is 2: expected one of \[0, 1\]"),
    ("split", "x", r"column 'split' row 3 is 'x': expected an integer"),
    ("place", "-1", r"column 'place' row 3 is -1"),
])
def test_bad_values(waterbirds_tree, column, value, match):
    root = waterbirds_tree()
    rows = _rows(root)
    rows[1][column] = value
    _write(root, rows)
    with pytest.raises(DatasetFormatError, match=match):
        load_waterbirds(root)


@pytest.mark.parametrize("name", ["../x.png", "a/../../x.png", "/etc/passwd", "..\\x.png", ""])
def test_image_paths_must_stay_inside_the_root(waterbirds_tree, name):
    root = waterbirds_tree()
    outside = root.parent / "x.png"
    outside.write_bytes(b"")  # exists, so only the path check can refuse it
    rows = _rows(root)
    rows[1]["img_filename"] = name
    _write(root, rows)
    with pytest.raises(DatasetFormatError, match=r"column 'img_filename' row 3 is .*: give a "
                                                 r"path inside the dataset root"):
        load_waterbirds(root)


def test_empty_split_and_empty_file(waterbirds_tree):
    root = waterbirds_tree()
    rows = [r for r in _rows(root) if r["split"] != "1"]
    _write(root, rows)
    with pytest.raises(DatasetFormatError, match=r"no row has split=1 \(val\)"):
        load_waterbirds(root)
    _write(root, [], header=list(rows[0]))
    with pytest.raises(DatasetFormatError, match="no rows after the header"):
        load_waterbirds(root)


def test_corrupt_image_is_found_by_check(waterbirds_tree):
    from droprune.data import check_dataset

    root = waterbirds_tree()
    assert check_dataset("waterbirds", root, decode="all", image_size=16) == []
    bad = root / _rows(root)[20]["img_filename"]
    bad.write_bytes(b"\xff\xd8 truncated jpeg")
    problems = check_dataset("waterbirds", root, decode="all", image_size=16)
    assert len(problems) == 1 and problems[0].startswith("test split: 1 of 8 checked images")
    assert str(bad) in problems[0]
