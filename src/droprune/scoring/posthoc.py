"""Post-hoc scores of a trained model: EL2N, last-layer GraNd (closed form), Random.

All functions return float64 arrays index-aligned with the dataset, oriented
higher = harder = kept first. The model runs in eval mode (batch norm on running statistics)
and its per-module training flags are restored afterwards. Each score comes as a function on
plain arrays (``*_from_*``) and a wrapper that runs the model; :func:`model_outputs` gives both
the embeddings and the logits in one pass, so several scores can share it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import as_labels, check_int
from ..data.base import LabelledDataset
from ..training.inference import model_outputs

__all__ = [
    "el2n_from_logits",
    "el2n_scores",
    "grand_last_layer_from_outputs",
    "grand_last_layer_scores",
    "random_scores",
]


def _as_matrix(values: Any, name: str) -> torch.Tensor:
    t = torch.as_tensor(values)
    if t.dim() != 2 or not torch.is_floating_point(t):
        raise ValueError(f"{name} must be a float (N, K) array, got shape {tuple(t.shape)} and "
                         f"dtype {t.dtype}")
    return t.to(torch.float64)


def _error_vectors(logits: Any, labels: Any) -> torch.Tensor:
    """``softmax(logits) - onehot(labels)``, float64 (N, K), after validating both."""
    z = _as_matrix(logits, "logits")
    y = as_labels(labels, num_classes=z.shape[1])
    if y.size != z.shape[0]:
        raise ValueError(f"logits has {z.shape[0]} rows but labels has {y.size} entries")
    p = torch.softmax(z, dim=1)
    p[torch.arange(y.size), torch.from_numpy(y)] -= 1.0
    return p


def el2n_from_logits(logits: Any, labels: Any) -> np.ndarray:
    """EL2N (Paul et al., NeurIPS 2021): ``||softmax(logits_i) - onehot(y_i)||_2``.

    Ranges over ``[0, sqrt(2)]``; higher = the model is further from the label = harder.

    Examples
    --------
    >>> el2n_from_logits([[0.0, 0.0], [10.0, -10.0]], [0, 0]).round(4)
    array([0.7071, 0.    ])
    """
    return torch.linalg.vector_norm(_error_vectors(logits, labels), dim=1).numpy()


def el2n_scores(model: nn.Module, dataset: LabelledDataset, *, batch_size: int = 256,
                device: torch.device | str | None = None) -> np.ndarray:
    """EL2N of every sample under ``model`` in eval mode, float64 (N,).

    The paper (Paul et al.) averages it over several query models trained for a few epochs;
    :func:`droprune.scoring.query.run_query` does that averaging.
    """
    _, logits = model_outputs(model, dataset, batch_size=batch_size, device=device,
                              distributed=True)
    return el2n_from_logits(logits, dataset.labels)


def grand_last_layer_from_outputs(embeddings: Any, logits: Any, labels: Any, *,
                                  bias: bool = True) -> np.ndarray:
    """GraNd restricted to the final linear layer, in closed form.

    For ``logits = W h + b`` and the cross-entropy loss, the gradient with respect to ``W`` is
    ``(p - y) h^T`` and with respect to ``b`` it is ``(p - y)``, so the norm over both is
    ``||p - y||_2 * sqrt(||h||_2^2 + 1)`` (without the ``+ 1`` when the layer has no bias).

    Examples
    --------
    >>> grand_last_layer_from_outputs([[3.0, 0.0]], [[0.0, 0.0]], [1]).round(4)
    array([2.2361])
    """
    err = _error_vectors(logits, labels)
    h = _as_matrix(embeddings, "embeddings")
    if h.shape[0] != err.shape[0]:
        raise ValueError(f"embeddings has {h.shape[0]} rows but logits has {err.shape[0]}")
    h2 = h.pow(2).sum(1) + (1.0 if bias else 0.0)
    return (torch.linalg.vector_norm(err, dim=1) * h2.sqrt()).numpy()


def grand_last_layer_scores(model: nn.Module, dataset: LabelledDataset, *,
                            batch_size: int = 256,
                            device: torch.device | str | None = None) -> np.ndarray:
    """Last-layer GraNd of every sample (see :func:`grand_last_layer_from_outputs`), eval mode.

    A cheap proxy of :func:`droprune.scoring.grand.grand_scores`: one forward pass, no backward.
    """
    emb, logits = model_outputs(model, dataset, batch_size=batch_size, device=device,
                                distributed=True)
    return grand_last_layer_from_outputs(emb, logits, dataset.labels,
                                         bias=model.classifier.bias is not None)


def random_scores(n: int, seed: int = 0) -> np.ndarray:
    """Uniform random scores in [0, 1), float64 (n,): top-k by score is a uniform random k-subset.

    Examples
    --------
    >>> random_scores(3, seed=1).shape
    (3,)
    """
    check_int(n, "n", requirement="a non-negative integer")
    return np.random.default_rng(seed).random(int(n))
