"""ResNets: the CIFAR ResNet-18 and a ResNet-50 whose state dict is torchvision's.

Both use torchvision's module names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``layer1.0.downsample.0/1``, ``fc``), so the final linear layer is registered as ``fc`` and
:attr:`ResNet.classifier` is a read-only alias of it: ``state_dict()`` has no ``classifier.*``
keys and a torchvision ``resnet50`` state dict loads into :func:`resnet50` unchanged
(:func:`load_torchvision_weights`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from .base import Classifier, register_model
from .layers import check_input, init_weights, scaled

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "load_torchvision_weights"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(inplanes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 - 3x3 - 1x1 convolutions with expansion 4 and the stride on the 3x3 (torchvision's
    "ResNet v1.5"), or on the first 1x1 (``stride_on_1x1=True``: the original "v1", as the
    DRoP reference code builds it); same parameters either way."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 stride_on_1x1: bool = False) -> None:
        super().__init__()
        s1, s3 = (stride, 1) if stride_on_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=s1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=s3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(inplanes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _downsample(inplanes: int, outplanes: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and inplanes == outplanes:
        return None
    return nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(outplanes))


class ResNet(Classifier):
    """A ResNet with torchvision's module names.

    Parameters
    ----------
    block
        :class:`BasicBlock` or :class:`Bottleneck`.
    layers
        Blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18, (3, 4, 6, 3) for ResNet-50.
    stem
        ``"cifar"``: 3x3 stride-1 convolution, no max-pool; ``"imagenet"``: 7x7 stride-2
        convolution and a 3x3 stride-2 max-pool.
    width
        Multiplier of the stage widths (64, 128, 256, 512) and the stem.
    """

    def __init__(self, num_classes: int, *, block: type[BasicBlock] | type[Bottleneck],
                 layers: Sequence[int], in_channels: int = 3, stem: str = "cifar",
                 width: float = 1.0, stride_on_1x1: bool = False) -> None:
        super().__init__()
        planes = [scaled(p, width) for p in (64, 128, 256, 512)]
        self.inplanes = planes[0]
        if stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, planes[0], 3, stride=1, padding=1, bias=False)
            self.maxpool: nn.Module = nn.Identity()
        elif stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, planes[0], 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        extra = {"stride_on_1x1": True} if stride_on_1x1 else {}
        self.layer1 = self._stage(block, planes[0], layers[0], stride=1, **extra)
        self.layer2 = self._stage(block, planes[1], layers[1], stride=2, **extra)
        self.layer3 = self._stage(block, planes[2], layers[2], stride=2, **extra)
        self.layer4 = self._stage(block, planes[3], layers[3], stride=2, **extra)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)
        del self.inplanes
        init_weights(self, self.fc)

    def _stage(self, block, planes: int, blocks: int, stride: int, **extra) -> nn.Sequential:
        mods = []
        for i in range(blocks):
            mods.append(block(self.inplanes, planes, stride if i == 0 else 1, **extra))
            self.inplanes = planes * block.expansion
        return nn.Sequential(*mods)

    @property
    def classifier(self) -> nn.Linear:  # type: ignore[override]
        """The final linear layer (registered as ``fc``, torchvision's name)."""
        return self.fc

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


@register_model("resnet18", description="CIFAR ResNet-18 (3x3 stem, no max-pool)")
def resnet18(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
             width: float = 1.0) -> ResNet:
    """CIFAR ResNet-18: 3x3 stride-1 stem, no max-pool, (2, 2, 2, 2) basic blocks."""
    check_input("resnet18", in_channels, input_size, spatial_dims=2)
    return ResNet(num_classes, block=BasicBlock, layers=(2, 2, 2, 2), in_channels=in_channels,
                  stem="cifar", width=width)


@register_model("resnet50", description="torchvision's ResNet-50 (same state-dict "
                                       "keys)")
def resnet50(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
             width: float = 1.0, variant: str = "v1.5") -> ResNet:
    """torchvision's ResNet-50 (ImageNet stem, (3, 4, 6, 3) bottlenecks), same state-dict
    names and shapes at width 1 and 3 input channels. ``variant``: ``"v1.5"`` (torchvision's,
    stride on the 3x3 convolution) or ``"v1"`` (stride on the first 1x1, as the DRoP reference
    code and the original ResNet)."""
    check_input("resnet50", in_channels, input_size, spatial_dims=2)
    if variant not in RESNET50_VARIANTS:
        raise ValueError(f"variant must be one of {RESNET50_VARIANTS}, got {variant!r}")
    return ResNet(num_classes, block=Bottleneck, layers=(3, 4, 6, 3), in_channels=in_channels,
                  stem="imagenet", width=width, stride_on_1x1=variant == "v1")


#: ResNet-50 variants: where a downsampling bottleneck puts its stride
RESNET50_VARIANTS = ("v1.5", "v1")


def load_torchvision_weights(model: nn.Module, path: str | Path, *,
                             strict_backbone: bool = True) -> list[str]:
    """Load a torchvision state dict saved with ``torch.save(model.state_dict(), path)``.

    The file is read with ``torch.load(weights_only=True)`` (no code is executed). The final
    ``fc`` is loaded when its shape matches the model's; otherwise (a 1000-class ImageNet head
    on a model with another ``num_classes``) it is skipped and the model keeps its freshly
    initialised head.

    Parameters
    ----------
    model
        Typically ``build_model("resnet50", num_classes=K, in_channels=3, input_size=...)``.
    path
        The ``.pth`` file (e.g. ``resnet50-11ad3fa6.pth`` downloaded elsewhere).
    strict_backbone
        If True (default), every non-``fc`` tensor of the model must be present in the file
        with the same shape and the file must hold no other keys; if False, whatever matches
        is loaded and the rest is skipped.

    Returns
    -------
    list of str
        The model's state-dict keys that were NOT loaded (e.g. ``["fc.weight", "fc.bias"]``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"torchvision weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ValueError(f"{path} could not be read as a torch state dict: {text}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict (a dict of tensors); save it with "
                         f"torch.save(model.state_dict(), path)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    load, skipped, problems = {}, [], []
    for key, tensor in own.items():
        theirs = state.get(key)
        if theirs is not None and theirs.shape == tensor.shape:
            load[key] = theirs
            continue
        skipped.append(key)
        if not key.startswith("fc."):
            problems.append(f"{key}: " + ("missing from the file" if theirs is None else
                                          f"shape {tuple(theirs.shape)} in the file, "
                                          f"{tuple(tensor.shape)} in the model"))
    unexpected = sorted(set(state) - set(own))
    problems += [f"{key}: in the file but not in the model" for key in unexpected]
    if strict_backbone and problems:
        shown = "; ".join(problems[:5]) + (f"; ... ({len(problems)} in all)"
                                           if len(problems) > 5 else "")
        raise ValueError(f"{path} does not match the model's backbone: {shown}. Build the "
                         f"model at width 1 with 3 input channels, or pass "
                         f"strict_backbone=False to load what matches")
    model.load_state_dict(load, strict=False)
    return skipped
