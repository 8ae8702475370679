"""Every registered model: builds at its datasets' input sizes and widths, shapes of logits
and features, the classifier contract, parameter counts, init, and input errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from droprune.models import (MLP, MODELS, Classifier, ModelEntry, build_model, num_parameters,
                             register_model)

MNIST1D, FMNIST, CIFAR, TINY, IMAGENET = (1, (40,)), (1, (28, 28)), (3, (32, 32)), \
    (3, (64, 64)), (3, (224, 224))

# (model, (in_channels, input_size), width): every model at the sizes of the datasets it is
# meant for; large inputs at small widths to keep the suite fast.
CASES = [
    ("mlp", MNIST1D, 1.0), ("mlp", FMNIST, 1.0), ("mlp", CIFAR, 1.0), ("mlp", TINY, 0.5),
    ("mlp", IMAGENET, 0.05),
    ("cnn1d", MNIST1D, 1.0), ("cnn1d", MNIST1D, 0.5),
    ("cnn2d", FMNIST, 1.0), ("cnn2d", CIFAR, 1.0), ("cnn2d", TINY, 1.0),
    ("cnn2d", IMAGENET, 0.25),
    ("lenet5", FMNIST, 1.0), ("lenet5", CIFAR, 1.0), ("lenet5", TINY, 1.0),
    ("lenet5", IMAGENET, 0.5),
    ("vgg16_bn", CIFAR, 1.0), ("vgg16_bn", FMNIST, 0.25), ("vgg16_bn", TINY, 0.25),
    ("vgg16_bn", IMAGENET, 0.0625),
    ("vgg19_bn", CIFAR, 0.25), ("vgg19_bn", FMNIST, 0.25), ("vgg19_bn", TINY, 0.125),
    ("resnet18", CIFAR, 1.0), ("resnet18", FMNIST, 0.25), ("resnet18", TINY, 0.25),
    ("resnet18", IMAGENET, 0.0625),
    ("resnet50", IMAGENET, 1.0), ("resnet50", CIFAR, 0.25), ("resnet50", FMNIST, 0.25),
    ("resnet50", TINY, 0.25),
]


def test_registry_holds_every_model():
    assert set(MODELS) == {"mlp", "cnn2d", "cnn1d", "lenet5", "vgg16_bn", "vgg19_bn",
                           "resnet18", "resnet50"}


@pytest.mark.parametrize("name,shape,width", CASES)
def test_shapes_and_classifier_contract(name, shape, width):
    channels, size = shape
    torch.manual_seed(0)
    model = build_model(name, num_classes=7, in_channels=channels, input_size=size, width=width)
    assert isinstance(model, Classifier)
    model.eval()
    x = torch.randn(3, channels, *size)
    with torch.no_grad():
        logits = model(x)
        feats = model.features(x)
        again = model.classifier(feats)
    assert logits.shape == (3, 7)
    assert feats.shape == (3, model.embedding_dim)
    assert isinstance(model.classifier, nn.Linear) and model.classifier.out_features == 7
    torch.testing.assert_close(again, logits, rtol=0, atol=0)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_width_scales_parameters_and_embedding(name):
    channels, size = MNIST1D if name in ("mlp", "cnn1d") else CIFAR
    full = build_model(name, num_classes=10, in_channels=channels, input_size=size)
    half = build_model(name, num_classes=10, in_channels=channels, input_size=size, width=0.5)
    assert num_parameters(half) < num_parameters(full)
    expected_dim = {"mlp": 256, "cnn1d": 128, "cnn2d": 128, "lenet5": 84, "vgg16_bn": 512,
                    "vgg19_bn": 512, "resnet18": 512, "resnet50": 2048}[name]
    assert full.embedding_dim == expected_dim
    assert half.embedding_dim == expected_dim // 2


@pytest.mark.parametrize("name", sorted(MODELS))
def test_tiny_width_keeps_at_least_one_channel(name):
    channels, size = MNIST1D if name in ("mlp", "cnn1d") else CIFAR
    model = build_model(name, num_classes=3, in_channels=channels, input_size=size,
                        width=1e-4)
    assert model.embedding_dim >= 1
    model.eval()
    assert model(torch.randn(2, channels, *size)).shape == (2, 3)


def _conv_bn(cin, cout, k):  # conv without bias + BN (weight, bias)
    return cin * cout * k * k + 2 * cout


def test_parameter_counts_known_values():
    # MLP 40 -> 256 -> 256 -> 10, by hand
    mlp = build_model("mlp", num_classes=10, in_channels=1, input_size=(40,))
    assert num_parameters(mlp) == (40 * 256 + 256) + (256 * 256 + 256) + (256 * 10 + 10)
    # LeNet-5 on 28x28 gray images, 10 classes: the classic 61,706
    lenet = build_model("lenet5", num_classes=10, in_channels=1, input_size=(28, 28))
    assert num_parameters(lenet) == 61_706
    # CIFAR ResNet-18 with 10 classes: 11,173,962 (the usual pytorch-cifar figure)
    r18 = build_model("resnet18", num_classes=10, in_channels=3, input_size=(32, 32))
    assert num_parameters(r18) == 11_173_962
    # torchvision's ResNet-50 (1000 classes): 25,557,032
    r50 = build_model("resnet50", num_classes=1000, in_channels=3, input_size=(224, 224))
    assert num_parameters(r50) == 25_557_032


@pytest.mark.parametrize("name,cfg", [
    ("vgg16_bn", [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]),
    ("vgg19_bn", [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512,
                  512]),
])
def test_vgg_parameter_count_from_its_layers(name, cfg):
    expected, prev = 0, 3
    for c in cfg:
        expected += _conv_bn(prev, c, 3)
        prev = c
    expected += 512 * 100 + 100  # the single linear head
    model = build_model(name, num_classes=100, in_channels=3, input_size=(32, 32))
    assert num_parameters(model) == expected


def test_resnet_classifier_is_fc_alias():
    model = build_model("resnet18", num_classes=10, in_channels=3, input_size=(32, 32))
    assert model.classifier is model.fc
    keys = list(model.state_dict())
    assert "fc.weight" in keys and not any(k.startswith("classifier") for k in keys)
    # CIFAR stem: 3x3 stride 1, no max-pool
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)


def test_initialisation():
    torch.manual_seed(0)
    model = build_model("vgg16_bn", num_classes=10, in_channels=3, input_size=(32, 32))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    last = convs[-1]  # 512 -> 512, 3x3: fan_out = 512 * 9
    assert last.weight.std().item() == pytest.approx(math.sqrt(2 / (512 * 9)), rel=0.02)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    assert model.classifier.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.all(model.classifier.bias == 0)
    mlp = build_model("mlp", num_classes=10, in_channels=1, input_size=(40,), hidden=(512,))
    hidden = mlp.body[1]
    assert hidden.weight.std().item() == pytest.approx(math.sqrt(2 / 40), rel=0.05)
    assert torch.all(hidden.bias == 0)


def test_initial_loss_is_near_log_k():
    torch.manual_seed(0)
    model = build_model("resnet18", num_classes=10, in_channels=3, input_size=(32, 32),
                        width=0.25)
    model.eval()
    logits = model(torch.randn(16, 3, 32, 32))
    loss = nn.functional.cross_entropy(logits, torch.zeros(16, dtype=torch.long))
    assert loss.item() == pytest.approx(math.log(10), abs=0.1)


def test_mlp_custom_hidden_and_no_hidden():
    m = build_model("mlp", num_classes=4, in_channels=2, input_size=(5, 3), hidden=(8, 6, 4),
                    width=0.5)
    assert [layer.out_features for layer in m.body if isinstance(layer, nn.Linear)] == [4, 3, 2]
    flat = build_model("mlp", num_classes=4, in_channels=2, input_size=(5, 3), hidden=())
    assert flat.embedding_dim == 30


@pytest.mark.parametrize("name,channels,size,match", [
    ("cnn1d", 1, (28, 28), r"\(L,\)"),
    ("cnn2d", 1, (40,), r"\(H, W\)"),
    ("vgg16_bn", 3, (32,), r"\(H, W\)"),
    ("resnet50", 3, (32, 32, 32), r"\(H, W\)"),
    ("lenet5", 1, (8, 8), ">= 12"),
    ("mlp", 0, (40,), "in_channels"),
])
def test_bad_input_shapes(name, channels, size, match):
    with pytest.raises(ValueError, match=match):
        build_model(name, num_classes=10, in_channels=channels, input_size=size)


def test_bad_name_and_width():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet1000", num_classes=10, in_channels=3, input_size=(32, 32))
    with pytest.raises(ValueError, match="width"):
        build_model("mlp", num_classes=10, in_channels=1, input_size=(40,), width=0)
    with pytest.raises(ValueError, match="width"):
        build_model("mlp", num_classes=10, in_channels=1, input_size=(40,), width=math.inf)


def tiny_mlp(*, num_classes: int, in_channels: int, input_size: tuple[int, ...],
             width: float = 1.0) -> MLP:
    """One hidden layer of 8.

    (The rest of a docstring is not the description.)"""
    return MLP(num_classes, in_channels * math.prod(input_size), [8])


@pytest.fixture
def tidy_models(request):
    """Pop the test's models from the registry afterwards."""
    request.addfinalizer(lambda: [MODELS.pop(n, None) for n in ("tiny_mlp", "tiny_mlp2")])


