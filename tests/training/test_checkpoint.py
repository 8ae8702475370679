"""Checkpoints: atomic per-epoch files, exact resume, refusal of another run's checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from .train_helpers import (
    LogRecorder,
    SimulatedCrash,
    history_without_time,
    same_state,
    small_cnn,
    tiny_images,
)

from droprune.training import Callback, Recorder, TrainConfig, train

class Quiet(Recorder):
    name = "quiet"


class NeverCalled(Quiet):

    def on_train_begin(self, *args):
        raise AssertionError("a refused checkpoint must stop the run before it starts")


CONFIG = TrainConfig(epochs=4, batch_size=8, lr=0.05, drop_epochs=(2,), augment_pad=1,
                     augment_flip=True, cdbw=True)


@pytest.fixture(scope="module")
def data():
    return tiny_images(n=30, seed=0), tiny_images(n=12, seed=1)


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """Four epochs without interruption (with a checkpoint dir, which must not matter)."""
    train_set, val_set = data
    model, rec = small_cnn(train_set), LogRecorder()
    result = train(model, train_set, CONFIG, seed=3, val_set=val_set, recorders=[rec],
                   checkpoint_dir=tmp_path_factory.mktemp("straight"), progress=False)
    return model, rec, result


def test_interrupted_then_resumed_equals_uninterrupted(data, straight, tmp_path):
    train_set, val_set = data
    model, rec, result = straight
    crashed = LogRecorder(crash_at_epoch=2)  # crash in the middle of the third epoch
    with pytest.raises(SimulatedCrash):
        train(small_cnn(train_set), train_set, CONFIG, seed=3, val_set=val_set,
              recorders=[crashed], checkpoint_dir=tmp_path, progress=False)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["epochs_done"] == 2
    # a fresh model with ANOTHER initialisation: the checkpoint's weights replace it
    resumed_model, resumed_rec = small_cnn(train_set, seed=99), LogRecorder()
    resumed = train(resumed_model, train_set, CONFIG, seed=3, val_set=val_set,
                    recorders=[resumed_rec], checkpoint_dir=tmp_path, progress=False)
    assert same_state(resumed_model, model)
    assert history_without_time(resumed.history) == history_without_time(result.history)
    np.testing.assert_array_equal(resumed_rec.scores(), rec.scores())
    assert resumed_rec.ends == [2, 3]  # only the remaining epochs ran
    assert resumed.best_epoch == result.best_epoch
    np.testing.assert_array_equal(resumed.best_val_class_recall, result.best_val_class_recall)


class StopAfter(Callback):
    """Raises once ``epoch`` is over (as a kill after a finished epoch would stop a run)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, stats):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"stopped after epoch {epoch}")


def test_callback_that_raises_leaves_the_last_finished_epoch_checkpointed(data, straight,
                                                                         tmp_path):
    train_set, val_set = data
    model, rec, result = straight
    with pytest.raises(KeyboardInterrupt, match="stopped after epoch 1"):
        train(small_cnn(train_set), train_set, CONFIG, seed=3, val_set=val_set,
              recorders=[LogRecorder()], callbacks=[StopAfter(1)], checkpoint_dir=tmp_path,
              progress=False)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["epochs_done"] == 2 and len(saved["history"]) == 2  # epochs 0 and 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
    # callbacks are not part of the run: resuming with other callbacks continues the run
    seen = []

    class Log(Callback):
        def on_epoch_end(self, epoch, stats):
            seen.append(epoch)

    resumed_model, resumed_rec = small_cnn(train_set, seed=99), LogRecorder()
    resumed = train(resumed_model, train_set, CONFIG, seed=3, val_set=val_set,
                    recorders=[resumed_rec], callbacks=[Log()], checkpoint_dir=tmp_path,
                    progress=False)
    assert seen == [2, 3]
    assert same_state(resumed_model, model)
    assert history_without_time(resumed.history) == history_without_time(result.history)
    np.testing.assert_array_equal(resumed_rec.scores(), rec.scores())


def test_finished_run_is_returned_without_training(data, straight, tmp_path):
    train_set, val_set = data
    model, rec, result = straight
    train(small_cnn(train_set), train_set, CONFIG, seed=3, val_set=val_set,
          recorders=[LogRecorder()], checkpoint_dir=tmp_path, progress=False)
    again_model, again_rec = small_cnn(train_set, seed=7), LogRecorder(crash_at_epoch=0)
    again = train(again_model, train_set, CONFIG, seed=3, val_set=val_set,
                  recorders=[again_rec], checkpoint_dir=tmp_path, progress=False)
    assert same_state(again_model, model) and again_rec.ends == []
    assert history_without_time(again.history) == history_without_time(result.history)
    np.testing.assert_array_equal(again_rec.scores(), rec.scores())


