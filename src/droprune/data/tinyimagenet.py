"""TinyImageNet (200 classes of 64x64 images) from ``tiny-imagenet-200/``.

Layout (``ROOT`` may be the extracted folder itself or the folder holding it)::

    tiny-imagenet-200/
      wnids.txt                    the 200 class ids (WordNet ids), one per line
      words.txt                    optional: "<wnid>\\t<names>" (class names; else the wnids)
      train/<wnid>/images/*.JPEG   500 training images per class
      val/images/*.JPEG            10 000 validation images
      val/val_annotations.txt      "<file>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>" per image

Classes are the SORTED wnids (the order an ImageFolder reader gives), and a class name is the
first synonym in ``words.txt``. The official validation set is the paper's "test set", which
``load_dataset`` splits into validation and test halves; the official (unlabelled) ``test/``
folder is not used.

The whole dataset (110 000 images, 1.35 GB as uint8) is decoded once into memory. Decoding
takes a while (about 25 s on one core), so the arrays are cached as ``.npz`` in the cache
directory, keyed by the root path and the name, size and modification time of every file;
changing any file gives a new cache entry. Every file is checked before decoding starts.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .base import LabelledDataset
from .cache import cache_dir, cache_key, load_cached, save_cached
from .images import decode_image, list_images
from .layout import dataset_root, format_error, missing_error
from .stats import channel_stats

__all__ = ["TinyImageNetFiles", "list_tinyimagenet", "load_tinyimagenet"]

_DATASET = "tinyimagenet"
_SIZE = 64
_PARALLEL_MIN = 4000  # fewer files than this are decoded in-process


class TinyImageNetFiles:
    """The checked file lists of a TinyImageNet tree (paths relative to ``root``)."""

    def __init__(self, root: Path, wnids: tuple[str, ...], class_names: tuple[str, ...],
                 train_files: list[str], train_labels: np.ndarray, val_files: list[str],
                 val_labels: np.ndarray) -> None:
        self.root, self.wnids, self.class_names = root, wnids, class_names
        self.train_files, self.train_labels = train_files, train_labels
        self.val_files, self.val_labels = val_files, val_labels

    def signature(self) -> str:
        """Hash of the root and of every file's relative path, size and mtime."""
        rows = [str(self.root.resolve())]
        for rel in ["wnids.txt", "val/val_annotations.txt"] + self.train_files + self.val_files:
            st = os.stat(self.root / rel)
            rows.append(f"{rel}\t{st.st_size}\t{st.st_mtime_ns}")
        return cache_key(rows)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise missing_error(_DATASET, path, "no such file")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise format_error(_DATASET, path, f"not a UTF-8 text file ({exc})") from None


def _class_names(root: Path, wnids: tuple[str, ...]) -> tuple[str, ...]:
    words = root / "words.txt"
    if not words.is_file():
        return wnids
    names: dict[str, str] = {}
    for line in _read_lines(words):
        wnid, _, text = line.partition("\t")
        names[wnid.strip()] = text.split(",")[0].strip()
    return tuple(names.get(w) or w for w in wnids)


