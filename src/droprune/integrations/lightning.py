"""Lightning: :class:`RecorderCallback` feeds droprune's recorders from your ``LightningModule``.

Your ``training_step`` returns, besides the loss, the batch's logits, labels and DATASET
indices (:func:`droprune.integrations.with_indices` adds them to the items)::

    def training_step(self, batch, batch_idx):
        x, y, idx = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        return {"loss": loss, "logits": logits, "labels": y, "indices": idx}

and ``Trainer(callbacks=[RecorderCallback(["forgetting", "dynunc", "el2n_trace"])])`` records
them; ``callback.scores()`` gives ``{name: scores (N,)}`` after ``fit``. The recorders' state
is part of Lightning's checkpoints (the callback's ``state_dict``): ``fit(ckpt_path=...)``
resumes recording where it stopped, and gives the scores of an uninterrupted run when the
checkpoint was written at the end of a training epoch (``ModelCheckpoint``'s default without
validation; with a validation loop pass ``ModelCheckpoint(save_on_train_epoch_end=True)``).

Needs ``pip install "droprune[lightning]"`` (the ``lightning`` package).
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._extras import require
from ..training.hooks import Recorder
from ._common import RecorderSet, with_indices

require("lightning", what="droprune.integrations.lightning")
from lightning.pytorch import Callback  # noqa: E402

__all__ = ["RecorderCallback", "with_indices"]


class RecorderCallback(Callback):
    """Feed droprune recorders from the outputs of ``training_step``.

    Parameters
    ----------
    recorders
        :class:`~droprune.training.hooks.Recorder` objects or names
        (:func:`droprune.scoring.make_recorders`: ``"forgetting"``, ``"dynunc"``,
        ``"el2n_trace"``, ``"aum"``).
    num_samples
        N, the size of the training set the indices refer to; default the length of the
        training dataloader's dataset.
    logits_key, labels_key, indices_key
        Where the logits ``(batch, K)``, labels ``(batch,)`` and dataset indices ``(batch,)``
        are in the dict that ``training_step`` returns.
    """

    def __init__(self, recorders: Iterable[Recorder | str], *, num_samples: int | None = None,
                 logits_key: str = "logits", labels_key: str = "labels",
                 indices_key: str = "indices") -> None:
        super().__init__()
        self._set = RecorderSet(recorders, num_samples, what="RecorderCallback")
        self.keys = (logits_key, labels_key, indices_key)

    @property
    def recorders(self) -> list[Recorder]:
        return self._set.recorders

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._set.restart()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        missing = [k for k in self.keys if not isinstance(outputs, dict) or k not in outputs]
        if missing:
            got = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
            raise ValueError(f"RecorderCallback: training_step must return a dict with "
                             f"{list(self.keys)} (the dataset indices: wrap the dataset in "
                             f"with_indices); missing {missing}, got {got}")
        logits, labels, indices = (outputs[k] for k in self.keys)
        if not self._set.begun:
            n = self._set.num_samples or len(trainer.train_dataloader.dataset)
            epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 1
            self._set.begin_if_needed(n, logits, epochs)
        self._set.feed(trainer.current_epoch, indices, logits, labels)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._set.epoch_end(trainer.current_epoch)

    def state_dict(self) -> dict[str, Any]:
        return self._set.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._set.load_state_dict(state_dict)

    def scores(self) -> dict[str, np.ndarray]:
        """``{recorder name: per-sample scores, float64 (N,)}`` (higher = harder = kept
        first)."""
        return self._set.scores()
