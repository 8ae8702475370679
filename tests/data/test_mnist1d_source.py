"""MNIST-1D: offline generation, determinism, untouched global RNG, cache hit and rebuild."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from droprune.data import generate_mnist1d, load_dataset, load_mnist1d
from droprune.data.cache import cache_dir


def test_generation_is_deterministic_and_byte_identical():
    a = generate_mnist1d(200, seed=3)
    b = generate_mnist1d(200, seed=3)
    for key in ("x", "y", "x_test", "y_test"):
        assert a[key].tobytes() == b[key].tobytes()
    c = generate_mnist1d(200, seed=4)
    assert a["x"].tobytes() != c["x"].tobytes()
    assert a["x"].shape == (160, 40) and a["x"].dtype == np.float32
    assert a["x_test"].shape == (40, 40) and a["y"].dtype == np.int64
    # num_samples // 10 per class over train + test
    counts = np.bincount(np.concatenate([a["y"], a["y_test"]]), minlength=10)
    assert counts.tolist() == [20] * 10


def test_generation_never_downloads(monkeypatch):
    import mnist1d.data

    def forbidden(*args, **kwargs):
        raise AssertionError("get_dataset downloads; droprune must not call it")

    monkeypatch.setattr(mnist1d.data, "get_dataset", forbidden)
    assert generate_mnist1d(100, seed=0)["x"].shape == (80, 40)


def test_global_random_state_is_restored():
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    generate_mnist1d(100, seed=0)
    assert np.random.rand() == expected_np and random.random() == expected_py


def test_load_returns_float_signals_with_train_statistics():
    train, test = load_mnist1d(num_samples=200, seed=1, cache=False)
    assert train.inputs.shape == (160, 1, 40) and train.inputs.dtype == torch.float32
    assert test.inputs.shape == (40, 1, 40)
    assert train.class_names == tuple(str(k) for k in range(10))
    x = train.inputs.numpy().astype(np.float64)
    assert train.mean[0] == pytest.approx(x.mean()) and train.std[0] == pytest.approx(x.std())
    normalised = train.to_float(train.inputs)
    assert float(normalised.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(normalised.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)


def test_default_is_10000_samples_split_8000_1000_1000(monkeypatch):
    splits = load_dataset("mnist1d")
    assert len(splits.train) == 8000
    assert len(splits.val) + len(splits.test) == 2000
    # half of each test class, odd classes give the extra sample to test
    sizes = splits.val.class_sizes + splits.test.class_sizes
    np.testing.assert_array_equal(splits.val.class_sizes, sizes // 2)


def test_second_load_hits_the_cache(monkeypatch):
    train, test = load_mnist1d(num_samples=200, seed=2)
    files = list(cache_dir().glob("mnist1d-*.npz"))
    assert len(files) == 1

    import droprune.data.mnist1d as m1d

    def no_generation(*args, **kwargs):
        raise AssertionError("generated although the cache holds the arrays")

    monkeypatch.setattr(m1d, "generate_mnist1d", no_generation)
    cached_train, cached_test = load_mnist1d(num_samples=200, seed=2)
    assert cached_train.fingerprint() == train.fingerprint()
    assert cached_test.fingerprint() == test.fingerprint()
    # other arguments are another cache entry (and would generate)
    with pytest.raises(AssertionError, match="generated although"):
        load_mnist1d(num_samples=200, seed=3)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 not really a zip", None])
def test_corrupt_cache_is_rebuilt(damage):
    train, _ = load_mnist1d(num_samples=200, seed=2)
    (path,) = cache_dir().glob("mnist1d-*.npz")
    if damage is None:  # a valid npz that lacks the arrays
        np.savez(path, other=np.zeros(2))
    else:
        path.write_bytes(damage)
    with pytest.warns(UserWarning, match="unreadable.*rebuilding"):
        again, _ = load_mnist1d(num_samples=200, seed=2)
    assert again.fingerprint() == train.fingerprint()
    with np.load(path) as npz:
        assert npz["x"].shape == (160, 40)


def test_root_is_the_cache_directory(tmp_path):
    load_mnist1d(tmp_path / "my-cache", num_samples=100, seed=0)
    assert len(list((tmp_path / "my-cache").glob("mnist1d-*.npz"))) == 1
    assert not list(cache_dir().glob("*.npz"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_samples=105), "multiple of 10"),
    (dict(num_samples=0), "multiple of 10"),
    (dict(num_samples=True), "multiple of 10"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(colour="red"), r"unknown generation argument\(s\) \['colour'\]"),
    (dict(url="x"), r"unknown generation argument\(s\) \['url'\]"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_mnist1d(cache=False, **kwargs)


def test_generation_argument_overrides_are_used():
    a = generate_mnist1d(100, seed=0, train_split=0.5)
    assert a["x"].shape == (50, 40)
