"""The torch proxy of :func:`droprune.compare`: train a model on a kept subset, predict
the validation split.

:func:`torch_proxy` turns a model (a registry name, ``"package.module:factory"`` or a callable
``factory(seed) -> nn.Module``) and the training and validation data (anything
:func:`droprune.data.as_labelled` takes: a ``LabelledDataset``, a ``TensorDataset``, ``(x, y)``
arrays) into ``fit_predict(kept, seed)``. Every candidate keeps the same number of samples, so
every proxy trains with the same ``config`` (no stretched schedule).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..data.adapter import as_labelled
from ..models.factory import resolve_model, seeded_model
from .config import TrainConfig
from .inference import predict_logits
from .loop import train

__all__ = ["DEFAULT_PROXY_CONFIG", "torch_proxy"]

#: The proxy's default schedule: short (10 epochs, constant learning rate 0.05).
DEFAULT_PROXY_CONFIG = TrainConfig(epochs=10, lr=0.05, drop_epochs=())


def torch_proxy(model: Any, train_set: Any, val_set: Any, config: TrainConfig | None = None,
                *, model_kwargs: Mapping[str, Any] | None = None,
                device: str | torch.device | None = None, threads: int | None = 1
                ) -> Callable[..., np.ndarray]:
    """``fit_predict(kept, seed)`` for :func:`droprune.compare`, with torch.

    Parameters
    ----------
    model
        A model registry name (``"mlp"``), ``"package.module:factory"``, or a callable
        ``factory(seed) -> nn.Module`` returning logits.
    train_set, val_set
        The training data (row i = training sample i) and the validation data the proxy
        predicts.
    config
        The proxy's training schedule (default :data:`DEFAULT_PROXY_CONFIG`).
    model_kwargs
        More arguments of a registry model (e.g. ``{"hidden": (64,)}``).
    device
        Where to train (default: CUDA when available, else the CPU).
    threads
        torch threads while training (default 1, restored afterwards; None leaves torch's).

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(40, 1, 4); y = torch.arange(40) % 2
    >>> fp = torch_proxy("mlp", (x, y), (x[:10], y[:10]), TrainConfig(epochs=1, lr=0.05),
    ...                  model_kwargs={"hidden": (8,)})
    >>> fp(np.arange(0, 40, 2), seed=0).shape
    (10,)
    """
    train_data = as_labelled(train_set, name="train_set")
    val_data = as_labelled(val_set, name="val_set")
    cfg = DEFAULT_PROXY_CONFIG if config is None else config
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"config must be a droprune.training.TrainConfig, got "
                         f"{type(cfg).__name__}")
    factory = resolve_model(model, train_data, model_kwargs)

    def fit_predict(kept: np.ndarray, seed: int) -> np.ndarray:
        net = seeded_model(factory, seed)
        result = train(net, train_data.subset(np.asarray(kept, dtype=np.int64)), cfg,
                       seed=seed, device=device, progress=False, threads=threads)
        return predict_logits(result.model, val_data, device=device).argmax(axis=1)

    return fit_predict
