"""Synthetic Gaussian mixtures with per-class means and standard deviations.

Class k draws ``class_sizes[k]`` points from N(mu_k, diag(sigma_k ** 2)) in ``dim`` dimensions.
``means`` is either one number per class (mu_k = means[k] on every coordinate) or a (K, dim)
array; ``stds`` likewise (an isotropic sigma_k, or one per coordinate). Inputs are float32 of
shape (N, 1, dim), the same layout as MNIST-1D, so every model that takes MNIST-1D takes a
mixture. No normalisation is attached (``mean``/``std`` are None): the features stay in the
units the theory (:mod:`droprune.theory`) works in.

A mixture is drawn in memory: at most :data:`MAX_VALUES` feature values (samples x ``dim``, the
train and test mixtures of :func:`load_gaussian_mixture` together) are drawn, and more is
refused by name before anything is allocated (:func:`check_gaussian_mixture_options`, also run
when a config is validated).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from .._checks import as_class_sizes, check_int
from .base import LabelledDataset

__all__ = ["MAX_VALUES", "check_gaussian_mixture_options", "gaussian_mixture",
           "load_gaussian_mixture"]

#: the most feature values (samples x dim) one mixture draws: 10**8 float32 values are 400 MB
#: of inputs and about 3 GB at the peak of sampling (float64 draws); more is refused by name
MAX_VALUES = 10**8


def _per_class(values: Any, k: int, dim: int, name: str, positive: bool) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1 and arr.size == k:
        arr = np.repeat(arr[:, None], dim, axis=1)
    if arr.shape != (k, dim):
        raise ValueError(f"{name} must have one value per class ({k}) or shape ({k}, {dim}), "
                         f"got shape {np.shape(values)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {arr.min():g}")
    return arr


def _dim(dim: Any, means: Any, stds: Any) -> int:
    """``dim`` checked, or inferred from a 2-D ``means``/``stds`` (else 1)."""
    if dim is None:
        shaped = [np.shape(v) for v in (means, stds) if np.ndim(v) == 2]
        return int(shaped[0][1]) if shaped else 1
    return check_int(dim, "dim", minimum=1, requirement="a positive integer")


def _check_values(samples: int, k: int, dim: int, what: str) -> None:
    """Refuse drawing more than :data:`MAX_VALUES` values (``samples`` x ``dim``; the
    (K, dim) means and stds count too), before anything is allocated."""
    values = max(samples, k) * dim
    if values > MAX_VALUES:
        raise ValueError(f"{what} ask for {samples:,} samples of dim {dim:,} ({values:,} values), "
                         f"more than the {MAX_VALUES:,} a gaussian-mixture draws in memory: "
                         f"give fewer samples or a smaller dim")


def check_gaussian_mixture_options(*, class_sizes: Any = (1000, 1000), test_sizes: Any = None,
                                   means: Any = (-1.0, 1.0), stds: Any = (1.0, 1.0),
                                   dim: Any = None, **others: Any) -> None:
    """Validate the options of :func:`load_gaussian_mixture` without drawing anything: the
    sizes (one per class, the same number of classes in both), ``dim``, and the total against
    :data:`MAX_VALUES`. Other options are left to the registry (``others``).

    Examples
    --------
    >>> check_gaussian_mixture_options(class_sizes=[10**9, 20], test_sizes=[10, 10])
    Traceback (most recent call last):
    ...
    ValueError: class_sizes and test_sizes ask for 1,000,000,040 samples of dim 1 (1,000,000,040 values), more than the 100,000,000 a gaussian-mixture draws in memory: give fewer samples or a smaller dim
    """
    train = as_class_sizes(class_sizes, "class_sizes")
    test = train if test_sizes is None else as_class_sizes(test_sizes, "test_sizes")
    if test.size != train.size:
        raise ValueError(f"test_sizes has {test.size} classes but class_sizes has {train.size}")
    samples = int(train.sum()) + int(test.sum())  # each at most 2**53: no overflow
    _check_values(samples, train.size, _dim(dim, means, stds),
                  "class_sizes and test_sizes" if test_sizes is not None
                  else "class_sizes (for train and test: no test_sizes given)")


def gaussian_mixture(class_sizes: Any, means: Any, stds: Any, *, dim: int | None = None,
                     seed: int | np.random.SeedSequence = 0,
                     name: str = "gaussian-mixture") -> LabelledDataset:
    """Sample a labelled Gaussian mixture.

    Parameters
    ----------
    class_sizes
        Samples per class (K entries).
    means
        K numbers (the same value on every coordinate) or a (K, dim) array.
    stds
        K positive numbers (isotropic) or a (K, dim) array of positive per-coordinate stds.
    dim
        Number of features; inferred from a 2-D ``means``/``stds``, else 1.
    seed
        Seed (or ``SeedSequence``) of ``numpy.random.default_rng``; the same arguments give
        identical samples.

    Returns
    -------
    LabelledDataset
        float32 inputs (N, 1, dim) (at most :data:`MAX_VALUES` values, N x dim), labels
        sorted by class (class 0 first).

    Examples
    --------
    >>> ds = gaussian_mixture([3, 2], means=[-1.0, 1.0], stds=[0.5, 0.5], dim=4, seed=0)
    >>> ds.inputs.shape, ds.labels.tolist()
    (torch.Size([5, 1, 4]), [0, 0, 0, 1, 1])
    """
    sizes = as_class_sizes(class_sizes, "class_sizes")
    k = sizes.size
    dim = _dim(dim, means, stds)
    _check_values(int(sizes.sum()), k, dim, "class_sizes")
    mu = _per_class(means, k, dim, "means", positive=False)
    sigma = _per_class(stds, k, dim, "stds", positive=True)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k, dtype=np.int64), sizes)
    x = rng.standard_normal((labels.size, int(dim))) * sigma[labels] + mu[labels]
    inputs = torch.from_numpy(x.astype(np.float32)[:, None, :])
    return LabelledDataset(inputs, labels, num_classes=k, name=name,
                           class_names=tuple(str(c) for c in range(k)))


def load_gaussian_mixture(root: Any = None, *, class_sizes: Any = (1000, 1000),
                          test_sizes: Any = None, means: Any = (-1.0, 1.0),
                          stds: Any = (1.0, 1.0), dim: int | None = None, seed: int = 0
                          ) -> tuple[LabelledDataset, LabelledDataset]:
    """Train and held-out mixtures from independent streams of one seed.

    ``test_sizes`` defaults to ``class_sizes``. ``root`` is accepted for a uniform signature
    and must be None (nothing is read from disk). Train and test together draw at most
    :data:`MAX_VALUES` values (:func:`check_gaussian_mixture_options`).
    """
    if root is not None:
        raise ValueError("gaussian-mixture is generated in memory: do not pass a root")
    check_gaussian_mixture_options(class_sizes=class_sizes, test_sizes=test_sizes, means=means,
                                   stds=stds, dim=dim)
    if test_sizes is None:
        test_sizes = class_sizes
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    train = gaussian_mixture(class_sizes, means, stds, dim=dim, seed=train_seed)
    test = gaussian_mixture(test_sizes, means, stds, dim=dim, seed=test_seed)
    return replace(train, split="train"), replace(test, split="test")
