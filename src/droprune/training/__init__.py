"""Training: the trainer (SGD, step schedule, CDB-W, batched augmentation, checkpoints with
exact resume), its configuration, and the recorder hooks that feed the scorers.

Examples
--------
>>> from droprune.training import TrainConfig
>>> TrainConfig(epochs=200, drop_epochs=(60, 120, 160)).stretched(0.5).epochs
300
"""

from .augment import augment_batch, flip, random_flip, random_translate, translate
from .cdbw import cdbw_weights
from .config import TrainConfig
from .hooks import Recorder
from .trainer import (
    EpochStats,
    TrainResult,
    batch_bounds,
    eval_mode,
    evaluate,
    predict_logits,
    resolve_device,
    train,
)

__all__ = [
    "EpochStats",
    "Recorder",
    "TrainConfig",
    "TrainResult",
    "augment_batch",
    "batch_bounds",
    "cdbw_weights",
    "eval_mode",
    "evaluate",
    "flip",
    "predict_logits",
    "random_flip",
    "random_translate",
    "resolve_device",
    "train",
    "translate",
]
