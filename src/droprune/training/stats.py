"""What a training run reports: one :class:`EpochStats` per epoch and the :class:`TrainResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["EpochStats", "TrainResult"]


@dataclass
class EpochStats:
    """What one epoch did.

    ``train_loss`` is the mean over the epoch's samples of the loss being minimised
    (CDB-W-weighted when ``cdbw``), ``train_accuracy`` the fraction of training samples whose
    logits (during training, augmented) put the true class first. The validation fields are
    None without a validation set; ``val_class_recall`` is NaN for classes absent from it.

    Examples
    --------
    >>> s = EpochStats(0, 0.1, 0.5, 0.75, None, None, 1.0)
    >>> EpochStats.from_dict(s.to_dict()) == s
    True
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
        """The inverse of :meth:`to_dict`."""
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

    model: nn.Module
    history: list[EpochStats]
    best_epoch: int | None
    best_val_class_recall: np.ndarray | None

    @classmethod
    def from_history(cls, model: nn.Module, history: list[EpochStats]) -> "TrainResult":
        """The result of a run whose epochs are ``history`` (the best epoch chosen here)."""
        scored = [h for h in history if h.val_accuracy is not None]
        if not scored:
            return cls(model, history, None, None)
        best = max(scored, key=lambda h: (h.val_accuracy, -h.epoch))
        return cls(model, history, best.epoch, best.val_class_recall)