def test_register_model_entry_and_decorator(tidy_models):
    entry = register_model(ModelEntry("tiny_mlp", tiny_mlp))
    assert MODELS.entry("tiny_mlp") is entry and entry.description == "One hidden layer of 8."
    model = build_model("tiny_mlp", num_classes=3, in_channels=1, input_size=(40,))
    assert model.embedding_dim == 8
    assert register_model("tiny_mlp2", description="the same")(tiny_mlp) is tiny_mlp
    assert MODELS["tiny_mlp2"].description == "the same"
    assert MODELS["mlp"].description.startswith("flatten + Linear/ReLU")
    assert isinstance(MODELS["tiny_mlp2"](num_classes=2, in_channels=1, input_size=(4,)), MLP)


def test_duplicate_and_malformed_models_are_refused(tidy_models):
    builtin = MODELS["mlp"]
    with pytest.raises(ValueError, match="a model named 'mlp' is already registered"):
        register_model("mlp")(tiny_mlp)
    with pytest.raises(ValueError, match="a model named 'mlp' is already registered"):
        register_model(ModelEntry("mlp", tiny_mlp))
    with pytest.raises(ValueError, match="register_model takes a ModelEntry, got function"):
        register_model(tiny_mlp)
    with pytest.raises(ValueError, match="factory must be callable"):
        ModelEntry("tiny_mlp", "tiny_mlp")
    assert MODELS["mlp"] is builtin and "tiny_mlp" not in MODELS
