"""Tiny classifiers for the scoring tests (the real models live in droprune.models)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from droprune.data.base import LabelledDataset
from droprune.models.base import Classifier


class TinyCNN(Classifier):
    """Conv-BN-ReLU x2 (one strided, one grouped, one 'same'-padded 1-D path) + linear head."""

    def __init__(self, in_channels: int = 3, num_classes: int = 4, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, groups=2),
            nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(8 * width, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.classifier = nn.Linear(16, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class TinyCNN1d(Classifier):
    """1-D convolutions with reflect and 'same' padding, dilation."""

    def __init__(self, in_channels: int = 1, num_classes: int = 3, width: int = 6) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, width, 5, padding="same", padding_mode="reflect"),
            nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, width, 3, stride=2, dilation=2, padding=2), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.classifier = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Block(nn.Module):
    """Basic residual block with an in-place ReLU after the addition (as CIFAR ResNets)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return self.relu(out)


class TinyResNet(Classifier):
    def __init__(self, in_channels: int = 3, num_classes: int = 4, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(Block(width, width, 1), Block(width, 2 * width, 2))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(2 * width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.layers(self.stem(x)))


class TinyMLP(Classifier):
    def __init__(self, in_features: int = 10, num_classes: int = 3, hidden: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ScaledMLP(TinyMLP):
    """An MLP with a bare learnable temperature: a parameter ghost norms do not support."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temperature = nn.Parameter(torch.tensor(1.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.temperature


class NoLinear(nn.Module):
    """Logits from a convolution and pooling: no nn.Linear at all (1-D signals)."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, num_classes, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(2)


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm non-trivial running statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model


def image_dataset(n: int = 24, channels: int = 3, size: int = 8, num_classes: int = 4,
                  seed: int = 0) -> LabelledDataset:
    """Random uint8 images with random labels (every class present)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    y = np.arange(n) % num_classes
    return LabelledDataset(x, y, num_classes, name="tiny-images",
                           mean=(0.5,) * channels, std=(0.25,) * channels)


def signal_dataset(n: int = 20, length: int = 16, num_classes: int = 3,
                   seed: int = 0) -> LabelledDataset:
    """Random float 1-D signals, one channel."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, length, generator=g)
    return LabelledDataset(x, np.arange(n) % num_classes, num_classes, name="tiny-signals")
