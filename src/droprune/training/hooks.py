"""Training hooks: how the training loop feeds per-sample recorders without extra passes
(:class:`Recorder`), and how behaviour is added to the loop (:class:`Callback`).

The trainer calls, for every training batch, ``on_batch(epoch, indices, logits, labels)`` with
the batch's DATASET indices (not batch positions), the logits it computed for the loss
(detached, before any loss weighting) and the labels; then ``on_epoch_end(epoch)`` once per
epoch. In a distributed run the trainer first calls ``synchronize(all_reduce_sum)`` so that every
rank holds the values of all samples (each sample is seen by exactly one rank per epoch; the
padding duplicates of a distributed sampler are not passed to recorders), then
``on_epoch_end``.

Callbacks are told when an epoch is over: after the recorders' ``on_epoch_end`` and after the
checkpoint of the epoch is written (every rank, in a distributed run), the loop calls
``on_epoch_end(epoch, stats)`` of every callback in order. An exception raised there stops
training; the checkpoint then holds the epoch just finished, so the run resumes from the next
one. Callbacks observe: they are not part of a checkpoint's fingerprint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

if TYPE_CHECKING:
    from .stats import EpochStats

__all__ = ["Callback", "Recorder"]


class Recorder:
    """Base class of a training-dynamics recorder (Forgetting, Dynamic Uncertainty, traces).

    Subclasses allocate their state in :meth:`on_train_begin`; keep per-epoch buffers as
    full-length tensors (N,) so that :meth:`synchronize` can sum them across ranks.
    """

    #: short name used in score files ("forgetting", "dynunc", ...)
    name: str = "recorder"

    def on_train_begin(self, num_samples: int, num_classes: int, epochs: int,
                       device: torch.device | str) -> None:
        """Called once before the first epoch. droprune's trainer passes a ``torch.device``;
        a caller feeding the recorders from its own loop may pass a name such as ``"cpu"``
        (``torch.device(device)`` accepts both)."""

    def on_batch(self, epoch: int, indices: torch.Tensor, logits: torch.Tensor,
                 labels: torch.Tensor) -> None:
        """Called after the forward pass of each training batch (logits are detached)."""

    def epoch_buffers(self) -> list[torch.Tensor]:
        """Tensors written during the current epoch that a distributed run must sum."""
        return []

    def synchronize(self, all_reduce_sum: Callable[[torch.Tensor], None]) -> None:
        """Sum this epoch's buffers across ranks (in place). Called before on_epoch_end."""
        for buf in self.epoch_buffers():
            all_reduce_sum(buf)

    def on_epoch_end(self, epoch: int) -> None:
        """Called once at the end of every epoch."""

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Everything needed to resume recording after an interruption (tensors only, so that
        checkpoints load with ``torch.load(weights_only=True)``)."""
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (the trainer calls it after
        ``on_train_begin``; droprune's recorders also accept it before, and apply it then)."""

    def scores(self) -> np.ndarray:
        """Per-sample scores, float64 (N,), oriented higher = harder = kept first."""
        raise NotImplementedError


class Callback:
    """Base class of a training callback; any object with this ``on_epoch_end`` method works.

    Examples
    --------
    >>> class StopAfter(Callback):
    ...     def __init__(self, last):
    ...         self.last = last
    ...     def on_epoch_end(self, epoch, stats):
    ...         if epoch == self.last:
    ...             raise KeyboardInterrupt(f"stopped after epoch {epoch}")
    """

    def on_epoch_end(self, epoch: int, stats: "EpochStats") -> None:
        """Called once per finished epoch (0-based), after its checkpoint is written."""
