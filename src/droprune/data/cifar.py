"""CIFAR-10 and CIFAR-100 from the official python-pickle batches.

Layouts (``ROOT`` may be the extracted folder itself or the folder holding it):

- CIFAR-10: ``cifar-10-batches-py/`` with ``data_batch_1`` .. ``data_batch_5``, ``test_batch``
  (dicts with ``data``: uint8 (10000, 3072), ``labels``: 10000 ints) and ``batches.meta``
  (``label_names``).
- CIFAR-100: ``cifar-100-python/`` with ``train``, ``test`` (``data``, ``fine_labels``) and
  ``meta`` (``fine_label_names``). The 100 fine labels are used.

Rows of ``data`` are 1024 red, 1024 green, 1024 blue values of a 32x32 image, row-major, so a
reshape to (N, 3, 32, 32) is the image in channel-first order without copying.

Security: the official files are Python pickles, and unpickling can execute code. droprune's
reader only lets a pickle rebuild plain containers and numpy arrays (any other global is
refused with a ``DatasetFormatError``), but the files should still come from a trusted source
(the official archive).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .base import LabelledDataset
from .layout import dataset_root, format_error, missing_error
from .stats import channel_stats

__all__ = ["load_cifar10", "load_cifar100", "read_cifar_batch", "read_cifar_pickle"]

_NUMPY_CORE = "numpy._core" if hasattr(np, "_core") else "numpy.core"
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler that may only rebuild containers, strings, numbers and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name} (a CIFAR "
                                         f"batch holds only dicts, lists and numpy arrays)")
        if module.startswith("numpy.core") or module.startswith("numpy._core"):
            module = _NUMPY_CORE + module.split("core", 1)[1]
        return super().find_class(module, name)


def read_cifar_pickle(path: str | Path, dataset: str = "cifar10") -> dict[str, Any]:
    """Unpickle one official CIFAR file (``encoding="bytes"``) into a dict with str keys.

    Raises ``FileNotFoundError`` for a missing file and ``DatasetFormatError`` for a truncated
    or corrupt pickle, a pickle that is not a dict, or one that tries to load other code.
    """
    path = Path(path)
    if not path.is_file():
        raise missing_error(dataset, path, "no such file")
    try:
        with path.open("rb") as fh:
            obj = _ArraysOnlyUnpickler(fh, encoding="bytes").load()
    except Exception as exc:  # pickle raises many types on damaged input
        raise format_error(dataset, path, f"corrupt or truncated pickle "
                                          f"({type(exc).__name__}: {exc}); extract the "
                                          f"official archive again") from None
    if not isinstance(obj, dict):
        raise format_error(dataset, path, f"expected a pickled dict, got "
                                          f"{type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def read_cifar_batch(path: str | Path, label_key: str = "labels", *, num_classes: int = 10,
                     dataset: str = "cifar10") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one data batch file.

    Parameters
    ----------
    label_key
        ``"labels"`` (CIFAR-10) or ``"fine_labels"`` (CIFAR-100).
    """
    batch = read_cifar_pickle(path, dataset)
    missing = [k for k in ("data", label_key) if k not in batch]
    if missing:
        raise format_error(dataset, path, f"missing key(s) {missing} (found {sorted(batch)}); "
                                          f"not a {dataset} data batch")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        shape = getattr(data, "shape", None)
        dtype = getattr(data, "dtype", type(data).__name__)
        raise format_error(dataset, path, f"'data' must be a uint8 array of shape (N, 3072), "
                                          f"got shape {shape} and dtype {dtype}")
    not_integers = format_error(dataset, path, f"'{label_key}' is not a list of integers")
    try:
        raw = np.asarray(batch[label_key]).reshape(-1)
        with np.errstate(invalid="ignore"):
            labels = raw.astype(np.int64)
    except (TypeError, ValueError):
        raise not_integers from None
    # floats only when integer-valued: a cast would truncate 1.7 to class 1 without a word
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer) or (
            np.issubdtype(raw.dtype, np.floating) and np.array_equal(labels, raw))):
        raise not_integers
    if labels.size != data.shape[0]:
        raise format_error(dataset, path, f"{labels.size} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise format_error(dataset, path, f"labels must be in [0, {num_classes}), got values "
                                          f"in [{labels.min()}, {labels.max()}]")
    return data.reshape(-1, 3, 32, 32), labels


def _class_names(path: Path, key: str, dataset: str, expected: int) -> tuple[str, ...]:
    meta = read_cifar_pickle(path, dataset)
    if key not in meta:
        raise format_error(dataset, path, f"missing key '{key}' (found {sorted(meta)})")
    names = tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in meta[key])
    if len(names) != expected:
        raise format_error(dataset, path, f"{len(names)} names in '{key}', expected "
                                          f"{expected}")
    return names


def _load_cifar(root: str | Path | None, dataset: str, folder: str, train_files: list[str],
                test_file: str, meta_file: str, names_key: str, label_key: str,
                num_classes: int) -> tuple[LabelledDataset, LabelledDataset]:
    base = dataset_root(root, dataset, folder)
    for name in train_files + [test_file, meta_file]:  # all files present before any work
        if not (base / name).is_file():
            raise missing_error(dataset, base / name, "no such file")
    names = _class_names(base / meta_file, names_key, dataset, num_classes)
    parts = [read_cifar_batch(base / f, label_key, num_classes=num_classes, dataset=dataset)
             for f in train_files]
    x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    y = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_cifar_batch(base / test_file, label_key, num_classes=num_classes,
                                      dataset=dataset)
    x_t, x_test_t = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(
        np.ascontiguousarray(x_test))
    mean, std = channel_stats(x_t)
    common: dict[str, Any] = dict(num_classes=num_classes, name=dataset,
 class_names=names, mean=mean, std=std)
    return (LabelledDataset(x_t, y, split="train", **common),
            LabelledDataset(x_test_t, y_test, split="test", **common))


def load_cifar10(root: str | Path | None) -> tuple[LabelledDataset, LabelledDataset]:
    """CIFAR-10 as ``(train, official test)``: 50 000 + 10 000 uint8 (3, 32, 32) images."""
    return _load_cifar(root, "cifar10", "cifar-10-batches-py",
                       [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "batches.meta",
                       "label_names", "labels", 10)


def load_cifar100(root: str | Path | None) -> tuple[LabelledDataset, LabelledDataset]:
    """CIFAR-100 (fine labels) as ``(train, official test)``: 50 000 + 10 000 images."""
    return _load_cifar(root, "cifar100", "cifar-100-python", ["train"], "test", "meta",
                       "fine_label_names", "fine_labels", 100)
