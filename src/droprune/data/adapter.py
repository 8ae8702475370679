"""Bring your own data: :func:`as_labelled` turns what a user has into a
:class:`LabelledDataset`; :func:`from_torch_dataset` wraps any map-style torch ``Dataset``.

:func:`as_labelled` is the one entry point (``train``, ``evaluate``, ``predict_logits``,
``posthoc_scores`` and ``DatasetSplits`` call it): a ``LabelledDataset`` is returned as it is;
a ``TensorDataset`` ``(x, y)``, a ``Subset`` of one, or arrays ``(x, y)`` (numpy or torch) are
held in memory as one tensor (the fast path: batches are sliced, no per-item Python); any other
map-style dataset of ``(x, y)`` items stays lazy (:func:`from_torch_dataset`).

Labels of a wrapped dataset come from the dataset's ``targets`` attribute when it has one
(torchvision datasets do), or from ``labels=``; otherwise every item is read once, with a
progress bar, to collect them. Inputs stay lazy: item ``i`` is ``dataset[i][0]`` converted
to a tensor (a PIL image becomes uint8 (C, H, W); a numpy array of shape (H, W, C) with C in
{1, 3, 4} and dtype uint8 is taken as an image and transposed to (C, H, W); other arrays and
numbers become tensors as they are).

Apply ``ToTensor``/``Normalize`` in your dataset or pass ``mean``/``std`` here (in the units of
the converted input, uint8 divided by 255), but not both.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .._checks import as_labels, infer_num_classes
from .base import LabelledDataset

__all__ = ["as_labelled", "from_torch_dataset", "to_tensor"]

#: how to give labels that cannot be read (the end of every such error message)
_LABELS_HINT = "pass labels= (one integer class per item, e.g. as_labelled(data, labels=y))"


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
        item = self.dataset[int(i)]
        if isinstance(item, dict):
            raise ValueError(_dict_keys_message(self.name, list(item)))
        return to_tensor(item[0])

    @property
    def fingerprint_key(self) -> tuple[str, str, int]:
        return self.name, type(self.dataset).__name__, len(self.dataset)


def _read_labels(dataset: Any, name: str) -> np.ndarray:
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return _given_labels(targets, len(dataset), ".targets", name)
    from .._progress import progress_bar

    out = np.empty(len(dataset), dtype=np.int64)
    with progress_bar(len(dataset), f"reading {name} labels", unit="item") as bar:
        for i in range(len(dataset)):
            item = dataset[i]
            if isinstance(item, dict):
                raise ValueError(_dict_keys_message(name, list(item)))
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise ValueError(f"{name}: item {i} is not an (input, label) pair; wrap the "
                                 f"dataset so that items are (x, y), or {_LABELS_HINT}")
            out[i] = _integer_label(item[1], i, name)
            bar.update(1)
    return as_labels(out)


def _integer_label(y: Any, i: int, name: str) -> int:
    """The integer class of item ``i`` (a Python or numpy number, or a one-element tensor)."""
    try:
        value = y.item() if isinstance(y, (torch.Tensor, np.ndarray)) else y
        ok = not isinstance(value, (bool, np.bool_)) and float(value).is_integer()
    except (TypeError, ValueError, RuntimeError):
        ok = False
    if not ok:
        raise ValueError(f"{name}: item {i} has label {y!r}, expected an integer class; "
                         f"{_LABELS_HINT}")
    return int(value)


def _given_labels(labels: Any, size: int, what: str, name: str) -> np.ndarray:
    """Labels given as an array, tensor or sequence, checked against the number of items."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        raise ValueError(f"{name}: {what} must hold one integer class per sample, got shape "
                         f"{labels.shape} (one-hot or scores? pass their argmax(1))")
    labels = as_labels(labels, name=f"{name}: {what}")
    if labels.size != size:
        raise ValueError(f"{name}: {what} has {labels.size} entries but the dataset has {size} "
                         f"items")
    return labels


class _KeyedItems:
    """A view of a dataset of dict items (Hugging Face ``datasets``) as ``(input, label)``
    items; ``targets`` reads the label column at once when the dataset has columns."""

    def __init__(self, dataset: Any, input_key: str, label_key: str | None) -> None:
        self.dataset, self.input_key, self.label_key = dataset, input_key, label_key

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        item = self.dataset[int(i)]
        return item[self.input_key], None if self.label_key is None else item[self.label_key]

    @property
    def targets(self) -> Any:
        if self.label_key is None or not hasattr(self.dataset, "column_names"):
            return None
        return np.asarray(self.dataset[self.label_key])

    @property
    def classes(self) -> Any:
        """Class names of a ``datasets`` ``ClassLabel`` label column, else None."""
        feature = getattr(self.dataset, "features", None) or {}
        return getattr(feature.get(self.label_key), "names", None) if self.label_key else None


