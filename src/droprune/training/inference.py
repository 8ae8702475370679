"""Running a model over a dataset in eval mode, without gradients: logits
(:func:`predict_logits`), an accuracy report (:func:`evaluate`) and the penultimate embeddings
with the logits (:func:`model_outputs`, what the post-hoc scorers use).

The model is any ``nn.Module`` mapping a normalised batch to logits (B, K); the data is
anything :func:`~droprune.data.adapter.as_labelled` takes (a ``LabelledDataset``, a
``TensorDataset``, arrays ``(x, y)``, a map-style dataset of ``(x, y)`` items). Embeddings come
from ``embed(x)`` when given, else from ``model.features`` of a droprune
:class:`~droprune.models.base.Classifier`, else from the input of the model's last
``nn.Linear`` (:func:`last_linear`), captured by a forward hook during the same pass.

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
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from .._checks import check_int
from ..data.adapter import as_labelled
from ..data.base import LabelledDataset, iter_batches
from ..metrics import RobustnessReport, robustness_report
from ..models.base import Classifier
from .distributed import gather_by_index, is_distributed, shard_indices

__all__ = ["check_batch_size", "check_embedding_source", "check_model_fits",
           "distributed_shard", "eval_mode", "evaluate", "last_linear", "model_device",
           "model_outputs", "predict_logits", "resolve_device"]

#: ``embed(x) -> (B, D)``: the user's embedding of a normalised batch
Embed = Callable[[torch.Tensor], torch.Tensor]


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


def predict_logits(model: nn.Module, dataset: Any, *, batch_size: int = 1024,
                   device: str | torch.device | None = None, num_workers: int = 0,
                   distributed: bool = False) -> np.ndarray:
    """Logits of every sample of ``dataset`` in order, float32 (N, K), in eval mode.

    ``model``: any module mapping a normalised batch to logits; ``dataset``: anything
    :func:`~droprune.data.adapter.as_labelled` takes.

    The model is put in eval mode (batch norm uses its running statistics, dropout is off) and
    restored to its previous mode afterwards; no augmentation. ``device=None`` means CUDA when
    available, else the CPU (the model is moved there).

    In this process by default; ``distributed=True`` shards the work over the ranks of a
    distributed run and gathers every row on every rank (a collective, see the module
    docstring).
    """
    batch_size = check_batch_size(batch_size)
    dataset = as_labelled(dataset, name="dataset")
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


def evaluate(model: nn.Module, dataset: Any, *, batch_size: int = 1024,
             device: str | torch.device | None = None, num_workers: int = 0,
             distributed: bool = False) -> RobustnessReport:
    """Average and class-wise accuracy of ``model`` on ``dataset`` (eval mode; any module and
    data as in :func:`predict_logits`).

    Uses the dataset's class names, and its groups when it has some (group accuracies; the
    group-weighted average needs the training proportions, see
    :func:`droprune.robustness_report`). ``distributed`` as in :func:`predict_logits`.
    """
    dataset = as_labelled(dataset, name="dataset")
    if len(dataset) == 0:
        raise ValueError(f"dataset {dataset.name} is empty: there is nothing to evaluate")
    logits = predict_logits(model, dataset, batch_size=batch_size, device=device,
                            num_workers=num_workers, distributed=distributed)
    return robustness_report(dataset.labels, logits.argmax(1), num_classes=dataset.num_classes,
                             class_names=dataset.class_names, groups=dataset.groups,
                             num_groups=dataset.num_groups or None)


def last_linear(model: nn.Module) -> nn.Linear | None:
    """The last ``nn.Linear`` of ``model`` in ``model.modules()`` order (its head, for models
    that register the head last), or None.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> last_linear(net) is net[2], last_linear(nn.ReLU())
    (True, None)
    """
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return layers[-1] if layers else None


def check_embedding_source(model: nn.Module, embed: Embed | None = None) -> None:
    """Refuse, before any work, a model whose embeddings cannot be read: no ``embed``, not a
    droprune Classifier and no ``nn.Linear`` layer.

    Examples
    --------
    >>> check_embedding_source(nn.Sequential(nn.Flatten()))
    Traceback (most recent call last):
    ...
    ValueError: Sequential has no nn.Linear layer to read embeddings from (the input of the last one): pass embed= (a function x -> (batch, D) embeddings)
    """
    if embed is not None:
        if not callable(embed):
            raise ValueError(f"embed must be a function x -> (batch, D) embeddings, got "
                             f"{type(embed).__name__}")
        return
    if not isinstance(model, Classifier) and last_linear(model) is None:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to read embeddings "
                         f"from (the input of the last one): pass embed= (a function x -> "
                         f"(batch, D) embeddings)")


def check_model_fits(model: nn.Module, dataset: LabelledDataset,
                     device: torch.device | str | None = None) -> None:
    """One eval-mode forward of two samples: the model must run on them and output
    (B, num_classes) logits; ``ValueError`` saying what to fix otherwise. Runs where the
    model is when ``device`` is None; nothing to check on an empty dataset.

    Examples
    --------
    >>> ds = LabelledDataset(torch.randn(4, 1, 3), [0, 1, 2, 0], num_classes=3)
    >>> check_model_fits(nn.Sequential(nn.Flatten(), nn.Linear(3, 3)), ds)
    >>> check_model_fits(nn.Sequential(nn.Flatten(), nn.Linear(3, 2)), ds)
    Traceback (most recent call last):
    ...
    ValueError: Sequential outputs shape (2,) per sample but dataset has 3 classes: build the model with num_classes=3
    """
    if len(dataset) == 0:
        return
    device = model_device(model, device)
    try:
        x, _, _ = next(iter_batches(dataset, 2, indices=np.arange(min(2, len(dataset))),
                                    device=device))
        with eval_mode(model), torch.no_grad():
            out = model(dataset.to_float(x))
    except Exception as exc:
        raise ValueError(f"{type(model).__name__} cannot run on {dataset.name} samples of shape "
                         f"{dataset.sample_shape}: {exc}") from None
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{type(model).__name__} returns a {type(out).__name__}; droprune "
                         f"needs a module that returns logits (batch, {dataset.num_classes})")
    if out.dim() != 2 or out.shape[1] != dataset.num_classes:
        raise ValueError(f"{type(model).__name__} outputs shape {tuple(out.shape[1:])} per "
                         f"sample but {dataset.name} has {dataset.num_classes} classes: build "
                         f"the model with num_classes={dataset.num_classes}")


def model_outputs(model: nn.Module, dataset: Any, *, batch_size: int = 256,
                  device: torch.device | str | None = None, indices: np.ndarray | None = None,
                  distributed: bool = False,
                  embed: Embed | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate embeddings and logits of a model, from one pass.

    One pass in eval mode under ``torch.inference_mode``. The logits are ``model(x)``
    (``model.classifier(model.features(x))`` for a droprune Classifier); the embeddings are
    ``embed(x)`` when given, else ``model.features(x)`` for a droprune Classifier, else the
    input of the model's last ``nn.Linear`` (:func:`last_linear`), read by a forward hook
    during the same forward.

    Parameters
    ----------
    model
        Any module mapping a normalised batch to logits (B, K).
    dataset
        The samples to run (anything :func:`~droprune.data.adapter.as_labelled` takes; raw
        batches are normalised with ``dataset.to_float``).
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
    embed
        Optional ``embed(x) -> (B, D)`` embeddings of a normalised batch (e.g.
        ``lambda x: net.backbone(x)``), for a model whose embeddings are not the input of its
        last ``nn.Linear``.

    Returns
    -------
    (embeddings, logits)
        float32 CPU tensors of shapes (N, D) and (N, K), row ``i`` = ``indices[i]``.

    Raises
    ------
    ValueError
        When the embeddings cannot be read (no ``embed``, not a Classifier, no ``nn.Linear``;
        the last ``nn.Linear`` not run exactly once per forward or given an input that is not
        (batch, D)), or ``embed`` returns another shape.
    """
    batch_size = check_batch_size(batch_size)
    dataset = as_labelled(dataset, name="dataset")
    check_embedding_source(model, embed)
    dev = model_device(model, device)
    model.to(dev)
    shard = distributed_shard(len(dataset), indices) if distributed else None
    if shard is not None:
        if len(dataset) == 0:
            raise ValueError(f"dataset {dataset.name!r} has no samples to score")
        emb, out = _run(model, dataset, batch_size, dev, shard, embed)
        return gather_by_index(shard, emb, len(dataset)), gather_by_index(shard, out, len(dataset))
    embs, logits = _run(model, dataset, batch_size, dev, indices, embed)
    if embs.shape[0] == 0:
        raise ValueError(f"dataset {dataset.name!r} has no samples to score")
    return embs, logits


