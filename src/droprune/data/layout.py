"""Expected on-disk layouts, where to get each dataset, root resolution and reader errors.

Every reader fails the same way: a missing root or file raises :class:`FileNotFoundError`, a
file that exists but is damaged or laid out wrongly raises :class:`DatasetFormatError` (a
``ValueError``). Both messages name the path, say what was expected, show the expected layout
of the dataset and, for the paper's datasets, where to get them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATASET_HELP", "DatasetFormatError", "dataset_root", "format_error", "missing_error"]


class DatasetFormatError(ValueError):
    """A dataset file exists but is truncated, corrupt or not laid out as expected."""


#: dataset name -> (expected layout, where to get it)
DATASET_HELP: dict[str, tuple[str, str]] = {
    "mnist1d": (
        "ROOT/mnist1d-<key>.npz (a cache written by droprune; ROOT defaults to $DROPRUNE_CACHE "
        "or ~/.cache/droprune)",
        "generated offline by the 'mnist1d' package; nothing to download",
    ),
    "fashion-mnist": (
        "ROOT/train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (also accepted in ROOT/raw "
        "and ROOT/FashionMNIST/raw, the torchvision layout)",
        "'apt-get install dataset-fashion-mnist' (files in /usr/share/datasets/fashion-mnist) "
        "or https://github.com/zalandoresearch/fashion-mnist (data/fashion)",
    ),
    "mnist": (
        "ROOT/train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (also accepted in ROOT/raw "
        "and ROOT/MNIST/raw, the torchvision layout)",
        "https://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/"
        "mnist/)",
    ),
    "cifar10": (
        "ROOT/cifar-10-batches-py/{data_batch_1..data_batch_5, test_batch, batches.meta} "
        "(ROOT may also be the cifar-10-batches-py folder itself)",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (the 'python version'; "
        "extract it in ROOT)",
    ),
    "cifar100": (
        "ROOT/cifar-100-python/{train, test, meta} (ROOT may also be the cifar-100-python "
        "folder itself)",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz (the 'python version'; "
        "extract it in ROOT)",
    ),
    "tinyimagenet": (
        "ROOT/tiny-imagenet-200/{wnids.txt, words.txt, train/<wnid>/images/*.JPEG, "
        "val/images/*.JPEG, val/val_annotations.txt} (ROOT may also be the tiny-imagenet-200 "
        "folder itself)",
        "http://cs231n.stanford.edu/tiny-imagenet-200.zip (extract it in ROOT)",
    ),
    "imagenet": (
        "ROOT/train/<wnid>/*.JPEG and ROOT/val/<wnid>/*.JPEG (the validation images sorted "
        "into one folder per class, e.g. with the valprep.sh script of pytorch/examples)",
        "https://image-net.org/download.php (ILSVRC2012 train and validation images; "
        "registration required)",
    ),
    "imagefolder": (
        "ROOT/train/<class>/<image> and ROOT/test/<class>/<image> (or ROOT/val/...): one "
        "folder per class, class names = folder names of train/, images in any format Pillow "
        "reads",
        "your own data",
    ),
    "waterbirds": (
        "ROOT/metadata.csv (columns img_filename, y, split, place; split 0=train, 1=val, "
        "2=test) and the images at ROOT/<img_filename>",
        "https://downloads.cs.stanford.edu/nlp/data/dro/waterbird_complete95_forest2water2"
        ".tar.gz (from github.com/kohpangwei/group_DRO; extract it and pass the "
        "waterbird_complete95_forest2water2 folder as ROOT)",
    ),
    "gaussian-mixture": ("no files: generated in memory", "nothing to download"),
}


def _help(dataset: str) -> str:
    if dataset not in DATASET_HELP:
        return ""
    layout, where = DATASET_HELP[dataset]
    return f"\n  expected layout: {layout}\n  where to get it: {where}"


def missing_error(dataset: str, path: str | Path, what: str) -> FileNotFoundError:
    """A ``FileNotFoundError`` for a missing root, folder or file of ``dataset``.

    Examples
    --------
    >>> str(missing_error("cifar10", "/data/x", "no such folder")).splitlines()[0]
    'cifar10: /data/x: no such folder'
    """
    return FileNotFoundError(f"{dataset}: {path}: {what}{_help(dataset)}")


def format_error(dataset: str, path: str | Path, problem: str) -> DatasetFormatError:
    """A :class:`DatasetFormatError` for a damaged or wrongly laid out file of ``dataset``.

    Examples
    --------
    >>> str(format_error("mnist", "/d/f", "bad magic number 7")).splitlines()[0]
    'mnist: /d/f: bad magic number 7'
    """
    return DatasetFormatError(f"{dataset}: {path}: {problem}{_help(dataset)}")


def dataset_root(root: str | Path | None, dataset: str, folder: str | None = None) -> Path:
    """Resolve a dataset root: ``root/folder`` if that folder exists, else ``root`` itself.

    This lets ``root`` be either the folder an archive was extracted into (holding, e.g.,
    ``cifar-10-batches-py``) or the dataset folder itself.

    Raises
    ------
    FileNotFoundError
        ``root`` is None or not an existing folder (the message shows the expected layout).
    """
    if root is None:
        raise missing_error(dataset, "<root>", "no root given: pass the folder holding the "
                                               "dataset")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise missing_error(dataset, path, "no such folder (the dataset root)")
    if folder is not None and (path / folder).is_dir():
        return path / folder
    return path
