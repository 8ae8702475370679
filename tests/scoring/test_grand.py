"""Full-network GraNd: every method agrees with an independent per-sample autograd loop to 1e-4
relative, on nets with batch norm, residual blocks, in-place ReLUs, grouped/strided/dilated and
padded convolutions; method selection; errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from droprune.models import build_model
from droprune.models.base import Classifier
from droprune.scoring.grand import ghost_unsupported, grand_auto_method, grand_scores
from .scoring_nets import (
    ScaledMLP,
    TinyCNN,
    TinyCNN1d,
    TinyMLP,
    TinyResNet,
    image_dataset,
    randomize_bn,
    signal_dataset,
)


def reference(model: nn.Module, data) -> np.ndarray:
    """Per-sample gradient norms, one ``.backward()`` per sample in float64, BN in eval mode
    (written independently of the library: a deep copy, ``.grad`` fields, double precision)."""
    net = copy.deepcopy(model).double().eval()
    x = data.to_float(data.inputs).double()
    out = []
    for i in range(len(data)):
        net.zero_grad()
        F.cross_entropy(net(x[i:i + 1]), torch.tensor(data.labels[i:i + 1])).backward()
        out.append(sum(float(p.grad.pow(2).sum()) for p in net.parameters()
                       if p.grad is not None) ** 0.5)
    return np.array(out)


CASES = {
    "cnn-bn": (lambda: randomize_bn(TinyCNN()), lambda: image_dataset(10)),
    "resnet": (lambda: randomize_bn(TinyResNet()), lambda: image_dataset(10)),
    "cnn1d": (lambda: randomize_bn(TinyCNN1d()), lambda: signal_dataset(10)),
    "mlp": (lambda: TinyMLP(in_features=16), lambda: signal_dataset(10)),
    "droprune-cnn2d": (lambda: randomize_bn(build_model(
        "cnn2d", num_classes=4, in_channels=3, input_size=(8, 8), width=0.25)),
        lambda: image_dataset(8)),
    "droprune-resnet18": (lambda: randomize_bn(build_model(
        "resnet18", num_classes=4, in_channels=3, input_size=(8, 8), width=0.125)),
        lambda: image_dataset(6)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_all_methods_match_the_per_sample_reference(case):
    make_model, make_data = CASES[case]
    torch.manual_seed(0)
    model, data = make_model(), make_data()
    model.train()
    expected = reference(model, data)
    assert expected.min() > 0
    for method in ("ghost", "vmap", "loop", "auto"):
        got = grand_scores(model, data, method=method, chunk_size=4)
        np.testing.assert_allclose(got, expected, rtol=1e-4, err_msg=method)
    assert model.training  # mode restored
    assert all(p.grad is None for p in model.parameters())  # .grad untouched


def test_chunk_size_and_indices_do_not_change_values():
    torch.manual_seed(1)
    model, data = randomize_bn(TinyResNet()), image_dataset(10)
    whole = grand_scores(model, data, chunk_size=10)
    np.testing.assert_allclose(grand_scores(model, data, chunk_size=3), whole, rtol=1e-5)
    idx = np.array([7, 2, 9])
    np.testing.assert_allclose(grand_scores(model, data, indices=idx), whole[idx], rtol=1e-5)


def test_orientation_a_wrongly_classified_sample_scores_higher():
    # a linear model: gradient norm grows with the error, ||p - y|| sqrt(||x||^2 + 1)
    model = TinyMLP(in_features=2, num_classes=2, hidden=2)
    model.body = nn.Flatten()
    model.classifier = nn.Linear(2, 2)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 3.0]]))
        model.classifier.bias.zero_()
    from droprune.data.base import LabelledDataset

    data = LabelledDataset(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), np.array([0, 1]), 2)
    right, wrong = grand_scores(model, data)
    assert wrong > right


def test_auto_picks_ghost_for_supported_models_and_vmap_otherwise():
    assert grand_auto_method(TinyResNet()) == "ghost"
    assert grand_auto_method(build_model("cnn1d", num_classes=3, in_channels=1,
                                         input_size=(40,))) == "ghost"
    scaled = ScaledMLP(in_features=16)
    assert grand_auto_method(scaled) == "vmap"
    assert any("not a supported layer" in p for p in ghost_unsupported(scaled))
    data = signal_dataset(6)
    np.testing.assert_allclose(grand_scores(scaled, data), reference(scaled, data), rtol=1e-4)
    with pytest.raises(ValueError, match="method='ghost' does not support"):
        grand_scores(scaled, data, method="ghost")


def test_frozen_parameters_are_left_out_by_every_method():
    torch.manual_seed(2)
    model, data = randomize_bn(TinyCNN()), image_dataset(5)
    for p in model.body.parameters():
        p.requires_grad_(False)
    x = data.to_float(data.inputs)
    model.eval()
    expected = []
    for i in range(len(data)):
        loss = F.cross_entropy(model(x[i:i + 1]), torch.tensor(data.labels[i:i + 1]))
        g = torch.autograd.grad(loss, list(model.classifier.parameters()))
        expected.append(float(sum(t.pow(2).sum() for t in g)) ** 0.5)
    for method in ("ghost", "vmap", "loop"):
        np.testing.assert_allclose(grand_scores(model, data, method=method), expected,
                                   rtol=1e-4, err_msg=method)


class Twice(TinyMLP):
    """Calls its hidden layer twice: per-layer norms do not add up."""

    def __init__(self) -> None:
        super().__init__(in_features=4, num_classes=2, hidden=4)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(4, 4))

    def features(self, x):
        return self.body[1](torch.relu(self.body(x)))


def test_layer_called_twice_is_refused_by_ghost_and_handled_by_vmap():
    from droprune.data.base import LabelledDataset

    data = LabelledDataset(torch.randn(5, 4), np.arange(5) % 2, 2)
    model = Twice()
    with pytest.raises(RuntimeError, match="called once per forward"):
        grand_scores(model, data, method="ghost")
    np.testing.assert_allclose(grand_scores(model, data, method="vmap"),
                               reference(model, data), rtol=1e-4)


def test_shared_parameter_is_unsupported_by_ghost():
    model = TinyMLP(in_features=16, hidden=16)
    extra = nn.Linear(16, 16)
    extra.weight = model.body[1].weight
    model.extra = extra
    assert any("shared" in p for p in ghost_unsupported(model))


def test_errors():
    model, data = TinyMLP(in_features=16), signal_dataset(4)
    with pytest.raises(ValueError, match="method must be one of"):
        grand_scores(model, data, method="fast")
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        grand_scores(model, data, chunk_size=0)
    with pytest.raises(ValueError, match="indices must be"):
        grand_scores(model, data, indices=np.array([4]))


@pytest.mark.parametrize("name", ["lenet5", "vgg16_bn", "resnet50", "cnn1d", "mlp"])
def test_ghost_is_exact_on_every_droprune_model(name):
    from droprune.data.base import LabelledDataset
    from droprune.models import MODELS

    assert set(MODELS) <= {"mlp", "cnn1d", "cnn2d", "lenet5", "vgg16_bn", "vgg19_bn",
                           "resnet18", "resnet50"}  # a new model needs a case here
    torch.manual_seed(0)
    if name in ("mlp", "cnn1d"):
        model = build_model(name, num_classes=3, in_channels=1, input_size=(40,), width=0.25)
        x = torch.randn(4, 1, 40)
    else:
        width = 0.0625 if name == "resnet50" else 0.125
        model = build_model(name, num_classes=3, in_channels=3, input_size=(32, 32),
                            width=width)
        x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():  # running statistics of these inputs (random ones blow up a deep net)
        model.train()
        model(x)
    data = LabelledDataset(x, np.arange(4) % 3, 3)
    assert grand_auto_method(model) == "ghost"
    np.testing.assert_allclose(grand_scores(model, data, method="ghost"),
                               reference(model, data), rtol=1e-4)


# -- the ghost method's per-layer rules and its backward ----------------------------------------
def per_sample_sq_norms(layer: nn.Module, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``||d <layer(a_i), g_i> / d theta||^2`` per sample by autograd, in float64: the squared
    norm of the gradient of the layer's trainable parameters for the output gradient g_i."""
    layer = copy.deepcopy(layer).double()
    params = [p for p in layer.parameters() if p.requires_grad]
    out = []
    for i in range(a.shape[0]):
        value = (layer(a[i:i + 1].double()) * g[i:i + 1].double()).sum()
        out.append(sum(t.pow(2).sum() for t in torch.autograd.grad(value, params)))
    return torch.stack(out)


