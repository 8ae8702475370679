"""idx readers (Fashion-MNIST / MNIST): happy paths on fabricated files and every error."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from .data_formats import IDX_NAMES, idx_bytes, write_idx

from droprune.data import DatasetFormatError, load_fashion_mnist, load_mnist, read_idx
from droprune.data.idx import FASHION_MNIST_CLASSES, find_idx_files


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trips_gzipped_and_plain(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x", arr, gz=gz)
    out = read_idx(path, expect_magic=2051)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    arr = np.array([3, 1, 4], dtype=np.uint8)
    path = tmp_path / "labels-without-gz-suffix"
    path.write_bytes(gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(read_idx(path, expect_magic=2049), arr)


@pytest.mark.parametrize("gz", [True, False])
def test_load_fashion_mnist_from_fabricated_files(idx_tree, gz):
    tree = idx_tree(gz=gz)
    train, test = load_fashion_mnist(tree["root"])
    assert train.inputs.shape == (40, 1, 28, 28) and train.inputs.dtype == torch.uint8
    assert test.inputs.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(train.inputs[:, 0].numpy(), tree["arrays"]["train_images"])
    np.testing.assert_array_equal(test.labels, tree["arrays"]["test_labels"])
    assert train.labels.dtype == np.int64
    assert train.class_names == FASHION_MNIST_CLASSES and train.num_classes == 10
    assert train.name == "fashion-mnist"
    pixels = tree["arrays"]["train_images"] / 255.0
    assert train.mean[0] == pytest.approx(pixels.mean(), rel=1e-12)
    assert train.std[0] == pytest.approx(pixels.std(), rel=1e-12)
    assert test.mean == train.mean  # statistics of the TRAIN split everywhere


@pytest.mark.parametrize("sub", ["raw", "FashionMNIST/raw"])
def test_torchvision_layouts_are_found(idx_tree, tmp_path, sub):
    root = tmp_path / "tv"
    idx_tree(root / sub)
    train, _ = load_fashion_mnist(root)
    assert len(train) == 40


def test_mnist_torchvision_layout_and_dotted_names(idx_tree, tmp_path):
    root = tmp_path / "tv"
    tree = idx_tree(root / "MNIST" / "raw", gz=False)
    for path in tree["paths"].values():  # Kaggle-style names: train-images.idx3-ubyte
        path.rename(path.with_name(path.name[::-1].replace("-", ".", 1)[::-1]))
    train, test = load_mnist(root)
    assert train.class_names == tuple(str(k) for k in range(10))
    assert (len(train), len(test)) == (40, 20) and train.name == "mnist"


def test_missing_root_names_the_path_and_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_fashion_mnist(tmp_path / "nowhere")
    msg = str(err.value)
    assert str(tmp_path / "nowhere") in msg and "no such folder" in msg
    assert "dataset-fashion-mnist" in msg and "train-images-idx3-ubyte" in msg


def test_mnist_needs_a_root():
    with pytest.raises(FileNotFoundError, match="no root given"):
        load_mnist(None)


def test_missing_file_lists_the_searched_folders(idx_tree):
    tree = idx_tree()
    tree["paths"]["test_labels"].unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_fashion_mnist(tree["root"])
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg and "missing test labels file" in msg
    assert str(tree["root"] / "raw") in msg


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx_gives_expected_and_actual_bytes(tmp_path, gz):
    arr = np.zeros((5, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / "images", arr, gz=gz, cut=100)
    expected = 16 + 5 * 28 * 28
    with pytest.raises(DatasetFormatError) as err:
        read_idx(path, expect_magic=2051, dataset="fashion-mnist")
    msg = str(err.value)
    assert str(path) in msg and "truncated" in msg
    assert f"{expected} bytes" in msg and f"got {expected - 100}" in msg


def test_trailing_bytes_are_refused(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8)) + b"\0\0")
    with pytest.raises(DatasetFormatError, match="trailing bytes"):
        read_idx(path, expect_magic=2049)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((2, 4, 4), dtype=np.uint8)))[:-12])
    with pytest.raises(DatasetFormatError, match="truncated or corrupt gzip") as err:
        read_idx(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("magic", [2049, 0x12345678, 0x0000FF03])
def test_bad_magic_number(tmp_path, magic):
    path = write_idx(tmp_path / "images", np.zeros((2, 4, 4), dtype=np.uint8), magic=magic,
                     gz=False)
    with pytest.raises(DatasetFormatError, match=f"bad idx magic number {magic}") as err:
        read_idx(path, expect_magic=2051)
    assert "expected 2051" in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"\0\0\x08"])
def test_empty_or_tiny_file(tmp_path, content):
    path = tmp_path / "x"
    path.write_bytes(content)
    with pytest.raises(DatasetFormatError, match="too short for an idx header"):
        read_idx(path)


def test_header_truncated_inside_the_dimensions(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))
    with pytest.raises(DatasetFormatError, match="header truncated: 8 bytes.*needs 16"):
        read_idx(path)


def test_labels_and_images_count_mismatch(idx_tree):
    tree = idx_tree()
    write_idx(tree["paths"]["train_labels"], np.zeros(39, dtype=np.uint8))
    with pytest.raises(DatasetFormatError) as err:
        load_fashion_mnist(tree["root"])
    msg = str(err.value)
    assert "39 labels but 40 images" in msg and str(tree["paths"]["train_images"]) in msg


def test_label_out_of_range(idx_tree):
    tree = idx_tree()
    write_idx(tree["paths"]["test_labels"], np.full(20, 10, dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match=r"label 10 outside \[0, 10\)"):
        load_fashion_mnist(tree["root"])


def test_train_and_test_image_sizes_must_agree(idx_tree):
    tree = idx_tree()
    write_idx(tree["paths"]["test_images"], np.zeros((20, 14, 14), dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match=r"test images are \(14, 14\)"):
        load_fashion_mnist(tree["root"])


def test_find_idx_files_prefers_root_then_raw(idx_tree, tmp_path):
    root = tmp_path / "both"
    idx_tree(root)
    idx_tree(root / "raw")
    found = find_idx_files(root)
    assert set(found) == set(IDX_NAMES)
    assert all(p.parent == root for p in found.values())
