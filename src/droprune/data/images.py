"""Image files: class-per-folder listing, Pillow decoding and the lazy input sequence.

:class:`ImageFiles` is the ``inputs`` of a lazily decoded dataset (ImageNet, Waterbirds, any
ImageFolder tree): item ``i`` opens the i-th file with Pillow, converts it to RGB, resizes its
shorter side to ``resize_size`` (bilinear, antialiased) and takes the central
``image_size`` x ``image_size`` crop, returning a uint8 tensor (3, image_size, image_size).
This deterministic resize-256 / center-crop-224 is used for EVERY split, train included: flips
and translations are augmentation, which the trainer applies batched on the device.

With ``crop="random_resized"`` (the DRoP reference code's ImageNet transforms, chosen by
``protocol_options.imagenet_transforms``) item ``i`` is instead resized to ``resize_size`` and
then a random resized crop (:func:`random_resized_crop`) of ``image_size`` is taken, in every
split. Its draws come from a generator seeded by the sequence's ``pass_key`` and the item's
index, so a pass (a training epoch, a validation, a test evaluation: :meth:`ImageFiles.for_pass`)
reproduces exactly, and another pass draws other crops.
Decoding happens in DataLoader worker processes (``iter_batches(..., num_workers=...)``); the
sequence pickles as a list of relative paths.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

if TYPE_CHECKING:  # Pillow is imported where images are decoded (droprune[torch])
    import PIL.Image

from .._checks import check_int
from .._extras import require
from .layout import format_error, missing_error

__all__ = ["CROPS", "IMAGE_EXTENSIONS", "ImageFiles", "decode_image", "list_class_folders",
           "list_images", "random_resized_crop", "resize_center_crop"]

#: How :class:`ImageFiles` crops: ``"center"`` (droprune's) or ``"random_resized"`` (the DRoP
#: reference code's ImageNet transforms: ``Resize`` then ``RandomResizedCrop``, every split).
CROPS = ("center", "random_resized")

#: File extensions treated as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp",
                    ".gif")


def resize_center_crop(image: "PIL.Image.Image", resize_size: int | None,
                       image_size: int | None) -> "PIL.Image.Image":
    """Resize the shorter side to ``resize_size`` then crop the centre ``image_size`` square.

    Either step is skipped when its size is None.
    """
    from PIL import Image

    if resize_size is not None:
        w, h = image.size
        scale = resize_size / min(w, h)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        if new != (w, h):
            image = image.resize(new, Image.Resampling.BILINEAR)
    if image_size is not None:
        w, h = image.size
        if w < image_size or h < image_size:
            raise ValueError(f"image of size {w}x{h} is smaller than the crop {image_size}: "
                             f"set resize_size >= image_size")
        left, top = (w - image_size) // 2, (h - image_size) // 2
        image = image.crop((left, top, left + image_size, top + image_size))
    return image


def random_resized_crop(image: "PIL.Image.Image", size: int, rng: np.random.Generator,
                        scale: tuple[float, float] = (0.08, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> "PIL.Image.Image":
    """torchvision's ``RandomResizedCrop(size)``: a box of a random share ``U(scale)`` of the
    area and a log-uniform aspect ratio in ``ratio`` (10 tries, then the central box of the
    nearest allowed ratio), resized bilinearly to ``size`` x ``size``.

    The same algorithm and distribution as torchvision's, drawn from ``rng`` (numpy) instead of
    torch's global generator, so the draws themselves differ.

    Examples
    --------
    >>> from PIL import Image
    >>> img = Image.new("RGB", (30, 20))
    >>> random_resized_crop(img, 8, np.random.default_rng(0)).size
    (8, 8)
    """
    from PIL import Image

    width, height = image.size
    area = width * height
    log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
    box = None
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = float(np.exp(rng.uniform(*log_ratio)))
        w, h = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            box = (left, top, left + w, top + h)
            break
    if box is None:  # torchvision's fallback: the central box of the nearest allowed ratio
        w, h = width, height
        if width / height < min(ratio):
            h = int(round(w / min(ratio)))
        elif width / height > max(ratio):
            w = int(round(h * max(ratio)))
        left, top = (width - w) // 2, (height - h) // 2
        box = (left, top, left + w, top + h)
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box)


def decode_image(path: str | Path, *, resize_size: int | None = None,
                 image_size: int | None = None, dataset: str = "images",
                 crop_rng: np.random.Generator | None = None) -> np.ndarray:
    """Decode one image file to a uint8 RGB array (H, W, 3), optionally resized and cropped
    (the centre crop; with ``crop_rng``, a :func:`random_resized_crop` drawn from it).

    Raises ``FileNotFoundError`` for a missing file and ``DatasetFormatError`` (naming the
    file) for one Pillow cannot decode.
    """
    require("torch", "PIL", what=f"decoding the images of {dataset}")
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except FileNotFoundError:
        raise missing_error(dataset, path, "no such image file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise format_error(dataset, path, f"cannot decode image ({exc}); the file is "
                                          f"corrupt, truncated or not an image") from None
    try:
        if crop_rng is None or image_size is None:
            rgb = resize_center_crop(rgb, resize_size, image_size)
        else:
            rgb = random_resized_crop(resize_center_crop(rgb, resize_size, None), image_size,
                                      crop_rng)
    except ValueError as exc:
        raise format_error(dataset, path, str(exc)) from None
    return np.array(rgb, dtype=np.uint8)


class ImageFiles(Sequence):
    """Lazy sequence of images under ``root``: item i is a uint8 tensor (3, S, S).

    Parameters
    ----------
    root
        Folder the relative paths start from.
    files
        Relative paths (POSIX separators), one per sample, in dataset order.
    image_size
        Side S of the central crop (224 by default).
    resize_size
        Shorter side after resizing, before the crop (default ``round(image_size * 256 / 224)``,
        i.e. 256 for 224).
    dataset
        Name used in error messages.
    crop
        ``"center"`` (default) or ``"random_resized"``: a random resized crop of the resized
        image, drawn per pass and item (:data:`CROPS`, :meth:`for_pass`).
    pass_key
        Integers that seed the random crops of this pass with the item's index (ignored by
        ``"center"``).
    """

    def __init__(self, root: str | Path, files: Sequence[str], *, image_size: int = 224,
                 resize_size: int | None = None, dataset: str = "images",
                 crop: str = "center", pass_key: Sequence[int] = ()) -> None:
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        check_int(image_size, "image_size", minimum=1, requirement="a positive integer")
        if resize_size is None:
            resize_size = round(image_size * 256 / 224)
        check_int(resize_size, "resize_size", minimum=image_size,
                  requirement=f"an integer >= image_size ({image_size})")
        self.root = str(root)
        self.files = list(files)
        self.image_size = image_size
        self.resize_size = resize_size
        self.dataset = dataset
        self.crop = crop
        self.pass_key = tuple(check_int(k, "pass_key", minimum=0) for k in pass_key)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:  # type: ignore[override]
        if isinstance(i, slice):
            raise TypeError("ImageFiles takes one integer index; use LabelledDataset.subset")
        rng = None if self.crop == "center" else \
            np.random.default_rng([*self.pass_key, int(i) % len(self.files)])
        arr = decode_image(os.path.join(self.root, self.files[i]), resize_size=self.resize_size,
                           image_size=self.image_size, dataset=self.dataset, crop_rng=rng)
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def for_pass(self, key: Sequence[int]) -> "ImageFiles":
        """This sequence with the random crops of pass ``key`` (integers >= 0, e.g. a seed, a
        stream and an epoch); the same object when the crop is the deterministic centre.

        Examples
        --------
        >>> crops = ImageFiles("/data", ["a.png"], crop="random_resized")
        >>> centre = ImageFiles("/data", ["a.png"])
        >>> crops.for_pass((0, 3)).pass_key, centre.for_pass((0, 3)) is centre
        ((0, 3), True)
        """
        if self.crop == "center":
            return self
        return ImageFiles(self.root, self.files, image_size=self.image_size,
                          resize_size=self.resize_size, dataset=self.dataset, crop=self.crop,
                          pass_key=key)

    def path(self, i: int) -> Path:
        """Absolute path of sample ``i``."""
        return Path(self.root) / self.files[i]

    def paths(self) -> list[str]:
        """The path of every sample, in dataset order (``root`` joined with the relative
        path); what :meth:`droprune.data.LabelledDataset.sample_paths` returns."""
        return [str(Path(self.root) / f) for f in self.files]

    @property
    def fingerprint_key(self) -> tuple:
        """Hash of the relative file list (in order), the decoding sizes and a random crop
        (not the pass: every pass of a dataset is the same dataset)."""
        digest = hashlib.sha256("\n".join(self.files).encode()).hexdigest()[:16]
        if self.crop == "center":  # as before the crops were a choice
            return digest, self.image_size, self.resize_size
        return digest, self.image_size, self.resize_size, self.crop


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder: Path) -> list[str]:
    """Image file names (sorted) directly inside ``folder``, ignoring other files."""
    with os.scandir(folder) as it:
        return sorted(e.name for e in it if e.is_file() and _is_image(e.name))


def list_class_folders(split_dir: str | Path, *, dataset: str = "imagefolder",
                       classes: Sequence[str] | None = None
                       ) -> tuple[tuple[str, ...], list[str], np.ndarray]:
    """Walk a class-per-folder tree: ``split_dir/<class>/<image>`` (images at any depth).

    Parameters
    ----------
    split_dir
        The folder holding one sub-folder per class.
    classes
        Fix the class list and order (e.g. the training classes when listing a test tree);
        default: the sorted sub-folder names.

    Returns
    -------
    (class_names, files, labels)
        Files are relative to ``split_dir`` (POSIX), sorted by class then path.

    Raises
    ------
    FileNotFoundError
        ``split_dir`` does not exist.
    DatasetFormatError
        No class folders, images lying directly in ``split_dir`` (not one folder per class), a
        class folder unknown to ``classes``, or no image at all.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise missing_error(dataset, split_dir, "no such folder")
    with os.scandir(split_dir) as it:
        entries = list(it)
    folders = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    loose = [e.name for e in entries if e.is_file() and _is_image(e.name)]
    if loose and not folders:
        raise format_error(dataset, split_dir, f"{len(loose)} images lie directly in this "
                                               f"folder (e.g. {loose[0]}): expected one "
                                               f"sub-folder per class")
    if not folders:
        raise format_error(dataset, split_dir, "no class folders: expected one sub-folder per "
                                               "class holding its images")
    if classes is None:
        class_names = tuple(folders)
    else:
        class_names = tuple(classes)
        unknown = sorted(set(folders) - set(class_names))
        if unknown:
            raise format_error(dataset, split_dir, f"class folder(s) {unknown[:5]} are not "
                                                   f"training classes")
    files: list[str] = []
    labels: list[int] = []
    for k, name in enumerate(class_names):
        folder = split_dir / name
        if not folder.is_dir():
            continue
        found = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            rel = Path(dirpath).relative_to(split_dir).as_posix()
            found += [f"{rel}/{f}" for f in sorted(filenames) if _is_image(f)]
        files += found
        labels += [k] * len(found)
    if not files:
        raise format_error(dataset, split_dir, f"no image files (extensions "
                                               f"{', '.join(IMAGE_EXTENSIONS)}) in the class "
                                               f"folders")
    return class_names, files, np.asarray(labels, dtype=np.int64)