CONVS = {
    "2d": lambda: nn.Conv2d(4, 6, 3, padding=1),
    "2d-strided-grouped": lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
    "2d-dilated-rect": lambda: nn.Conv2d(3, 5, (3, 2), dilation=(2, 1), padding=(2, 0),
                                        bias=False),
    "2d-circular": lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular"),
    "2d-same": lambda: nn.Conv2d(3, 4, 4, padding="same"),
    "2d-depthwise": lambda: nn.Conv2d(4, 8, 3, padding=1, groups=4),
    "2d-1x1-wide": lambda: nn.Conv2d(40, 3, 1, stride=2),
    "1d": lambda: nn.Conv1d(3, 5, 5, stride=2, dilation=2, padding=3),
    "1d-reflect": lambda: nn.Conv1d(2, 4, 3, padding="same", padding_mode="reflect"),
}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("route", ["gram", "grouped"])
@pytest.mark.parametrize("conv", list(CONVS))
def test_conv_rules_are_exact_by_either_route(conv, route, monkeypatch):
    from droprune.scoring import grand

    torch.manual_seed(0)
    layer = CONVS[conv]()
    shape = (5, layer.in_channels) + ((11,) if isinstance(layer, nn.Conv1d) else (9, 10))
    a = torch.randn(shape)
    g = torch.randn(layer(a).shape)
    expected = per_sample_sq_norms(layer, a, g)
    # the grouped route in chunks of 2 samples (5 = 2 + 2 + 1), as wide layers are run
    monkeypatch.setattr(grand, "_grouped_chunk", lambda channels, batch: 2)
    got = grand._conv_sq_norm(layer, a, g, route=route)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4)
    layer.weight.requires_grad_(False)  # bias only
    if layer.bias is not None:
        np.testing.assert_allclose(grand._conv_sq_norm(layer, a, g, route=route).numpy(),
                                   per_sample_sq_norms(layer, a, g).numpy(), rtol=1e-4)


