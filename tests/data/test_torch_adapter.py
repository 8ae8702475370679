"""from_torch_dataset: labels from .targets or read once, inputs converted to tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from droprune.data import from_torch_dataset, iter_batches
from droprune.data.adapter import to_tensor


class WithTargets(torch.utils.data.Dataset):
    classes = ["a", "b", "c"]

    def __init__(self, n=9):
        self.targets = torch.arange(n) % 3
        self.reads = 0

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        self.reads += 1
        img = Image.fromarray(np.full((4, 5, 3), i, dtype=np.uint8))
        return img, int(self.targets[i])


class NoTargets(torch.utils.data.Dataset):
    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return torch.full((2, 3), float(i)), self.labels[i]


def test_targets_are_used_without_reading_items():
    src = WithTargets()
    ds = from_torch_dataset(src, name="mine")
    assert src.reads == 0
    assert ds.num_classes == 3 and ds.class_names == ("a", "b", "c") and ds.name == "mine"
    np.testing.assert_array_equal(ds.labels, np.arange(9) % 3)
    x, y, i = ds[4]
    assert x.shape == (3, 4, 5) and x.dtype == torch.uint8 and int(x[0, 0, 0]) == 4
    assert (y, i) == (1, 4) and not ds.in_memory


def test_labels_are_read_once_when_there_are_no_targets():
    ds = from_torch_dataset(NoTargets([0, 2, 1, 2, torch.tensor(0)]))
    np.testing.assert_array_equal(ds.labels, [0, 2, 1, 2, 0])
    assert ds.num_classes == 3
    batches = list(iter_batches(ds, 2))
    assert torch.equal(torch.cat([b[0] for b in batches])[:, 0, 0], torch.arange(5.0))


def test_explicit_num_classes_names_and_normalisation():
    ds = from_torch_dataset(NoTargets([0, 1]), num_classes=4, class_names="wxyz",
                            mean=[0.5, 0.5], std=[2, 2])
    assert ds.num_classes == 4 and ds.class_names == ("w", "x", "y", "z")
    assert ds.mean == (0.5, 0.5) and ds.std == (2.0, 2.0)


@pytest.mark.parametrize("x, shape, dtype", [
    (np.zeros((6, 7, 3), np.uint8), (3, 6, 7), torch.uint8),
    (np.zeros((6, 7, 1), np.uint8), (1, 6, 7), torch.uint8),
    (np.zeros((6, 7, 3), np.float32), (6, 7, 3), torch.float32),
    (Image.new("L", (5, 4)), (1, 4, 5), torch.uint8),
    (3.5, (), torch.float64),
])
def test_to_tensor(x, shape, dtype):
    out = to_tensor(x)
    assert tuple(out.shape) == shape and out.dtype == dtype


@pytest.mark.parametrize("labels, match", [
    ([0, 1.5], "label 1.5, expected an integer"),
    ([0, -1], "must be >= 0"),
])
def test_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        from_torch_dataset(NoTargets(labels))


def test_bad_datasets():
    with pytest.raises(ValueError, match="map-style dataset"):
        from_torch_dataset(object())
    with pytest.raises(ValueError, match="empty"):
        from_torch_dataset([])
    with pytest.raises(ValueError, match=r"not an \(input, label\) pair"):
        from_torch_dataset([np.zeros(3)])
    with pytest.raises(ValueError, match=r"\.targets has 5 entries but the dataset has 9"):
        from_torch_dataset(_Mismatch())


class _Mismatch(WithTargets):
    """``targets`` shorter than the dataset."""

    def __init__(self):
        super().__init__(9)
        self.targets = self.targets[:5]

    def __len__(self):
        return 9
