"""The training loop: SGD with a step schedule, optional CDB-W, batched augmentation,
per-epoch validation, recorders, checkpoints and exact resume.

Examples
--------
>>> import numpy as np, torch
>>> from droprune.data.base import LabelledDataset
>>> from droprune.models import build_model
>>> x = torch.randn(64, 1, 8); y = (x[:, 0, 0] > 0).long().numpy()
>>> ds = LabelledDataset(x, y, num_classes=2)
>>> model = build_model("mlp", num_classes=2, in_channels=1, input_size=(8,), hidden=(16,))
>>> result = train(model, ds, TrainConfig(epochs=2, batch_size=16), progress=False)
>>> len(result.history), predict_logits(result.model, ds).shape
(2, (64, 2))
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .._checks import check_int
from ..data.base import LabelledDataset, iter_batches
from ..metrics import RobustnessReport, class_recalls, robustness_report
from ..models.base import Classifier
from .augment import flip, translate
from .cdbw import cdbw_weights
from .checkpoint import (
    CHECKPOINT_NAME,
    FORMAT,
    check_fingerprint,
    load_checkpoint,
    run_fingerprint,
    save_checkpoint,
)
from .config import TrainConfig
from .distributed import (
    AUGMENT_STREAM,
    all_reduce_sum,
    barrier,
    derived_generator,
    epoch_order,
    all_gather_object,
    exit_hook_for_tests,
    gather_by_index,
    is_distributed,
    launched_world_size,
    shard_indices,
    world,
)
from .hooks import Recorder

__all__ = ["EpochStats", "TrainResult", "batch_bounds", "eval_mode", "evaluate",
           "predict_logits", "resolve_device", "train"]

#: batches between two progress-bar updates and non-finite-loss checks (each check syncs)
SYNC_EVERY = 10


@dataclass
class EpochStats:
    """What one epoch did.

    ``train_loss`` is the mean over the epoch's samples of the loss being minimised
    (CDB-W-weighted when ``cdbw``), ``train_accuracy`` the fraction of training samples whose
    logits (during training, augmented) put the true class first. The validation fields are
    None without a validation set; ``val_class_recall`` is NaN for classes absent from it.
    """

    epoch: int
    lr: float
    train_loss: float
    train_accuracy: float
    val_accuracy: float | None
    val_class_recall: np.ndarray | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values and tensors only (checkpoints load with ``weights_only=True``)."""
        out = dict(vars(self))
        if self.val_class_recall is not None:
            out["val_class_recall"] = torch.from_numpy(np.asarray(self.val_class_recall,
                                                                  dtype=np.float64))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EpochStats":
        d = dict(d)
        if d["val_class_recall"] is not None:
            d["val_class_recall"] = torch.as_tensor(d["val_class_recall"]).numpy()
        return cls(**d)


@dataclass
class TrainResult:
    """The trained model (last epoch's weights, on the training device) and its history.

    ``best_epoch`` is the 0-based epoch with the highest validation accuracy (the first on
    ties) and ``best_val_class_recall`` its per-class validation recall; both are None without
    a validation set. The returned model is the one after the LAST epoch, not the best one.
    """

    model: Classifier
    history: list[EpochStats]
    best_epoch: int | None
    best_val_class_recall: np.ndarray | None


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device``; None means CUDA when available (the current CUDA
    device, which :func:`~droprune.training.distributed.distributed_session` sets to
    ``LOCAL_RANK`` under torchrun), else the CPU."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    return torch.device(device)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside the block; every submodule's own ``training`` flag restored after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


# -- checks before any work ------------------------------------------------------------------

def _check_labels(dataset: LabelledDataset, what: str) -> None:
    labels = dataset.labels
    if labels.size and (labels.min() < 0 or labels.max() >= dataset.num_classes):
        bad = labels[(labels < 0) | (labels >= dataset.num_classes)][0]
        raise ValueError(f"{what} ({dataset.name}) has label {bad} outside [0, "
                         f"{dataset.num_classes}): fix the labels or num_classes")