def list_tinyimagenet(root: str | Path | None) -> TinyImageNetFiles:
    """Find and check every file of a TinyImageNet tree (no decoding).

    Raises
    ------
    FileNotFoundError
        Missing root, ``wnids.txt``, ``train/<wnid>/images``, ``val/images``,
        ``val/val_annotations.txt`` or an annotated validation image.
    DatasetFormatError
        Duplicate or empty ``wnids.txt``, a class without images, a malformed annotation line,
        an annotation with an unknown wnid, or a validation image without annotation.
    """
    base = dataset_root(root, _DATASET, "tiny-imagenet-200")
    wnid_lines = [w.strip() for w in _read_lines(base / "wnids.txt") if w.strip()]
    if not wnid_lines:
        raise format_error(_DATASET, base / "wnids.txt", "empty: expected one wnid per line")
    if len(set(wnid_lines)) != len(wnid_lines):
        raise format_error(_DATASET, base / "wnids.txt", "lists a wnid twice")
    wnids = tuple(sorted(wnid_lines))
    index = {w: k for k, w in enumerate(wnids)}
    train_files: list[str] = []
    train_labels: list[int] = []
    for k, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        if not folder.is_dir():
            raise missing_error(_DATASET, folder, f"no such folder (training images of class "
                                                  f"{wnid})")
        names = list_images(folder)
        if not names:
            raise format_error(_DATASET, folder, f"no images for class {wnid}")
        train_files += [f"train/{wnid}/images/{n}" for n in names]
        train_labels += [k] * len(names)
    val_dir = base / "val" / "images"
    if not val_dir.is_dir():
        raise missing_error(_DATASET, val_dir, "no such folder (validation images)")
    present = set(list_images(val_dir))
    ann_path = base / "val" / "val_annotations.txt"
    val_files: list[str] = []
    val_labels: list[int] = []
    for lineno, line in enumerate(_read_lines(ann_path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise format_error(_DATASET, ann_path, f"line {lineno} is {line!r}: expected "
                                                   f"'<file>\\t<wnid>\\t...' (tab-separated)")
        name, wnid = fields[0].strip(), fields[1].strip()
        if wnid not in index:
            raise format_error(_DATASET, ann_path, f"line {lineno}: wnid {wnid!r} is not in "
                                                   f"wnids.txt")
        if name not in present:
            raise missing_error(_DATASET, val_dir / name, f"annotated in {ann_path} line "
                                                          f"{lineno} but no such image")
        val_files.append(name)
        val_labels.append(index[wnid])
    unannotated = sorted(present - set(val_files))
    if unannotated:
        raise format_error(_DATASET, val_dir / unannotated[0],
                           f"{len(unannotated)} validation image(s) have no line in {ann_path}")
    order = np.argsort(np.asarray(val_files), kind="stable")
    val_files = [f"val/images/{val_files[i]}" for i in order]
    return TinyImageNetFiles(base, wnids, _class_names(base, wnids), train_files,
                             np.asarray(train_labels, dtype=np.int64), val_files,
                             np.asarray(val_labels, dtype=np.int64)[order])


def _decode_chunk(root: str, files: Sequence[str]) -> np.ndarray:
    out = np.empty((len(files), _SIZE, _SIZE, 3), dtype=np.uint8)
    for j, rel in enumerate(files):
        img = decode_image(os.path.join(root, rel), dataset=_DATASET)
        if img.shape != (_SIZE, _SIZE, 3):
            raise format_error(_DATASET, os.path.join(root, rel),
                               f"image is {img.shape[1]}x{img.shape[0]}, TinyImageNet images "
                               f"are {_SIZE}x{_SIZE}")
        out[j] = img
    return out


def _fork_context() -> BaseContext | None:
    """The 'fork' start method on Linux (None elsewhere: decode in-process).

    Fork, not spawn: spawned workers re-import the caller's ``__main__``, which breaks scripts
    without an ``if __name__ == "__main__"`` guard and interactive sessions. The forked
    workers only run Pillow and numpy (no torch), so fork's thread-safety caveats do not bite.
    """
    if sys.platform.startswith("linux") and "fork" in get_all_start_methods():
        return get_context("fork")
    return None


def _decode_all(root: Path, files: list[str], workers: int) -> np.ndarray:
    """Decode ``files`` to (N, 3, 64, 64) uint8, in ``workers`` processes for large lists."""
    from .._progress import progress_bar

    out = np.empty((len(files), _SIZE, _SIZE, 3), dtype=np.uint8)
    chunk = 1000
    starts = range(0, len(files), chunk)
    bar = progress_bar(len(files), "decoding TinyImageNet", unit="img")
    context = _fork_context()
    try:
        if workers > 1 and len(files) >= _PARALLEL_MIN and context is not None:
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [(s, pool.submit(_decode_chunk, str(root), files[s:s + chunk]))
                           for s in starts]
                for s, fut in futures:
                    block = fut.result()
                    out[s:s + len(block)] = block
                    bar.update(len(block))
        else:
            for s in starts:
                block = _decode_chunk(str(root), files[s:s + chunk])
                out[s:s + len(block)] = block
                bar.update(len(block))
    finally:
        bar.close()
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def load_tinyimagenet(root: str | Path | None, *, cache: bool = True,
                      cache_root: str | Path | None = None, workers: int | None = None
                      ) -> tuple[LabelledDataset, LabelledDataset]:
    """TinyImageNet as ``(train, official validation)`` in-memory uint8 (3, 64, 64) datasets.

    Parameters
    ----------
    root
        The ``tiny-imagenet-200`` folder or the folder holding it.
    cache
        Read/write the decoded arrays in the cache (see the module docstring).
    cache_root
        Cache directory (default ``$DROPRUNE_CACHE`` or ``~/.cache/droprune``).
    workers
        Decoding processes (default: the number of CPUs, at most 8); used on Linux for
        4 000 files or more (forked workers), otherwise decoding runs in this process.
    """
    files = list_tinyimagenet(root)
    workers = min(8, os.cpu_count() or 1) if workers is None else int(workers)
    path = cache_dir(cache_root) / f"tinyimagenet-{files.signature()}.npz"
    keys = ("x", "y", "x_test", "y_test")
    arrays = load_cached(path, keys) if cache else None
    if arrays is None:
        arrays = {"x": _decode_all(files.root, files.train_files, workers),
                  "y": files.train_labels,
                  "x_test": _decode_all(files.root, files.val_files, workers),
                  "y_test": files.val_labels}
        if cache:
            save_cached(path, arrays)
    x, x_test = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["x_test"])
    mean, std = channel_stats(x)
    common: dict[str, Any] = dict(num_classes=len(files.wnids)
, name=_DATASET, class_names=files.class_names,
                  mean=mean, std=std)
    return (LabelledDataset(x, arrays["y"], split="train", **common),
            LabelledDataset(x_test, arrays["y_test"], split="test", **common))
