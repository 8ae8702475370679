"""A multi-layer perceptron that flattens any input shape."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .base import Classifier, register_model
from .layers import check_input, init_weights, scaled

__all__ = ["MLP"]


class MLP(Classifier):
    """Flatten, then ``Linear + ReLU`` per hidden layer, then the linear classifier.

    ``features`` is the output of the last hidden layer (or the flattened input when
    ``hidden`` is empty).

    Examples
    --------
    >>> m = MLP(num_classes=10, in_features=40, hidden=(32, 16))
    >>> m(torch.zeros(4, 1, 40)).shape, m.features(torch.zeros(4, 1, 40)).shape
    (torch.Size([4, 10]), torch.Size([4, 16]))
    """

    def __init__(self, num_classes: int, in_features: int,
                 hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        prev = int(in_features)
        for h in hidden:
            layers += [nn.Linear(prev, int(h)), nn.ReLU(inplace=True)]
            prev = int(h)
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Linear(prev, num_classes)
        init_weights(self, self.classifier)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register_model("mlp", description="flatten + Linear/ReLU hidden layers (any input "
                                  "shape)")
def mlp(*, num_classes: int, in_channels: int, input_size: tuple[int, ...], width: float = 1.0,
        hidden: Sequence[int] = (256, 256)) -> MLP:
    """MLP on any input shape ``(in_channels, *input_size)``; ``hidden`` scaled by ``width``."""
    size = check_input("mlp", in_channels, input_size, spatial_dims=None)
    return MLP(num_classes, in_channels * math.prod(size), [scaled(h, width) for h in hidden])