def _check_run(model: nn.Module, train_set: LabelledDataset, config: TrainConfig, seed: int,
               val_set: LabelledDataset | None) -> None:
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_int(seed, "seed")
    if len(train_set) == 0:
        raise ValueError(f"train_set ({train_set.name}) is empty: there is nothing to train on")
    _check_labels(train_set, "train_set")
    if val_set is not None:
        if val_set.num_classes != train_set.num_classes:
            raise ValueError(f"val_set has {val_set.num_classes} classes but train_set has "
                             f"{train_set.num_classes}: validate on the same classes")
        if len(val_set) == 0:
            raise ValueError("val_set is empty: pass None or a validation set with samples")
        if val_set.sample_shape != train_set.sample_shape:
            raise ValueError(f"val_set samples have shape {val_set.sample_shape} but train_set "
                             f"samples have {train_set.sample_shape}")
        _check_labels(val_set, "val_set")
    if config.cdbw and val_set is None:
        raise ValueError("cdbw=True needs a val_set (class weights come from validation "
                         "recall): pass val_set or set cdbw=False")
    spatial = len(train_set.sample_shape) - 1
    if config.augment_pad and spatial < 1:
        raise ValueError(f"augment_pad needs inputs with spatial axes (C, L...) but samples "
                         f"have shape {train_set.sample_shape}: set augment_pad=0")
    if config.augment_flip and spatial != 2:
        raise ValueError(f"augment_flip is for images (C, H, W) but samples have shape "
                         f"{train_set.sample_shape}: set augment_flip=False")


def _check_model_fits(model: nn.Module, dataset: LabelledDataset,
                      device: torch.device) -> None:
    """One eval-mode forward of two samples: the output must be (B, num_classes)."""
    try:
        x, _, _ = next(iter_batches(dataset, 2, indices=np.arange(min(2, len(dataset))),
                                    device=device))
        with eval_mode(model), torch.no_grad():
            out = model(dataset.to_float(x))
    except Exception as exc:
        raise ValueError(f"{type(model).__name__} cannot run on {dataset.name} samples of shape "
                         f"{dataset.sample_shape}: {exc}") from None
    if out.dim() != 2 or out.shape[1] != dataset.num_classes:
        raise ValueError(f"{type(model).__name__} outputs shape {tuple(out.shape[1:])} per "
                         f"sample but {dataset.name} has {dataset.num_classes} classes: build "
                         f"the model with num_classes={dataset.num_classes}")


# -- batches ---------------------------------------------------------------------------------

def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch of an epoch of ``n`` samples.

    Every sample is in exactly one batch. When ``batch_size > 1``, a last batch of a single
    sample is merged into the one before (batch norm cannot train on one sample when the
    feature map is 1x1).

    Examples
    --------
    >>> batch_bounds(5, 2)
    [(0, 2), (2, 5)]
    >>> batch_bounds(4, 2)
    [(0, 2), (2, 4)]
    """
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if batch_size > 1 and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def _train_batches(dataset: LabelledDataset, order: torch.Tensor, bounds: list[tuple[int, int]],
                   labels: torch.Tensor, device: torch.device, num_workers: int
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Raw ``(x, y, index)`` batches on ``device`` in the order of ``order``.

    In-memory inputs are sliced (no per-item Python); lazy ones go through a DataLoader whose
    batches are exactly ``bounds`` (as :func:`droprune.data.base.iter_batches` does it, with
    the batch plan of :func:`batch_bounds`).
    """
    if dataset.in_memory:
        for start, stop in bounds:
            idx = order[start:stop]
            yield (dataset.inputs[idx].to(device, non_blocking=True),
                   labels[idx].to(device, non_blocking=True), idx.to(device))
        return
    plan = [order[start:stop].tolist() for start, stop in bounds]
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=plan, num_workers=num_workers,
                                         pin_memory=device.type == "cuda")
    for x, y, idx in loader:
        yield (x.to(device, non_blocking=True), y.to(device, non_blocking=True),
               idx.to(device))


