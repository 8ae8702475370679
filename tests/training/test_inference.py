"""Inference: predict_logits, evaluate and model_outputs in eval mode; local by default, the
same values with distributed=True in one process (tests/distributed runs them on a gloo
group)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from .train_helpers import blobs, mlp

from droprune.data.base import LabelledDataset
from droprune.models import Classifier
from droprune.training import evaluate, predict_logits, resolve_device
from droprune.training.inference import model_device, model_outputs


class DropoutNet(Classifier):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.BatchNorm1d(16),
                                  nn.Dropout(0.5))
        self.classifier = nn.Linear(16, 3)

    def features(self, x):
        return self.body(x)


def test_predict_logits_in_eval_mode():
    ds = blobs(n=21)
    torch.manual_seed(0)
    net = DropoutNet()
    net.train()
    net.body[2].running_mean.fill_(0.5)
    bn_state = {k: v.clone() for k, v in net.body[2].state_dict().items()}
    a = predict_logits(net, ds, batch_size=4)
    b = predict_logits(net, ds, batch_size=21)
    assert a.shape == (21, 3) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # no dropout, running statistics
    with torch.no_grad():
        net.eval()
        ref = net(ds.inputs).numpy()
        net.train()
    np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)
    assert net.training and all(m.training for m in net.modules())  # mode restored
    for k, v in net.body[2].state_dict().items():
        assert torch.equal(v, bn_state[k])  # running statistics untouched


def test_predict_empty_dataset():
    ds = blobs(n=6).subset(np.array([], dtype=np.int64))
    assert predict_logits(mlp(blobs(n=6)), ds).shape == (0, 3)


def test_evaluate_report():
    ds = blobs(n=30, k=3)
    ds = LabelledDataset(ds.inputs, ds.labels, num_classes=3, class_names=("a", "b", "c"))
    model = mlp(ds)
    report = evaluate(model, ds, batch_size=7)
    pred = predict_logits(model, ds).argmax(1)
    assert report.accuracy == pytest.approx(np.mean(pred == ds.labels))
    assert report.class_recall.shape == (3,) and report.class_names == ("a", "b", "c")
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, ds.subset(np.array([], dtype=np.int64)))


def test_resolve_device():
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_model_device_is_the_given_one_or_the_models():
    assert model_device(nn.Linear(2, 2), "cpu") == torch.device("cpu")
    assert model_device(nn.Linear(2, 2), None) == torch.device("cpu")
    assert model_device(nn.ReLU(), None) == torch.device("cpu")  # no parameters


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True])
def test_bad_batch_sizes_are_refused(batch_size):
    ds = blobs(n=6)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        predict_logits(mlp(ds), ds, batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model_outputs(mlp(ds), ds, batch_size=batch_size)


def test_distributed_flag_gives_the_same_values_in_one_process():
    ds = blobs(n=23, k=3)
    ds = LabelledDataset(ds.inputs, ds.labels, num_classes=3, class_names=("a", "b", "c"))
    model = mlp(ds)
    local = predict_logits(model, ds, batch_size=5)
    np.testing.assert_array_equal(predict_logits(model, ds, batch_size=5, distributed=True),
                                  local)
    a, b = evaluate(model, ds, batch_size=5), evaluate(model, ds, batch_size=5,
                                                      distributed=True)
    assert a.accuracy == b.accuracy == pytest.approx(np.mean(local.argmax(1) == ds.labels))
    np.testing.assert_array_equal(a.class_recall, b.class_recall)
    emb, logits = model_outputs(model, ds, batch_size=5)
    emb_d, logits_d = model_outputs(model, ds, batch_size=5, distributed=True)
    assert torch.equal(emb, emb_d) and torch.equal(logits, logits_d)
    np.testing.assert_array_equal(logits.numpy(), local)  # the same forward pass
    sub_emb, _ = model_outputs(model, ds, indices=np.array([4, 1]), distributed=True)
    # explicit indices: always this process (another batch shape: float tolerance)
    torch.testing.assert_close(sub_emb, emb[[4, 1]])
