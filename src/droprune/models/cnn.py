"""Small convolutional networks: ``cnn2d`` (images), ``cnn1d`` (MNIST-1D) and ``lenet5``."""

from __future__ import annotations

from typing import Sequence, cast

import torch
from torch import nn

from .base import Classifier, register_model
from .layers import check_input, init_weights, scaled

__all__ = ["LeNet5", "SmallCNN"]


class SmallCNN(Classifier):
    """``conv-BN-ReLU(-maxpool)`` stages, adaptive average pooling, one hidden linear layer.

    Works on 1-D signals (``dims=1``, input (B, C, L)) or images (``dims=2``, (B, C, H, W)) of
    any size: the adaptive pooling brings every input to ``pooled`` positions per axis before
    the hidden layer, whose output is ``features``.

    Parameters
    ----------
    channels
        Output channels of the conv stages.
    pool_after
        For each stage, whether a 2x max-pool (ceil mode) follows it.
    pooled
        Positions per spatial axis after the adaptive average pooling.
    hidden
        Width of the hidden linear layer (the embedding dimension D).
    kernel_sizes
        Kernel size of each stage (padding keeps the size).

    Examples
    --------
    >>> m = SmallCNN(10, in_channels=1, dims=1, channels=(8, 8), pool_after=(True, False),
    ...              pooled=4, hidden=16, kernel_sizes=(5, 3))
    >>> m(torch.zeros(2, 1, 40)).shape
    torch.Size([2, 10])
    """

    def __init__(self, num_classes: int, *, in_channels: int, dims: int,
                 channels: Sequence[int], pool_after: Sequence[bool], pooled: int, hidden: int,
                 kernel_sizes: Sequence[int]) -> None:
        super().__init__()
        conv, bn, pool, adaptive = {
            1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d),
            2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d),
        }[dims]
        layers: list[nn.Module] = []
        prev = in_channels
        for out, k, do_pool in zip(channels, kernel_sizes, pool_after, strict=True):
            layers += [conv(prev, out, k, padding=k // 2, bias=False), bn(out),
                       nn.ReLU(inplace=True)]
            if do_pool:
                layers.append(pool(2, ceil_mode=True))
            prev = out
        layers += [adaptive(pooled), nn.Flatten(),
                   nn.Linear(prev * pooled ** dims, hidden), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Linear(hidden, num_classes)
        init_weights(self, self.classifier)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register_model("cnn2d", description="small image CNN (Fashion-MNIST, CIFAR)")
def cnn2d(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
          width: float = 1.0) -> SmallCNN:
    """Small image CNN (Fashion-MNIST / CIFAR size): conv 32 and 64 (3x3, BN, ReLU, 2x
    max-pool each), average-pooled to 4x4, hidden linear 128. Any image size >= 8."""
    check_input("cnn2d", in_channels, input_size, spatial_dims=2, min_size=8)
    return SmallCNN(num_classes, in_channels=in_channels, dims=2,
                    channels=(scaled(32, width), scaled(64, width)), pool_after=(True, True),
                    pooled=4, hidden=scaled(128, width), kernel_sizes=(3, 3))


@register_model("cnn1d", description="small 1-D CNN (MNIST-1D, input (1, 40))")
def cnn1d(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
          width: float = 1.0) -> SmallCNN:
    """Small 1-D CNN for MNIST-1D (input (B, 1, 40)): conv 32 (k5), 64 (k3), 64 (k3) with BN
    and ReLU, 2x max-pool after the first two, average-pooled to 5, hidden linear 128."""
    check_input("cnn1d", in_channels, input_size, spatial_dims=1, min_size=4)
    c32, c64 = scaled(32, width), scaled(64, width)
    return SmallCNN(num_classes, in_channels=in_channels, dims=1, channels=(c32, c64, c64),
                    pool_after=(True, True, False), pooled=5, hidden=scaled(128, width),
                    kernel_sizes=(5, 3, 3))


class LeNet5(Classifier):
    """LeNet-5 with ReLU and max-pooling: conv 6 (5x5), pool, conv 16 (5x5), pool, linear 120,
    linear 84 (``features``), classifier.

    The first convolution pads by 2 on inputs smaller than 32x32 (the MNIST convention, so that
    28x28 inputs see the classic 32x32 geometry); an adaptive average pooling to 5x5 before the
    linear layers makes larger inputs work too (it is the identity at 28x28 and 32x32).
    """

    def __init__(self, num_classes: int, *, in_channels: int, input_size: tuple[int, int],
                 width: float = 1.0) -> None:
        super().__init__()
        c1, c2 = scaled(6, width), scaled(16, width)
        h1, h2 = scaled(120, width), scaled(84, width)
        pad = 2 if min(input_size) < 32 else 0
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=pad), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(5), nn.Flatten(),
            nn.Linear(c2 * 25, h1), nn.ReLU(inplace=True),
            nn.Linear(h1, h2), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(h2, num_classes)
        init_weights(self, self.classifier)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register_model("lenet5", description="LeNet-5 (ReLU, max-pool)")
def lenet5(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
           width: float = 1.0) -> LeNet5:
    """LeNet-5 for images of size >= 12 (see :class:`LeNet5`)."""
    size = check_input("lenet5", in_channels, input_size, spatial_dims=2, min_size=12)
    return LeNet5(num_classes, in_channels=in_channels,
                  input_size=cast("tuple[int, int]", size),  # spatial_dims=2: two sizes
                  width=width)
