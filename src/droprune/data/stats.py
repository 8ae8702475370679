"""Per-channel normalisation statistics of a training split.

Each source sets ``mean`` and ``std`` of its datasets from its TRAIN split (before any
imbalance subsampling, so that every imbalance factor and seed sees the same normalisation), in
the units :meth:`~droprune.data.base.LabelledDataset.to_float` works in: uint8 values divided
by 255. Lazily decoded sources (ImageNet, Waterbirds, ImageFolder) use the ImageNet constants
instead of decoding the whole training set once.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "channel_stats"]

#: The usual ImageNet statistics (RGB, after /255).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def channel_stats(inputs: torch.Tensor | np.ndarray) -> tuple[tuple[float, ...],
                                                             tuple[float, ...]]:
    """Mean and standard deviation of each channel (dimension 1) over all other dimensions.

    uint8 inputs are measured after division by 255, exactly (from a 256-bin histogram per
    channel, which is fast and free of float accumulation error); float inputs as they are.
    The standard deviation is the population one (``ddof=0``); a constant channel gets std 1
    so that normalising never divides by zero.

    Examples
    --------
    >>> x = np.array([[[0, 255]], [[255, 0]]], dtype=np.uint8)   # (N=2, C=1, L=2)
    >>> channel_stats(x)
    ((0.5,), (0.5,))
    """
    arr = inputs.numpy() if isinstance(inputs, torch.Tensor) else np.asarray(inputs)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"inputs must have shape (N, C, ...) with N >= 1, got {arr.shape}")
    hists = _uint8_histograms(arr) if arr.dtype == np.uint8 else None
    means, stds = [], []
    for c in range(arr.shape[1]):
        channel = arr[:, c]
        if hists is not None:
            hist = hists[c].astype(np.float64)
            values = np.arange(256, dtype=np.float64) / 255.0
            n = hist.sum()
            mean = float(hist @ values / n)
            var = float(hist @ (values - mean) ** 2 / n)
        else:
            flat = channel.reshape(-1).astype(np.float64)
            mean, var = float(flat.mean()), float(flat.var())
        std = float(np.sqrt(var))
        means.append(mean)
        stds.append(std if std > 0 else 1.0)
    return tuple(means), tuple(stds)


def _uint8_histograms(arr: np.ndarray) -> np.ndarray:
    """256-bin histogram of each channel, (C, 256) int64, in cache-sized chunks of samples.

    ``np.bincount`` widens its input to int64; chunks of about 2**19 values per channel keep
    that temporary in the CPU cache (about 3x faster than one call on the whole channel).
    """
    per_sample = int(np.prod(arr.shape[2:], dtype=np.int64)) or 1
    rows = max(1, 2**19 // per_sample)
    hists = np.zeros((arr.shape[1], 256), dtype=np.int64)
    for start in range(0, arr.shape[0], rows):
        block = arr[start:start + rows]
        for c in range(arr.shape[1]):
            hists[c] += np.bincount(block[:, c].reshape(-1), minlength=256)
    return hists