# -- one epoch -------------------------------------------------------------------------------

def _first_bad(batch_loss: torch.Tensor, start: int, stop: int) -> int | None:
    """Index of the first non-finite loss in ``batch_loss[start:stop]`` (one sync), on any
    rank: in a distributed run the flags are summed over ranks, so every rank stops at the
    same batch instead of waiting for the one that stopped."""
    bad = ~torch.isfinite(batch_loss[start:stop])
    if is_distributed():
        flags = bad.to(batch_loss.dtype)
        all_reduce_sum(flags)
        bad = flags > 0
    if not bool(bad.any()):
        return None
    return start + int(bad.nonzero()[0, 0])


def _reduce_epoch_metrics(batch_loss: torch.Tensor, batch_correct: torch.Tensor,
                          shares: torch.Tensor) -> tuple[float, float]:
    """Mean loss and accuracy of the epoch over all ranks (the one place metrics are reduced).

    ``batch_loss[b] * shares[b]`` is the summed loss of this rank's real samples in batch b
    (see :func:`_batch_loss`); summed over batches and ranks it is the epoch's total loss, and
    the shares add up to the number of training samples.
    """
    totals = torch.stack([(batch_loss.double() * shares).sum(), batch_correct.double().sum(),
                          shares.sum()])
    all_reduce_sum(totals)
    loss, correct, count = totals.tolist()
    return loss / count, correct / count


@dataclass(frozen=True)
class _EpochPlan:
    """This rank's part of an epoch.

    The GLOBAL batches are those of a single process (:func:`batch_bounds` over the shared
    permutation); with the permutation dealt out as in ``DistributedSampler`` (rank r takes
    positions r, r + W, ...) and a global batch size divisible by W, the positions
    [s, e) of global batch b are, on rank r, the local positions [s / W, e / W): every rank
    holds batch_size / W samples of it, the last batch also holding the padding duplicates.
    """

    order: torch.Tensor  # this rank's dataset indices (CPU, int64)
    real: torch.Tensor | None  # False at padding duplicates (None: no padding)
    bounds: list[tuple[int, int]]  # local (start, stop) of each batch
    global_sizes: list[int]  # real samples in each global batch
    padded: list[bool]  # whether the global batch holds padding duplicates (on any rank)


