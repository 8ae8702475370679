"""Fashion-MNIST and MNIST from their idx files (gzipped or not).

The idx format: a 4-byte big-endian magic number ``0x0000TTDD`` (TT the element type, 0x08 for
unsigned bytes; DD the number of dimensions), DD big-endian uint32 sizes, then the elements.
Labels files have magic 2049 (ubyte, 1 dimension), image files 2051 (ubyte, 3 dimensions).
A file is read whole and parsed with ``np.frombuffer`` (no per-sample Python); a gzip stream is
recognised by its first two bytes, whatever the file is called. Everything is validated before
it is used: magic number, dimensions, the exact byte count (a truncated file names the expected
and actual sizes), labels in range, and as many labels as images.

Files are looked for, in order, in ``ROOT``, ``ROOT/raw`` and ``ROOT/FashionMNIST/raw`` (or
``ROOT/MNIST/raw``, torchvision's layout), under the standard names
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each with or without ``.gz`` (the dotted variant
``train-images.idx3-ubyte`` is accepted too). Fashion-MNIST's default root is the Debian
package's directory ``/usr/share/datasets/fashion-mnist`` (``apt-get install
dataset-fashion-mnist``).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_int
from .base import LabelledDataset
from .layout import dataset_root, format_error, missing_error
from .stats import channel_stats

__all__ = [
    "DEBIAN_FASHION_MNIST",
    "FASHION_MNIST_CLASSES",
    "find_idx_files",
    "load_fashion_mnist",
    "load_idx_split",
    "load_mnist",
    "read_idx",
]

#: Where the Debian package ``dataset-fashion-mnist`` installs the files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")

_IDX_TYPES: dict[int, np.dtype] = {0x08:
 np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_LABELS_MAGIC, _IMAGES_MAGIC = 2049, 2051

#: role -> standard file stem (the dotted variant replaces the last '-' by '.')
_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_TORCHVISION_DIRS = {"fashion-mnist": "FashionMNIST", "mnist": "MNIST"}


def _read_bytes(path: Path, dataset: str) -> bytes:
    if not path.is_file():
        raise missing_error(dataset, path, "no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise format_error(dataset, path, f"truncated or corrupt gzip stream ({exc}); "
                                              f"download the file again") from None
    return raw


def read_idx(path: str | Path, *, expect_magic: int | None = None,
             dataset: str = "idx") -> np.ndarray:
    """Read one idx file (gzipped or plain) into a numpy array of its declared shape.

    Parameters
    ----------
    path
        The file.
    expect_magic
        If given, the magic number the file must have (2049 labels, 2051 images).
    dataset
        Name used in error messages (it selects the layout hint).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DatasetFormatError
        Corrupt gzip, bad magic number, or a byte count that does not match the header
        (the message gives the expected and actual sizes).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "labels")
    >>> _ = open(f, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(f, expect_magic=2049).tolist()
    [7, 8, 9]
    """
    path = Path(path)
    raw = _read_bytes(path, dataset)
    if len(raw) < 4:
        raise format_error(dataset, path, f"{len(raw)} bytes: too short for an idx header "
                                          f"(file truncated or empty)")
    magic = int.from_bytes(raw[:4], "big")
    type_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\0\0" or type_code not in _IDX_TYPES or ndim == 0 \
            or (expect_magic is not None and magic != expect_magic):
        want = f" (expected {expect_magic})" if expect_magic is not None else ""
        raise format_error(dataset, path, f"bad idx magic number {magic}{want}: not an idx "
                                          f"file of the expected kind")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise format_error(dataset, path, f"header truncated: {len(raw)} bytes, the header "
                                          f"alone needs {header}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[type_code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise format_error(dataset, path, f"file {what}: header declares shape {dims}, so "
                                          f"{expected} bytes (uncompressed) are expected, "
                                          f"got {len(raw)}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _candidate_dirs(root: Path, dataset: str) -> list[Path]:
    dirs = [root, root / "raw"]
    if dataset in _TORCHVISION_DIRS:
        dirs.append(root / _TORCHVISION_DIRS[dataset] / "raw")
    return dirs


def find_idx_files(root: str | Path | None, dataset: str = "fashion-mnist") -> dict[str, Path]:
    """Locate the four idx files under ``root`` (see the module docstring for where).

    Returns
    -------
    dict
        ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` -> path.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist, or a file is in none of the searched folders (the message
        lists the folders and names searched).
    """
    root = dataset_root(root, dataset)
    dirs = [d for d in _candidate_dirs(root, dataset) if d.is_dir()]
    found: dict[str, Path] = {}
    for role, stem in _STEMS.items():
        dotted = stem[::-1].replace("-", ".", 1)[::-1]
        names = [stem + ".gz", stem, dotted + ".gz", dotted]
        for d in dirs:
            hit = next((d / n for n in names if (d / n).is_file()), None)
            if hit is not None:
                found[role] = hit
                break
        else:
            searched = ", ".join(str(d) for d in _candidate_dirs(root, dataset))
            raise missing_error(dataset, root / (stem + ".gz"),
                                f"missing {role.replace('_', ' ')} file: looked for "
                                f"{stem}[.gz] in {searched}")
    return found


def load_idx_split(images_path: str | Path, labels_path: str | Path, *, num_classes: int = 10,
                   dataset: str = "idx") -> tuple[torch.Tensor, np.ndarray]:
    """Read an images/labels pair: uint8 tensor (N, 1, H, W) and int64 labels (N,).

    Raises a ``DatasetFormatError`` if the counts differ or a label is outside
    ``[0, num_classes)``.
    """
    images = read_idx(images_path, expect_magic=_IMAGES_MAGIC, dataset=dataset)
    labels = read_idx(labels_path, expect_magic=_LABELS_MAGIC, dataset=dataset)
    if images.shape[0] != labels.shape[0]:
        raise format_error(dataset, labels_path, f"{labels.shape[0]} labels but "
                                                 f"{images.shape[0]} images in {images_path}: "
                                                 f"the two files do not belong together")
    if labels.size and labels.max() >= num_classes:
        raise format_error(dataset, labels_path, f"label {int(labels.max())} outside "
                                                 f"[0, {num_classes})")
    return torch.from_numpy(images[:, None]), labels.astype(np.int64)


def _load_idx_dataset(root: str | Path | None, dataset: str, class_names: tuple[str, ...]
                      ) -> tuple[LabelledDataset, LabelledDataset]:
    files = find_idx_files(root, dataset)
    k = len(class_names)
    x, y = load_idx_split(files["train_images"], files["train_labels"], num_classes=k,
                          dataset=dataset)
    x_test, y_test = load_idx_split(files["test_images"], files["test_labels"], num_classes=k,
                                    dataset=dataset)
    if x.shape[1:] != x_test.shape[1:]:
        raise format_error(dataset, files["test_images"],
                           f"test images are {tuple(x_test.shape[2:])} but training images "
                           f"are {tuple(x.shape[2:])}")
    mean, std = channel_stats(x)
    common: dict[str, Any] = dict(num_classes=k, name=dataset,
 class_names=class_names, mean=mean, std=std)
    return (LabelledDataset(x, y, split="train", **common),
            LabelledDataset(x_test, y_test, split="test", **common))


def load_fashion_mnist(root: str | Path | None = None, *, train_per_class: int | None = None,
                       test_per_class: int | None = None
                       ) -> tuple[LabelledDataset, LabelledDataset]:
    """Fashion-MNIST as ``(train, official test)``: 60 000 + 10 000 uint8 (1, 28, 28) images.

    ``root`` defaults to the Debian package's directory
    (:data:`DEBIAN_FASHION_MNIST`). ``train_per_class`` / ``test_per_class`` keep only the
    first that many samples of each class (by index; the normalisation statistics stay those
    of the whole training set): a small, deterministic subsample for tests and quick runs.
    """
    per_class = {"train_per_class": train_per_class, "test_per_class": test_per_class}
    for name, n in per_class.items():
        if n is not None:
            check_int(n, name, minimum=1)
    train, test = _load_idx_dataset(DEBIAN_FASHION_MNIST if root is None else root,
                                    "fashion-mnist", FASHION_MNIST_CLASSES)
    return _first_per_class(train, train_per_class), _first_per_class(test, test_per_class)


def _first_per_class(dataset: LabelledDataset, n: int | None) -> LabelledDataset:
    """The first ``n`` samples of each class of ``dataset`` by index (all when None)."""
    if n is None:
        return dataset
    keep = np.sort(np.concatenate([np.flatnonzero(dataset.labels == k)[:n]
                                   for k in range(dataset.num_classes)]))
    return dataset.subset(keep)


def load_mnist(root: str | Path | None) -> tuple[LabelledDataset, LabelledDataset]:
    """MNIST as ``(train, official test)``: 60 000 + 10 000 uint8 (1, 28, 28) images."""
    return _load_idx_dataset(root, "mnist", tuple(str(k) for k in range(10)))
