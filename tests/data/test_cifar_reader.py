"""CIFAR-10/100 readers on fabricated official pickles: happy paths and every error."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from .data_formats import cifar_batch, write_pickle

from droprune.data import DatasetFormatError, load_cifar10, load_cifar100
from droprune.data.cifar import read_cifar_batch


def test_cifar10_reads_batches_in_order(cifar10_tree):
    root = cifar10_tree(n=20, n_test=10)
    train, test = load_cifar10(root)
    assert train.inputs.shape == (100, 3, 32, 32) and train.inputs.dtype == torch.uint8
    assert test.inputs.shape == (10, 3, 32, 32)
    # row layout: 1024 R, 1024 G, 1024 B values, row-major -> (3, 32, 32)
    first = cifar_batch(20, 10, b"labels", 1)[b"data"][0]
    np.testing.assert_array_equal(train.inputs[0, 1].numpy().ravel(), first[1024:2048])
    second = cifar_batch(20, 10, b"labels", 2)[b"data"][0]
    np.testing.assert_array_equal(train.inputs[20].numpy().ravel(), second)
    np.testing.assert_array_equal(train.labels, np.tile(np.arange(20) % 10, 5))
    assert train.class_names[0] == "airplane" and train.class_names[-1] == "truck"
    data = train.inputs.numpy() / 255.0
    np.testing.assert_allclose(train.mean, data.mean(axis=(0, 2, 3)), rtol=1e-10)
    np.testing.assert_allclose(train.std, data.std(axis=(0, 2, 3)), rtol=1e-10)


def test_cifar10_root_may_be_the_batches_folder_itself(cifar10_tree):
    root = cifar10_tree()
    train, _ = load_cifar10(root / "cifar-10-batches-py")
    assert len(train) == 100


def test_cifar100_uses_fine_labels(cifar100_tree):
    train, test = load_cifar100(cifar100_tree())
    assert train.num_classes == 100 and len(train) == 200 and len(test) == 100
    np.testing.assert_array_equal(train.labels, np.arange(200) % 100)
    assert train.class_names[7] == "fine7"


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_cifar10(tmp_path / "absent")
    msg = str(err.value)
    assert str(tmp_path / "absent") in msg and "cifar-10-python.tar.gz" in msg


def test_missing_batch_is_reported_before_reading(cifar10_tree):
    root = cifar10_tree()
    os.remove(root / "cifar-10-batches-py" / "data_batch_4")
    with pytest.raises(FileNotFoundError, match="data_batch_4: no such file"):
        load_cifar10(root)


def test_missing_meta(cifar100_tree):
    root = cifar100_tree()
    os.remove(root / "cifar-100-python" / "meta")
    with pytest.raises(FileNotFoundError, match="meta: no such file"):
        load_cifar100(root)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_pickle(cifar10_tree, damage):
    root = cifar10_tree()
    path = root / "cifar-10-batches-py" / "data_batch_2"
    raw = path.read_bytes()
    path.write_bytes({"truncate": raw[:len(raw) // 2], "garbage": b"not a pickle at all",
                      "empty": b""}[damage])
    with pytest.raises(DatasetFormatError) as err:
        load_cifar10(root)
    assert "corrupt or truncated pickle" in str(err.value) and str(path) in str(err.value)


def test_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DatasetFormatError, match="refusing to load the global"):
        read_cifar_batch(path)


def test_pickle_that_is_not_a_dict(tmp_path):
    path = write_pickle(tmp_path / "test_batch", [1, 2, 3])
    with pytest.raises(DatasetFormatError, match="expected a pickled dict, got list"):
        read_cifar_batch(path)


def test_missing_keys(tmp_path):
    batch = cifar_batch(4, 10, b"labels", 0)
    del batch[b"labels"]
    path = write_pickle(tmp_path / "test_batch", batch)
    with pytest.raises(DatasetFormatError, match=r"missing key\(s\) \['labels'\]"):
        read_cifar_batch(path)


def test_cifar100_batch_without_fine_labels(cifar100_tree):
    root = cifar100_tree()
    batch = cifar_batch(10, 100, b"coarse_labels", 0)
    write_pickle(root / "cifar-100-python" / "test", batch)
    with pytest.raises(DatasetFormatError, match="fine_labels"):
        load_cifar100(root)


@pytest.mark.parametrize("data", [np.zeros((4, 3071), np.uint8), np.zeros((4, 3072), np.float32),
                                  np.zeros(3072, np.uint8), [[0] * 3072] * 4])
def test_wrong_data_shape_or_dtype(tmp_path, data):
    batch = cifar_batch(4, 10, b"labels", 0)
    batch[b"data"] = data
    path = write_pickle(tmp_path / "data_batch_1", batch)
    with pytest.raises(DatasetFormatError, match=r"uint8 array of shape \(N, 3072\)"):
        read_cifar_batch(path)


def test_label_count_mismatch(tmp_path):
    batch = cifar_batch(4, 10, b"labels", 0)
    batch[b"labels"] = batch[b"labels"][:3]
    path = write_pickle(tmp_path / "data_batch_1", batch)
    with pytest.raises(DatasetFormatError, match="3 labels for 4 images"):
        read_cifar_batch(path)


def test_labels_out_of_range_and_not_integers(tmp_path):
    batch = cifar_batch(4, 10, b"labels", 0)
    batch[b"labels"] = [0, 1, 2, 10]
    path = write_pickle(tmp_path / "a", batch)
    with pytest.raises(DatasetFormatError, match=r"labels must be in \[0, 10\)"):
        read_cifar_batch(path)
    for i, labels in enumerate((["cat"] * 4, [0.0, 1.7, 2.0, 3.0], [0.0, np.nan, 1.0, 2.0],
                                [True, False, True, False])):
        batch[b"labels"] = labels
        path = write_pickle(tmp_path / f"b{i}", batch)
        with pytest.raises(DatasetFormatError, match="not a list of integers"):
            read_cifar_batch(path)
    batch[b"labels"] = [0.0, 1.0, 2.0, 3.0]  # integer-valued floats are integers
    _, labels = read_cifar_batch(write_pickle(tmp_path / "c", batch))
    assert labels.tolist() == [0, 1, 2, 3] and labels.dtype == np.int64


def test_meta_with_wrong_number_of_names(cifar10_tree):
    root = cifar10_tree()
    write_pickle(root / "cifar-10-batches-py" / "batches.meta", {b"label_names": [b"a", b"b"]})
    with pytest.raises(DatasetFormatError, match="2 names in 'label_names', expected 10"):
        load_cifar10(root)