@contextlib.contextmanager
def _embedding_pass(model: nn.Module, embed: Embed | None
                    ) -> Iterator[Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]]:
    """A function ``x -> (embeddings, logits)`` for the model (see :func:`model_outputs`);
    the forward hook it may need is removed on exit."""
    name = type(model).__name__
    if embed is not None:
        def with_embed(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = embed(x)
            if not isinstance(h, torch.Tensor) or h.dim() != 2 or h.shape[0] != x.shape[0]:
                raise ValueError(f"embed must return a (batch, D) tensor, got "
                                 f"{tuple(getattr(h, 'shape', ()))} for a batch of "
                                 f"{x.shape[0]}")
            return h, model(x)

        yield with_embed
        return
    if isinstance(model, Classifier):
        def classifier(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = model.features(x)
            return h, model.classifier(h)

        yield classifier
        return
    head = last_linear(model)
    assert head is not None  # check_embedding_source refused a model without one
    seen: list[torch.Tensor] = []
    handle = head.register_forward_hook(lambda module, args, out: seen.append(args[0]))

    def hooked(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen.clear()
        logits = model(x)
        if len(seen) != 1:
            raise ValueError(f"the last nn.Linear of {name} ran {len(seen)} times in one "
                             f"forward pass: pass embed= (a function x -> (batch, D))")
        h = seen[0]
        if h.dim() != 2 or h.shape[0] != x.shape[0]:
            raise ValueError(f"the input of the last nn.Linear of {name} has shape "
                             f"{tuple(h.shape)}, not (batch, D): pass embed= (a function x -> "
                             f"(batch, D))")
        return h, logits

    try:
        yield hooked
    finally:
        handle.remove()


def _empty_width(model: nn.Module) -> int:
    """D when it is known without running the model (0 otherwise)."""
    if isinstance(model, Classifier):
        return model.embedding_dim
    head = last_linear(model)
    return 0 if head is None else int(head.in_features)


def _run(model: nn.Module, dataset: LabelledDataset, batch_size: int, dev: torch.device,
         indices: np.ndarray | None, embed: Embed | None = None
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings and logits of ``indices`` (all samples when None); empty tensors of the
    right width when there is nothing to run (a rank with an empty shard)."""
    embs, logits = [], []
    with eval_mode(model), torch.inference_mode(), _embedding_pass(model, embed) as forward:
        for x, _, _ in iter_batches(dataset, batch_size, indices=indices, device=dev):
            h, out = forward(dataset.to_float(x))
            embs.append(h.float().cpu())
            logits.append(out.float().cpu())
    if not embs:
        width = _empty_width(model) if embed is None else 0
        return torch.zeros((0, width)), torch.zeros((0, dataset.num_classes))
    return torch.cat(embs), torch.cat(logits)
