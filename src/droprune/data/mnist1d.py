"""MNIST-1D, the embedded default dataset: generated offline, deterministic, cached.

MNIST-1D (Greydanus, 2020) is a procedurally generated 10-class dataset of 1-D signals of
length 40. It is generated here with ``mnist1d.data.make_dataset`` from the package's default
arguments (``get_dataset_args()``) with the chosen number of samples and seed; the downloading
``get_dataset`` is never called. The package's own 80% / 20% train/test split is kept (10 000
samples: 8 000 train, 2 000 test, which ``load_dataset`` splits into 1 000 validation + 1 000
test). Generating 10 000 samples takes about 2 s, so the arrays are cached as ``.npz`` (see
:mod:`droprune.data.cache`) keyed by every generation argument and the package version.

``make_dataset`` seeds Python's and numpy's GLOBAL random generators; droprune restores their
previous states afterwards, so loading the data does not change the caller's random streams.
Inputs are float32 (N, 1, 40); the package already centres and scales the whole dataset, and
``mean``/``std`` are set from the training split on top of that.
"""

from __future__ import annotations

import importlib.metadata
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_int
from .._extras import require
from .base import LabelledDataset
from .cache import cache_dir, cache_key, load_cached, save_cached
from .stats import channel_stats

__all__ = ["DEFAULT_NUM_SAMPLES", "check_mnist1d_options", "generate_mnist1d", "load_mnist1d"]

#: Default number of samples (train + test) of the embedded dataset.
DEFAULT_NUM_SAMPLES = 10_000
_ARRAYS = ("x", "y", "x_test", "y_test")
_NOT_ARGS = {"url"}


def _generation_args(num_samples: int, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    require("torch", "mnist1d", what="the mnist1d dataset")
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    allowed = sorted(set(args) - _NOT_ARGS - {"num_samples", "seed"})
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(f"mnist1d: unknown generation argument(s) {unknown}; valid: "
                         f"num_samples, seed, {', '.join(allowed)}")
    multiple = "a positive multiple of 10 (the generator makes num_samples // 10 per class)"
    if check_int(num_samples, "mnist1d: num_samples", minimum=10, requirement=multiple) % 10:
        raise ValueError(f"mnist1d: num_samples must be {multiple}, got {num_samples!r}")
    check_int(seed, "mnist1d: seed")
    args.update(overrides, num_samples=int(num_samples), seed=int(seed))
    for key in _NOT_ARGS:
        args.pop(key, None)
    return args


def check_mnist1d_options(*, num_samples: int = DEFAULT_NUM_SAMPLES, seed: int = 42,
                          cache: bool = True, **generation_args: Any) -> None:
    """Validate the options of :func:`load_mnist1d` without generating anything.

    Examples
    --------
    >>> check_mnist1d_options(num_samples=105)
    Traceback (most recent call last):
    ...
    ValueError: mnist1d: num_samples must be a positive multiple of 10 (the generator makes num_samples // 10 per class), got 105
    """
    if not isinstance(cache, bool):
        raise ValueError(f"mnist1d: cache must be True or False, got {cache!r}")
    _generation_args(num_samples, seed, generation_args)


def generate_mnist1d(num_samples: int = DEFAULT_NUM_SAMPLES, seed: int = 42,
                     **generation_args: Any) -> dict[str, np.ndarray]:
    """Generate MNIST-1D in memory (no cache, no download).

    Parameters
    ----------
    num_samples
        Total number of samples, a multiple of 10 (``train_split`` of them, 0.8 by default,
        are training samples).
    seed
        Generation seed (42 is the package's default).
    **generation_args
        Any other field of ``mnist1d.data.get_dataset_args()`` (``train_split``,
        ``iid_noise_scale``, ...).

    Returns
    -------
    dict
        ``x`` float32 (n_train, 40), ``y`` int64 (n_train,), ``x_test``, ``y_test``.

    Examples
    --------
    >>> arrays = generate_mnist1d(100, seed=0)
    >>> arrays["x"].shape, arrays["x_test"].shape
    ((80, 40), (20, 40))
    """
    require("torch", "mnist1d", what="the mnist1d dataset")
    from mnist1d.data import ObjectView, make_dataset

    args = _generation_args(num_samples, seed, generation_args)
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {"x": np.ascontiguousarray(data["x"], dtype=np.float32),
            "y": np.asarray(data["y"], dtype=np.int64),
            "x_test": np.ascontiguousarray(data["x_test"], dtype=np.float32),
            "y_test": np.asarray(data["y_test"], dtype=np.int64)}


def _mnist1d_cache_path(root: str | Path | None, args: dict[str, Any]) -> Path:
    try:
        version = importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed with us
        version = "unknown"
    key = cache_key({"source": "mnist1d", "version": version, "args": args})
    return cache_dir(root) / f"mnist1d-{key}.npz"


def load_mnist1d(root: str | Path | None = None, *, num_samples: int = DEFAULT_NUM_SAMPLES,
                 seed: int = 42, cache: bool = True, **generation_args: Any
                 ) -> tuple[LabelledDataset, LabelledDataset]:
    """MNIST-1D as ``(train, official test)`` datasets, from the cache or freshly generated.

    Parameters
    ----------
    root
        Cache directory (default ``$DROPRUNE_CACHE`` or ``~/.cache/droprune``).
    num_samples, seed, **generation_args
        See :func:`generate_mnist1d`.
    cache
        Read and write the ``.npz`` cache (a corrupt cache file is rebuilt with a warning).

    Examples
    --------
    >>> train, test = load_mnist1d(num_samples=100, seed=0, cache=False)
    >>> train.inputs.shape, train.inputs.dtype, len(test)
    (torch.Size([80, 1, 40]), torch.float32, 20)
    """
    args = _generation_args(num_samples, seed, generation_args)
    path = _mnist1d_cache_path(root, args)
    arrays = load_cached(path, _ARRAYS) if cache else None
    if arrays is None:
        arrays = generate_mnist1d(num_samples, seed, **generation_args)
        if cache:
            save_cached(path, arrays)
    x = torch.from_numpy(np.ascontiguousarray(arrays["x"], dtype=np.float32)[:, None, :])
    x_test = torch.from_numpy(np.ascontiguousarray(arrays["x_test"],
                                                   dtype=np.float32)[:, None, :])
    mean, std = channel_stats(x)
    names = tuple(str(k) for k in range(10))
    common: dict[str, Any] = dict(num_classes=10, name="mnist1d",
 class_names=names, mean=mean, std=std)
    return (LabelledDataset(x, arrays["y"], split="train", **common),
            LabelledDataset(x_test, arrays["y_test"], split="test", **common))