def _dict_keys_message(name: str, keys: list[Any]) -> str:
    return (f"{name}: items are dicts with keys {keys}; name the input and label keys, e.g. "
            f"as_labelled(data, input_key={keys[0]!r}, label_key={keys[-1]!r})")


def _keyed(data: Any, input_key: str | None, label_key: str | None, labels: Any,
           name: str) -> Any:
    """``data`` as (input, label) items when its items are dicts and the keys are named
    (checked on item 0), ``data`` itself otherwise; a ``datasets.Dataset`` (it has
    ``column_names``) without the keys is refused without reading an item. Other dict items
    without the keys are refused where their labels are read, or when an input is read."""
    if input_key is None and label_key is None:
        columns = getattr(data, "column_names", None)
        if isinstance(columns, list) and columns:
            raise ValueError(_dict_keys_message(name, columns))
        return data
    if len(data) == 0:
        raise ValueError(f"{name}: the dataset is empty")
    first = data[0]
    if not isinstance(first, dict):
        raise ValueError(f"{name}: input_key/label_key are for datasets of dict items, but "
                         f"item 0 is a {type(first).__name__}")
    keys = list(first)
    if input_key is None or (label_key is None and labels is None):
        raise ValueError(_dict_keys_message(name, keys))
    for what, key in (("input_key", input_key), ("label_key", label_key)):
        if key is not None and key not in first:
            raise ValueError(f"{name}: {what}={key!r} is not a key of the items; they have "
                             f"{keys}")
    return _KeyedItems(data, input_key, None if labels is not None else label_key)


def from_torch_dataset(dataset: Any, num_classes: int | None = None,
                       class_names: Sequence[str] | None = None, name: str = "custom", *,
                       mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                       groups: np.ndarray | None = None,
                       labels: Any = None) -> LabelledDataset:
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
    labels
        The class of every item (N,), when the dataset has no ``targets`` and its items do not
        carry integer labels; then no item is read for its label.

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
    labels = _read_labels(dataset, name) if labels is None else \
        _given_labels(labels, len(dataset), "labels", name)
    classes = getattr(dataset, "classes", None)
    if class_names is None and classes is not None:
        class_names = tuple(str(c) for c in classes)
    if num_classes is None:
        num_classes = len(class_names) if class_names is not None else \
            infer_num_classes((f"{name}: labels", labels))
    return LabelledDataset(TorchInputs(dataset, name), labels, num_classes=int(num_classes),
                           name=name, class_names=None if class_names is None
                           else tuple(class_names), groups=groups,
                           mean=None if mean is None else tuple(float(m) for m in mean),
                           std=None if std is None else tuple(float(s) for s in std))


def _inputs_tensor(x: Any, name: str) -> torch.Tensor:
    """In-memory inputs (N, ...) on the CPU; floating inputs as float32 (what ``to_float``
    would turn every batch into), uint8 images kept as they are."""
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    if not isinstance(t, torch.Tensor) or t.dim() < 2:
        shape = tuple(getattr(t, "shape", ()))
        raise ValueError(f"{name}: inputs must be an array (N, ...) with one row per sample and "
                         f"at least one feature axis, got shape {shape}; e.g. x[:, None]")
    t = t.detach().cpu()
    return t.to(torch.float32) if torch.is_floating_point(t) else t


def _in_memory(x: Any, y: Any, num_classes: int | None, name: str) -> LabelledDataset:
    inputs = _inputs_tensor(x, name)
    if y is None:
        raise ValueError(f"{name}: the inputs come without labels; {_LABELS_HINT}")
    labels = _given_labels(y, inputs.shape[0], "labels", name)
    k = infer_num_classes((f"{name}: labels", labels)) if num_classes is None else num_classes
    return LabelledDataset(inputs, labels, num_classes=k, name=name)


def _subset_of_known(data: Any) -> bool:
    """A Subset (of a Subset ...) of a TensorDataset or a LabelledDataset."""
    while isinstance(data, torch.utils.data.Subset):
        data = data.dataset
    return isinstance(data, (torch.utils.data.TensorDataset, LabelledDataset))


