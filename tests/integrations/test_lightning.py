"""droprune.integrations.lightning: the callback's scores are the recorders' own for the same
logits, and a run resumed from a Lightning checkpoint scores as an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("lightning", reason="needs lightning: pip install \"droprune[lightning]\"")

import lightning.pytorch as pl  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from droprune.integrations import with_indices  # noqa: E402
from droprune.integrations.lightning import RecorderCallback  # noqa: E402
from tests.integrations import assert_scores_match_own_recorders  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:.*LeafSpec"),
              pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")]

NAMES = ["forgetting", "dynunc", "el2n_trace"]
N = 96


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        self.seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]] = []

    def training_step(self, batch, batch_idx):
        x, y, idx = batch
        logits = self.net(x)
        self.seen.append((idx.clone(), logits.detach().clone(), y.clone(), self.current_epoch))
        loss = nn.functional.cross_entropy(logits, y)
        return {"loss": loss, "logits": logits, "labels": y, "indices": idx}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


def data() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 8, generator=g)
    return TensorDataset(x, (x[:, 0] > 0).long() + (x[:, 1] > 1).long())


def fit(epochs: int, root, *, shuffle: bool = True, ckpt_path=None, checkpoint: bool = False):
    torch.manual_seed(0)
    module, callback = Net(), RecorderCallback(NAMES)
    callbacks = [callback]
    if checkpoint:
        callbacks.append(pl.callbacks.ModelCheckpoint(dirpath=root, save_last=True))
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=checkpoint, default_root_dir=root,
                         callbacks=callbacks)
    loader = DataLoader(with_indices(data()), batch_size=16, shuffle=shuffle,
                        generator=torch.Generator().manual_seed(1))
    trainer.fit(module, loader, ckpt_path=ckpt_path)
    return module, callback


def test_scores_equal_the_recorders_fed_the_same_logits(tmp_path):
    module, callback = fit(3, tmp_path)
    assert_scores_match_own_recorders(callback.scores(), module.seen, NAMES, N, 3, 3)


def test_resume_from_a_lightning_checkpoint_scores_as_an_uninterrupted_run(tmp_path):
    _, whole = fit(3, tmp_path / "whole", shuffle=False)
    _, first = fit(1, tmp_path / "ckpt", shuffle=False, checkpoint=True)
    assert first.recorders[0].epochs_recorded == 1
    _, resumed = fit(3, tmp_path / "ckpt", shuffle=False, checkpoint=True,
                     ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    assert resumed.recorders[0].epochs_recorded == 3
    for name, values in whole.scores().items():
        np.testing.assert_array_equal(resumed.scores()[name], values)


def test_a_training_step_without_the_keys_is_refused_in_one_line(tmp_path):
    class Bare(Net):
        def training_step(self, batch, batch_idx):
            return super().training_step(batch, batch_idx)["loss"]

    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, callbacks=[RecorderCallback(NAMES)])
    with pytest.raises(ValueError, match=r"training_step must return a dict with \['logits', "):
        trainer.fit(Bare(), DataLoader(with_indices(data()), batch_size=16))


def test_the_lightning_example_in_the_docs_runs(tmp_path, monkeypatch):
    from tests.integrations.test_huggingface_docs import doc_example

    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(doc_example("lightning.pytorch"), "docs/own_model.md", "exec"), namespace)
    scores = namespace["scores"]
    assert list(scores) == ["forgetting", "dynunc", "el2n_trace"]
    assert all(v.shape == (512,) and np.isfinite(v).all() for v in scores.values())
