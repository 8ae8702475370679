"""Post-hoc scores of a trained model: EL2N, last-layer GraNd (closed form), Random.

All functions return float64 arrays index-aligned with the dataset, oriented
higher = harder = kept first. Each score comes as a function on plain arrays (``*_from_*``,
usable with any framework) and a ``score_*`` function of :class:`~.inputs.PosthocInputs`, the
registry's entry point, which reads the model's outputs from one shared eval-mode pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import as_labels, check_int
from ..models.base import Classifier
from .inputs import PosthocInputs

__all__ = [
    "el2n_from_logits",
    "grand_last_layer_from_outputs",
    "random_scores",
    "score_el2n",
    "score_grand_last_layer",
    "score_loss",
    "score_random",
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


def score_el2n(inputs: PosthocInputs) -> np.ndarray:
    """The registry's ``el2n``: :func:`el2n_from_logits` of the trained model's logits.

    The paper (Paul et al.) averages it over several query models trained for a few epochs;
    :func:`droprune.scoring.query.run_query` does that averaging.
    """
    return el2n_from_logits(inputs.logits, inputs.labels)


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


def score_grand_last_layer(inputs: PosthocInputs) -> np.ndarray:
    """The registry's ``grand_last_layer``: :func:`grand_last_layer_from_outputs` of the trained
    model's embeddings and logits (the bias term counts when the last layer has a bias).

    The last layer is a Classifier's ``classifier``, else the model's last ``nn.Linear``; for
    a model of another kind, its logits must be that layer applied to the embeddings (checked:
    ``ValueError`` otherwise, e.g. logits scaled after the layer).

    A cheap proxy of :func:`droprune.scoring.grand.grand_scores`: one forward pass, no backward.
    """
    head = inputs.head
    if not isinstance(inputs.model, Classifier):
        _check_head(head, inputs.embeddings, inputs.logits, type(inputs.model).__name__)
    return grand_last_layer_from_outputs(inputs.embeddings, inputs.logits, inputs.labels,
                                         bias=head.bias is not None)


def _check_head(head: torch.nn.Linear, embeddings: torch.Tensor, logits: torch.Tensor,
                model: str) -> None:
    """Refuse logits that are not ``head(embeddings)`` (to float32 rounding)."""
    h = embeddings.to(torch.float64)
    w = head.weight.detach().to("cpu", torch.float64)
    b = None if head.bias is None else head.bias.detach().to("cpu", torch.float64)
    if h.shape[1] != w.shape[1] or w.shape[0] != logits.shape[1]:
        raise ValueError(f"grand_last_layer: the embeddings of {model} (width {h.shape[1]}) "
                         f"and its logits ({logits.shape[1]}) do not fit its last nn.Linear "
                         f"{tuple(w.shape[::-1])}; use grand")
    expected = torch.nn.functional.linear(h, w, b)
    scale = 1.0 + float(expected.abs().max()) if expected.numel() else 1.0
    if not torch.allclose(expected, logits.to(torch.float64), rtol=1e-4, atol=1e-4 * scale):
        raise ValueError(f"grand_last_layer: the logits of {model} are not its last nn.Linear "
                         f"applied to the embeddings (the closed form needs logits = W h + b); "
                         f"use grand")


def random_scores(n: int, seed: int = 0) -> np.ndarray:
    """Uniform random scores in [0, 1), float64 (n,): top-k by score is a uniform random k-subset.

    Examples
    --------
    >>> random_scores(3, seed=1).shape
    (3,)
    """
    check_int(n, "n", requirement="a non-negative integer")
    return np.random.default_rng(seed).random(int(n))


def score_random(inputs: PosthocInputs) -> np.ndarray:
    """The registry's ``random``: :func:`random_scores` for the samples of ``inputs`` and its
    seed (the model is not used)."""
    return random_scores(len(inputs.dataset), seed=inputs.seed)


def score_loss(inputs: PosthocInputs) -> np.ndarray:
    """The registry's ``loss``: the cross-entropy ``-log softmax(logits)_y`` of each sample
    under the trained model (eval mode); higher = harder = kept first.

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> inputs = SimpleNamespace(logits=torch.tensor([[0.0, 0.0], [0.0, 2.0]]), labels=[1, 0])
    >>> score_loss(inputs).round(4)  # log 2; log(1 + e^2)
    array([0.6931, 2.1269])
    """
    z = _as_matrix(inputs.logits, "logits")
    y = torch.from_numpy(as_labels(inputs.labels, num_classes=z.shape[1]))
    return torch.nn.functional.cross_entropy(z, y, reduction="none").numpy()
