"""The real Fashion-MNIST files of the Debian package ``dataset-fashion-mnist``.

Skipped when the package is absent, unless ``DROPRUNE_REQUIRE_FASHION_MNIST=1`` (CI sets it
after installing the package): then a missing file is a FAILURE, not a skip.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from droprune.data import load_dataset, load_fashion_mnist
from droprune.data.idx import DEBIAN_FASHION_MNIST

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def require_files(folder):
    """Fail (when required by the environment) or skip if a file is missing from ``folder``."""
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        message = (f"Fashion-MNIST files missing from {folder}: {missing} "
                   f"(apt-get install dataset-fashion-mnist)")
        if os.environ.get("DROPRUNE_REQUIRE_FASHION_MNIST") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def fashion():
    require_files(DEBIAN_FASHION_MNIST)
    return load_fashion_mnist()  # the default root is the Debian directory


def test_missing_files_fail_when_required_and_skip_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("DROPRUNE_REQUIRE_FASHION_MNIST", "1")
    with pytest.raises(pytest.fail.Exception, match="files missing"):
        require_files(tmp_path)
    monkeypatch.delenv("DROPRUNE_REQUIRE_FASHION_MNIST")
    with pytest.raises(pytest.skip.Exception, match="files missing"):
        require_files(tmp_path)


def test_sizes_labels_and_class_balance(fashion):
    train, test = fashion
    assert train.inputs.shape == (60000, 1, 28, 28) and train.inputs.dtype == torch.uint8
    assert test.inputs.shape == (10000, 1, 28, 28)
    assert train.labels.min() == 0 and train.labels.max() == 9
    assert train.class_sizes.tolist() == [6000] * 10
    assert test.class_sizes.tolist() == [1000] * 10
    assert train.class_names[0] == "T-shirt/top" and train.class_names[9] == "Ankle boot"


def test_pixels_are_images_not_noise(fashion):
    train, _ = fashion
    # the published Fashion-MNIST statistics: mean 0.2860, std 0.3530 (after /255)
    assert train.mean[0] == pytest.approx(0.2860, abs=5e-4)
    assert train.std[0] == pytest.approx(0.3530, abs=5e-4)
    # images have a dark border: the corner pixel is 0 in almost every image
    assert float((train.inputs[:, 0, 0, 0] == 0).float().mean()) > 0.95


def test_default_splits_half_of_each_test_class(fashion):
    splits = load_dataset("fashion-mnist")
    assert splits.val.class_sizes.tolist() == [500] * 10
    assert splits.test.class_sizes.tolist() == [500] * 10
    assert np.intersect1d(splits.val.source_indices, splits.test.source_indices).size == 0
