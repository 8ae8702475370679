"""TinyImageNet reader on a fabricated tree: layout, decoding, cache, and every error."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from .data_formats import write_image
from PIL import Image

from droprune.data import DatasetFormatError, load_tinyimagenet
from droprune.data.cache import cache_dir


def _base(root):
    return root / "tiny-imagenet-200"


def test_reads_tree_with_sorted_wnids_and_names(tiny_tree):
    root = tiny_tree()
    train, test = load_tinyimagenet(root)
    assert train.inputs.shape == (12, 3, 64, 64) and train.inputs.dtype == torch.uint8
    assert test.inputs.shape == (6, 3, 64, 64)
    # classes are the sorted wnids n01, n02, n03; names = first synonym from words.txt
    assert train.class_names == ("goldfish", "salamander", "bullfrog")
    np.testing.assert_array_equal(train.labels, np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(test.labels, np.arange(6) % 3)
    # pixel data is exactly what Pillow decodes; a grayscale JPEG becomes 3 equal channels
    path = _base(root) / "train" / "n01" / "images" / "n01_1.JPEG"
    expected = np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)
    np.testing.assert_array_equal(train.inputs[1].numpy(), expected)
    gray = train.inputs[0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


def test_words_txt_is_optional(tiny_tree):
    root = tiny_tree()
    os.remove(_base(root) / "words.txt")
    train, _ = load_tinyimagenet(root)
    assert train.class_names == ("n01", "n02", "n03")


def test_second_load_hits_the_cache_and_corrupt_cache_is_rebuilt(tiny_tree, monkeypatch):
    root = tiny_tree()
    train, test = load_tinyimagenet(root)
    files = list(cache_dir().glob("tinyimagenet-*.npz"))
    assert len(files) == 1

    import droprune.data.tinyimagenet as tin

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache holds the arrays")

    with monkeypatch.context() as m:
        m.setattr(tin, "_decode_all", no_decoding)
        cached_train, cached_test = load_tinyimagenet(root)
    assert torch.equal(cached_train.inputs, train.inputs)
    assert cached_test.fingerprint() == test.fingerprint()

    files[0].write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt, _ = load_tinyimagenet(root)
    assert torch.equal(rebuilt.inputs, train.inputs)
    assert np.load(files[0])["x"].shape == (12, 3, 64, 64)


def test_changed_file_gives_a_new_cache_entry(tiny_tree):
    root = tiny_tree()
    load_tinyimagenet(root)
    changed = write_image(_base(root) / "val" / "images" / "val_0.JPEG", (64, 64), seed=999)
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later write, surely
    _, test = load_tinyimagenet(root)
    assert len(list(cache_dir().glob("tinyimagenet-*.npz"))) == 2
    expected = np.asarray(Image.open(_base(root) / "val" / "images" / "val_0.JPEG"))
    np.testing.assert_array_equal(test.inputs[0].numpy().transpose(1, 2, 0), expected)


def test_without_cache_nothing_is_written(tiny_tree):
    load_tinyimagenet(tiny_tree(), cache=False)
    assert not list(cache_dir().glob("*.npz"))


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="tiny-imagenet-200.zip"):
        load_tinyimagenet(tmp_path / "none")


@pytest.mark.parametrize("rel, what", [
    ("wnids.txt", "wnids.txt: no such file"),
    ("val/val_annotations.txt", "val_annotations.txt: no such file"),
])
def test_missing_files(tiny_tree, rel, what):
    root = tiny_tree()
    os.remove(_base(root) / rel)
    with pytest.raises(FileNotFoundError, match=what):
        load_tinyimagenet(root)


def test_missing_class_folder(tiny_tree):
    root = tiny_tree()
    for f in (_base(root) / "train" / "n02" / "images").iterdir():
        f.unlink()
    (_base(root) / "train" / "n02" / "images").rmdir()
    with pytest.raises(FileNotFoundError, match="training images of class n02"):
        load_tinyimagenet(root)


def test_class_without_images(tiny_tree):
    root = tiny_tree()
    for f in (_base(root) / "train" / "n03" / "images").iterdir():
        f.unlink()
    with pytest.raises(DatasetFormatError, match="no images for class n03"):
        load_tinyimagenet(root)


def test_annotated_image_missing(tiny_tree):
    root = tiny_tree()
    os.remove(_base(root) / "val" / "images" / "val_3.JPEG")
    with pytest.raises(FileNotFoundError, match="val_3.JPEG: annotated in .* line 4"):
        load_tinyimagenet(root)


def test_unannotated_validation_image(tiny_tree):
    root = tiny_tree()
    write_image(_base(root) / "val" / "images" / "val_99.JPEG", (64, 64), seed=5)
    with pytest.raises(DatasetFormatError, match="1 validation image"):
        load_tinyimagenet(root)


@pytest.mark.parametrize("line, match", [
    ("val_0.JPEG n01 0 0 63 63", "expected '<file>"),
    ("val_0.JPEG\tn99\t0\t0\t63\t63", "wnid 'n99' is not in wnids.txt"),
])
def test_malformed_annotations(tiny_tree, line, match):
    root = tiny_tree()
    ann = _base(root) / "val" / "val_annotations.txt"
    lines = ann.read_text().splitlines()
    ann.write_text("\n".join([line] + lines[1:]) + "\n")
    with pytest.raises(DatasetFormatError, match=match):
        load_tinyimagenet(root)


def test_duplicate_and_empty_wnids(tiny_tree):
    root = tiny_tree()
    (_base(root) / "wnids.txt").write_text("n01\nn01\n")
    with pytest.raises(DatasetFormatError, match="lists a wnid twice"):
        load_tinyimagenet(root)
    (_base(root) / "wnids.txt").write_text("\n")
    with pytest.raises(DatasetFormatError, match="empty"):
        load_tinyimagenet(root)


def test_corrupt_jpeg_names_the_file(tiny_tree):
    root = tiny_tree()
    bad = _base(root) / "train" / "n02" / "images" / "n02_2.JPEG"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DatasetFormatError) as err:
        load_tinyimagenet(root, cache=False)
    assert str(bad) in str(err.value) and "cannot decode image" in str(err.value)


def test_wrong_image_size(tiny_tree):
    root = tiny_tree()
    write_image(_base(root) / "train" / "n01" / "images" / "n01_2.JPEG", (32, 64), seed=3)
    with pytest.raises(DatasetFormatError, match="image is 32x64, TinyImageNet images are 64x64"):
        load_tinyimagenet(root, cache=False)


def test_parallel_decoding_matches_serial_and_reports_errors(tiny_tree, monkeypatch):
    import droprune.data.tinyimagenet as tin

    root = tiny_tree()
    serial, _ = load_tinyimagenet(root, cache=False, workers=1)
    monkeypatch.setattr(tin, "_PARALLEL_MIN", 1)
    parallel, _ = load_tinyimagenet(root, cache=False, workers=2)
    assert torch.equal(parallel.inputs, serial.inputs)
    bad = _base(root) / "val" / "images" / "val_5.JPEG"
    bad.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(DatasetFormatError, match="val_5.JPEG: cannot decode image"):
        load_tinyimagenet(root, cache=False, workers=2)
