"""Fixtures that fabricate tiny datasets in the REAL on-disk formats (and broken variants).

Every writer follows the official format byte for byte where it matters: big-endian idx headers
(magic 2049/2051), CIFAR pickles with bytes keys and a uint8 (N, 3072) ``data`` array,
TinyImageNet's folder tree and tab-separated annotations, an ImageFolder tree, and the
Waterbirds folder with its ``metadata.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from .data_formats import IDX_NAMES, cifar_batch, write_idx, write_image, write_pickle


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty droprune cache directory."""
    monkeypatch.setenv("DROPRUNE_CACHE", str(tmp_path_factory.mktemp("cache")))


# -- idx ------------------------------------------------------------------------------------

@pytest.fixture
def idx_tree(tmp_path):
    """Factory: write an MNIST-style idx dataset (n_train/n_test, 10 balanced classes)."""

    def make(folder: Path | None = None, *, n_train: int = 40, n_test: int = 20, gz: bool = True,
             size: int = 28) -> dict:
        folder = tmp_path / "idx" if folder is None else folder
        rng = np.random.default_rng(0)
        arrays = {
            "train_images": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
            "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
            "test_images": rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
            "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
        }
        paths = {}
        for role, arr in arrays.items():
            name = IDX_NAMES[role] + (".gz" if gz else "")
            paths[role] = write_idx(folder / name, arr, gz=gz)
        return {"root": folder, "arrays": arrays, "paths": paths}

    return make


# -- CIFAR ----------------------------------------------------------------------------------
@pytest.fixture
def cifar10_tree(tmp_path):
    """Factory: ``root/cifar-10-batches-py`` with 5 train batches of ``n`` images + test."""

    def make(n: int = 20, n_test: int = 10) -> Path:
        folder = tmp_path / "c10" / "cifar-10-batches-py"
        for i in range(1, 6):
            write_pickle(folder / f"data_batch_{i}", cifar_batch(n, 10, b"labels", i))
        write_pickle(folder / "test_batch", cifar_batch(n_test, 10, b"labels", 0))
        write_pickle(folder / "batches.meta", {
            b"label_names": [s.encode() for s in ("airplane", "automobile", "bird", "cat",
                                                  "deer", "dog", "frog", "horse", "ship",
                                                  "truck")],
            b"num_cases_per_batch": n, b"num_vis": 3072})
        return tmp_path / "c10"

    return make


@pytest.fixture
def cifar100_tree(tmp_path):
    """Factory: ``root/cifar-100-python`` with ``train`` (n images), ``test``, ``meta``."""

    def make(n: int = 200, n_test: int = 100) -> Path:
        folder = tmp_path / "c100" / "cifar-100-python"
        train = cifar_batch(n, 100, b"fine_labels", 1)
        train[b"coarse_labels"] = [v // 5 for v in train[b"fine_labels"]]
        test = cifar_batch(n_test, 100, b"fine_labels", 2)
        test[b"coarse_labels"] = [v // 5 for v in test[b"fine_labels"]]
        write_pickle(folder / "train", train)
        write_pickle(folder / "test", test)
        write_pickle(folder / "meta", {
            b"fine_label_names": [f"fine{k}".encode() for k in range(100)],
            b"coarse_label_names": [f"coarse{k}".encode() for k in range(20)]})
        return tmp_path / "c100"

    return make


# -- images ---------------------------------------------------------------------------------
@pytest.fixture
def tiny_tree(tmp_path):
    """Factory: a 3-class ``tiny-imagenet-200`` tree (4 train images per class, 6 val)."""

    def make(per_class: int = 4, n_val: int = 6) -> Path:
        base = tmp_path / "tin" / "tiny-imagenet-200"
        wnids = ["n02", "n01", "n03"]  # deliberately unsorted: classes are the sorted wnids
        base.mkdir(parents=True)
        (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
        (base / "words.txt").write_text("n00\tentity\nn01\tgoldfish, Carassius auratus\n"
                                        "n02\tsalamander\nn03\tbullfrog, Rana catesbeiana\n")
        seed = 0
        for w in wnids:
            for i in range(per_class):
                seed += 1
                mode = "L" if i == 0 else "RGB"  # TinyImageNet has some grayscale JPEGs
                write_image(base / "train" / w / "images" / f"{w}_{i}.JPEG", (64, 64), seed,
                            mode)
            (base / "train" / w / f"{w}_boxes.txt").write_text("")
        lines = []
        for i in range(n_val):
            seed += 1
            write_image(base / "val" / "images" / f"val_{i}.JPEG", (64, 64), seed)
            lines.append(f"val_{i}.JPEG\t{sorted(wnids)[i % 3]}\t0\t0\t63\t63")
        (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
        return tmp_path / "tin"

    return make


@pytest.fixture
def folder_tree(tmp_path):
    """Factory: ``root/{train,test}/<class>/`` with small images of various sizes."""

    def make(classes=("cat", "dog", "emu"), per_class: int = 3, test_dir: str = "test") -> Path:
        root = tmp_path / "folder"
        seed = 0
        for split, n in (("train", per_class), (test_dir, 2)):
            for c in classes:
                for i in range(n):
                    seed += 1
                    ext = ".png" if i % 2 else ".jpg"
                    write_image(root / split / c / f"{c}{i}{ext}", (24 + i, 20), seed)
        (root / "train" / "cat" / "notes.txt").write_text("not an image")
        return root

    return make


@pytest.fixture
def waterbirds_tree(tmp_path):
    """Factory: a Waterbirds folder: metadata.csv (official columns) + images in subfolders.

    Rows cycle through (y, place) and splits so that each split holds every group.
    """

    def make(rows_per_split: int = 8, columns=None) -> Path:
        root = tmp_path / "waterbird_complete95_forest2water2"
        header = columns or ["img_id", "img_filename", "y", "split", "place", "place_filename"]
        lines = [",".join(header)]
        img_id = 0
        for split in (0, 1, 2):
            for i in range(rows_per_split):
                img_id += 1
                y, place = (i // 2) % 2, i % 2
                rel = f"{100 + y:03d}.Bird_{y}/bird_{img_id}.jpg"
                write_image(root / rel, (30, 26), img_id)
                values = {"img_id": str(img_id), "img_filename": rel, "y": str(y),
                          "split": str(split), "place": str(place),
                          "place_filename": "/l/lake/natural/00000001.jpg"}
                lines.append(",".join(values[c] for c in header))
        (root / "metadata.csv").write_text("\n".join(lines) + "\n")
        return root

    return make
