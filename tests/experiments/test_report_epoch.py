"""The reported epoch as a protocol choice (issue #21): a final run's test metrics after the last
epoch (every profile) or at the epoch of best validation accuracy (``report_epoch="best_val"``),
recorded in the run's ``epochs`` (the reported epoch + 1), exact through a resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune import metrics as M
from droprune.data.base import LabelledDataset
from droprune.experiments.config import PROTOCOLS, load_config
from droprune.experiments.methods import parse_method
from droprune.experiments.pipeline import (QueryOutputs, RunSpec, build_final_model,
                                           final_train_config, run_final)
from droprune.experiments.sweep import load_splits
from droprune.training import TrainConfig, predict_logits, train
from droprune.training.best_val import BestValidationTest
from droprune.training.hooks import Callback

from ..training.test_checkpoint import StopAfter

TINY = ["data.name=gaussian-mixture",
        'data.options={"class_sizes": [40, 30], "dim": 2, "seed": 3}',
        "train.epochs=6", "train.drop_epochs=[]", "train.lr=0.2", "train.batch_size=16",
        "methods=Full", "densities=0.5", "seeds=0"]


class _Scripted(torch.nn.Module):
    """Trains like a linear model; in eval mode returns logits scripted by the epoch (the
    number of training forward passes so far), so that the validation accuracy of each epoch
    is known exactly, on any machine."""

    def __init__(self, val_hits: list[int], batches_per_epoch: int) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
        self.val_hits, self.per_epoch, self.train_calls = val_hits, batches_per_epoch, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.train_calls += 1
            return self.fc(x)
        epoch = max(0, self.train_calls // self.per_epoch - 1)
        # samples carry their index in x[:, 0] and x[:, 1] = 1 on the test split: validation
        # samples below val_hits[epoch] are classified as class 0 (correct), test samples
        # below the epoch (so the test predictions tell the epoch they were made at)
        bound = torch.where(x[:, 1] > 0, float(epoch), float(self.val_hits[epoch]))
        hit = (x[:, 0] < bound).float()
        return torch.stack([hit, 1 - hit], dim=1)


def _data(n: int, test: bool) -> LabelledDataset:
    x = torch.zeros(n, 2)
    x[:, 0] = torch.arange(n, dtype=torch.float32)
    x[:, 1] = float(test)
    return LabelledDataset(x, np.zeros(n, dtype=np.int64), num_classes=2)


def test_best_val_keeps_the_first_epoch_of_the_highest_validation_accuracy():
    hits = [3, 8, 5, 8, 7]  # of 10 validation samples: epochs 1 and 3 tie at 0.8
    model = _Scripted(hits, batches_per_epoch=1)
    best = BestValidationTest(model, val_set=_data(10, False), test_set=_data(4, True))
    train(model, _data(8, False), TrainConfig(epochs=5, batch_size=8, lr=1e-9), recorders=[best],
          progress=False)
    assert best.best_epoch == 1 and best.best_val_accuracy == 0.8
    # the test split was predicted at epoch 1 (at epoch 3 it would be [0, 0, 0, 1])
    assert best.test_predictions.tolist() == [0, 1, 1, 1]
    state = best.state_dict()
    other = BestValidationTest(model, val_set=_data(10, False), test_set=_data(4, True))
    other.load_state_dict(state)
    assert (other.best_epoch, other.best_val_accuracy) == (1, 0.8)
    with pytest.raises(ValueError, match="val_set is empty"):
        BestValidationTest(model, val_set=_data(10, False).subset([]), test_set=_data(4, True))


class _EveryEpoch(Callback):
    """Validation accuracy and test predictions of the model after every epoch."""

    def __init__(self, model, val, test):
        self.model, self.val, self.test, self.seen = model, val, test, []

    def on_epoch_end(self, epoch, stats):
        val = predict_logits(self.model, self.val).argmax(1)
        self.seen.append((float(np.mean(val == self.val.labels)),
                          predict_logits(self.model, self.test).argmax(1)))


def _run(cfg, tmp_path, **kwargs):
    splits = load_splits(cfg)
    spec = RunSpec(parse_method("Full"), 1.0, 0)
    return run_final(cfg, spec, splits, QueryOutputs({}, None), work_dir=tmp_path,
                     progress=False, **kwargs), splits


def test_a_final_run_reports_the_best_validation_epoch_exactly(tmp_path):
    cfg = load_config(None, [*TINY, "protocol_options.report_epoch=best_val"])
    record, splits = _run(cfg, tmp_path / "best")
    # the same training, with the model read after every epoch
    tc = final_train_config(cfg, 1.0, cdbw=False)
    model = build_final_model(cfg, splits.train, seed=7)
    spy = _EveryEpoch(model, splits.val, splits.test)
    train(model, splits.train, tc, seed=0, callbacks=[spy], progress=False)
    val_acc = [a for a, _ in spy.seen]
    best = int(np.argmax(val_acc))  # the first of the highest
    assert record.epochs == best + 1
    assert record.accuracy == float(np.mean(spy.seen[best][1] == splits.test.labels))
    # "last": the model after the last epoch (the schedule's length), as before the choice
    last, _ = _run(load_config(None, TINY), tmp_path / "last")
    assert last.epochs == 6
    assert last.accuracy == float(np.mean(spy.seen[-1][1] == splits.test.labels))
    report = M.robustness_report(splits.test.labels, spy.seen[best][1], num_classes=2)
    assert record.worst_class_accuracy == report.worst_class_accuracy


def test_a_resumed_best_val_run_reports_what_an_uninterrupted_one_does(tmp_path):
    cfg = load_config(None, [*TINY, "protocol_options.report_epoch=best_val"])
    whole, _ = _run(cfg, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        _run(cfg, tmp_path / "cut", callbacks=[StopAfter(3)])
    resumed, _ = _run(cfg, tmp_path / "cut")
    assert (resumed.epochs, resumed.accuracy, resumed.class_recall) == \
        (whole.epochs, whole.accuracy, whole.class_recall)


def test_report_epoch_is_a_choice_of_its_own():
    assert {p: PROTOCOLS[p]["report_epoch"] for p in PROTOCOLS} == {
        "paper": "last", "reference": "last", "legacy": "last"}
    last = load_config(None, TINY)
    best = load_config(None, [*TINY, "protocol_options.report_epoch=best_val"])
    assert best.choice("report_epoch") == "best_val"
    # "last" is every profile's: the run ids of existing configs are unchanged
    assert load_config(None, [*TINY, "protocol_options.report_epoch=last"]) \
        .final_fingerprint() == last.final_fingerprint() != best.final_fingerprint()
    with pytest.raises(ValueError, match="config: protocol_options.report_epoch: must be "
                                         "'last' or 'best_val'"):
        load_config(None, [*TINY, "protocol_options.report_epoch=best"])
