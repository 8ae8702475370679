"""The dataset registry and :func:`load_dataset`, the one entry point to every source.

``load_dataset(name, root)`` returns :class:`~droprune.data.base.DatasetSplits`:

- ``train``: the official training set, optionally made long-tailed (``imbalance``; TRAIN only);
- ``val``: ``val_fraction`` (default 50%) of each class of the official test set, stratified and
  deterministic for ``split_seed`` (:mod:`droprune.data.splits`); it drives DRoP and CDB-W;
- ``test``: the rest of the official test set, the only split metrics are reported on.

Waterbirds keeps its official train / val / test splits instead. Every split carries its name
in ``LabelledDataset.split``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .base import DatasetSplits, LabelledDataset
from .cifar import load_cifar10, load_cifar100
from .idx import load_fashion_mnist, load_mnist
from .imagefolder import load_imagefolder, load_imagenet
from .imbalance import _check_factor, make_imbalanced
from .layout import DatasetFormatError
from .mnist1d import check_mnist1d_options, load_mnist1d
from .splits import SPLIT_ORDERS, _check_fraction, split_val_test
from .synthetic import load_gaussian_mixture
from .tinyimagenet import load_tinyimagenet
from .waterbirds import load_waterbirds

__all__ = ["DATASETS", "DatasetSource", "check_dataset", "get_source", "load_dataset",
           "summarize_splits"]


@dataclass(frozen=True)
class DatasetSource:
    """One registered source.

    Attributes
    ----------
    name
        Registry key.
    loader
        ``loader(root, **options)`` returning ``(train, official test)`` or a full
        :class:`DatasetSplits` (when the source has official validation data).
    description
        One line for listings.
    root
        How ``root`` is used: ``"required"``, ``"optional"`` (a default location) or ``"none"``.
    check
        ``check(**options)`` validates the options without loading anything (raises
        ``ValueError``); for a loader that takes ``**kwargs``, whose names the signature does
        not tell.
    """

    name: str
    loader: Callable[..., Any]
    description: str
    root: str = "required"
    check: Callable[..., Any] | None = None

    def options(self) -> list[str]:
        """Keyword options the loader accepts (besides ``root``)."""
        params = inspect.signature(self.loader).parameters.values()
        return [p.name for p in params if p.kind is p.KEYWORD_ONLY]

    def accepts_any_option(self) -> bool:
        params = inspect.signature(self.loader).parameters.values()
        return any(p.kind is p.VAR_KEYWORD for p in params)


DATASETS: dict[str, DatasetSource] = {s.name: s for s in (
    DatasetSource("mnist1d", load_mnist1d, "MNIST-1D, generated offline and cached (embedded "
                  "default); root = cache directory", root="optional",
                  check=check_mnist1d_options),
    DatasetSource("fashion-mnist", load_fashion_mnist, "Fashion-MNIST idx files (default root: "
                  "/usr/share/datasets/fashion-mnist)", root="optional"),
    DatasetSource("mnist", load_mnist, "MNIST idx files"),
    DatasetSource("cifar10", load_cifar10, "CIFAR-10 python batches"),
    DatasetSource("cifar100", load_cifar100, "CIFAR-100 python batches (fine labels)"),
    DatasetSource("tinyimagenet", load_tinyimagenet, "TinyImageNet (tiny-imagenet-200), decoded "
                  "once and cached"),
    DatasetSource("imagenet", load_imagenet, "ImageNet train/ and val/ class folders, lazy"),
    DatasetSource("imagefolder", load_imagefolder, "any train/ + test/ (or val/) class-folder "
                  "tree, lazy"),
    DatasetSource("waterbirds", load_waterbirds, "Waterbirds folder with metadata.csv, official "
                  "splits, groups (y, place)"),
    DatasetSource("gaussian-mixture", load_gaussian_mixture, "synthetic Gaussian mixture "
                  "(class_sizes, means, stds, dim, seed)", root="none"),
)}


def get_source(name: str) -> DatasetSource:
    """The registered source called ``name`` (case-insensitive, ``_`` read as ``-``).

    Examples
    --------
    >>> get_source("Fashion_MNIST").name
    'fashion-mnist'
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid datasets: {', '.join(DATASETS)}")
    return DATASETS[key]


def _check_options(source: DatasetSource, options: dict[str, Any]) -> None:
    if source.check is not None:
        source.check(**options)
    if source.accepts_any_option():
        return
    unknown = sorted(set(options) - set(source.options()))
    if unknown:
        valid = ", ".join(source.options()) or "none"
        raise ValueError(f"dataset {source.name!r} has no option(s) {unknown}; valid options: "
                         f"{valid}")


def _check_val_fraction(source: DatasetSource, val_fraction: float) -> float:
    f = _check_fraction(val_fraction)
    if source.name == "waterbirds" and f != 0.5:
        raise ValueError("waterbirds uses its official train/val/test splits: leave "
                         "val_fraction at its default")
    return f


