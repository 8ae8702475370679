"""Bring your own data: wrap any map-style torch ``Dataset`` as a :class:`LabelledDataset`.

Labels come from the dataset's ``targets`` attribute when it has one (torchvision datasets do);
otherwise every item is read once, with a progress bar, to collect them. Inputs stay lazy: item
``i`` is ``dataset[i][0]`` converted to a tensor (a PIL image becomes uint8 (C, H, W); a numpy
array of shape (H, W, C) with C in {1, 3, 4} and dtype uint8 is taken as an image and
transposed to (C, H, W); other arrays and numbers become tensors as they are).

Apply ``ToTensor``/``Normalize`` in your dataset or pass ``mean``/``std`` here (in the units of
the converted input, uint8 divided by 255), but not both.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .._checks import as_labels
from .base import LabelledDataset

__all__ = ["from_torch_dataset", "to_tensor"]


def to_tensor(x: Any) -> torch.Tensor:
    """Convert one input (tensor, PIL image, numpy array or number) to a tensor.

    Examples
    --------
    >>> to_tensor(np.zeros((4, 5, 3), dtype=np.uint8)).shape
    torch.Size([3, 4, 5])
    >>> to_tensor(np.zeros((2, 7), dtype=np.float32)).shape
    torch.Size([2, 7])
    """
    if isinstance(x, torch.Tensor):
        return x
    if hasattr(x, "getbands") and hasattr(x, "size"):  # a PIL image
        arr = np.array(x)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    arr = np.asarray(x)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if arr.dtype == object:
        raise ValueError(f"cannot convert an input of type {type(x).__name__} to a tensor")
    return torch.from_numpy(np.array(arr))


class TorchInputs(Sequence):
    """Lazy inputs of a wrapped torch dataset: item i is ``to_tensor(dataset[i][0])``."""

    def __init__(self, dataset: Any, name: str) -> None:
        self.dataset, self.name = dataset, name

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> torch.Tensor:  # type: ignore[override]
        return to_tensor(self.dataset[int(i)][0])

    @property
    def fingerprint_key(self) -> tuple[str, str, int]:
        return self.name, type(self.dataset).__name__, len(self.dataset)


def _read_labels(dataset: Any, name: str) -> np.ndarray:
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        if isinstance(targets, torch.Tensor):
            targets = targets.cpu().numpy()
        labels = as_labels(np.asarray(targets), name=f"{name}.targets")
        if labels.size != len(dataset):
            raise ValueError(f"{name}: .targets has {labels.size} entries but the dataset has "
                             f"{len(dataset)} items")
        return labels
    from tqdm.auto import tqdm

    out = np.empty(len(dataset), dtype=np.int64)
    for i in tqdm(range(len(dataset)), desc=f"reading {name} labels", unit="item",
                  disable=None):
        item = dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ValueError(f"{name}: item {i} is not an (input, label) pair; wrap the "
                             f"dataset so that items are (x, y)")
        y = item[1]
        if isinstance(y, torch.Tensor):
            y = y.item()
        if isinstance(y, bool) or not float(y).is_integer():
            raise ValueError(f"{name}: item {i} has label {y!r}, expected an integer class")
        out[i] = int(y)
    return as_labels(out)


def from_torch_dataset(dataset: Any, num_classes: int | None = None,
                       class_names: Sequence[str] | None = None, name: str = "custom", *,
                       mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                       groups: np.ndarray | None = None) -> LabelledDataset:
    """Wrap a map-style torch ``Dataset`` whose items are ``(input, label, ...)``.

    Parameters
    ----------
    dataset
        Any object with ``__len__`` and ``__getitem__`` (a torch ``Dataset``).
    num_classes
        K; default ``len(dataset.classes)`` when present, else ``max(label) + 1``.
    class_names
        Default ``dataset.classes`` when present.
    name
        Name of the dataset (messages, fingerprints).
    mean, std
        Optional per-channel normalisation applied by ``to_float``.
    groups
        Optional group label per sample.

    Examples
    --------
    >>> items = [(np.zeros((2, 2, 3), dtype=np.uint8), i % 2) for i in range(4)]
    >>> ds = from_torch_dataset(items, name="toy")
    >>> len(ds), ds.num_classes, ds[1][0].shape, ds[1][1:]
    (4, 2, torch.Size([3, 2, 2]), (1, 1))
    """
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
        raise ValueError(f"{name}: expected a map-style dataset (with __len__ and "
                         f"__getitem__), got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"{name}: the dataset is empty")
    labels = _read_labels(dataset, name)
    classes = getattr(dataset, "classes", None)
    if class_names is None and classes is not None:
        class_names = tuple(str(c) for c in classes)
    if num_classes is None:
        num_classes = len(class_names) if class_names is not None else int(labels.max()) + 1
    return LabelledDataset(TorchInputs(dataset, name), labels, num_classes=int(num_classes),
                           name=name, class_names=None if class_names is None
                           else tuple(class_names), groups=groups,
                           mean=None if mean is None else tuple(float(m) for m in mean),
                           std=None if std is None else tuple(float(s) for s in std))
