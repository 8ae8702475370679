"""Synthetic Gaussian mixtures: shapes, per-class moments, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune.data import gaussian_mixture, load_dataset


def test_shapes_labels_and_moments():
    ds = gaussian_mixture([4000, 2000], means=[-2.0, 3.0], stds=[0.5, 2.0], dim=3, seed=0)
    assert ds.inputs.shape == (6000, 1, 3) and ds.inputs.dtype == torch.float32
    assert ds.class_sizes.tolist() == [4000, 2000] and ds.mean is None
    x = ds.inputs[:, 0].numpy().astype(np.float64)
    for k, (mu, sigma) in enumerate([(-2.0, 0.5), (3.0, 2.0)]):
        xk = x[ds.labels == k]
        se = sigma / np.sqrt(xk.shape[0])
        assert np.all(np.abs(xk.mean(0) - mu) < 5 * se)
        assert np.all(np.abs(xk.std(0) / sigma - 1) < 0.06)


def test_per_coordinate_means_and_stds_infer_dim():
    means = np.array([[0.0, 10.0], [5.0, -5.0]])
    stds = np.array([[1e-3, 1e-3], [1e-3, 1e-3]])
    ds = gaussian_mixture([3, 3], means, stds, seed=1)
    assert ds.sample_shape == (1, 2)
    np.testing.assert_allclose(ds.inputs[:3, 0].numpy(), np.tile(means[0], (3, 1)), atol=0.01)
    np.testing.assert_allclose(ds.inputs[3:, 0].numpy(), np.tile(means[1], (3, 1)), atol=0.01)


def test_deterministic_for_a_seed():
    a = gaussian_mixture([5, 5], [0, 1], [1, 1], dim=2, seed=4)
    b = gaussian_mixture([5, 5], [0, 1], [1, 1], dim=2, seed=4)
    c = gaussian_mixture([5, 5], [0, 1], [1, 1], dim=2, seed=5)
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(class_sizes=[2, -1]), "class_sizes must be >= 0"),
    (dict(means=[0.0]), "means must have one value per class"),
    (dict(stds=[1.0, 0.0]), "stds must be > 0"),
    (dict(stds=[1.0, float("nan")]), "stds must be finite"),
    (dict(dim=0), "dim must be a positive integer"),
])
def test_bad_arguments(kwargs, match):
    args = dict(class_sizes=[2, 2], means=[0.0, 1.0], stds=[1.0, 1.0], dim=2) | kwargs
    with pytest.raises(ValueError, match=match):
        gaussian_mixture(args.pop("class_sizes"), args.pop("means"), args.pop("stds"), **args)


def test_registry_source_has_independent_train_and_test():
    splits = load_dataset("gaussian-mixture", class_sizes=[30, 10], test_sizes=[8, 6], dim=2,
                          seed=3)
    assert splits.train.class_sizes.tolist() == [30, 10]
    assert splits.val.class_sizes.tolist() == [4, 3] and splits.test.class_sizes.tolist() == [4, 3]
    assert not torch.equal(splits.train.inputs[:8], splits.val.inputs[:8])
    again = load_dataset("gaussian-mixture", class_sizes=[30, 10], test_sizes=[8, 6], dim=2,
                         seed=3)
    assert torch.equal(again.test.inputs, splits.test.inputs)
    with pytest.raises(ValueError, match="do not pass a root"):
        load_dataset("gaussian-mixture", "/tmp")
    with pytest.raises(ValueError, match="test_sizes has 3 classes"):
        load_dataset("gaussian-mixture", class_sizes=[3, 3], test_sizes=[2, 2, 2])


def test_more_values_than_max_values_are_refused_before_allocating(monkeypatch):
    from droprune.data import synthetic
    from droprune.data.synthetic import MAX_VALUES, check_gaussian_mixture_options

    def no_draw(*args, **kwargs):
        raise AssertionError("drew before refusing")

    monkeypatch.setattr(synthetic.np.random, "default_rng", no_draw)
    with pytest.raises(ValueError, match=r"^class_sizes ask for 100,000,001 samples of dim 1 "
                                         r"\(100,000,001 values\), more than the 100,000,000 a "
                                         r"gaussian-mixture draws in memory: give fewer "
                                         r"samples or a smaller dim$"):
        gaussian_mixture([MAX_VALUES, 1], [0, 1], [1, 1])
    with pytest.raises(ValueError, match=r"^class_sizes ask for 0 samples of dim 200,000,000 "
                                         r"\(400,000,000 values\)"):
        gaussian_mixture([0, 0], [0, 1], [1, 1], dim=2 * 10**8)  # the (K, dim) means count
    with pytest.raises(ValueError, match=r"^class_sizes and test_sizes ask for 50,000,001 "
                                         r"samples of dim 2 \(100,000,002 values\)"):
        load_dataset("gaussian-mixture", class_sizes=[MAX_VALUES // 4, MAX_VALUES // 4],
                     test_sizes=[1, 0], dim=2)
    check_gaussian_mixture_options(class_sizes=[MAX_VALUES // 4] * 2, dim=1)  # the bound: ok
    with pytest.raises(ValueError, match=r"^class_sizes \(for train and test: no test_sizes "
                                         r"given\) ask for 100,000,000 samples of dim 2 "):
        check_gaussian_mixture_options(class_sizes=[MAX_VALUES // 4] * 2, dim=2)
