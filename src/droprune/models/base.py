"""The classifier contract every droprune model follows, and the model registry.

A :class:`Classifier` computes ``logits = classifier(features(x))``: ``features`` returns the
penultimate embedding (B, D) used by prototype scores, k-center and last-layer gradients, and
``classifier`` is the final ``nn.Linear(D, K)``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["Classifier", "MODELS", "build_model", "register_model"]


class Classifier(nn.Module):
    """Base class: subclasses set ``self.classifier`` (an ``nn.Linear``) and define
    :meth:`features`."""

    classifier: nn.Linear

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Penultimate embedding of a normalised float batch, shape (B, D)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    @property
    def embedding_dim(self) -> int:
        """D, the width of :meth:`features`."""
        return int(self.classifier.in_features)


#: name -> factory(num_classes=..., in_channels=..., input_size=..., width=..., **kw)
MODELS: dict[str, Callable[..., Classifier]] = {}


def register_model(name: str) -> Callable[[Callable[..., Classifier]], Callable[..., Classifier]]:
    """Decorator adding a model factory to :data:`MODELS` under ``name``."""

    def deco(factory: Callable[..., Classifier]) -> Callable[..., Classifier]:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = factory
        return factory

    return deco


def build_model(name: str, *, num_classes: int, in_channels: int,
                input_size: tuple[int, ...], width: float = 1.0, init: str = "kaiming",
                bn_momentum: float | None = None, **kwargs) -> Classifier:
    """Build a registered model by name.

    Parameters
    ----------
    name
        A key of :data:`MODELS` (``droprune.models`` imports them all).
    num_classes
        K, the width of the final linear layer.
    in_channels
        Channels of the input (1 for MNIST-1D and Fashion-MNIST, 3 for CIFAR).
    input_size
        Spatial size of one input without channels: ``(L,)`` for 1-D signals, ``(H, W)`` for
        images.
    width
        Width multiplier: every hidden width is scaled by it (``1.0`` is the paper's model).
    init
        ``"kaiming"`` (default): the model's own initialisation (see
        :mod:`droprune.models.layers`); ``"xavier"``: re-initialised as the DRoP reference code
        does (:func:`~droprune.models.layers.xavier_reinit`).
    bn_momentum
        Momentum of every batch-norm layer (None: PyTorch's 0.1).
    **kwargs
        Options of the model's factory (e.g. ``variant`` of ``resnet50``).
    """
    from .layers import INITS, set_bn_momentum, xavier_reinit

    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}")
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    model = MODELS[name](num_classes=num_classes, in_channels=in_channels,
                         input_size=tuple(input_size), width=width, **kwargs)
    if init == "xavier":
        xavier_reinit(model)
    if bn_momentum is not None:
        set_bn_momentum(model, bn_momentum)
    return model