def load_dataset(name: str, root: str | Path | None = None, *, val_fraction: float = 0.5,
                 split_seed: int = 0, imbalance: float | None = None, imbalance_seed: int = 0,
                 val_split: str = "random", **source_options: Any) -> DatasetSplits:
    """Load a registered dataset as train / val / test splits.

    Parameters
    ----------
    name
        A key of :data:`DATASETS`.
    root
        Where the files are (see ``docs/data.md`` for each layout); optional for ``mnist1d``
        (cache directory) and ``fashion-mnist`` (Debian location), unused for
        ``gaussian-mixture``.
    val_fraction
        Share of each class of the official test set used for validation (rounded down per
        class; the rest is the reported test split). Waterbirds uses its official splits and
        only accepts the default.
    split_seed
        Seed of the validation/test split.
    val_split
        Which samples of each class go to validation: ``"random"`` (seeded by ``split_seed``)
        or ``"first"`` by index (the DRoP reference code); see
        :func:`droprune.data.splits.stratified_split`.
    imbalance
        Optional imbalance factor I >= 1: the TRAIN split becomes long-tailed, class k keeping
        ``round(n_ref * I ** (-k / (K - 1)))`` samples (:mod:`droprune.data.imbalance`).
    imbalance_seed
        Seed of the long-tailed subsampling.
    **source_options
        Passed to the source's loader (e.g. ``num_samples`` for ``mnist1d``).

    Examples
    --------
    >>> splits = load_dataset("gaussian-mixture", class_sizes=[40, 20], dim=3)
    >>> len(splits.train), len(splits.val), len(splits.test)
    (60, 30, 30)
    >>> splits.val.split, splits.test.split
    ('val', 'test')
    """
    source = get_source(name)
    _check_val_fraction(source, val_fraction)
    if val_split not in SPLIT_ORDERS:
        raise ValueError(f"val_split must be one of {SPLIT_ORDERS}, got {val_split!r}")
    if imbalance is not None:
        _check_factor(imbalance)
    _check_options(source, source_options)
    result = source.loader(root, **source_options)
    if isinstance(result, DatasetSplits):
        train, val, test = result.train, result.val, result.test
    else:
        train, heldout = result
        val, test = split_val_test(heldout, val_fraction, split_seed, val_split)
    if imbalance is not None:
        train = make_imbalanced(train, imbalance, imbalance_seed)
    return DatasetSplits(replace(train, split="train"), replace(val, split="val"),
                         replace(test, split="test"))


def summarize_splits(splits: DatasetSplits, *, fingerprint: bool = True) -> dict[str, Any]:
    """Sizes, class counts, shapes and fingerprints of each split, as plain values."""
    out: dict[str, Any] = {"name": splits.train.name, "num_classes": splits.train.num_classes,
                           "class_names": list(splits.train.class_names or []),
                           "group_names": list(splits.train.group_names or []), "splits": {}}
    for split_name in ("train", "val", "test"):
        ds: LabelledDataset = getattr(splits, split_name)
        info: dict[str, Any] = {
            "size": len(ds),
            "class_counts": ds.class_sizes.tolist(),
            "sample_shape": list(ds.sample_shape) if len(ds) else None,
            "dtype": str(ds.inputs.dtype).replace("torch.", "") if ds.in_memory else "lazy",
            "in_memory": ds.in_memory,
        }
        if ds.groups is not None:
            info["group_counts"] = np.bincount(ds.groups, minlength=ds.num_groups).tolist()
        if fingerprint:
            info["fingerprint"] = ds.fingerprint()
        out["splits"][split_name] = info
    return out


def check_dataset(name: str, root: str | Path | None = None, *, decode: str = "sample",
                  sample_size: int = 64, **load_options: Any) -> list[str]:
    """Validate a dataset on disk; returns the problems found (empty when all is well).

    Loading checks every file's presence, format and sizes (in-memory sources decode
    everything). For lazily decoded sources, ``decode="sample"`` also decodes ``sample_size``
    evenly spaced images per split, ``decode="all"`` every image, ``decode="none"`` none.
    Beyond errors, a class without training or validation samples is reported, since DRoP
    needs a recall for every class.
    """
    if decode not in ("none", "sample", "all"):
        raise ValueError(f"decode must be 'none', 'sample' or 'all', got {decode!r}")
    try:
        splits = load_dataset(name, root, **load_options)
    except (FileNotFoundError, DatasetFormatError) as exc:
        return [str(exc)]
    problems: list[str] = []
    for split_name in ("train", "val", "test"):
        ds: LabelledDataset = getattr(splits, split_name)
        empty = np.flatnonzero(ds.class_sizes == 0)
        if split_name in ("train", "val") and empty.size:
            names = [ds.class_names[k] if ds.class_names else str(k) for k in empty[:5]]
            problems.append(f"{split_name} split: {empty.size} class(es) have no samples "
                            f"(e.g. {names})")
        if ds.in_memory or decode == "none" or len(ds) == 0:
            continue
        if decode == "all":
            idx = np.arange(len(ds))
        else:
            idx = np.unique(np.linspace(0, len(ds) - 1, min(sample_size, len(ds))).astype(int))
        failures = []
        for i in idx:
            try:
                ds.inputs[int(i)]
            except (FileNotFoundError, ValueError) as exc:
                failures.append(str(exc).splitlines()[0])
        if failures:
            problems.append(f"{split_name} split: {len(failures)} of {idx.size} checked images "
                            f"fail to decode; first: {failures[0]}")
    return problems