def as_labelled(data: Any, *, labels: Any = None, num_classes: int | None = None,
                name: str = "custom", input_key: str | None = None,
                label_key: str | None = None) -> LabelledDataset:
    """Turn data in any supported form into a :class:`LabelledDataset` (the one conversion).

    Parameters
    ----------
    data
        One of

        - a :class:`LabelledDataset`: returned as it is;
        - a torch ``TensorDataset`` ``(x, y)`` or a ``Subset`` of one (``random_split``): held
          in memory, batches sliced without per-item Python (as droprune's own datasets); a
          ``Subset`` of a ``LabelledDataset`` becomes its ``subset``;
        - a tuple of arrays ``(x, y)`` (numpy or torch), or an array ``x`` with ``labels=y``:
          in memory as well;
        - any other map-style dataset whose items are ``(x, y, ...)``: wrapped lazily with
          :func:`from_torch_dataset` (labels from ``.targets``, else read once);
        - a map-style dataset of dict items (a Hugging Face ``datasets.Dataset``) with
          ``input_key`` and ``label_key`` naming the keys (its label column is read at once).

        Inputs are (N, C, ...) as the model takes them (uint8 images are scaled to [0, 1] per
        batch; floating inputs are held as float32).
    labels
        The class of every sample, when ``data`` does not carry readable labels (a
        ``TensorDataset`` of inputs only, items without integer labels).
    num_classes
        K; default ``max(label) + 1`` (or ``len(data.classes)`` for a wrapped dataset). Labels
        must lie in ``[0, K)``.
    name
        Name of the data (messages, fingerprints).
    input_key, label_key
        For items that are dicts: the keys of the input and of the integer label
        (``as_labelled(ds, input_key="pixel_values", label_key="label")``); ``label_key`` may
        be left out when ``labels=`` is given. Dict items without them are refused at once.

    Returns
    -------
    LabelledDataset

    Raises
    ------
    ValueError
        For data of another kind, labels that cannot be read (the message says to pass
        ``labels=``), labels outside ``[0, num_classes)`` or of another length than the data.

    Examples
    --------
    >>> import torch
    >>> x, y = torch.randn(6, 1, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    >>> ds = as_labelled(torch.utils.data.TensorDataset(x, y))
    >>> ds.in_memory, ds.num_classes, len(ds)
    (True, 3, 6)
    >>> as_labelled((x.numpy(), y.numpy()), num_classes=4).num_classes
    4
    >>> as_labelled(torch.utils.data.TensorDataset(x))
    Traceback (most recent call last):
    ...
    ValueError: custom: the inputs come without labels; pass labels= (one integer class per item, e.g. as_labelled(data, labels=y))
    """
    if (input_key is not None or label_key is not None) and isinstance(
            data, (LabelledDataset, tuple, np.ndarray, torch.Tensor,
                   torch.utils.data.TensorDataset, torch.utils.data.Subset)):
        raise ValueError(f"{name}: input_key/label_key are for datasets of dict items, not a "
                         f"{type(data).__name__}")
    if isinstance(data, LabelledDataset):
        if labels is not None:
            raise ValueError(f"{name}: labels= is for data without labels, but a "
                             f"LabelledDataset has them; use data.with_labels(labels)")
        if num_classes is not None and num_classes != data.num_classes:
            raise ValueError(f"{name}: num_classes={num_classes} but the dataset has "
                             f"{data.num_classes} classes")
        return data
    if isinstance(data, tuple) and len(data) == 2 \
            and isinstance(data[0], (np.ndarray, torch.Tensor)):
        if labels is not None:
            raise ValueError(f"{name}: give the labels once, as (x, y) or as labels=y")
        return _in_memory(data[0], data[1], num_classes, name)
    if isinstance(data, (np.ndarray, torch.Tensor)):
        return _in_memory(data, labels, num_classes, name)
    if isinstance(data, torch.utils.data.Subset) and labels is None and _subset_of_known(data):
        # the whole dataset converted, then the subset's rows (K from all its labels)
        inner = as_labelled(data.dataset, num_classes=num_classes, name=name)
        return inner.subset(np.asarray(data.indices, dtype=np.int64))
    if isinstance(data, torch.utils.data.TensorDataset):
        tensors = data.tensors
        if labels is not None and len(tensors) > 1:
            raise ValueError(f"{name}: give the labels once, in the TensorDataset (x, y) or as "
                             f"labels=y with TensorDataset(x)")
        y = tensors[1] if len(tensors) > 1 else labels
        return _in_memory(tensors[0], y, num_classes, name)
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise ValueError(f"{name}: expected a LabelledDataset, a map-style torch Dataset of (x, "
                         f"y) items or arrays (x, y), got {type(data).__name__}")
    data = _keyed(data, input_key, label_key, labels, name)
    return from_torch_dataset(data, num_classes, name=name, labels=labels)