def _epoch_plan(n: int, batch_size: int, *, seed: int, epoch: int, rank: int,
                world_size: int) -> _EpochPlan:
    order, real = epoch_order(n, seed=seed, epoch=epoch, rank=rank, world_size=world_size)
    global_bounds = batch_bounds(n, batch_size)
    bounds = global_bounds
    if world_size > 1:
        bounds = [(s // world_size, e // world_size) for s, e in global_bounds]
        bounds[-1] = (bounds[-1][0], order.numel())
    sizes = [e - s for s, e in global_bounds]
    # the global batch holds padding (on some rank) when its real samples do not fill W parts
    padded = [(e - s) * world_size != size for (s, e), size in zip(bounds, sizes)]
    return _EpochPlan(order, real, bounds, sizes, padded)


def _augment(x: torch.Tensor, config: TrainConfig, generator: torch.Generator, n_global: int,
             rank: int, world_size: int) -> torch.Tensor:
    """Augment this rank's part of a batch with the draws of the whole GLOBAL batch.

    The draws are those :func:`droprune.training.augment.augment_batch` makes for the global
    batch (offsets, then flip flags, from the same generator), and each sample takes the draw
    of its position in the global batch, so a sample's augmentation does not depend on the
    number of ranks (one process: exactly ``augment_batch``). Padding duplicates borrow the
    last draw; they do not count in the loss.
    """
    pos = (torch.arange(x.shape[0]) * world_size + rank).clamp_(max=max(n_global - 1, 0))
    if config.augment_pad > 0:
        pad = config.augment_pad
        offsets = torch.randint(0, 2 * pad + 1, (n_global, x.dim() - 2), generator=generator)
        x = translate(x, offsets[pos], pad)
    if config.augment_flip:
        flags = torch.rand(n_global, generator=generator) < 0.5
        x = flip(x, flags[pos])
    return x


def _batch_loss(logits: torch.Tensor, y: torch.Tensor, class_weights: torch.Tensor | None,
                keep: torch.Tensor | None, share: float) -> torch.Tensor:
    """The loss this rank minimises for one batch.

    ``share`` = (real samples of the global batch) / W. DDP averages gradients over the W
    ranks, so each rank minimises (sum of its real samples' losses) / share: the average is
    then exactly the mean loss of the global batch, as in one process. When the global batch
    holds no padding (``keep`` None) every rank holds ``share`` samples and this is the plain
    mean; otherwise ``keep`` masks this rank's padding duplicates out (on every rank, also
    one whose part happens to be all real).
    """
    if keep is None:
        if class_weights is None:
            return F.cross_entropy(logits, y)
        return (F.cross_entropy(logits, y, reduction="none") * class_weights[y]).mean()
    per_sample = F.cross_entropy(logits, y, reduction="none")
    if class_weights is not None:
        per_sample = per_sample * class_weights[y]
    return (per_sample * keep).sum() / share


def _train_epoch(net: nn.Module, train_set: LabelledDataset, config: TrainConfig, *, epoch: int,
                 seed: int, optimizer: torch.optim.Optimizer, class_weights: torch.Tensor | None,
                 recorders: Sequence[Recorder], labels: torch.Tensor, device: torch.device,
                 bar: tqdm) -> tuple[float, float]:
    rank, world_size = world()
    plan = _epoch_plan(len(train_set), config.batch_size, seed=seed, epoch=epoch, rank=rank,
                       world_size=world_size)
    bounds = plan.bounds
    shares = torch.tensor([size / world_size for size in plan.global_sizes],
                          dtype=torch.float64, device=device)
    batch_loss = torch.zeros(len(bounds), device=device)
    batch_correct = torch.zeros(len(bounds), dtype=torch.long, device=device)
    real_dev = None if plan.real is None else plan.real.to(device)
    # key 0: the stream is shared by all ranks (formerly keyed by the rank, which was 0 alone)
    generator = derived_generator(seed, AUGMENT_STREAM, epoch, 0)
    augment = config.augment_pad > 0 or config.augment_flip
    checked = 0
    net.train()
    batches = _train_batches(train_set, plan.order, bounds, labels, device, config.num_workers)
    for b, (x, y, idx) in enumerate(batches):
        if augment:
            x = _augment(x, config, generator, plan.global_sizes[b], rank, world_size)
        logits = net(train_set.to_float(x))
        keep = real_dev[bounds[b][0]:bounds[b][1]] if plan.padded[b] else None
        loss = _batch_loss(logits, y, class_weights, keep, plan.global_sizes[b] / world_size)
        out = logits.detach()
        if recorders:
            rec_idx, rec_out, rec_y = (idx, out, y) if keep is None else \
                (idx[keep], out[keep], y[keep])
            for rec in recorders:
                rec.on_batch(epoch, rec_idx, rec_out, rec_y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        batch_loss[b] = loss.detach()
        correct = out.argmax(1) == y
        batch_correct[b] = (correct if keep is None else correct & keep).sum()
        if (b + 1) % SYNC_EVERY == 0 or b + 1 == len(bounds):
            bad = _first_bad(batch_loss, checked, b + 1)
            if bad is not None:
                where = "" if world_size == 1 else f" (on rank {rank} or another rank)"
                raise FloatingPointError(
                    f"training diverged: the loss of epoch {epoch}, batch {bad} is "
                    f"{batch_loss[bad].item()}{where}; lower the learning rate or check the "
                    f"inputs for NaN/inf")
            bar.update(b + 1 - checked)
            checked = b + 1
    return _reduce_epoch_metrics(batch_loss, batch_correct, shares)


def _validate(model: nn.Module, val_set: LabelledDataset, config: TrainConfig,
              device: torch.device) -> tuple[float, np.ndarray]:
    # distributed: each rank predicts its shard, every rank gets all predictions by index
    pred = predict_logits(model, val_set, batch_size=config.eval_batch_size, device=device,
                          num_workers=config.num_workers).argmax(1)
    recall = class_recalls(val_set.labels, pred, num_classes=val_set.num_classes)
    return float(np.mean(pred == val_set.labels)), recall


def _check_world(config: TrainConfig) -> tuple[int, int]:
    """``(rank, world_size)``, after refusing a torchrun launch without a process group and a
    global batch size that the ranks cannot split evenly."""
    launched = launched_world_size()
    if launched > 1 and not is_distributed():
        raise ValueError(f"this process is one of {launched} launched together (WORLD_SIZE="
                         f"{launched}) but torch.distributed is not initialised: run the work "
                         f"inside `with droprune.training.distributed.distributed_session():` "
                         f"(the droprune command does this itself)")
    rank, world_size = world()
    if config.batch_size % world_size:
        lower = max(world_size, config.batch_size // world_size * world_size)
        raise ValueError(f"batch_size {config.batch_size} is the global batch, split evenly "
                         f"over {world_size} ranks: make it a multiple of {world_size} (e.g. "
                         f"{lower} or {lower + world_size})")
    return rank, world_size


def _resume_state(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: start afresh), the same on every rank.

    Every rank reads the file itself (after a barrier, so rank 0's last write is complete);
    the ranks then compare what they found, so a checkpoint folder that some ranks cannot see
    (not on a shared filesystem) or a file refused on one rank fails on all ranks at once.
    """
    barrier()
    state, problem = None, None
    try:
        if path.exists():
            state = load_checkpoint(path)
            check_fingerprint(state["fingerprint"], fingerprint, path)
    except ValueError as exc:
        problem = str(exc)
    views = all_gather_object((None if state is None else int(state["epochs_done"]), problem))
    problems = [(r, p) for r, (_, p) in enumerate(views) if p is not None]
    if problems:
        rank, text = problems[0]
        raise ValueError(text if len(views) == 1 else f"rank {rank}: {text}")
    if len({done for done, _ in views}) > 1:
        seen = ", ".join(f"rank {r}: {'none' if d is None else f'{d} epochs'}"
                         for r, (d, _) in enumerate(views))
        raise ValueError(f"the ranks see different checkpoints at {path} ({seen}): put "
                         f"checkpoint_dir on a filesystem that every node shares")
    return state


# -- the public API --------------------------------------------------------------------------

def train(model: Classifier, train_set: LabelledDataset, config: TrainConfig, *, seed: int = 0,
          val_set: LabelledDataset | None = None, recorders: Sequence[Recorder] = (),
          checkpoint_dir: str | Path | None = None, device: str | torch.device | None = None,
          progress: bool = True) -> TrainResult:
    """Train ``model`` on ``train_set`` with SGD, cross-entropy and a step schedule.

    Parameters
    ----------
    model
        A :class:`droprune.models.Classifier` (any ``nn.Module`` mapping a normalised batch to
        (B, num_classes) logits works). It is moved to ``device`` and trained in place.
    train_set
        The training data; every sample is seen exactly once per epoch in an order that
        depends only on ``seed`` and the epoch.
    config
        Hyper-parameters, see :class:`TrainConfig`.
    seed
        Seeds the global torch RNG for the run (restored afterwards: the caller's RNG state is
        untouched), the sample order and the augmentation.
    val_set
        Validation data, evaluated after every epoch (accuracy and per-class recall; needed by
        CDB-W). Never used for training.
    recorders
        :class:`droprune.training.hooks.Recorder` objects fed from every training forward pass.
    checkpoint_dir
        If given, ``checkpoint_dir/checkpoint.pt`` is written atomically after every epoch, and
        an existing checkpoint of the same run is resumed from the next epoch (the result is
        identical to an uninterrupted run). A checkpoint of another run is refused.
    device
        Where to train; None means CUDA when available, else the CPU.
    progress
        Show a tqdm progress bar (rank 0 only).

    Returns
    -------
    TrainResult

    Notes
    -----
    Distributed (a process group is initialised, see docs/distributed.md): a collective, to
    call on every rank. ``config.batch_size`` is the GLOBAL batch, each rank training on
    ``batch_size / world_size`` samples of every single-process batch; the model is wrapped in
    DDP; validation is sharded and gathered; only rank 0 writes checkpoints; every rank
    resumes from the same checkpoint (any number of ranks may resume it).

    Raises
    ------
    ValueError
        Before training, for a bad config, labels outside ``[0, K)``, a model whose output is
        not (B, K) on these inputs, a val_set with other classes, CDB-W without val_set, a
        checkpoint of another run, a global batch size the ranks cannot split evenly, or a
        torchrun launch without a process group.
    FloatingPointError
        When the loss becomes NaN or infinite (the message names the epoch and batch).
    """
    _check_run(model, train_set, config, seed, val_set)
    rank, world_size = _check_world(config)
    device = resolve_device(device)
    model.to(device)
    _check_model_fits(model, train_set, device)
    n, k = len(train_set), train_set.num_classes
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=config.nesterov)
    path = None if checkpoint_dir is None else Path(checkpoint_dir) / CHECKPOINT_NAME
    fingerprint = None if path is None else run_fingerprint(model, config, train_set, val_set,
                                                            seed, recorders)
    cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    state = None if path is None else _resume_state(path, fingerprint)
    history: list[EpochStats] = []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        for rec in recorders:
            rec.on_train_begin(n, k, config.epochs, device)
        if state is not None:
            history = _restore(state, model, optimizer, recorders, device)
        net = model
        if world_size > 1:
            ids = None
            if device.type == "cuda":
                ids = [device.index if device.index is not None else torch.cuda.current_device()]
            net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        labels = torch.from_numpy(train_set.labels)
        batches_per_epoch = len(batch_bounds(n, config.batch_size))
        bar = tqdm(total=config.epochs * batches_per_epoch,
                   initial=len(history) * batches_per_epoch, unit="batch",
                   disable=not progress or rank != 0, dynamic_ncols=True, mininterval=0.5)
        try:
            for epoch in range(len(history), config.epochs):
                stats = _run_epoch(net, model, train_set, config, epoch=epoch, seed=seed,
                                   val_set=val_set, optimizer=optimizer, history=history,
                                   recorders=recorders, labels=labels, device=device, bar=bar)
                history.append(stats)
                if path is not None:
                    if rank == 0:
                        save_checkpoint(path, _checkpoint_payload(fingerprint, model, optimizer,
                                                                  history, recorders, device))
                    barrier()  # epoch e is on disk before any rank starts epoch e + 1
                exit_hook_for_tests(epoch)
                bar.set_postfix_str(_postfix(stats), refresh=False)
        finally:
            bar.close()
    return _result(model, history)


def _run_epoch(net: nn.Module, model: nn.Module, train_set: LabelledDataset,
               config: TrainConfig, *, epoch: int, seed: int, val_set: LabelledDataset | None,
               optimizer: torch.optim.Optimizer, history: list[EpochStats],
               recorders: Sequence[Recorder], labels: torch.Tensor, device: torch.device,
               bar: tqdm) -> EpochStats:
    """Train one epoch, validate, let the recorders close the epoch."""
    t0 = time.perf_counter()
    lr = config.lr_at(epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    class_weights = None
    if config.cdbw:
        previous = history[-1].val_class_recall if history else None
        w = np.ones(train_set.num_classes) if previous is None else cdbw_weights(previous)
        class_weights = torch.as_tensor(w, dtype=torch.float32, device=device)
    loss, acc = _train_epoch(net, train_set, config, epoch=epoch, seed=seed, optimizer=optimizer,
                             class_weights=class_weights, recorders=recorders, labels=labels,
                             device=device, bar=bar)
    val_acc, val_recall = None, None
    if val_set is not None:
        val_acc, val_recall = _validate(model, val_set, config, device)
    for rec in recorders:
        if is_distributed():
            rec.synchronize(all_reduce_sum)
        rec.on_epoch_end(epoch)
    return EpochStats(epoch=epoch, lr=lr, train_loss=loss, train_accuracy=acc,
                      val_accuracy=val_acc, val_class_recall=val_recall,
                      seconds=time.perf_counter() - t0)


def _postfix(stats: EpochStats) -> str:
    text = f"epoch {stats.epoch} loss {stats.train_loss:.4f} acc {stats.train_accuracy:.4f}"
    if stats.val_accuracy is not None:
        text += f" val {stats.val_accuracy:.4f}"
    return text


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _checkpoint_payload(fingerprint: dict[str, Any], model: nn.Module,
                        optimizer: torch.optim.Optimizer, history: list[EpochStats],
                        recorders: Sequence[Recorder], device: torch.device) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "epochs_done": len(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": _rng_state(device),
        "history": [h.to_dict() for h in history],
        "recorders": [rec.state_dict() for rec in recorders],
    }


def _restore(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
             recorders: Sequence[Recorder], device: torch.device) -> list[EpochStats]:
    """Load a checkpoint's model, optimizer, RNG and recorder states; returns its history."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"]["cpu"])
    if device.type == "cuda" and "cuda" in state["rng"]:
        torch.cuda.set_rng_state(state["rng"]["cuda"], device)
    for rec, rec_state in zip(recorders, state["recorders"], strict=True):
        rec.load_state_dict({k: v.to(device) if isinstance(v, torch.Tensor) else v
                             for k, v in rec_state.items()})
    return [EpochStats.from_dict(h) for h in state["history"]]


def _result(model: Classifier, history: list[EpochStats]) -> TrainResult:
    scored = [h for h in history if h.val_accuracy is not None]
    if not scored:
        return TrainResult(model, history, None, None)
    best = max(scored, key=lambda h: (h.val_accuracy, -h.epoch))
    return TrainResult(model, history, best.epoch, best.val_class_recall)


def predict_logits(model: Classifier, dataset: LabelledDataset, *, batch_size: int = 1024,
                   device: str | torch.device | None = None, num_workers: int = 0,
                   local: bool = False) -> np.ndarray:
    """Logits of every sample of ``dataset`` in order, float32 (N, K), in eval mode.

    The model is put in eval mode (batch norm uses its running statistics, dropout is off) and
    restored to its previous mode afterwards; no augmentation. ``device=None`` means CUDA when
    available, else the CPU (the model is moved there).

    In a distributed run (a process group is initialised) this is a collective: each rank
    predicts its shard (:func:`~droprune.training.distributed.shard_indices`) and every rank
    returns all N rows, placed by sample index. Call it on every rank, or pass ``local=True``
    to predict every sample in this process alone.
    """
    device = resolve_device(device)
    model.to(device)
    indices = None if local or not is_distributed() else shard_indices(len(dataset))
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
             local: bool = False) -> RobustnessReport:
    """Average and class-wise accuracy of ``model`` on ``dataset`` (eval mode).

    Uses the dataset's class names, and its groups when it has some (group accuracies; the
    group-weighted average needs the training proportions, see
    :func:`droprune.robustness_report`). Distributed: a collective like
    :func:`predict_logits` (``local=True`` to evaluate in this process alone).
    """
    if len(dataset) == 0:
        raise ValueError(f"dataset {dataset.name} is empty: there is nothing to evaluate")
    logits = predict_logits(model, dataset, batch_size=batch_size, device=device,
                            num_workers=num_workers, local=local)
    return robustness_report(dataset.labels, logits.argmax(1), num_classes=dataset.num_classes,
                             class_names=dataset.class_names, groups=dataset.groups,
                             num_groups=dataset.num_groups or None)
