"""The training loop: learning, schedule, determinism, recorders, callbacks, CDB-W, faults,
lazy data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from .train_helpers import (
    LogRecorder,
    blobs,
    history_without_time,
    mlp,
    same_state,
    small_cnn,
    tiny_images,
)

from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.training import (
    Callback,
    EpochStats,
    Recorder,
    TrainConfig,
    cdbw_weights,
    evaluate,
    predict_logits,
    train,
)
from droprune.training.distributed import epoch_order

FAST = dict(batch_size=16, lr=0.05, weight_decay=0.0)


def test_learns_separable_data():
    data = blobs(n=240, k=3)
    train_set, val_set = data.subset(np.arange(180)), data.subset(np.arange(180, 240))
    model = mlp(train_set, hidden=(32,))
    result = train(model, train_set, TrainConfig(epochs=8, **FAST), val_set=val_set,
                   progress=False)
    h = result.history
    assert [s.epoch for s in h] == list(range(8))
    assert h[-1].train_loss < 0.2 * h[0].train_loss
    assert h[-1].train_accuracy >= 0.95
    assert evaluate(result.model, val_set).accuracy >= 0.95
    accs = [s.val_accuracy for s in h]
    assert result.best_epoch == accs.index(max(accs))
    np.testing.assert_array_equal(result.best_val_class_recall,
                                  h[result.best_epoch].val_class_recall)
    assert result.model is model and all(s.seconds > 0 for s in h)


def test_no_validation_means_no_best_epoch():
    ds = blobs(n=32)
    result = train(mlp(ds), ds, TrainConfig(epochs=2, **FAST), progress=False)
    assert result.best_epoch is None and result.best_val_class_recall is None
    assert all(s.val_accuracy is None and s.val_class_recall is None for s in result.history)


class ParamSnapshot(Recorder):
    """Copies the model's parameters at every batch (on_batch runs before the SGD step)."""

    def __init__(self, model):
        self.model = model
        self.snaps = []

    def on_batch(self, epoch, indices, logits, labels):
        self.snaps.append([p.detach().clone() for p in self.model.parameters()])


def test_each_epoch_steps_with_its_scheduled_lr():
    ds = blobs(n=24, k=3)
    model = mlp(ds, hidden=())  # linear: one batch per epoch, plain SGD
    config = TrainConfig(epochs=4, batch_size=24, lr=0.3, momentum=0.0, weight_decay=0.0,
                         drop_epochs=(1, 3), drop_factor=0.5)
    snap = ParamSnapshot(model)
    result = train(model, ds, config, recorders=[snap], progress=False)
    assert [s.lr for s in result.history] == pytest.approx([0.3, 0.15, 0.15, 0.075])
    after = snap.snaps[1:] + [[p.detach() for p in model.parameters()]]
    probe = mlp(ds, hidden=())
    for epoch, (before, nxt) in enumerate(zip(snap.snaps, after)):
        with torch.no_grad():
            for p, v in zip(probe.parameters(), before):
                p.copy_(v)
        probe.zero_grad()
        F.cross_entropy(probe(ds.inputs), torch.from_numpy(ds.labels)).backward()
        for p, v0, v1 in zip(probe.parameters(), before, nxt):
            torch.testing.assert_close(v1, v0 - config.lr_at(epoch) * p.grad)


def test_same_seed_same_result_other_seed_other_result():
    ds = tiny_images(n=24)
    config = TrainConfig(epochs=2, batch_size=8, lr=0.05, augment_pad=1, augment_flip=True)
    a, b, c = small_cnn(ds), small_cnn(ds), small_cnn(ds)
    torch.rand(7)  # global RNG state before training must not matter
    rng_before = torch.get_rng_state()
    ra = train(a, ds, config, seed=5, progress=False)
    assert torch.equal(torch.get_rng_state(), rng_before)  # the caller's RNG is untouched
    rb = train(b, ds, config, seed=5, progress=False)
    train(c, ds, config, seed=6, progress=False)
    assert same_state(a, b)
    assert history_without_time(ra.history) == history_without_time(rb.history)
    assert not same_state(a, c)


