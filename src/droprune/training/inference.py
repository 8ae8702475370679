"""Running a model over a dataset in eval mode, without gradients: logits
(:func:`predict_logits`), an accuracy report (:func:`evaluate`) and the penultimate embeddings
with the logits (:func:`model_outputs`, what the post-hoc scorers use).

Every function computes in this process by default. ``distributed=True`` makes it a
collective in a distributed run (a process group is initialised): each rank runs its shard
(:func:`~droprune.training.distributed.shard_indices`) and every rank returns all N rows,
placed by sample index (:func:`~droprune.training.distributed.gather_by_index`); call it on
every rank then. Without a process group ``distributed=True`` changes nothing.

Examples
--------
>>> import torch
>>> from droprune.data.base import LabelledDataset
>>> from droprune.models import build_model
>>> ds = LabelledDataset(torch.randn(6, 1, 4), [0, 1, 0, 1, 0, 1], num_classes=2)
>>> model = build_model("mlp", num_classes=2, in_channels=1, input_size=(4,), hidden=(3,))
>>> predict_logits(model, ds, device="cpu").shape
(6, 2)
>>> emb, logits = model_outputs(model, ds)
>>> tuple(emb.shape), tuple(logits.shape)
((6, 3), (6, 2))
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .._checks import check_int
from ..data.base import LabelledDataset, iter_batches
from ..metrics import RobustnessReport, robustness_report
from ..models.base import Classifier
from .distributed import gather_by_index, is_distributed, shard_indices

__all__ = ["check_batch_size", "distributed_shard", "eval_mode", "evaluate", "model_device",
           "model_outputs", "predict_logits", "resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device``; None means CUDA when available (the current CUDA
    device, which :func:`~droprune.training.distributed.distributed_session` sets to
    ``LOCAL_RANK`` under torchrun), else the CPU.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    return torch.device(device)


def model_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """``device`` if given (the model is then moved there by the callers), else the device of
    the model's first parameter (CPU if it has none).

    Examples
    --------
    >>> model_device(nn.Linear(2, 2), None)
    device(type='cpu')
    """
    if device is not None:
        return torch.device(device)
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside the block; every submodule's own ``training`` flag restored after.

    Examples
    --------
    >>> net = nn.Sequential(nn.Dropout(0.5)).train()
    >>> with eval_mode(net):
    ...     net.training
    False
    >>> net.training
    True
    """
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def check_batch_size(value: int, name: str = "batch_size") -> int:
    """Validate a positive integer batch or chunk size.

    Examples
    --------
    >>> check_batch_size(0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0
    """
    return check_int(value, name, minimum=1, requirement="a positive integer")


def distributed_shard(num_samples: int, indices: np.ndarray | None) -> np.ndarray | None:
    """The indices this rank computes when a whole dataset is run as a collective
    (``indices`` is None and a process group is initialised), else None: explicit
    ``indices`` are always computed locally, in this process alone.

    Examples
    --------
    >>> distributed_shard(4, None) is None   # no process group here
    True
    """
    if indices is None and is_distributed():
        return shard_indices(num_samples)
    return None


def predict_logits(model: Classifier, dataset: LabelledDataset, *, batch_size: int = 1024,
                   device: str | torch.device | None = None, num_workers: int = 0,
                   distributed: bool = False) -> np.ndarray:
    """Logits of every sample of ``dataset`` in order, float32 (N, K), in eval mode.

    The model is put in eval mode (batch norm uses its running statistics, dropout is off) and
    restored to its previous mode afterwards; no augmentation. ``device=None`` means CUDA when
    available, else the CPU (the model is moved there).

    In this process by default; ``distributed=True`` shards the work over the ranks of a
    distributed run and gathers every row on every rank (a collective, see the module
    docstring).
    """
    batch_size = check_batch_size(batch_size)
    device = resolve_device(device)
    model.to(device)
    indices = distributed_shard(len(dataset), None) if distributed else None
    chunks = []
    with eval_mode(model), torch.no_grad():
        for x, _, _ in iter_batches(dataset, batch_size, indices=indices, device=device,
                                    num_workers=num_workers):
            chunks.append(model(dataset.to_float(x)).float().cpu())
    logits = torch.cat(chunks) if chunks else torch.zeros((0, dataset.num_classes))
    if indices is not None:
        logits = gather_by_index(indices, logits, len(dataset))
    return logits.numpy()


def evaluate(model: Classifier, dataset: LabelledDataset, *, batch_size: int = 1024,
             device: str | torch.device | None = None, num_workers: int = 0,
             distributed: bool = False) -> RobustnessReport:
    """Average and class-wise accuracy of ``model`` on ``dataset`` (eval mode).

    Uses the dataset's class names, and its groups when it has some (group accuracies; the
    group-weighted average needs the training proportions, see
    :func:`droprune.robustness_report`). ``distributed`` as in :func:`predict_logits`.
    """
    if len(dataset) == 0:
        raise ValueError(f"dataset {dataset.name} is empty: there is nothing to evaluate")
    logits = predict_logits(model, dataset, batch_size=batch_size, device=device,
                            num_workers=num_workers, distributed=distributed)
    return robustness_report(dataset.labels, logits.argmax(1), num_classes=dataset.num_classes,
                             class_names=dataset.class_names, groups=dataset.groups,
                             num_groups=dataset.num_groups or None)


def model_outputs(model: nn.Module, dataset: LabelledDataset, *, batch_size: int = 256,
                  device: torch.device | str | None = None, indices: np.ndarray | None = None,
                  distributed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
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
    distributed
        With ``indices=None``, shard the work over the ranks of a distributed run and gather
        every row on every rank (a collective, see the module docstring), so every score
        computed from them sees all samples (class means, k-center).

    Returns
    -------
    (embeddings, logits)
        float32 CPU tensors of shapes (N, D) and (N, K), row ``i`` = ``indices[i]``.
    """
    batch_size = check_batch_size(batch_size)
    if not hasattr(model, "features") or not hasattr(model, "classifier"):
        raise ValueError("model must be a droprune Classifier (with features(x) and a "
                         f"classifier layer), got {type(model).__name__}")
    dev = model_device(model, device)
    model.to(dev)
    shard = distributed_shard(len(dataset), indices) if distributed else None
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
