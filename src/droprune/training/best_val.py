"""Test predictions at the epoch of best validation accuracy, kept through checkpoints.

:class:`BestValidationTest` is a :class:`~droprune.training.hooks.Recorder` (so that its state
is saved in every checkpoint with the model, and a resumed run reports what an uninterrupted
one does): at the end of every epoch it predicts the validation split; when the accuracy is
higher than at every earlier epoch (ties keep the earlier epoch) it predicts the test split and
keeps those predictions. Used by the experiments' ``protocol_options.report_epoch="best_val"``.

Examples
--------
>>> import torch
>>> from droprune.data.base import LabelledDataset
>>> from droprune.models import build_model
>>> from droprune.training import TrainConfig, train
>>> x = torch.randn(64, 1, 8); y = (x[:, 0, 0] > 0).long().numpy()
>>> ds = LabelledDataset(x, y, num_classes=2)
>>> model = build_model("mlp", num_classes=2, in_channels=1, input_size=(8,), hidden=(16,))
>>> best = BestValidationTest(model, val_set=ds, test_set=ds, seed=0)
>>> _ = train(model, ds, TrainConfig(epochs=3, batch_size=16), recorders=[best], progress=False)
>>> 0 <= best.best_epoch < 3, best.test_predictions.shape
(True, (64,))
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data.base import PASS_STREAMS, LabelledDataset
from .hooks import Recorder
from .inference import predict_logits

__all__ = ["BestValidationTest"]


class BestValidationTest(Recorder):
    """Keep the test predictions of the epoch of best validation accuracy.

    Parameters
    ----------
    model
        The model being trained (the object passed to :func:`~droprune.training.train`).
    val_set, test_set
        The validation split that picks the epoch and the split predicted at it.
    seed
        The training seed (the pass keys of random input transforms, as the trainer's).
    batch_size
        Inference batch size.
    device
        Where to predict (None: the model's device).

    Attributes
    ----------
    best_epoch
        The 0-based epoch of the highest validation accuracy so far (the first of equals;
        -1 before any epoch).
    best_val_accuracy
        Its validation accuracy.
    test_predictions
        The test split's predicted classes at ``best_epoch`` (int64 numpy array).
    """

    name = "best_val_test"

    def __init__(self, model: nn.Module, *, val_set: LabelledDataset,
                 test_set: LabelledDataset, seed: int = 0, batch_size: int = 1024,
                 device: torch.device | str | None = None) -> None:
        if len(val_set) == 0:
            raise ValueError("val_set is empty: the best epoch needs validation samples")
        self.model, self.val_set, self.test_set = model, val_set, test_set
        self.seed, self.batch_size, self.device = seed, batch_size, device
        self._reset()

    def _reset(self) -> None:
        self.best_epoch = -1
        self.best_val_accuracy = -1.0
        self.test_predictions = np.zeros(0, dtype=np.int64)

    def on_train_begin(self, num_samples: int, num_classes: int, epochs: int,
                       device: torch.device | str) -> None:
        self._reset()
        if self.device is None:
            self.device = device

    def _predict(self, dataset: LabelledDataset, stream: str, epoch: int) -> np.ndarray:
        data = dataset.for_pass((self.seed, PASS_STREAMS[stream], epoch))
        return predict_logits(self.model, data, batch_size=self.batch_size, device=self.device,
                              distributed=True).argmax(axis=1)

    def on_epoch_end(self, epoch: int) -> None:
        accuracy = float(np.mean(self._predict(self.val_set, "val", epoch)
                                 == self.val_set.labels))
        if accuracy > self.best_val_accuracy:
            self.best_epoch, self.best_val_accuracy = epoch, accuracy
            self.test_predictions = self._predict(self.test_set, "test", epoch)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"best_epoch": torch.tensor(self.best_epoch, dtype=torch.int64),
                "best_val_accuracy": torch.tensor(self.best_val_accuracy, dtype=torch.float64),
                "test_predictions": torch.from_numpy(self.test_predictions.copy())}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.best_epoch = int(state["best_epoch"])
        self.best_val_accuracy = float(state["best_val_accuracy"])
        self.test_predictions = state["test_predictions"].cpu().numpy().astype(np.int64)