def test_recorders_see_every_index_once_per_epoch_with_the_loss_logits():
    ds = blobs(n=33, k=3)
    model = mlp(ds)
    # a negligible lr leaves the model unchanged, so the recorded logits must equal the
    # model's eval-mode logits (no batch norm, no dropout in this MLP)
    config = TrainConfig(epochs=3, batch_size=8, lr=1e-30, momentum=0.0, weight_decay=0.0)
    rec = LogRecorder()
    result = train(model, ds, config, recorders=[rec], progress=False)
    assert rec.begin == (33, 3, 3, torch.device("cpu"))
    assert rec.ends == [0, 1, 2]
    expected = torch.from_numpy(predict_logits(model, ds))
    labels = torch.from_numpy(ds.labels)
    for epoch in range(3):
        calls = [c for c in rec.calls if c[0] == epoch]
        idx = torch.cat([c[1] for c in calls])
        assert idx.dtype == torch.int64
        assert sorted(idx.tolist()) == list(range(33))
        assert torch.equal(idx, epoch_order(33, seed=0, epoch=epoch)[0])
        logits = torch.cat([c[2] for c in calls])
        torch.testing.assert_close(logits, expected[idx], rtol=1e-6, atol=1e-6)
        assert torch.equal(torch.cat([c[3] for c in calls]), labels[idx])
        # the loss the trainer reports is the mean cross-entropy of these very logits
        loss = F.cross_entropy(logits, labels[idx]).item()
        assert result.history[epoch].train_loss == pytest.approx(loss, rel=1e-5)
    assert [c[1].numel() for c in rec.calls if c[0] == 0] == [8, 8, 8, 9]  # 1-sample merge


def test_cdbw_weights_the_loss_from_last_epochs_recall():
    ds = blobs(n=60, k=3, seed=0)
    val = blobs(n=30, k=3, seed=1)
    model = mlp(ds, seed=3)
    config = TrainConfig(epochs=2, batch_size=16, lr=1e-30, momentum=0.0, weight_decay=0.0,
                         cdbw=True)
    result = train(model, ds, config, val_set=val, progress=False)
    logits = torch.from_numpy(predict_logits(model, ds))
    ce = F.cross_entropy(logits, torch.from_numpy(ds.labels), reduction="none").numpy()
    h0, h1 = result.history
    assert h0.train_loss == pytest.approx(ce.mean(), rel=1e-5)  # first epoch: uniform
    w = cdbw_weights(h0.val_class_recall)
    assert not np.allclose(w, 1.0)  # the test needs unequal recalls to mean anything
    assert h1.train_loss == pytest.approx(np.mean(w[ds.labels] * ce), rel=1e-5)


def test_cdbw_changes_training():
    ds, val = blobs(n=60, k=3, seed=0), blobs(n=30, k=3, seed=1)
    noisy = val.labels.copy()
    noisy[:10] = (noisy[:10] + 1) % 3  # unequal validation recalls -> unequal weights
    val = LabelledDataset(val.inputs, noisy, num_classes=3)
    config = TrainConfig(epochs=3, **FAST)
    a, b = mlp(ds, seed=3), mlp(ds, seed=3)
    train(a, ds, config, val_set=val, progress=False)
    train(b, ds, TrainConfig(epochs=3, cdbw=True, **FAST), val_set=val, progress=False)
    assert not same_state(a, b)


def test_lazy_dataset_trains_exactly_like_in_memory():
    ds = tiny_images(n=26)
    lazy = LabelledDataset(list(ds.inputs), ds.labels, num_classes=ds.num_classes,
                           name=ds.name, mean=ds.mean, std=ds.std)
    assert not lazy.in_memory
    config = TrainConfig(epochs=2, batch_size=8, lr=0.05, augment_pad=1)
    a, b = small_cnn(ds), small_cnn(ds)
    ra, rb = LogRecorder(), LogRecorder()
    train(a, ds, config, recorders=[ra], progress=False)
    train(b, lazy, config, recorders=[rb], progress=False)
    assert same_state(a, b)
    np.testing.assert_array_equal(ra.scores(), rb.scores())


