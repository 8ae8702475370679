"""Scoring the user's own nn.Module: the same values as the same network as a droprune
Classifier; embeddings from embed=, Classifier.features or the last nn.Linear's input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from droprune.models.base import Classifier
from droprune.scoring import make_recorders, posthoc_scores
from droprune.scoring.grand import grand_auto_method, grand_scores
from droprune.training import TrainConfig, train

from .scoring_nets import NoLinear, image_dataset, randomize_bn, signal_dataset

ALL = ["el2n", "loss", "grand", "grand_last_layer", "ssp", "kcenter", "random"]


class Wrapped(Classifier):
    """The same layers as a droprune Classifier: features = all but the last layer."""

    def __init__(self, seq: nn.Sequential) -> None:
        super().__init__()
        self.body = seq[:-1]
        self.classifier = seq[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def cnn(seed: int = 0, classes: int = 4) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 12), nn.ReLU(),
                        nn.Linear(12, classes))
    return randomize_bn(net, seed)


@pytest.mark.parametrize("method", ["auto", "ghost", "vmap", "loop"])
def test_plain_sequential_scores_equal_the_classifier(method):
    data = image_dataset(20)
    seq = cnn()
    opts = {"grand": {"method": method, "chunk_size": 7}, "kcenter": {"budget": 0.5}}
    plain = posthoc_scores(ALL, seq, data, seed=3, options=opts, batch_size=6)
    wrapped = posthoc_scores(ALL, Wrapped(seq), data, seed=3, options=opts, batch_size=6)
    for name in ALL:
        np.testing.assert_allclose(plain[name], wrapped[name], rtol=1e-5, atol=1e-5,
                                   err_msg=name)
    assert plain["grand"].min() > 0 and np.ptp(plain["ssp"]) > 0


def test_any_data_gives_the_same_scores():
    data = signal_dataset(12, length=8)
    seq = nn.Sequential(nn.Flatten(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, 3))
    names = ["el2n", "grand", "ssp"]
    ref = posthoc_scores(names, seq, data)
    x, y = data.inputs, torch.from_numpy(data.labels)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return x[i], int(y[i])

    for mine in (TensorDataset(x, y), (x.numpy(), y.numpy()), Pairs()):
        got = posthoc_scores(names, seq, mine)
        for name in names:
            np.testing.assert_allclose(got[name], ref[name], rtol=1e-6, err_msg=name)


def test_embed_gives_the_embeddings():
    data = signal_dataset(12, length=8)
    seq = nn.Sequential(nn.Flatten(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, 3))
    via_hook = posthoc_scores(["ssp", "grand_last_layer"], seq, data)
    via_embed = posthoc_scores(["ssp", "grand_last_layer"], seq, data, embed=seq[:-1])
    for name in via_hook:
        np.testing.assert_allclose(via_hook[name], via_embed[name], rtol=1e-6)
    # other embeddings: SSP follows them; GraNd-LL refuses logits that are not head(embed)
    other = posthoc_scores(["ssp"], seq, data, embed=lambda x: x.flatten(1))["ssp"]
    assert not np.allclose(other, via_hook["ssp"])
    with pytest.raises(ValueError, match="do not fit its last nn.Linear"):
        posthoc_scores(["grand_last_layer"], seq, data, embed=lambda x: x.flatten(1))


def test_logit_scores_need_no_linear_layer():
    data = signal_dataset(10, length=8)
    model = NoLinear()
    scores = posthoc_scores(["el2n", "loss", "grand"], model, data)
    assert all(v.shape == (10,) for v in scores.values())
    for name in ("ssp", "kcenter", "grand_last_layer"):
        with pytest.raises(ValueError, match="NoLinear has no nn.Linear layer .*pass embed="):
            posthoc_scores(["el2n", name], model, data)
    ssp = posthoc_scores(["ssp"], model, data, embed=lambda x: x.flatten(1))["ssp"]
    assert ssp.shape == (10,)


class Tokens(nn.Module):
    """A last nn.Linear applied per token (B, T, D): no (batch, D) embedding to read."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.reshape(x.shape[0], 2, 4)).mean(1)


