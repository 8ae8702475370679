"""Waterbirds (Sagawa et al., 2020) from its folder and ``metadata.csv``.

Layout: ``ROOT/metadata.csv`` with at least the columns ``img_filename`` (path relative to
ROOT), ``y`` (0 landbird, 1 waterbird), ``split`` (0 train, 1 validation, 2 test) and ``place``
(0 land, 1 water background); the images at ``ROOT/<img_filename>`` (the official folder is
``waterbird_complete95_forest2water2``).

Labels are ``y``; groups are ``(y, place)`` numbered ``2 * y + place``: 0 landbird on land,
1 landbird on water, 2 waterbird on land, 3 waterbird on water. The official train /
validation / test splits are used as they are (no re-splitting of the test set). Images are
decoded lazily (resize 256, centre-crop 224, every split) and normalised with the ImageNet
statistics.
"""

from __future__ import annotations

import csv
from pathlib import Path, PurePath, PurePosixPath

import numpy as np

from .base import DatasetSplits, LabelledDataset
from .images import ImageFiles
from .layout import dataset_root, format_error, missing_error
from .stats import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["WATERBIRDS_CLASSES", "WATERBIRDS_GROUPS", "load_waterbirds"]

_DATASET = "waterbirds"
WATERBIRDS_CLASSES = ("landbird", "waterbird")
WATERBIRDS_GROUPS = ("landbird_on_land", "landbird_on_water", "waterbird_on_land",
                     "waterbird_on_water")
_COLUMNS = ("img_filename", "y", "split", "place")
_SPLITS = ("train", "val", "test")


def _read_metadata(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        raise missing_error(_DATASET, path, "no such file")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in _COLUMNS if c not in header]
            if missing:
                raise format_error(_DATASET, path, f"missing column(s) {missing} (found "
                                                   f"{header}); expected a header with "
                                                   f"{', '.join(_COLUMNS)}")
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise format_error(_DATASET, path, f"not a readable CSV file ({exc})") from None
    if not rows:
        raise format_error(_DATASET, path, "no rows after the header")
    return {c: [r[c] for r in rows] for c in _COLUMNS}


def _int_column(path: Path, meta: dict[str, list[str]], column: str, allowed: range
                ) -> np.ndarray:
    values = meta[column]
    try:
        arr = np.array([int(v) for v in values], dtype=np.int64)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(values) if not str(v).strip().lstrip("-").isdigit())
        raise format_error(_DATASET, path, f"column '{column}' row {bad + 2} is "
                                           f"{values[bad]!r}: expected an integer") from None
    out = (arr < allowed.start) | (arr >= allowed.stop)
    if np.any(out):
        i = int(np.flatnonzero(out)[0])
        raise format_error(_DATASET, path, f"column '{column}' row {i + 2} is {arr[i]}: "
                                           f"expected one of {list(allowed)}")
    return arr


def load_waterbirds(root: str | Path | None, *, image_size: int = 224,
                    resize_size: int | None = None) -> DatasetSplits:
    """Waterbirds with its official train / val / test splits (lazily decoded images).

    Raises
    ------
    FileNotFoundError
        Missing root, ``metadata.csv`` or image files (the message counts them and names the
        first).
    DatasetFormatError
        Missing columns, non-integer or out-of-range ``y`` / ``split`` / ``place``, an empty
        split.
    """
    base = dataset_root(root, _DATASET, "waterbird_complete95_forest2water2")
    meta_path = base / "metadata.csv"
    meta = _read_metadata(meta_path)
    y = _int_column(meta_path, meta, "y", range(2))
    split = _int_column(meta_path, meta, "split", range(3))
    place = _int_column(meta_path, meta, "place", range(2))
    files = [f.strip() for f in meta["img_filename"]]
    for i, f in enumerate(files):
        parts = PurePosixPath(f.replace("\\", "/")).parts
        if not parts or PurePath(f).is_absolute() or parts[0] == "/" or ".." in parts:
            raise format_error(_DATASET, meta_path, f"column 'img_filename' row {i + 2} is "
                                                    f"{f!r}: give a path inside the dataset "
                                                    f"root, relative to it and without '..'")
    missing = [f for f in files if not (base / f).is_file()]
    if missing:
        raise missing_error(_DATASET, base / missing[0], f"no such image ({len(missing)} of "
                                                         f"{len(files)} images listed in "
                                                         f"metadata.csv are missing)")
    groups = 2 * y + place
    split_sets = []
    for s, split_name in enumerate(_SPLITS):
        idx = np.flatnonzero(split == s)
        if idx.size == 0:
            raise format_error(_DATASET, meta_path, f"no row has split={s} ({split_name})")
        inputs = ImageFiles(base, [files[i] for i in idx], image_size=image_size,
                            resize_size=resize_size, dataset=_DATASET)
        split_sets.append(LabelledDataset(
            inputs, y[idx], num_classes=2, name=_DATASET, class_names=WATERBIRDS_CLASSES,
            groups=groups[idx], group_names=WATERBIRDS_GROUPS, mean=IMAGENET_MEAN,
            std=IMAGENET_STD, source_indices=idx.astype(np.int64), split=split_name))
    return DatasetSplits(*split_sets)
