"""ImageFolder / ImageNet readers and the lazy image sequence (resize + centre crop)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from .data_formats import write_image
from PIL import Image

from droprune.data import (DatasetFormatError, ImageFiles, iter_batches, load_imagefolder,
                           load_imagenet)
from droprune.data.images import decode_image, resize_center_crop
from droprune.data.stats import IMAGENET_MEAN, IMAGENET_STD


def test_imagefolder_lists_classes_and_decodes_lazily(folder_tree):
    root = folder_tree()
    train, test = load_imagefolder(root, image_size=16)
    assert not train.in_memory
    assert train.class_names == ("cat", "dog", "emu") and train.num_classes == 3
    np.testing.assert_array_equal(train.labels, np.repeat([0, 1, 2], 3))
    np.testing.assert_array_equal(test.labels, np.repeat([0, 1, 2], 2))
    assert train.inputs.files[:3] == ["cat/cat0.jpg", "cat/cat1.png", "cat/cat2.jpg"]
    x, y, i = train[4]
    assert x.shape == (3, 16, 16) and x.dtype == torch.uint8 and (y, i) == (1, 4)
    assert train.mean == IMAGENET_MEAN and train.std == IMAGENET_STD


def test_default_is_resize_256_center_crop_224(folder_tree):
    root = folder_tree(per_class=1)
    train, _ = load_imagefolder(root)
    assert train.inputs.resize_size == 256
    assert train.sample_shape == (3, 224, 224)


def test_decoding_matches_resize_then_center_crop(tmp_path):
    path = write_image(tmp_path / "a.png", (40, 20), seed=1)
    out = decode_image(path, resize_size=10, image_size=8)
    # shorter side 20 -> 10 (width 40 -> 20), then the centre 8x8 crop: columns 6..13, rows 1..8
    resized = np.asarray(Image.open(path).convert("RGB").resize((20, 10),
                                                                Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(out, resized[1:9, 6:14])


def test_resize_center_crop_refuses_a_crop_larger_than_the_image(tmp_path):
    img = Image.new("RGB", (10, 12))
    with pytest.raises(ValueError, match="smaller than the crop 16"):
        resize_center_crop(img, None, 16)


def test_image_files_validate_sizes_and_pickle(folder_tree):
    root = folder_tree(per_class=1)
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        ImageFiles(root, ["a.png"], image_size=0)
    with pytest.raises(ValueError, match="resize_size must be an integer >= image_size"):
        ImageFiles(root, ["a.png"], image_size=32, resize_size=16)
    train, _ = load_imagefolder(root, image_size=8)
    clone = pickle.loads(pickle.dumps(train.inputs))  # what DataLoader workers receive
    assert torch.equal(clone[1], train.inputs[1])
    assert clone.fingerprint_key == train.inputs.fingerprint_key


def test_fingerprint_depends_on_the_file_list_and_sizes(folder_tree):
    root = folder_tree()
    a, _ = load_imagefolder(root, image_size=8)
    fa = a.fingerprint()
    assert fa == load_imagefolder(root, image_size=8)[0].fingerprint()
    assert fa != load_imagefolder(root, image_size=16)[0].fingerprint()
    (root / "train" / "cat" / "cat0.jpg").rename(root / "train" / "cat" / "cat00.jpg")
    b, _ = load_imagefolder(root, image_size=8)  # same labels and length, other files
    assert np.array_equal(a.labels, b.labels)
    assert fa != b.fingerprint()


def test_iter_batches_decodes_in_worker_processes(folder_tree):
    root = folder_tree()
    train, _ = load_imagefolder(root, image_size=8)
    batches = list(iter_batches(train, 4, num_workers=1))
    x = torch.cat([b[0] for b in batches])
    assert x.shape == (9, 3, 8, 8) and x.dtype == torch.uint8
    assert torch.equal(torch.cat([b[2] for b in batches]), torch.arange(9))
    assert torch.equal(x[5], train.inputs[5])


def test_val_folder_is_used_when_there_is_no_test_folder(folder_tree):
    root = folder_tree(test_dir="val")
    _, held = load_imagefolder(root, image_size=8)
    assert len(held) == 6 and held.inputs.root.endswith("val")


def test_imagenet_uses_train_and_val(folder_tree):
    root = folder_tree(test_dir="val")
    train, val = load_imagenet(root, image_size=8)
    assert train.name == "imagenet" and len(val) == 6


def test_missing_root_train_and_test_folders(folder_tree, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_imagefolder(tmp_path / "nothing")
    root = folder_tree()
    with pytest.raises(FileNotFoundError, match="valprep.sh"):
        load_imagenet(root)  # ImageNet wants val/, the tree has test/
    with pytest.raises(FileNotFoundError, match="training images"):
        load_imagefolder(root, train_dir="training")


def test_images_directly_in_split_folder_are_a_wrong_layout(tmp_path):
    for i in range(2):
        write_image(tmp_path / "r" / "train" / f"{i}.png", (8, 8), seed=i)
        write_image(tmp_path / "r" / "test" / "a" / f"{i}.png", (8, 8), seed=i)
    with pytest.raises(DatasetFormatError, match="expected one sub-folder per class"):
        load_imagefolder(tmp_path / "r")


def test_no_class_folders_and_no_images(tmp_path):
    (tmp_path / "r" / "train").mkdir(parents=True)
    (tmp_path / "r" / "test").mkdir()
    with pytest.raises(DatasetFormatError, match="no class folders"):
        load_imagefolder(tmp_path / "r")
    (tmp_path / "r" / "train" / "a").mkdir()
    (tmp_path / "r" / "train" / "a" / "readme.txt").write_text("x")
    with pytest.raises(DatasetFormatError, match="no image files"):
        load_imagefolder(tmp_path / "r")


def test_test_class_unknown_to_train(folder_tree):
    root = folder_tree()
    write_image(root / "test" / "yak" / "0.png", (8, 8), seed=0)
    with pytest.raises(DatasetFormatError, match=r"\['yak'\] are not training classes"):
        load_imagefolder(root)


def test_corrupt_image_names_the_file(folder_tree):
    root = folder_tree()
    bad = root / "train" / "dog" / "dog1.png"
    bad.write_bytes(b"\x89PNG broken")
    train, _ = load_imagefolder(root, image_size=8)
    with pytest.raises(DatasetFormatError) as err:
        train.inputs[4]
    assert str(bad) in str(err.value)


def test_sample_paths_follow_the_samples(folder_tree):
    root = folder_tree()
    train, _ = load_imagefolder(root, image_size=8)
    paths = train.sample_paths()
    assert paths == [str(root / "train" / f) for f in train.inputs.files]
    assert all(train.inputs.path(i) == type(root)(p) for i, p in enumerate(paths))
    sub = train.subset([5, 0]).subset([1])  # a subset of a subset keeps its samples' files
    assert sub.sample_paths() == [paths[0]]
    in_memory = train.__class__(torch.zeros(2, 1, 4), np.array([0, 1]), num_classes=2)
    assert in_memory.sample_paths() is None
