"""Training: the training loop (SGD, step schedule, CDB-W, batched augmentation, checkpoints
with exact resume, callbacks), its configuration, inference (prediction and evaluation), and
the recorder hooks that feed the scorers.

Modules: ``loop`` (:func:`train`), ``config`` (:class:`TrainConfig`), ``stats``
(:class:`EpochStats`, :class:`TrainResult`), ``inference`` (:func:`predict_logits`,
:func:`evaluate`, ``model_outputs``), ``batching`` (the batch plan), ``augment``, ``cdbw``,
``checkpoint``, ``hooks`` (:class:`Recorder`, :class:`Callback`), ``threads``
(:func:`torch_threads`) and ``distributed``.

Examples
--------
>>> from droprune.training import TrainConfig
>>> TrainConfig(epochs=200, drop_epochs=(60, 120, 160)).stretched(0.5).epochs
300
"""

from .._extras import require as _require

_require("torch", "torch", what="droprune.training")  # one line naming the extra, not a traceback

from .cdbw import cdbw_weights
from .config import TrainConfig
from .hooks import Callback, Recorder
from .inference import eval_mode, evaluate, predict_logits, resolve_device
from .loop import train
from .stats import EpochStats, TrainResult
from .threads import torch_threads

__all__ = [
    "Callback",
    "EpochStats",
    "Recorder",
    "TrainConfig",
    "TrainResult",
    "cdbw_weights",
    "eval_mode",
    "evaluate",
    "predict_logits",
    "resolve_device",
    "torch_threads",
    "train",
]
