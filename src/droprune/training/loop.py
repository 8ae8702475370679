"""The training loop: SGD with a step schedule, optional CDB-W, batched augmentation,
per-epoch validation, recorders, callbacks, checkpoints and exact resume.

The loop's parts live next to it: the batch plan in :mod:`~droprune.training.batching`, the
augmentation in :mod:`~droprune.training.augment`, inference (validation) in
:mod:`~droprune.training.inference`, checkpoints and resume in
:mod:`~droprune.training.checkpoint`, CDB-W in :mod:`~droprune.training.cdbw`.

Examples
--------
>>> import numpy as np, torch
>>> from droprune.data.base import LabelledDataset
>>> from droprune.models import build_model
>>> from droprune.training import predict_logits
>>> x = torch.randn(64, 1, 8); y = (x[:, 0, 0] > 0).long().numpy()
>>> ds = LabelledDataset(x, y, num_classes=2)
>>> model = build_model("mlp", num_classes=2, in_channels=1, input_size=(8,), hidden=(16,))
>>> result = train(model, ds, TrainConfig(epochs=2, batch_size=16), progress=False)
>>> len(result.history), predict_logits(result.model, ds).shape
(2, (64, 2))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_int
from .._progress import progress_bar
from ..data.adapter import as_labelled
from ..data.base import PASS_STREAMS, LabelledDataset
from ..metrics import class_recalls
from .augment import augment_batch
from .batching import batch_bounds, check_world, epoch_plan, train_batches
from .cdbw import epoch_class_weights
from .checkpoint import (
    CHECKPOINT_NAME,
    checkpoint_payload,
    restore,
    resume_state,
    run_fingerprint,
    save_checkpoint,
)
from .config import TrainConfig
from .distributed import AUGMENT_STREAM, all_reduce_sum, barrier, derived_generator, is_distributed
from .hooks import Callback, Recorder
from .inference import check_model_fits, predict_logits, resolve_device
from .precision import autocast, check_amp, grad_scaler
from .stats import EpochStats, TrainResult
from .threads import torch_threads

__all__ = ["train"]

#: batches between two progress-bar updates and non-finite-loss checks (each check syncs)
SYNC_EVERY = 10


# -- checks before any work ------------------------------------------------------------------

def _check_labels(dataset: LabelledDataset, what: str) -> None:
    labels = dataset.labels
    if labels.size and (labels.min() < 0 or labels.max() >= dataset.num_classes):
        bad = labels[(labels < 0) | (labels >= dataset.num_classes)][0]
        raise ValueError(f"{what} ({dataset.name}) has label {bad} outside [0, "
                         f"{dataset.num_classes}): fix the labels or num_classes")


def _check_run(model: nn.Module, train_set: LabelledDataset, config: TrainConfig, seed: int,
               val_set: LabelledDataset | None, callbacks: Sequence[Callback]) -> None:
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_int(seed, "seed")
    for cb in callbacks:
        if not callable(getattr(cb, "on_epoch_end", None)):
            raise ValueError(f"callbacks must have an on_epoch_end(epoch, stats) method (see "
                             f"droprune.training.Callback), got {type(cb).__name__}")
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
    if (config.augment_pad or config.augment_affine) and spatial < 1:
        raise ValueError(f"augment_pad needs inputs with spatial axes (C, L...) but samples "
                         f"have shape {train_set.sample_shape}: set augment_pad=0")
    if config.augment_flip and spatial != 2:
        raise ValueError(f"augment_flip is for images (C, H, W) but samples have shape "
                         f"{train_set.sample_shape}: set augment_flip=False")


# -- the run's state -------------------------------------------------------------------------

@dataclass
class _Run:
    """Everything the epochs of one call of :func:`train` share."""

    net: nn.Module  # what is trained: the model, or its DDP wrapper
    model: nn.Module  # the model itself (validation, checkpoints)
    train_set: LabelledDataset
    val_set: LabelledDataset | None
    config: TrainConfig
    seed: int
    optimizer: torch.optim.Optimizer
    recorders: Sequence[Recorder]
    device: torch.device
    rank: int
    world_size: int
    bar: Any  # droprune._progress.progress_bar
    labels: torch.Tensor = field(init=False)  # the training labels, CPU int64
    history: list[EpochStats] = field(default_factory=list)
    scaler: torch.amp.GradScaler | None = None  # amp="fp16" on CUDA (TrainConfig.amp)

    def __post_init__(self) -> None:
        self.labels = torch.from_numpy(self.train_set.labels)


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


def _batch_loss(logits: torch.Tensor, y: torch.Tensor, class_weights: torch.Tensor | None,
                keep: torch.Tensor | None, share: float, raw: bool = False,
                world: int = 1) -> torch.Tensor:
    """The loss this rank minimises for one batch.

    ``share`` = (real samples of the global batch) / W. DDP averages gradients over the W
    ranks, so each rank minimises (sum of its real samples' losses) / share: the average is
    then exactly the mean loss of the global batch, as in one process. When the global batch
    holds no padding (``keep`` None) every rank holds ``share`` samples and this is the plain
    mean; otherwise ``keep`` masks this rank's padding duplicates out (on every rank, also
    one whose part happens to be all real).

    ``raw`` (CDB-W with ``cdbw_loss="raw"``): the weighted losses are divided by the sum of
    the weights of the global batch (over W, for DDP's average) instead of by its size; when
    every weight is 0 the plain mean is used (``world``: the number of ranks W).
    """
    if raw and class_weights is not None:
        w = class_weights[y] if keep is None else class_weights[y] * keep
        total = w.sum().detach().double().reshape(1)
        all_reduce_sum(total)
        per_sample = F.cross_entropy(logits, y, reduction="none")
        if float(total) == 0.0:
            kept = per_sample if keep is None else per_sample * keep
            return kept.sum() / share
        return (per_sample * w).sum() * world / float(total)
    if keep is None:
        if class_weights is None:
            return F.cross_entropy(logits, y)
        return (F.cross_entropy(logits, y, reduction="none") * class_weights[y]).mean()
    per_sample = F.cross_entropy(logits, y, reduction="none")
    if class_weights is not None:
        per_sample = per_sample * class_weights[y]
    return (per_sample * keep).sum() / share


def _train_epoch(run: _Run, epoch: int,
                 class_weights: torch.Tensor | None) -> tuple[float, float]:
    """One pass over this rank's batches of ``epoch``; the epoch's mean loss and accuracy."""
    config, device, world_size = run.config, run.device, run.world_size
    plan = epoch_plan(len(run.train_set), config.batch_size, seed=run.seed, epoch=epoch,
                      rank=run.rank, world_size=world_size)
    bounds = plan.bounds
    shares = torch.tensor([size / world_size for size in plan.global_sizes],
                          dtype=torch.float64, device=device)
    batch_loss = torch.zeros(len(bounds), device=device)
    batch_correct = torch.zeros(len(bounds), dtype=torch.long, device=device)
    real_dev = None if plan.real is None else plan.real.to(device)
    # key 0: the stream is shared by all ranks (formerly keyed by the rank, which was 0 alone)
    generator = derived_generator(run.seed, AUGMENT_STREAM, epoch, 0)
    augment = config.augment_pad > 0 or config.augment_flip or config.augment_affine > 0
    checked = 0
    run.net.train()
    data = run.train_set.for_pass((run.seed, PASS_STREAMS["train"], epoch))
    batches = train_batches(data, plan, run.labels, device, config.num_workers)
    for b, (x, y, idx) in enumerate(batches):
        if augment:
            x = augment_batch(x, pad=config.augment_pad, hflip=config.augment_flip,
                              generator=generator, positions=plan.draw_positions(b),
                              num_draws=plan.global_sizes[b],
                              affine_translate=config.augment_affine)
        # a padded batch exists only when plan.real is set
        keep = cast(torch.Tensor, real_dev)[bounds[b][0]:bounds[b][1]] if plan.padded[b] \
            else None
        with autocast(device, config.amp):
            logits = run.net(run.train_set.to_float(x))
            loss = _batch_loss(logits, y, class_weights, keep, plan.global_sizes[b] / world_size,
                               raw=config.cdbw_loss == "raw", world=world_size)
        out = logits.detach().float()  # recorders see float32 logits under amp too
        if run.recorders:
            rec_idx, rec_out, rec_y = (idx, out, y) if keep is None else \
                (idx[keep], out[keep], y[keep])
            for rec in run.recorders:
                rec.on_batch(epoch, rec_idx, rec_out, rec_y)
        run.optimizer.zero_grad(set_to_none=True)
        if run.scaler is None:
            loss.backward()
            run.optimizer.step()
        else:
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
        batch_loss[b] = loss.detach()
        correct = out.argmax(1) == y
        batch_correct[b] = (correct if keep is None else correct & keep).sum()
        if (b + 1) % SYNC_EVERY == 0 or b + 1 == len(bounds):
            bad = _first_bad(batch_loss, checked, b + 1)
            if bad is not None:
                where = "" if world_size == 1 else f" (on rank {run.rank} or another rank)"
                raise FloatingPointError(
                    f"training diverged: the loss of epoch {epoch}, batch {bad} is "
                    f"{batch_loss[bad].item()}{where}; lower the learning rate or check the "
                    f"inputs for NaN/inf")
            run.bar.update(b + 1 - checked)
            checked = b + 1
    return _reduce_epoch_metrics(batch_loss, batch_correct, shares)


def _validate(run: _Run, epoch: int) -> tuple[float, np.ndarray]:
    """Validation accuracy and per-class recall after ``epoch`` (distributed: each rank
    predicts its shard, every rank gets all predictions by index)."""
    assert run.val_set is not None  # called only with a val_set
    val_set = run.val_set.for_pass((run.seed, PASS_STREAMS["val"], epoch))
    pred = predict_logits(run.model, val_set, batch_size=run.config.eval_batch_size,
                          device=run.device, num_workers=run.config.num_workers,
                          distributed=True).argmax(1)
    recall = class_recalls(val_set.labels, pred, num_classes=val_set.num_classes)
    return float(np.mean(pred == val_set.labels)), recall


def _run_epoch(run: _Run, epoch: int) -> EpochStats:
    """Train one epoch, validate, let the recorders close the epoch."""
    t0 = time.perf_counter()
    lr = run.config.lr_at(epoch)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    class_weights = None
    if run.config.cdbw:
        previous = run.history[-1].val_class_recall if run.history else None
        w = epoch_class_weights(previous, run.train_set.num_classes)
        class_weights = torch.as_tensor(w, dtype=torch.float32, device=run.device)
    loss, acc = _train_epoch(run, epoch, class_weights)
    val_acc, val_recall = None, None
    if run.val_set is not None:
        val_acc, val_recall = _validate(run, epoch)
    for rec in run.recorders:
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


# -- the public API --------------------------------------------------------------------------

def train(model: nn.Module, train_set: Any, config: TrainConfig, *, seed: int = 0,
          val_set: Any = None, recorders: Sequence[Recorder] = (),
          callbacks: Sequence[Callback] = (), checkpoint_dir: str | Path | None = None,
          device: str | torch.device | None = None, progress: bool = True,
          threads: int | None = None) -> TrainResult:
    """Train ``model`` on ``train_set`` with SGD, cross-entropy and a step schedule.

    Parameters
    ----------
    model
        Any ``nn.Module`` mapping a normalised batch to (B, num_classes) logits (a
        :class:`droprune.models.Classifier` or your own). It is moved to ``device`` and trained
        in place.
    train_set
        The training data: a :class:`~droprune.data.LabelledDataset`, a ``TensorDataset``
        ``(x, y)`` or arrays ``(x, y)`` (held in memory: the fast path), or any map-style
        dataset of ``(x, y)`` items (read lazily); see :func:`droprune.data.as_labelled`. Every
        sample is seen exactly once per epoch in an order that depends only on ``seed`` and the
        epoch; recorders see its indices.
    config
        Hyper-parameters, see :class:`TrainConfig`.
    seed
        Seeds the global torch RNG for the run (restored afterwards: the caller's RNG state is
        untouched), the sample order and the augmentation.
    val_set
        Validation data (any form ``train_set`` takes; the classes of ``train_set``),
        evaluated after every epoch (accuracy and per-class recall; needed by CDB-W). Never
        used for training.
    recorders
        :class:`droprune.training.hooks.Recorder` objects fed from every training forward pass.
    callbacks
        :class:`droprune.training.hooks.Callback` objects (anything with
        ``on_epoch_end(epoch, stats)``), called in order after every epoch, once its
        checkpoint is written. An exception raised by a callback stops training (the
        checkpoint keeps the epoch just finished).
    checkpoint_dir
        If given, ``checkpoint_dir/checkpoint.pt`` is written atomically after every epoch, and
        an existing checkpoint of the same run is resumed from the next epoch (the result is
        identical to an uninterrupted run). A checkpoint of another run is refused.
    device
        Where to train; None means CUDA when available, else the CPU.
    progress
        Show progress (rank 0 only): a bar on a terminal, else one log line when training
        ends (:func:`droprune._progress.progress_bar`; ``$TQDM_DISABLE`` honoured).
    threads
        Number of CPU threads torch uses during this call (``torch.set_num_threads``; the
        previous value is restored afterwards). None (default) leaves torch's setting as it is.
        Small models are fastest with 1 (``benchmarks/bench_threads.py``); results can differ
        in the last bits between thread counts, the same count reproduces them.

    Returns
    -------
    TrainResult

    Notes
    -----
    Distributed (a process group is initialised, see docs/distributed.md): a collective, to
    call on every rank. ``config.batch_size`` is the GLOBAL batch, each rank training on
    ``batch_size / world_size`` samples of every single-process batch; the model is wrapped in
    DDP; validation is sharded and gathered; only rank 0 writes checkpoints; every rank
    resumes from the same checkpoint (any number of ranks may resume it); callbacks run on
    every rank.

    Raises
    ------
    ValueError
        Before training, for a bad config, labels outside ``[0, K)``, a model whose output is
        not (B, K) on these inputs, a val_set with other classes, CDB-W without val_set, a
        callback without ``on_epoch_end``, a checkpoint of another run, a global batch size
        the ranks cannot split evenly, or a torchrun launch without a process group.
    FloatingPointError
        When the loss becomes NaN or infinite (the message names the epoch and batch).
    """
    callbacks = list(callbacks)
    train_set = as_labelled(train_set, name="train_set")
    if val_set is not None:
        val_set = as_labelled(val_set, num_classes=None if isinstance(val_set, LabelledDataset)
                              else train_set.num_classes, name="val_set")
    _check_run(model, train_set, config, seed, val_set, callbacks)
    with torch_threads(threads):  # checks threads before any work
        return _train(model, train_set, config, seed=seed, val_set=val_set, recorders=recorders,
                      callbacks=callbacks, checkpoint_dir=checkpoint_dir, device=device,
                      progress=progress)


def _train(model: nn.Module, train_set: LabelledDataset, config: TrainConfig, *, seed: int,
           val_set: LabelledDataset | None, recorders: Sequence[Recorder],
           callbacks: list[Callback], checkpoint_dir: str | Path | None,
           device: str | torch.device | None, progress: bool) -> TrainResult:
    rank, world_size = check_world(config)
    device = resolve_device(device)
    check_amp(config.amp, device)
    model.to(device)
    check_model_fits(model, train_set, device)
    n, k = len(train_set), train_set.num_classes
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=config.nesterov)
    path = None if checkpoint_dir is None else Path(checkpoint_dir) / CHECKPOINT_NAME
    fingerprint = None if path is None else run_fingerprint(model, config, train_set, val_set,
                                                            seed, recorders)
    scaler = grad_scaler(device, config.amp)
    cuda_devices = [_cuda_index(device)] if device.type == "cuda" else []
    state = None if path is None or fingerprint is None else resume_state(path, fingerprint)
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        for rec in recorders:
            rec.on_train_begin(n, k, config.epochs, device)
        history = [] if state is None else restore(state, model, optimizer, recorders, device,
                                                   scaler=scaler)
        net = model
        if world_size > 1:
            ids = [_cuda_index(device)] if device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        batches_per_epoch = len(batch_bounds(n, config.batch_size))
        bar = progress_bar(config.epochs * batches_per_epoch,
                           f"train {type(model).__name__} (seed {seed}, {config.epochs} "
                           f"epoch{'' if config.epochs == 1 else 's'})",
                           initial=len(history) * batches_per_epoch, unit="batch",
                           enabled=progress and rank == 0)
        run = _Run(net, model, train_set, val_set, config, seed, optimizer, recorders, device,
                   rank, world_size, bar, history=history, scaler=scaler)
        try:
            for epoch in range(len(history), config.epochs):
                stats = _run_epoch(run, epoch)
                history.append(stats)
                if path is not None and fingerprint is not None:  # both or neither
                    if rank == 0:
                        save_checkpoint(path, checkpoint_payload(fingerprint, model, optimizer,
                                                                 history, recorders, device,
                                                                 scaler=scaler))
                    barrier()  # epoch e is on disk before any rank starts epoch e + 1
                for cb in callbacks:
                    cb.on_epoch_end(epoch, stats)
                bar.set_postfix_str(_postfix(stats), refresh=False)
        finally:
            bar.close()
    return TrainResult.from_history(model, history)


def _cuda_index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()
