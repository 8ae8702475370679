"""The classifier contract every droprune model follows, and the model registry.

A :class:`Classifier` computes ``logits = classifier(features(x))``: ``features`` returns the
penultimate embedding (B, D) used by prototype scores, k-center and last-layer gradients, and
``classifier`` is the final ``nn.Linear(D, K)``. Each model is one :class:`ModelEntry` of
:data:`MODELS` (a :class:`~droprune._registry.Registry`), added by :func:`register_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from .._registry import Registry

__all__ = ["Classifier", "MODELS", "ModelEntry", "build_model", "register_model"]


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


def _summary(text: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    return " ".join((text or "").strip().split("\n\n", 1)[0].split())


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its name, its factory and a one-line description.

    Calling the entry calls the factory, so ``MODELS[name](num_classes=..., ...)`` builds the
    model as it did when the registry held bare factories.

    Attributes
    ----------
    name
        Registry key (``model.name`` in configs, ``--model`` on the command line).
    factory
        ``factory(*, num_classes, in_channels, input_size, width, **options) -> Classifier``.
    description
        One line for listings; by default the first paragraph of the factory's docstring.
    """

    name: str
    factory: Callable[..., Classifier]
    description: str = ""

    def __post_init__(self) -> None:
        if not callable(self.factory):
            raise ValueError(f"model {self.name!r}: factory must be callable")
        if not self.description:
            object.__setattr__(self, "description", _summary(self.factory.__doc__))

    def __call__(self, **kwargs: Any) -> Classifier:
        return self.factory(**kwargs)


#: name -> :class:`ModelEntry`; add one with :func:`register_model`.
MODELS: Registry[ModelEntry] = Registry("model", entry_type=ModelEntry)


def register_model(model: ModelEntry | str, *, description: str = "") -> Any:
    """Add a model to :data:`MODELS` (and so to ``build_model``, configs and ``--model``);
    the name must be new.

    ``register_model(ModelEntry(name, factory))`` registers an entry and returns it;
    ``@register_model(name)`` decorates a factory (returned unchanged) as the built-in models
    do.

    Examples
    --------
    >>> @register_model("tiny_mlp", description="one hidden layer of 8")
    ... def tiny_mlp(*, num_classes, in_channels, input_size, width=1.0):
    ...     from droprune.models import MLP
    ...     return MLP(num_classes, in_channels * input_size[0], [8])
    >>> MODELS.entry("tiny_mlp").description
    'one hidden layer of 8'
    >>> register_model(ModelEntry("tiny_mlp", tiny_mlp))
    Traceback (most recent call last):
    ...
    ValueError: a model named 'tiny_mlp' is already registered
    >>> _ = MODELS.pop("tiny_mlp")  # (tidy up the doctest)
    """
    if not isinstance(model, str):
        return MODELS.register(model)

    def deco(factory: Callable[..., Classifier]) -> Callable[..., Classifier]:
        MODELS.register(ModelEntry(model, factory, description))
        return factory

    return deco


def build_model(name: str, *, num_classes: int, in_channels: int,
                input_size: tuple[int, ...], width: float = 1.0, init: str = "kaiming",
                bn_momentum: float | None = None, **kwargs) -> Classifier:
    """Build a registered model by name.

    Parameters
    ----------
    name
        A key of :data:`MODELS` (``droprune.models`` imports the built-in ones).
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

    entry = MODELS.entry(name)
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    model = entry(num_classes=num_classes, in_channels=in_channels,
                         input_size=tuple(input_size), width=width, **kwargs)
    if init == "xavier":
        xavier_reinit(model)
    if bn_momentum is not None:
        set_bn_momentum(model, bn_momentum)
    return model
