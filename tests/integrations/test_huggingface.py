"""droprune.integrations.huggingface: RecorderTrainer's scores are the recorders' own for the
same logits, and a run resumed from a Trainer checkpoint scores as an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers", reason="needs transformers: pip install "
                                           "\"droprune[huggingface]\"")
pytest.importorskip("accelerate", reason="the Trainer needs accelerate: pip install "
                                         "\"droprune[huggingface]\"")

from torch import nn  # noqa: E402
from transformers import TrainingArguments  # noqa: E402

from droprune.integrations import with_indices  # noqa: E402
from droprune.integrations.huggingface import RecorderTrainer  # noqa: E402
from tests.integrations import assert_scores_match_own_recorders  # noqa: E402

NAMES = ["forgetting", "dynunc", "el2n_trace"]
N = 64


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x, labels=None):
        logits = self.net(x)
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


def items() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()
    return [{"x": x[i], "labels": int(y[i])} for i in range(N)]


class Spy(RecorderTrainer):
    """Keeps what the recorders were fed, to feed droprune's own recorders the same."""

    seen: list

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        idx = inputs.get("index")
        loss, out = super().compute_loss(model, inputs, True, num_items_in_batch)
        if model.training:
            self.seen.append((idx.clone(), out["logits"].detach().clone(),
                              inputs["labels"].clone(), int(self.state.epoch + 1e-6)))
        return (loss, out) if return_outputs else loss


def fit(epochs: int, out, *, resume=None, save: bool = False) -> Spy:
    torch.manual_seed(0)
    args = TrainingArguments(output_dir=str(out), num_train_epochs=epochs,
                             per_device_train_batch_size=16, learning_rate=0.5,
                             lr_scheduler_type="constant", optim="sgd", report_to=[],
                             save_strategy="epoch" if save else "no", logging_strategy="no",
                             use_cpu=True, disable_tqdm=True, seed=0)
    trainer = Spy(model=Net(), args=args, train_dataset=with_indices(items()), recorders=NAMES)
    trainer.seen = []
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def test_scores_equal_the_recorders_fed_the_same_logits(tmp_path):
    trainer = fit(3, tmp_path)
    assert_scores_match_own_recorders(trainer.recorder_scores(), trainer.seen, NAMES, N, 3, 3)


def test_resume_from_a_trainer_checkpoint_scores_as_an_uninterrupted_run(tmp_path):
    whole = fit(3, tmp_path / "whole")
    first = fit(1, tmp_path / "ckpt", save=True)
    assert first.recorders[0].epochs_recorded == 1
    resumed = fit(3, tmp_path / "ckpt", save=True, resume=True)
    assert resumed.recorders[0].epochs_recorded == 3
    for name, values in whole.recorder_scores().items():
        np.testing.assert_array_equal(resumed.recorder_scores()[name], values)


def test_a_training_set_without_indices_is_refused_in_one_line(tmp_path):
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=1, report_to=[],
                             use_cpu=True, disable_tqdm=True, save_strategy="no")
    trainer = RecorderTrainer(model=Net(), args=args, train_dataset=items(), recorders=NAMES)
    with pytest.raises(ValueError, match=r"has no 'index' or 'labels' \(wrap the training set"):
        trainer.train()
