"""load_dataset: every registered name, splits, imbalance on train only, options, errors."""

from __future__ import annotations

import numpy as np
import pytest

from droprune.data import DATASETS, DatasetSplits, check_dataset, load_dataset, summarize_splits

EXPECTED_NAMES = {"mnist1d", "fashion-mnist", "mnist", "cifar10", "cifar100", "tinyimagenet",
                  "imagenet", "imagefolder", "waterbirds", "gaussian-mixture"}


def test_registry_holds_the_documented_names():
    assert set(DATASETS) == EXPECTED_NAMES


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        load_dataset("cifar11")
    msg = str(err.value)
    assert "unknown dataset 'cifar11'" in msg
    assert all(name in msg for name in EXPECTED_NAMES)


def test_names_are_case_and_underscore_insensitive(idx_tree):
    tree = idx_tree()
    splits = load_dataset("Fashion_MNIST", tree["root"])
    assert splits.train.name == "fashion-mnist"


def test_unknown_option_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"no option\(s\) \['colour'\]; valid options: "
                                         r"image_size, resize_size"):
        load_dataset("waterbirds", tmp_path, colour=1)
    with pytest.raises(ValueError, match="valid options: none"):
        load_dataset("cifar10", tmp_path, colour=1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(val_fraction=1.0), "val_fraction"),
    (dict(imbalance=0.5), "imbalance factor must be >= 1"),
])
def test_bad_split_arguments_fail_before_reading(tmp_path, kwargs, match):
    # the root does not exist: the argument error must come first
    with pytest.raises(ValueError, match=match):
        load_dataset("cifar10", tmp_path / "missing", **kwargs)


def test_cifar10_splits_half_of_each_test_class(cifar10_tree):
    splits = load_dataset("cifar10", cifar10_tree(n=20, n_test=30))
    assert isinstance(splits, DatasetSplits)
    assert (splits.train.split, splits.val.split, splits.test.split) == ("train", "val", "test")
    assert len(splits.train) == 100
    assert splits.val.class_sizes.tolist() == [1] * 10   # 3 per class: 1 val, 2 test
    assert splits.test.class_sizes.tolist() == [2] * 10
    both = np.concatenate([splits.val.source_indices, splits.test.source_indices])
    np.testing.assert_array_equal(np.sort(both), np.arange(30))


def test_split_is_deterministic_and_seeded(cifar10_tree):
    root = cifar10_tree(n=20, n_test=40)
    a = load_dataset("cifar10", root, split_seed=1)
    b = load_dataset("cifar10", root, split_seed=1)
    c = load_dataset("cifar10", root, split_seed=2)
    np.testing.assert_array_equal(a.val.source_indices, b.val.source_indices)
    assert not np.array_equal(a.val.source_indices, c.val.source_indices)
    assert a.val.fingerprint() == b.val.fingerprint()


def test_imbalance_changes_train_only(cifar10_tree):
    root = cifar10_tree(n=20, n_test=20)
    plain = load_dataset("cifar10", root)
    lt = load_dataset("cifar10", root, imbalance=10, imbalance_seed=5)
    expected = [int(np.floor(10 * 10 ** (-k / 9) + 0.5)) for k in range(10)]
    assert lt.train.class_sizes.tolist() == expected
    assert lt.train.split == "train"
    assert lt.val.fingerprint() == plain.val.fingerprint()
    assert lt.test.fingerprint() == plain.test.fingerprint()
    assert lt.train.mean == plain.train.mean  # normalisation from the full training set
    same = load_dataset("cifar10", root, imbalance=10, imbalance_seed=5)
    np.testing.assert_array_equal(same.train.source_indices, lt.train.source_indices)


def test_every_file_source_loads_through_the_registry(idx_tree, cifar100_tree, tiny_tree,
                                                      folder_tree, waterbirds_tree, tmp_path):
    cases = {
        "mnist": (idx_tree()["root"], {}),
        "cifar100": (cifar100_tree(n_test=200), {}),
        "tinyimagenet": (tiny_tree(), {}),
        "imagefolder": (folder_tree(), {"image_size": 8}),
        "waterbirds": (waterbirds_tree(), {"image_size": 8}),
        "mnist1d": (tmp_path / "cache", {"num_samples": 100}),
    }
    for name, (root, options) in cases.items():
        splits = load_dataset(name, root, **options)
        assert len(splits.train) > 0 and len(splits.val) > 0 and len(splits.test) > 0, name
        assert splits.train.name == name


def test_summarize_splits(cifar10_tree):
    splits = load_dataset("cifar10", cifar10_tree(n=20, n_test=20))
    s = summarize_splits(splits)
    assert s["name"] == "cifar10" and s["num_classes"] == 10
    assert s["splits"]["train"]["size"] == 100 and s["splits"]["val"]["size"] == 10
    assert s["splits"]["test"]["class_counts"] == [1] * 10
    assert s["splits"]["train"]["sample_shape"] == [3, 32, 32]
    assert s["splits"]["train"]["dtype"] == "uint8"
    assert s["splits"]["val"]["fingerprint"] == splits.val.fingerprint()


def test_check_dataset_reports_problems_instead_of_raising(cifar10_tree, tmp_path):
    root = cifar10_tree(n_test=20)
    assert check_dataset("cifar10", root) == []
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"junk")
    (problem,) = check_dataset("cifar10", root)
    assert "test_batch" in problem and "corrupt or truncated pickle" in problem
    (problem,) = check_dataset("cifar10", tmp_path / "absent")
    assert "no such folder" in problem
    with pytest.raises(ValueError, match="unknown dataset"):
        check_dataset("nope")
    with pytest.raises(ValueError, match="decode must be"):
        check_dataset("cifar10", root, decode="some")


def test_check_dataset_reports_classes_without_validation_samples(cifar10_tree):
    root = cifar10_tree(n=20, n_test=10)  # one test image per class: val gets none
    problems = check_dataset("cifar10", root)
    assert problems == ["val split: 10 class(es) have no samples (e.g. ['airplane', "
                        "'automobile', 'bird', 'cat', 'deer'])"]
