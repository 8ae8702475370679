"""An image folder is what its files hold: new images under the same names are a new dataset
(fingerprint), and a symbolic link pointing outside the dataset root is refused in one line."""

from __future__ import annotations

import os

import numpy as np
import pytest

from droprune.data import DatasetFormatError, as_labelled, load_imagefolder
from droprune.data.layout import refuse_links_outside

from .data_formats import write_image


def test_same_names_new_content_is_a_new_fingerprint(folder_tree):
    root = folder_tree()
    before = load_imagefolder(root, image_size=8)[0]
    fp = before.fingerprint()
    assert fp == load_imagefolder(root, image_size=8)[0].fingerprint()  # stable
    target = root / "train" / "dog" / "dog1.png"
    stat = target.stat()
    write_image(target, (40, 30), seed=99)  # another image, the same name
    after = load_imagefolder(root, image_size=8)[0]
    assert after.inputs.files == before.inputs.files  # the names did not change
    assert after.fingerprint() != fp
    # putting the old modification time back does not hide it: the size differs
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert target.stat().st_size != stat.st_size
    assert load_imagefolder(root, image_size=8)[0].fingerprint() != fp
    # a subset keeps its files: changing a file of the subset changes the subset's print
    sub = after.subset(np.array([0, 4]))
    sub_fp = sub.fingerprint()
    write_image(root / "train" / "dog" / "dog1.png", (22, 20), seed=5)
    assert load_imagefolder(root, image_size=8)[0].subset(np.array([0, 4])).fingerprint() \
        != sub_fp


def test_in_memory_data_keeps_its_fingerprint():
    x = np.arange(24, dtype=np.float32).reshape(6, 1, 4)
    a = as_labelled((x, np.array([0, 1, 0, 1, 0, 1])))
    assert a.fingerprint() == as_labelled((x.copy(), np.array([0, 1, 0, 1, 0, 1]))).fingerprint()


@pytest.mark.parametrize("where", ["file", "class_folder", "nested_folder", "split_folder"])
def test_a_symlink_out_of_the_root_is_refused_naming_it(folder_tree, tmp_path, where):
    root = folder_tree()
    outside = tmp_path / "elsewhere"
    (outside / "imgs").mkdir(parents=True)
    write_image(outside / "imgs" / "secret.png", (24, 20), seed=3)
    if where == "file":
        link = root / "train" / "cat" / "linked.png"
        os.symlink(outside / "imgs" / "secret.png", link)
    elif where == "class_folder":
        link = root / "train" / "fox"
        os.symlink(outside / "imgs", link)
    elif where == "nested_folder":
        link = root / "test" / "dog" / "more"
        os.symlink(outside / "imgs", link)
    else:
        (root / "test").rename(outside / "test")
        link = root / "test"
        os.symlink(outside / "test", link)
    with pytest.raises(DatasetFormatError) as info:
        load_imagefolder(root, image_size=8)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"imagefolder: {link}: a symbolic link to ")
    assert message.endswith(f", outside the dataset root {os.path.realpath(root)}: copy the "
                            f"files into the root or remove the link")


def test_links_inside_the_root_are_followed(folder_tree):
    root = folder_tree()
    os.symlink(root / "train" / "cat" / "cat0.jpg", root / "train" / "dog" / "alias.jpg")
    os.symlink(root / "train", root / "train" / "emu" / "loop")  # a cycle: walked once
    train, _ = load_imagefolder(root, image_size=8)
    assert "dog/alias.jpg" in train.inputs.files


def test_the_root_itself_may_be_a_link(folder_tree, tmp_path):
    root = folder_tree()
    alias = tmp_path / "alias"
    os.symlink(root, alias)
    train, _ = load_imagefolder(alias, image_size=8)
    assert len(train) == 9
    refuse_links_outside(alias, alias / "train", "imagefolder")
