"""ImageNet and any ImageFolder-style tree (one folder per class), decoded lazily.

Layout::

    ROOT/train/<class>/<image>      training images (any depth below the class folder)
    ROOT/test/<class>/<image>       the held-out set ("val" for ImageNet; for a generic tree
                                    "test" is used if present, else "val")

Class names are the sorted folder names of ``train/``; the held-out tree may lack some classes
but may not add any. A symbolic link under ``train/`` or the held-out folder that points
outside ``ROOT`` is refused (one line naming it); links within ``ROOT`` are followed. The
fingerprint covers the size and modification time of every image file
(:meth:`droprune.data.LabelledDataset.fingerprint`), so new images under old names are a new
dataset. Images are decoded lazily (see :class:`droprune.data.images.ImageFiles`:
resize the shorter side to 256, centre-crop 224, for every split; with ``crop="random_resized"``
a random resized crop drawn per pass instead) and normalised with the
ImageNet mean and std. For ImageNet the validation images must already be sorted into one
folder per class (the official archive has them flat; ``valprep.sh`` of pytorch/examples sorts
them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import LabelledDataset
from .images import CROPS, ImageFiles, list_class_folders
from .layout import dataset_root, missing_error, refuse_links_outside
from .stats import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["load_imagefolder", "load_imagenet"]


def load_imagefolder(root: str | Path | None, *, train_dir: str = "train",
                     test_dir: str | None = None, image_size: int = 224,
                     resize_size: int | None = None, name: str = "imagefolder",
                     crop: str = "center") -> tuple[LabelledDataset, LabelledDataset]:
    """A class-per-folder tree as ``(train, held-out)`` lazily decoded datasets.

    Parameters
    ----------
    root
        Folder holding ``train_dir`` and ``test_dir``.
    train_dir, test_dir
        Sub-folder names; ``test_dir`` defaults to ``"test"`` if it exists, else ``"val"``.
    image_size, resize_size
        Central crop side and shorter side after resizing (default 224 and 256; see
        :class:`~droprune.data.images.ImageFiles`).
    name
        Dataset name (used in messages and fingerprints).
    crop
        ``"center"`` (default) or ``"random_resized"``: a random resized crop of the resized
        image in every split, drawn anew each pass (the DRoP reference code's ImageNet
        transforms; for ``imagenet`` set ``protocol_options.imagenet_transforms`` instead).
    """
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    base = dataset_root(root, name)
    train_path = base / train_dir
    if not train_path.is_dir():
        raise missing_error(name, train_path, "no such folder (the training images, one "
                                              "sub-folder per class)")
    if test_dir is None:
        test_dir = "test" if (base / "test").is_dir() else "val"
    test_path = base / test_dir
    if not test_path.is_dir():
        raise missing_error(name, test_path, "no such folder (the held-out images, one "
                                             "sub-folder per class)")
    for split_path in (train_path, test_path):  # no file read from outside the root
        refuse_links_outside(base, split_path, name)
    classes, train_files, train_labels = list_class_folders(train_path, dataset=name)
    _, test_files, test_labels = list_class_folders(test_path, dataset=name, classes=classes)
    sizes: dict[str, Any] = dict(image_size=image_size, resize_size=resize_size, dataset=name,
                                 crop=crop)
    common: dict[str, Any] = dict(num_classes=len(classes)
, name=name, class_names=classes,
                  mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return (LabelledDataset(ImageFiles(train_path, train_files, **sizes), train_labels,
                            split="train", **common),
            LabelledDataset(ImageFiles(test_path, test_files, **sizes), test_labels,
                            split="test", **common))


def load_imagenet(root: str | Path | None, *, image_size: int = 224,
                  resize_size: int | None = None, crop: str = "center"
                  ) -> tuple[LabelledDataset, LabelledDataset]:
    """ImageNet (ILSVRC2012) as ``(train, official validation)`` from ``ROOT/{train,val}``
    (``crop``: see :func:`load_imagefolder`)."""
    return load_imagefolder(root, train_dir="train", test_dir="val", image_size=image_size,
                            resize_size=resize_size, name="imagenet", crop=crop)