def test_logit_scores_of_a_model_whose_embeddings_cannot_be_read():
    data, model = signal_dataset(10, length=8), Tokens()
    scores = posthoc_scores(["el2n", "loss"], model, data)
    assert scores["el2n"].shape == (10,)
    with pytest.raises(ValueError, match=r"has shape \(10, 2, 4\), not \(batch, D\): pass embed="):
        posthoc_scores(["el2n", "ssp"], model, data)
    both = posthoc_scores(["el2n", "ssp"], model, data, embed=lambda x: x.flatten(1))
    np.testing.assert_allclose(both["el2n"], scores["el2n"], rtol=1e-6)


class Scaled(nn.Module):
    """Logits = 2 * Linear(h): the closed-form last-layer GraNd does not apply."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * self.fc(x.flatten(1))


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.fc(x.flatten(1)[:, :3]))


def test_embeddings_errors():
    data = signal_dataset(9, length=8)
    assert posthoc_scores(["ssp"], Scaled(), data)["ssp"].shape == (9,)
    with pytest.raises(ValueError, match="not its last nn.Linear applied to the embeddings"):
        posthoc_scores(["grand_last_layer"], Scaled(), data)
    with pytest.raises(ValueError, match="ran 2 times in one forward pass: pass embed="):
        posthoc_scores(["ssp"], Twice(), data)
    with pytest.raises(ValueError, match=r"embed must return a \(batch, D\) tensor"):
        posthoc_scores(["ssp"], Scaled(), data, embed=lambda x: x)
    with pytest.raises(ValueError, match="embed must be a function"):
        posthoc_scores(["ssp"], Scaled(), data, embed=3)


def test_model_output_must_be_batch_by_classes():
    data = signal_dataset(9, length=8, num_classes=3)
    with pytest.raises(ValueError, match=r"outputs shape \(4,\) per sample but tiny-signals "
                                          r"has 3 classes"):
        posthoc_scores(["el2n"], nn.Sequential(nn.Flatten(), nn.Linear(8, 4)), data)
    with pytest.raises(ValueError, match=r"outputs shape \(3, 8\) per sample"):
        posthoc_scores(["el2n"], nn.Conv1d(1, 3, 1), data)
    with pytest.raises(ValueError, match="cannot run on tiny-signals samples"):
        posthoc_scores(["el2n"], nn.Linear(5, 3), data)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        posthoc_scores(["el2n"], lambda x: x, data)


def test_grand_of_any_module_matches_the_loop():
    data = signal_dataset(9, length=8)
    model = Scaled()  # a bare Linear inside: ghost supports it
    ref = grand_scores(model, data, method="loop")
    for method in ("auto", "ghost", "vmap"):
        np.testing.assert_allclose(grand_scores(model, data, method=method), ref, rtol=1e-5)
    # a layer ghost norms do not support: auto falls back to vmap
    norm = nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.LayerNorm(6), nn.Linear(6, 3))
    assert grand_auto_method(norm) == "vmap"
    np.testing.assert_allclose(grand_scores(norm, data), grand_scores(norm, data, method="loop"),
                               rtol=1e-5)


def test_trainer_feeds_recorders_from_any_module():
    data = signal_dataset(24, length=8)
    seq = nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    wrapped = Wrapped(copy.deepcopy(seq))
    names = ["forgetting", "dynunc", "aum", "el2n_trace"]
    config = TrainConfig(epochs=3, batch_size=8, lr=0.1)
    out = []
    for model in (seq, wrapped):
        recorders = make_recorders(names, {"dynunc": {"window": 2}})
        train(model, data, config, seed=1, recorders=recorders, progress=False)
        out.append({r.name: r.scores() for r in recorders})
    for name in names:
        np.testing.assert_array_equal(out[0][name], out[1][name], err_msg=name)
    assert np.ptp(out[0]["aum"]) > 0