@pytest.mark.parametrize("frozen", [None, "weight", "bias"])
@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 7), (6, 5, 4, 3)])
def test_batch_norm_rule_is_exact(shape, frozen):
    from droprune.scoring import grand

    bn = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}[len(shape)](shape[1])
    randomize_bn(bn)
    bn.eval()
    if frozen:
        getattr(bn, frozen).requires_grad_(False)
    torch.manual_seed(0)
    a, g = torch.randn(shape) * 2 + 1, torch.randn(shape)
    np.testing.assert_allclose(grand._bn_sq_norm(bn, a, g).numpy(),
                               per_sample_sq_norms(bn, a, g).numpy(), rtol=1e-4)


class Branches(Classifier):
    """Two parallel convolutions of the input (two lowest layers), one of them frozen-weight
    batch norm after it, and a linear layer whose output never reaches the loss."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Conv2d(3, 4, 3, padding=1)
        self.right = nn.Conv2d(3, 4, 1, stride=2)
        self.bn = nn.BatchNorm2d(4)
        self.bn.weight.requires_grad_(False)
        self.unused = nn.Linear(3, 2)
        self.classifier = nn.Linear(8, 4)

    def features(self, x):
        self.unused(x.mean((2, 3)))  # computed, never used
        left = torch.relu(self.bn(self.left(x))).mean((2, 3))
        right = self.right(x).amax((2, 3))
        return torch.cat([left, right], 1)


def test_ghost_with_parallel_lowest_layers_and_an_unused_layer():
    torch.manual_seed(3)
    model, data = randomize_bn(Branches()), image_dataset(7)
    model.bn.weight.requires_grad_(False)
    expected = reference(model, data)
    for chunk in (3, 7):
        np.testing.assert_allclose(grand_scores(model, data, method="ghost", chunk_size=chunk),
                                   expected, rtol=1e-4)


def test_ghost_without_gradient_edges_is_exact_too(monkeypatch):
    """Old torch (no backward stopping at graph edges): the input's gradient is requested."""
    from droprune.scoring import grand

    assert grand._edges_work()  # this torch stops at edges
    torch.manual_seed(0)
    model, data = randomize_bn(TinyResNet()), image_dataset(6)
    expected = reference(model, data)
    monkeypatch.setattr(grand, "_EDGES", [False])
    np.testing.assert_allclose(grand_scores(model, data, method="ghost", chunk_size=4),
                               expected, rtol=1e-4)


def test_ghost_backward_stops_at_the_lowest_layers():
    """The backward runs no autograd node below the lowest layer's output: the convolution of
    a conv-linear net is never differentiated (no weight gradient, no input gradient); its
    norm comes from its rule alone."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
    data = image_dataset(4, num_classes=3)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        got = grand_scores(model, data, method="ghost")
    calls = {e.key: e.count for e in prof.key_averages()}
    assert calls["aten::threshold_backward"] == 1  # the ReLU above it was differentiated
    # one call: the rule's grouped weight gradient of the 4 samples; autograd would add one
    assert calls["aten::convolution_backward"] == 1
    np.testing.assert_allclose(got, reference(model, data), rtol=1e-4)


class MutatesInput(nn.Module):
    """Modifies the input of ``second`` in place after ``second`` ran."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        h = self.first(x)
        out = self.second(h)
        h.mul_(3.0)
        return out + h[:, :2]


def test_input_modified_in_place_after_the_layer_is_refused_by_ghost():
    # (autograd itself refuses this net once a weight gradient is asked for: vmap, loop)
    from droprune.data.base import LabelledDataset

    torch.manual_seed(0)
    data = LabelledDataset(torch.randn(5, 4), np.arange(5) % 2, 2)
    model = MutatesInput()
    with pytest.raises(RuntimeError, match="modified in place"):  # its norm would be wrong
        grand_scores(model, data, method="ghost")
