"""Mixed precision (``TrainConfig.amp``): the bf16 autocast path on the CPU, refusals, the
config key, checkpoints and resume (the fp16 + GradScaler path needs CUDA: benchmarks/gpu_check.py
and the GPU bundle exercise it there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from .train_helpers import blobs, history_without_time, mlp, same_state

from droprune.experiments.config import load_config
from droprune.training import Callback, Recorder, TrainConfig, train
from droprune.training.checkpoint import checkpoint_payload, restore

CONFIG = TrainConfig(epochs=3, batch_size=16, lr=0.05, drop_epochs=(2,), amp="bf16")


@pytest.fixture(scope="module")
def data():
    return blobs(n=90, seed=0), blobs(n=30, seed=1)


class Dtypes(Recorder):
    """Records the dtype of the logits recorders are given."""

    name = "dtypes"

    def __init__(self):
        self.seen = set()

    def on_batch(self, epoch, indices, outputs, targets):
        self.seen.add(outputs.dtype)


def _run(data, config=CONFIG, **kwargs):
    train_set, val_set = data
    model = mlp(train_set)
    return model, train(model, train_set, config, seed=4, val_set=val_set, progress=False,
                        **kwargs)


def test_bf16_on_the_cpu_runs_the_autocast_path_and_is_deterministic(data):
    train_set, _ = data
    seen = []
    model = mlp(train_set)
    hook = model.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    rec = Dtypes()
    train(model, train_set, CONFIG, seed=4, progress=False, recorders=[rec])
    hook.remove()
    assert seen.count(torch.bfloat16) == 3 * 6  # every training forward pass (6 batches)
    assert set(seen) == {torch.bfloat16, torch.float32}  # the model check before it: fp32
    assert rec.seen == {torch.float32}  # recorders see float32 logits
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights fp32

    a_model, a = _run(data)
    b_model, b = _run(data)
    losses = [h.train_loss for h in a.history]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert a.history[-1].val_accuracy > 0.9
    assert same_state(a_model, b_model)
    assert history_without_time(a.history) == history_without_time(b.history)
    fp32_model, _ = _run(data, TrainConfig(epochs=3, batch_size=16, lr=0.05, drop_epochs=(2,)))
    assert not same_state(a_model, fp32_model)  # bf16 really changed the arithmetic


def test_fp16_on_the_cpu_is_refused_before_training(data):
    train_set, _ = data
    model = mlp(train_set)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"^amp='fp16' needs a CUDA device \(training on cpu\): "
                                         r"use amp='bf16' or amp=None$"):
        train(model, train_set, TrainConfig(epochs=1, amp="fp16"), device="cpu",
              progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("value", ["fp32", "BF16", "", True, 16, ["bf16"]])
def test_bad_values_are_refused(value):
    with pytest.raises(ValueError, match=r"^amp must be None or one of \('off', 'bf16', "
                                         r"'fp16'\), got "):
        TrainConfig(epochs=1, amp=value)


def test_off_is_the_default_and_leaves_old_fingerprints_alone():
    assert TrainConfig(epochs=1).amp is None
    assert TrainConfig(epochs=1, amp="off") == TrainConfig(epochs=1)
    assert "amp" not in TrainConfig(epochs=1).to_dict()
    assert TrainConfig(epochs=1, amp="fp16").to_dict()["amp"] == "fp16"


def test_config_key_train_amp():
    base = load_config("mnist1d-cpu")
    cfg = load_config("mnist1d-cpu", ["train.amp=bf16"])
    assert cfg.train.amp == "bf16" and base.train.amp is None
    assert cfg.final_fingerprint() != base.final_fingerprint()  # amp changes results
    assert load_config("mnist1d-cpu", ["train.amp=off"]).final_fingerprint() == \
        base.final_fingerprint()
    with pytest.raises(ValueError, match=r"^config: train: amp must be None or one of"):
        load_config("mnist1d-cpu", ["train.amp=fp8"])


class StopAfter(Callback):
    def on_epoch_end(self, epoch, stats):
        if epoch == 1:
            raise KeyboardInterrupt("stopped")


def test_bf16_resume_equals_uninterrupted_and_amp_is_in_the_fingerprint(data, tmp_path):
    straight_model, straight = _run(data)
    with pytest.raises(KeyboardInterrupt):
        _run(data, callbacks=[StopAfter()], checkpoint_dir=tmp_path)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["fingerprint"]["config"]["amp"] == "bf16" and "scaler" not in saved
    with pytest.raises(ValueError, match=r"config amp: 'bf16' in the checkpoint, None now"):
        _run(data, TrainConfig(epochs=3, batch_size=16, lr=0.05, drop_epochs=(2,)),
             checkpoint_dir=tmp_path)
    resumed_model, resumed = _run(data, checkpoint_dir=tmp_path)
    assert same_state(resumed_model, straight_model)
    assert history_without_time(resumed.history) == history_without_time(straight.history)


def test_the_gradient_scaler_state_travels_in_the_checkpoint(data):
    model = mlp(data[0])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=7)
    payload = checkpoint_payload({}, model, opt, [], [], torch.device("cpu"), scaler=scaler)
    assert payload["scaler"]["scale"] == 1024.0
    assert "scaler" not in checkpoint_payload({}, model, opt, [], [], torch.device("cpu"))
    fresh = torch.amp.GradScaler("cpu")
    restore(payload, mlp(data[0], seed=1), torch.optim.SGD(model.parameters(), lr=0.1), [],
            torch.device("cpu"), scaler=fresh)
    assert fresh.get_scale() == 1024.0 and fresh.get_growth_interval() == 7
