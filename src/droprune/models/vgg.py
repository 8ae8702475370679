"""VGG-16-BN and VGG-19-BN in their CIFAR form (one linear head after global pooling)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .base import Classifier, register_model
from .layers import check_input, init_weights, scaled

__all__ = ["VGG", "VGG_CONFIGS"]

#: conv widths per stage; "M" is a 2x max-pool
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
              512, 512, 512, "M", 512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
}


class VGG(Classifier):
    """3x3 conv + BN + ReLU stacks with 2x max-pools, global average pooling, linear head.

    The max-pools use ``ceil_mode=True``, so inputs whose size is not a multiple of 32 (e.g.
    28x28) still reach the head (28 -> 14 -> 7 -> 4 -> 2 -> 1); on 32x32 inputs this is the
    usual CIFAR VGG, whose last feature map is 1x1 so the global pooling is the identity.
    ``features`` are the pooled 512*width channels.
    """

    def __init__(self, num_classes: int, *, in_channels: int, cfg: Sequence[int | str],
                 width: float = 1.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                out = scaled(int(v), width)
                layers += [nn.Conv2d(prev, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                           nn.ReLU(inplace=True)]
                prev = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Linear(prev, num_classes)
        init_weights(self, self.classifier)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _vgg(name: str):
    def factory(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
                width: float = 1.0) -> VGG:
        check_input(f"{name}_bn", in_channels, input_size, spatial_dims=2)
        return VGG(num_classes, in_channels=in_channels, cfg=VGG_CONFIGS[name], width=width)

    factory.__doc__ = f"{name.upper()}-BN, CIFAR form (see :class:`VGG`)."
    return factory


register_model("vgg16_bn", description="CIFAR VGG-16 with batch norm, one linear "
                                       "head")(_vgg("vgg16"))
register_model("vgg19_bn", description="CIFAR VGG-19 with batch norm, one linear "
                                       "head")(_vgg("vgg19"))
