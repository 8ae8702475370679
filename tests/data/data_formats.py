"""Writers of tiny files in the REAL on-disk formats (used by conftest.py and the tests).

Every writer follows the official format byte for byte where it matters: big-endian idx headers
(magic 2049/2051), CIFAR pickles with bytes keys (protocol 2, as the official files) and a uint8
(N, 3072) ``data`` array, images saved by Pillow in the format of their extension.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image

IDX_NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    """An idx file holding ``arr`` (uint8): magic 0x0000 08 ndim, big-endian dims, data."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + arr.ndim
    return struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_idx(path: Path, arr: np.ndarray, *, gz: bool = True, magic: int | None = None,
              cut: int = 0) -> Path:
    """Write ``arr`` as an idx file (gzipped by default), minus ``cut`` trailing bytes."""
    data = idx_bytes(arr, magic)
    if cut:
        data = data[:-cut]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_pickle(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=2)
    return path


def cifar_batch(n: int, num_classes: int, label_key: bytes, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fabricated batch",
            label_key: [int(v) for v in np.arange(n) % num_classes],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)]}


def write_image(path: Path, size: tuple[int, int], seed: int, mode: str = "RGB") -> Path:
    """A random image of ``size`` (width, height) saved in the format of its extension."""
    rng = np.random.default_rng(seed)
    w, h = size
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(path)
    return path
