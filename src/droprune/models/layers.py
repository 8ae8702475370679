"""Helpers shared by the model definitions: width scaling, input checks, weight init.

Initialisation (applied by every droprune model at the end of its constructor, see
:func:`init_weights`):

- convolutions: Kaiming normal, ``mode="fan_out"``, ReLU gain (the torchvision/ResNet
  convention); conv biases (only where no batch norm follows) are zero;
- batch norm: weight 1, bias 0;
- hidden linear layers (always followed by a ReLU): Kaiming normal, ``mode="fan_in"``, bias 0;
- the final classifier: normal(0, 0.01), bias 0, so that the initial logits are close to zero
  and the initial loss is close to log K whatever the depth (the torchvision VGG convention).

:func:`build_model` can instead re-initialise a built model as the DRoP reference code does
(``init="xavier"``, :func:`xavier_reinit`) and set the momentum of its batch-norm layers
(:func:`set_bn_momentum`).
"""

from __future__ import annotations

from typing import Sequence

from torch import nn

from .._checks import check_number

__all__ = ["INITS", "check_input", "init_weights", "num_parameters", "scaled", "set_bn_momentum",
           "xavier_reinit"]

#: weight initialisations of :func:`~droprune.models.build_model`
INITS = ("kaiming", "xavier")


def scaled(channels: int, width: float) -> int:
    """A hidden width ``channels`` scaled by the width multiplier, rounded, at least 1.

    Examples
    --------
    >>> scaled(64, 0.5), scaled(64, 0.001), scaled(6, 1.25)
    (32, 1, 8)
    """
    width = check_number(width, "width", minimum=0, min_inclusive=False)
    return max(1, int(round(channels * width)))


def check_input(model: str, in_channels: int, input_size: Sequence[int],
                spatial_dims: int | None, min_size: int = 1) -> tuple[int, ...]:
    """Validate ``in_channels`` and ``input_size`` for ``model``; returns the size as a tuple.

    Parameters
    ----------
    spatial_dims
        Required number of spatial axes (1 for signals, 2 for images), or None for any.
    min_size
        Smallest accepted size along every spatial axis.
    """
    if int(in_channels) != in_channels or in_channels < 1:
        raise ValueError(f"{model}: in_channels must be an integer >= 1, got {in_channels}")
    size = tuple(int(s) for s in input_size)
    if spatial_dims is not None and len(size) != spatial_dims:
        kind = {1: "(L,) for 1-D signals", 2: "(H, W) for images"}[spatial_dims]
        raise ValueError(f"{model}: input_size must be {kind}, got {tuple(input_size)}")
    if any(s < min_size for s in size):
        raise ValueError(f"{model}: every spatial size must be >= {min_size}, got {size}")
    return size


def init_weights(model: nn.Module, classifier: nn.Linear) -> None:
    """Initialise ``model`` in place as described in the module docstring."""
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if m is classifier:
                nn.init.normal_(m.weight, 0.0, 0.01)
            else:
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def xavier_reinit(model: nn.Module) -> None:
    """Re-initialise ``model`` in place as the DRoP reference code does: every convolution and
    linear layer (the classifier included) Xavier-normal with gain ``sqrt(2)``, biases zero;
    batch norm weight 1, bias 0.

    Examples
    --------
    >>> import torch
    >>> lin = nn.Sequential(nn.Linear(400, 400))
    >>> xavier_reinit(lin)
    >>> w, b = lin[0].weight.detach(), lin[0].bias.detach()
    >>> round(float(w.std()), 2), float(b.abs().max())  # sqrt(2) * sqrt(2 / 800)
    (0.07, 0.0)
    """
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=2 ** 0.5)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def set_bn_momentum(model: nn.Module, momentum: float) -> int:
    """Set the running-statistics momentum of every batch-norm layer of ``model`` (PyTorch's
    convention: ``new = (1 - momentum) * old + momentum * batch``); returns how many were set.

    Examples
    --------
    >>> set_bn_momentum(nn.Sequential(nn.BatchNorm2d(3), nn.ReLU()), 0.01)
    1
    """
    momentum = check_number(momentum, "bn_momentum", minimum=0, maximum=1, min_inclusive=False)
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in layers:
        m.momentum = momentum
    return len(layers)


def num_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (buffers such as BN running statistics excluded).

    Examples
    --------
    >>> num_parameters(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
