"""Hugging Face: :class:`RecorderTrainer`, a ``transformers.Trainer`` that feeds droprune's
recorders from the logits of its own training forward passes.

Wrap the training set with :func:`droprune.integrations.with_indices` (its dict items get an
``"index"`` entry, kept through the collator and taken out before the model is called) and
train as usual::

    trainer = RecorderTrainer(model=model, args=args, train_dataset=with_indices(train_ds),
                              recorders=["forgetting", "dynunc", "el2n_trace"])
    trainer.train()
    scores = trainer.recorder_scores()  # {name: float64 (N,)}, higher = harder

The model returns its logits as ``outputs.logits`` (``outputs["logits"]``, or the second
element of a tuple) and takes the labels as ``labels``. Each checkpoint folder gets a
``droprune_recorders.pt`` with the recorders' state; ``train(resume_from_checkpoint=...)``
(a folder, or True for the last one) restores it and gives the scores of an uninterrupted run.

Needs ``pip install "droprune[huggingface]"`` (``transformers`` and ``accelerate``).
"""

from __future__ import annotations

import math
import os
from typing import Any, Iterable, Sized, cast

import numpy as np
import torch

from .._extras import require
from ..training.hooks import Recorder
from ._common import RecorderSet, with_indices

require("huggingface", what="droprune.integrations.huggingface")
from transformers import Trainer, TrainerCallback  # noqa: E402
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint  # noqa: E402

__all__ = ["RECORDERS_FILE", "RecorderTrainer", "with_indices"]

#: the file in each checkpoint folder that holds the recorders' state
RECORDERS_FILE = "droprune_recorders.pt"


class _EpochsAndCheckpoints(TrainerCallback):
    """Ends the recorders' epochs and writes their state into each checkpoint folder."""

    def __init__(self, recorders: RecorderSet) -> None:
        self.recorders = recorders

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.recorders.epoch_end(_epoch(state, ended=True))

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
            torch.save(self.recorders.state_dict(), os.path.join(folder, RECORDERS_FILE))


def _epoch(state: Any, *, ended: bool = False) -> int:
    """The 0-based epoch in progress, or just ended (``state.epoch`` counts the epochs done,
    with fractions)."""
    done = float(state.epoch or 0.0)
    return max(round(done) - 1, 0) if ended else int(math.floor(done + 1e-6))


class RecorderTrainer(Trainer):
    """A ``transformers.Trainer`` that feeds ``recorders`` from every training batch.

    Parameters
    ----------
    recorders
        :class:`~droprune.training.hooks.Recorder` objects or names
        (:func:`droprune.scoring.make_recorders`).
    index_key, label_key
        The keys of the dataset indices (``with_indices``' default ``"index"``) and of the
        labels in the collated batch.
    num_samples
        N; default ``len(train_dataset)``.
    *args, **kwargs
        Those of ``transformers.Trainer``.
    """

    def __init__(self, *args: Any, recorders: Iterable[Recorder | str],
                 index_key: str = "index", label_key: str = "labels",
                 num_samples: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorder_set = RecorderSet(recorders, num_samples, what="RecorderTrainer")
        self.index_key, self.label_key = index_key, label_key
        self.add_callback(_EpochsAndCheckpoints(self.recorder_set))

    @property
    def recorders(self) -> list[Recorder]:
        return self.recorder_set.recorders

    def recorder_scores(self) -> dict[str, np.ndarray]:
        """``{recorder name: per-sample scores, float64 (N,)}`` (higher = harder = kept
        first)."""
        return self.recorder_set.scores()

    def _set_signature_columns_if_needed(self) -> None:
        # keep the index through remove_unused_columns (the model does not take it)
        super()._set_signature_columns_if_needed()
        columns = self._signature_columns
        if columns is not None and self.index_key not in columns:
            columns.append(self.index_key)

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any,
              **kwargs: Any) -> Any:
        self.recorder_set.restart()
        folder = resume_from_checkpoint
        if folder is True:
            folder = get_last_checkpoint(self.args.output_dir)
        if isinstance(folder, (str, os.PathLike)):
            path = os.path.join(folder, RECORDERS_FILE)
            if not os.path.isfile(path):
                raise ValueError(f"RecorderTrainer: {folder} has no {RECORDERS_FILE} (written "
                                 f"by another Trainer?): the recorders cannot resume from it")
            self.recorder_set.load_state_dict(torch.load(path, weights_only=True))
        return super().train(resume_from_checkpoint, *args, **kwargs)

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        indices = inputs.pop(self.index_key, None)
        if not model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if indices is None or self.label_key not in inputs:
            raise ValueError(f"RecorderTrainer: the training batch has no {self.index_key!r} "
                             f"or {self.label_key!r} (wrap the training set in "
                             f"with_indices(...)); it has {sorted(inputs)}")
        labels = inputs[self.label_key]
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[1]
        if not self.recorder_set.begun:
            n = self.recorder_set.num_samples or len(cast(Sized, self.train_dataset))
            self.recorder_set.begin_if_needed(n, logits, math.ceil(self.args.num_train_epochs))
        self.recorder_set.feed(_epoch(self.state), indices, logits, labels)
        return (loss, outputs) if return_outputs else loss
