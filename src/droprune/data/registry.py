"""The dataset registry and :func:`load_dataset`, the one entry point to every source.

``load_dataset(name, root)`` returns :class:`~droprune.data.base.DatasetSplits`:

- ``train``: the official training set, optionally made long-tailed (``imbalance``; TRAIN only);
- ``val``: ``val_fraction`` (default 50%) of each class of the official test set, stratified and
  deterministic for ``split_seed`` (:mod:`droprune.data.splits`); it drives DRoP and CDB-W;
- ``test``: the rest of the official test set, the only split metrics are reported on.

A source with ``official_splits`` (Waterbirds) keeps its own train / val / test splits instead.
Every split carries its name in ``LabelledDataset.split``. Each source is one
:class:`~droprune.data.source.DatasetSource` of :data:`DATASETS` (this module registers the
built-in ones); :func:`~droprune.data.source.register_dataset` adds yours.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .base import DatasetSplits, LabelledDataset
from .cifar import load_cifar10, load_cifar100
from .idx import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist
from .imagefolder import load_imagefolder, load_imagenet
from .imbalance import _check_factor, make_imbalanced
from .layout import DatasetFormatError
from .mnist1d import check_mnist1d_options, load_mnist1d
from .source import DATASETS, DatasetSource, get_source, register_dataset
from .splits import SPLIT_ORDERS, _check_fraction, split_val_test
from .synthetic import check_gaussian_mixture_options, load_gaussian_mixture
from .tinyimagenet import load_tinyimagenet
from .waterbirds import WATERBIRDS_CLASSES, WATERBIRDS_GROUPS, load_waterbirds

__all__ = ["DATASETS", "DatasetSource", "check_dataset", "get_source", "load_dataset",
           "register_dataset", "summarize_splits"]


_DIGITS = tuple(str(k) for k in range(10))
_IDX_FILES = ("ROOT/train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
              "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (also accepted in "
              "ROOT/raw and ROOT/{folder}/raw, the torchvision layout)")
_PYTHON_VERSION = "(the 'python version'; extract it in ROOT)"

#: The built-in sources, in the order ``droprune data list`` shows them.
_BUILTIN_SOURCES = (
    DatasetSource(
        "mnist1d", load_mnist1d, "MNIST-1D, generated offline and cached (embedded default); "
        "root = cache directory", root="optional", check=check_mnist1d_options,
        layout="ROOT/mnist1d-<key>.npz (a cache written by droprune; ROOT defaults to "
               "$DROPRUNE_CACHE or ~/.cache/droprune)",
        where="generated offline by the 'mnist1d' package; nothing to download",
        class_names=_DIGITS),
    DatasetSource(
        "fashion-mnist", load_fashion_mnist, "Fashion-MNIST idx files (default root: "
        "/usr/share/datasets/fashion-mnist)", root="optional",
        layout=_IDX_FILES.format(folder="FashionMNIST"),
        where="'apt-get install dataset-fashion-mnist' (files in "
              "/usr/share/datasets/fashion-mnist) or "
              "https://github.com/zalandoresearch/fashion-mnist (data/fashion)",
        class_names=FASHION_MNIST_CLASSES),
    DatasetSource(
        "mnist", load_mnist, "MNIST idx files", layout=_IDX_FILES.format(folder="MNIST"),
        where="https://yann.lecun.com/exdb/mnist/ (mirror: "
              "https://ossci-datasets.s3.amazonaws.com/mnist/)",
        class_names=_DIGITS),
    DatasetSource(
        "cifar10", load_cifar10, "CIFAR-10 python batches",
        layout="ROOT/cifar-10-batches-py/{data_batch_1..data_batch_5, test_batch, "
               "batches.meta} (ROOT may also be the cifar-10-batches-py folder itself)",
        where=f"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz {_PYTHON_VERSION}"),
    DatasetSource(
        "cifar100", load_cifar100, "CIFAR-100 python batches (fine labels)",
        layout="ROOT/cifar-100-python/{train, test, meta} (ROOT may also be the "
               "cifar-100-python folder itself)",
        where=f"https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz {_PYTHON_VERSION}"),
    DatasetSource(
        "tinyimagenet", load_tinyimagenet, "TinyImageNet (tiny-imagenet-200), decoded once "
        "and cached",
        layout="ROOT/tiny-imagenet-200/{wnids.txt, words.txt, train/<wnid>/images/*.JPEG, "
               "val/images/*.JPEG, val/val_annotations.txt} (ROOT may also be the "
               "tiny-imagenet-200 folder itself)",
        where="http://cs231n.stanford.edu/tiny-imagenet-200.zip (extract it in ROOT)"),
    DatasetSource(
        "imagenet", load_imagenet, "ImageNet train/ and val/ class folders, lazy",
        layout="ROOT/train/<wnid>/*.JPEG and ROOT/val/<wnid>/*.JPEG (the validation images "
               "sorted into one folder per class, e.g. with the valprep.sh script of "
               "pytorch/examples)",
        where="https://image-net.org/download.php (ILSVRC2012 train and validation images; "
              "registration required)"),
    DatasetSource(
        "imagefolder", load_imagefolder, "any train/ + test/ (or val/) class-folder tree, lazy",
        layout="ROOT/train/<class>/<image> and ROOT/test/<class>/<image> (or ROOT/val/...): "
               "one folder per class, class names = folder names of train/, images in any "
               "format Pillow reads",
        where="your own data"),
    DatasetSource(
        "waterbirds", load_waterbirds, "Waterbirds folder with metadata.csv, official splits, "
        "groups (y, place)",
        layout="ROOT/metadata.csv (columns img_filename, y, split, place; split 0=train, "
               "1=val, 2=test) and the images at ROOT/<img_filename>",
        where="https://downloads.cs.stanford.edu/nlp/data/dro/"
              "waterbird_complete95_forest2water2.tar.gz (from github.com/kohpangwei/"
              "group_DRO; extract it and pass the waterbird_complete95_forest2water2 folder "
              "as ROOT)",
        class_names=WATERBIRDS_CLASSES, group_names=WATERBIRDS_GROUPS, official_splits=True),
    DatasetSource(
        "gaussian-mixture", load_gaussian_mixture, "synthetic Gaussian mixture (class_sizes, "
        "means, stds, dim, seed)", root="none", check=check_gaussian_mixture_options,
        layout="no files: generated in memory",
        where="nothing to download"),
)
for _source in _BUILTIN_SOURCES:
    register_dataset(_source)


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
    if source.official_splits and f != 0.5:
        raise ValueError(f"{source.name} uses its official train/val/test splits: leave "
                         f"val_fraction at its default")
    return f


def _official_or_split(source: DatasetSource, result: Any, val_fraction: float,
                       split_seed: int, val_split: str) -> DatasetSplits:
    """The loader's ``result`` as splits: its own when the source has ``official_splits``,
    else ``(train, official test)`` with the test set cut into val and test."""
    if source.official_splits != isinstance(result, DatasetSplits):
        expected = "DatasetSplits" if source.official_splits else "(train, official test)"
        raise ValueError(f"the loader of dataset {source.name!r} returned "
                         f"{type(result).__name__}, expected {expected} (official_splits="
                         f"{source.official_splits})")
    if source.official_splits:
        return result
    train, heldout = result
    return DatasetSplits(train, *split_val_test(heldout, val_fraction, split_seed, val_split))


def _named(dataset: LabelledDataset, source: DatasetSource, split: str) -> LabelledDataset:
    """``dataset`` as the ``split`` split, named by the source's fixed class (and group) names
    when its entry has them."""
    names: dict[str, Any] = {}
    if source.class_names is not None:
        names["class_names"] = source.class_names
    if dataset.groups is not None and source.group_names is not None:
        names["group_names"] = source.group_names
    return replace(dataset, split=split, **names)


def load_dataset(name: str, root: str | Path | None = None, *, val_fraction: float = 0.5,
                 split_seed: int = 0, imbalance: float | None = None, imbalance_seed: int = 0,
                 val_split: str = "random", **source_options: Any) -> DatasetSplits:
    """Load a registered dataset as train / val / test splits.

    Parameters
    ----------
    name
        A key of :data:`DATASETS`.
    root
        Where the files are (each source's ``layout``: ``droprune data list``); optional for
        a source whose ``root`` is ``"optional"`` (``mnist1d``: cache directory,
        ``fashion-mnist``: Debian location), unused when it is ``"none"``
        (``gaussian-mixture``).
    val_fraction
        Share of each class of the official test set used for validation (rounded down per
        class; the rest is the reported test split). A source with ``official_splits``
        (Waterbirds) uses its own and only accepts the default.
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
    splits = _official_or_split(source, source.loader(root, **source_options), val_fraction,
                                split_seed, val_split)
    train = splits.train
    if imbalance is not None:
        train = make_imbalanced(train, imbalance, imbalance_seed)
    return DatasetSplits(_named(train, source, "train"), _named(splits.val, source, "val"),
                         _named(splits.test, source, "test"))


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