def test_last_batch_of_one_with_batch_norm_on_1x1_maps():
    torch.manual_seed(0)
    ds = LabelledDataset(torch.randint(0, 255, (17, 3, 8, 8), dtype=torch.uint8),
                         np.arange(17) % 2, num_classes=2)
    model = build_model("vgg16_bn", num_classes=2, in_channels=3, input_size=(8, 8),
                        width=0.0625)
    result = train(model, ds, TrainConfig(epochs=1, batch_size=8), progress=False)
    assert math.isfinite(result.history[0].train_loss)


# -- callbacks --------------------------------------------------------------------------------

class EpochLog(Callback):
    def __init__(self, log, name):
        self.log, self.name = log, name

    def on_epoch_end(self, epoch, stats):
        self.log.append((self.name, epoch, stats))


class EndLog(Recorder):
    def __init__(self, log):
        self.log = log

    def on_epoch_end(self, epoch):
        self.log.append(("recorder", epoch, None))


def test_callbacks_see_every_epoch_in_order_after_the_recorders():
    ds = blobs(n=32)
    log = []

    class Plain:  # any object with on_epoch_end works, no base class needed
        def on_epoch_end(self, epoch, stats):
            log.append(("plain", epoch, stats))

    result = train(mlp(ds), ds, TrainConfig(epochs=3, **FAST), val_set=ds,
                   recorders=[EndLog(log)], callbacks=[EpochLog(log, "a"), Plain()],
                   progress=False)
    assert [(name, epoch) for name, epoch, _ in log] == [
        (name, e) for e in range(3) for name in ("recorder", "a", "plain")]
    stats = [s for name, _, s in log if name == "a"]
    assert all(isinstance(s, EpochStats) for s in stats)
    assert stats == result.history  # the very stats of the history, validation included
    assert stats[0].val_accuracy is not None


def test_callbacks_do_not_change_training():
    ds = tiny_images(n=24)
    config = TrainConfig(epochs=2, batch_size=8, lr=0.05, augment_pad=1, augment_flip=True)
    a, b = small_cnn(ds), small_cnn(ds)
    ra = train(a, ds, config, seed=1, progress=False)
    rb = train(b, ds, config, seed=1, callbacks=[EpochLog([], "x")], progress=False)
    assert same_state(a, b)
    assert history_without_time(ra.history) == history_without_time(rb.history)


def test_a_callback_that_raises_stops_training():
    ds = blobs(n=32)
    seen = []

    class Stop(Callback):
        def on_epoch_end(self, epoch, stats):
            seen.append(epoch)
            if epoch == 1:
                raise KeyboardInterrupt("enough")

    with pytest.raises(KeyboardInterrupt, match="enough"):
        train(mlp(ds), ds, TrainConfig(epochs=4, **FAST), callbacks=[Stop()], progress=False)
    assert seen == [0, 1]


# -- faults, all caught before training -------------------------------------------------------

class NeverCalled(Recorder):
    def on_train_begin(self, *args):
        raise AssertionError("training started although the input is bad")


