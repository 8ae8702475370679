"""Running a trained model over a dataset for the post-hoc scorers (eval mode, no gradients)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._checks import check_int
from ..data.base import LabelledDataset, iter_batches
from ..training.distributed import gather_by_index, is_distributed, shard_indices
from ..training.trainer import eval_mode

__all__ = ["check_batch_size", "distributed_shard", "model_device", "model_outputs"]


def model_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """``device`` if given (the model is then moved there by the callers), else the device of
    the model's first parameter (CPU if it has none)."""
    if device is not None:
        return torch.device(device)
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def check_batch_size(value: int, name: str = "batch_size") -> int:
    """Validate a positive integer batch or chunk size."""
    return check_int(value, name, minimum=1, requirement="a positive integer")


def distributed_shard(num_samples: int, indices: np.ndarray | None) -> np.ndarray | None:
    """The indices this rank computes when a whole dataset is scored in a distributed run
    (``indices`` is None and a process group is initialised), else None: explicit
    ``indices`` are always computed locally, in this process alone."""
    if indices is None and is_distributed():
        return shard_indices(num_samples)
    return None


def model_outputs(model: nn.Module, dataset: LabelledDataset, *, batch_size: int = 256,
                  device: torch.device | str | None = None,
                  indices: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate embeddings and logits of a :class:`~droprune.models.base.Classifier`.

    One pass in eval mode under ``torch.inference_mode``; ``logits = model.classifier(emb)``.

    Parameters
    ----------
    model
        A classifier with ``features(x) -> (B, D)`` and a final ``classifier`` layer.
    dataset
        The samples to run (raw batches are normalised with ``dataset.to_float``).
    batch_size
        Samples per forward pass.
    device
        Where to run; default: the model's device.
    indices
        Run only these samples (in this order), in this process; default all.

    Returns
    -------
    (embeddings, logits)
        float32 CPU tensors of shapes (N, D) and (N, K), row ``i`` = ``indices[i]``.

    Notes
    -----
    In a distributed run with ``indices=None`` this is a collective: each rank runs its shard
    (:func:`droprune.training.distributed.shard_indices`) and every rank receives all rows,
    placed by sample index (:func:`~droprune.training.distributed.gather_by_index`), so
    every score computed from them sees all samples (class means, k-center).
    """
    batch_size = check_batch_size(batch_size)
    if not hasattr(model, "features") or not hasattr(model, "classifier"):
        raise ValueError("model must be a droprune Classifier (with features(x) and a "
                         f"classifier layer), got {type(model).__name__}")
    dev = model_device(model, device)
    model.to(dev)
    shard = distributed_shard(len(dataset), indices)
    if shard is not None:
        if len(dataset) == 0:
            raise ValueError(f"dataset {dataset.name!r} has no samples to score")
        emb, out = _run(model, dataset, batch_size, dev, shard)
        return gather_by_index(shard, emb, len(dataset)), gather_by_index(shard, out, len(dataset))
    embs, logits = _run(model, dataset, batch_size, dev, indices)
    if embs.shape[0] == 0:
        raise ValueError(f"dataset {dataset.name!r} has no samples to score")
    return embs, logits


def _run(model: nn.Module, dataset: LabelledDataset, batch_size: int, dev: torch.device,
         indices: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings and logits of ``indices`` (all samples when None); empty tensors of the
    right width when there is nothing to run (a rank with an empty shard)."""
    embs, logits = [], []
    with eval_mode(model), torch.inference_mode():
        for x, _, _ in iter_batches(dataset, batch_size, indices=indices, device=dev):
            h = model.features(dataset.to_float(x))
            embs.append(h.float().cpu())
            logits.append(model.classifier(h).float().cpu())
    if not embs:
        width = getattr(model, "embedding_dim", 0)
        return torch.zeros((0, width)), torch.zeros((0, dataset.num_classes))
    return torch.cat(embs), torch.cat(logits)