def test_checkpoint_file_is_plain_and_written_atomically(data, tmp_path):
    train_set, val_set = data
    config = TrainConfig(epochs=1, batch_size=8)
    train(small_cnn(train_set), train_set, config, recorders=[LogRecorder()],
          checkpoint_dir=tmp_path / "run", progress=False)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint.pt"]  # no temp file
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert set(state) >= {"model", "optimizer", "rng", "history", "recorders", "fingerprint",
                          "epochs_done"}
    assert state["fingerprint"]["seed"] == 0 and state["fingerprint"]["recorders"] == ["log"]


@pytest.mark.parametrize("change,match", [
    ("seed", "seed: 0 in the checkpoint, 1 now"),
    ("lr", "config lr: 0.05 in the checkpoint, 0.1 now"),
    ("epochs", "config epochs: 1 in the checkpoint, 2 now"),
    ("dataset", "dataset: "),
    ("val_set", "val_dataset: None in the checkpoint"),
    ("model", "model "),
    ("recorders", r"recorders: \['quiet'\] in the checkpoint, \['quiet', 'quiet'\] now"),
])
def test_checkpoint_of_another_run_is_refused(data, tmp_path, change, match):
    train_set, val_set = data
    config = TrainConfig(epochs=1, batch_size=8, lr=0.05)
    train(small_cnn(train_set), train_set, config, recorders=[Quiet()], checkpoint_dir=tmp_path,
          progress=False)
    before = small_cnn(train_set)
    model, kw = small_cnn(train_set), dict(seed=0, recorders=(NeverCalled(),))
    if change == "seed":
        kw["seed"] = 1
    elif change == "lr":
        config = TrainConfig(epochs=1, batch_size=8, lr=0.1)
    elif change == "epochs":
        config = TrainConfig(epochs=2, batch_size=8, lr=0.05)
    elif change == "dataset":
        train_set = tiny_images(n=30, seed=5)
    elif change == "val_set":
        kw["val_set"] = val_set
    elif change == "model":
        model = small_cnn(train_set, width=0.5)
    elif change == "recorders":
        kw["recorders"] = [NeverCalled(), NeverCalled()]
    with pytest.raises(ValueError, match=match) as err:
        train(model, train_set, config, checkpoint_dir=tmp_path, progress=False, **kw)
    if change != "model":  # (a wider model differs in parameter count and shapes)
        assert str(err.value).count("in the checkpoint") == 1  # only what changed is named
        assert same_state(model, before)  # refused before anything was loaded or trained


def test_num_workers_does_not_block_resume(data, tmp_path):
    train_set, _ = data
    train(small_cnn(train_set), train_set, TrainConfig(epochs=1, batch_size=8),
          checkpoint_dir=tmp_path, progress=False)
    result = train(small_cnn(train_set), train_set,
                   TrainConfig(epochs=1, batch_size=8, num_workers=3),
                   checkpoint_dir=tmp_path, progress=False)
    assert len(result.history) == 1


def test_unreadable_checkpoint(data, tmp_path):
    train_set, _ = data
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="could not be read.*delete it"):
        train(small_cnn(train_set), train_set, TrainConfig(epochs=1), checkpoint_dir=tmp_path,
              progress=False)
    torch.save({"something": torch.zeros(1)}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="not a droprune checkpoint"):
        train(small_cnn(train_set), train_set, TrainConfig(epochs=1), checkpoint_dir=tmp_path,
              progress=False)


def test_a_damaged_checkpoint_is_warned_about_and_the_run_starts_over(data, tmp_path):
    train_set, _ = data
    config = TrainConfig(epochs=2, batch_size=8)
    first = small_cnn(train_set)
    train(first, train_set, config, checkpoint_dir=tmp_path / "a", progress=False)
    path = tmp_path / "a" / "checkpoint.pt"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte, in the middle of the file
    path.write_bytes(bytes(raw))
    again = small_cnn(train_set)  # the same initial weights as the first run
    with pytest.warns(RuntimeWarning, match=rf"checkpoint {path} is damaged \(CRC-32 mismatch "
                                            rf"in .*\); the run starts over from epoch 0"):
        result = train(again, train_set, config, checkpoint_dir=tmp_path / "a", progress=False)
    assert len(result.history) == 2
    # trained again from scratch, the same run exactly (the damaged weights, restored, would
    # have ended a finished run at once)
    assert same_state(again, first)
    state = torch.load(path, weights_only=True)  # rewritten whole
    assert state["epochs_done"] == 2