@pytest.mark.parametrize("case,match", [
    ("bad_label", r"label 7 outside \[0, 3\)"),
    ("negative_label", r"label -1 outside"),
    ("wrong_width", "num_classes=3"),
    ("wrong_input", "cannot run on"),
    ("val_classes", "val_set has 4 classes"),
    ("val_shape", "val_set samples have shape"),
    ("cdbw_no_val", "cdbw=True needs a val_set"),
    ("flip_1d", "augment_flip is for images"),
    ("pad_flat", "augment_pad needs inputs with spatial axes"),
    ("empty", "empty"),
    ("seed", "seed"),
    ("config", "TrainConfig"),
    ("callback", "callbacks must have an on_epoch_end"),
])
def test_bad_runs_are_refused_before_training(case, match):
    ds = blobs(n=24, k=3)
    model, config, kw = mlp(ds), TrainConfig(epochs=1, **FAST), {}
    if case == "bad_label":
        ds.labels[5] = 7  # mutated after the dataset checked it
    elif case == "negative_label":
        ds.labels[0] = -1
    elif case == "wrong_width":
        model = build_model("mlp", num_classes=5, in_channels=1, input_size=(8,))
    elif case == "wrong_input":
        model = build_model("cnn2d", num_classes=3, in_channels=1, input_size=(28, 28))
    elif case == "val_classes":
        kw["val_set"] = LabelledDataset(ds.inputs, ds.labels, num_classes=4)
    elif case == "val_shape":
        kw["val_set"] = blobs(n=6, k=3, shape=(1, 9))
    elif case == "cdbw_no_val":
        config = TrainConfig(epochs=1, cdbw=True)
    elif case == "flip_1d":
        config = TrainConfig(epochs=1, augment_flip=True)
    elif case == "pad_flat":
        ds = LabelledDataset(torch.randn(24, 8), np.arange(24) % 3, num_classes=3)
        config = TrainConfig(epochs=1, augment_pad=2)
    elif case == "empty":
        ds = ds.subset(np.array([], dtype=np.int64))
    elif case == "seed":
        kw["seed"] = -1
    elif case == "config":
        config = {"epochs": 1}
    elif case == "callback":
        kw["callbacks"] = [lambda epoch, stats: None]
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=match):
        train(model, ds, config, recorders=[NeverCalled()], progress=False, **kw)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def test_diverging_lr_stops_with_epoch_and_batch():
    ds = blobs(n=96)
    with pytest.raises(FloatingPointError, match=r"epoch \d+, batch \d+"):
        train(mlp(ds), ds, TrainConfig(epochs=3, batch_size=8, lr=1e30), progress=False)


def test_nan_input_names_the_batch_that_holds_it():
    x = blobs(n=48).inputs.clone()
    x[29, 0, 3] = math.nan
    ds = LabelledDataset(x, np.arange(48) % 3, num_classes=3)
    position = epoch_order(48, seed=2, epoch=0)[0].tolist().index(29)
    with pytest.raises(FloatingPointError, match=rf"epoch 0, batch {position // 8} "):
        train(mlp(ds), ds, TrainConfig(epochs=1, batch_size=8), seed=2, progress=False)


def test_progress_bar_only_when_asked(capsys, caplog, monkeypatch):
    import droprune._progress as progress

    ds = blobs(n=32)
    caplog.set_level("INFO", logger="droprune")
    train(mlp(ds), ds, TrainConfig(epochs=1, **FAST), progress=False)
    assert capsys.readouterr().err == "" and not caplog.records
    # stderr is not a terminal here: no bar, one log line saying what trained
    train(mlp(ds), ds, TrainConfig(epochs=1, **FAST), seed=4, progress=True)
    assert capsys.readouterr().err == ""
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("train MLP (seed 4, 1 epoch): 2/2 batch in ") and "loss" in line
    # on a terminal: a tqdm bar, named the same way
    monkeypatch.setattr(progress, "bars_enabled", lambda stream=None: True)
    train(mlp(ds), ds, TrainConfig(epochs=1, **FAST), seed=4, progress=True)
    assert "train MLP (seed 4, 1 epoch)" in capsys.readouterr().err


class ThreadsSeen(Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, epoch, stats):
        self.seen.append(torch.get_num_threads())


class FailAfterFirstEpoch(Callback):
    def on_epoch_end(self, epoch, stats):
        raise RuntimeError("stop")


def test_threads_apply_during_training_and_are_restored():
    data = blobs(n=32, k=2)
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    seen = ThreadsSeen()
    train(mlp(data), data, TrainConfig(epochs=2, **FAST), threads=other, callbacks=[seen],
          progress=False)
    assert seen.seen == [other, other]
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="stop"):
        train(mlp(data), data, TrainConfig(epochs=2, **FAST), threads=other,
              callbacks=[FailAfterFirstEpoch()], progress=False)
    assert torch.get_num_threads() == before  # restored after a failure too
    seen = ThreadsSeen()
    train(mlp(data), data, TrainConfig(epochs=1, **FAST), callbacks=[seen], progress=False)
    assert seen.seen == [before]  # None leaves torch's setting


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_threads_refused_before_training(threads):
    data = blobs(n=32, k=2)
    model = mlp(data)
    start = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        train(model, data, TrainConfig(epochs=1, **FAST), threads=threads, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(start, model.parameters()))
