"""Presets: the paper's setups and a CPU preset for the embedded default.

The paper's schedules (epochs, learning rate, drop epochs, batch size, weight decay) are those
of the DRoP reference code's per-model configuration (its ``config.py``); the query protocol
is the ``protocol`` profile's (docs/fidelity.md): 5 query models trained for 10% of the
schedule for EL2N/GraNd, one full-schedule run for Forgetting, Dynamic Uncertainty and
CoreSet, and DRoP's recalls from the method's own query run. Waterbirds (an
ImageNet-pretrained ResNet-50 fine-tuned) is not in that configuration; its schedule here is
ours (a common ERM fine-tuning recipe) and says so, and it keeps torchvision's ResNet-50 v1.5,
the architecture of the pretrained weights it loads.

The Fashion-MNIST presets (``fashion-mnist-mlp``, ``fashion-mnist-lenet5``) are droprune's: a
real-image benchmark that runs on a CPU (the Debian package ``dataset-fashion-mnist``; a
full-data run takes about 1 minute with the MLP, 3-4 minutes with LeNet-5, on one loaded
core); their schedules are ours, not the paper's.

Every preset can be overridden key by key (``droprune sweep --preset cifar10-vgg16 --set
train.epochs=10``) or used as the base of a config file (``preset = "cifar10-vgg16"``).
:data:`PRESETS` is a :class:`~droprune._registry.Registry` of the configs themselves (a
preset's name is its config's ``name``); :func:`register_preset` adds one.
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from ..training.config import TrainConfig
from .config import DataSpec, ExperimentConfig, ModelSpec, ProtocolSpec, QuerySpec

__all__ = ["CPU_METHODS", "PAPER_METHODS", "PRESETS", "register_preset"]

#: The methods of the paper's main comparison (Figure 5 / Table 2).
PAPER_METHODS = (
    "Full", "Random", "Random+DRoP",
    "EL2N", "EL2N+DRoP", "GraNd", "GraNd+DRoP",
    "Forgetting", "Forgetting+DRoP", "DynUnc", "DynUnc+DRoP",
    "CoreSet", "CoreSet+DRoP",
)
#: The methods of the CPU benchmarks (the recorder scores need no extra pass; no GraNd).
CPU_METHODS = (
    "Full", "Random", "Random+DRoP", "EL2N", "EL2N+DRoP",
    "Forgetting", "Forgetting+DRoP", "DynUnc", "DynUnc+DRoP",
)
PAPER_DENSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
PAPER_SEEDS = (0, 1, 2)

_CIFAR_AUG: dict[str, Any] = dict(augment_pad=4, augment_flip=True)


def _paper(name: str, data: DataSpec, model: ModelSpec, train: TrainConfig) -> ExperimentConfig:
    return ExperimentConfig(name=name, data=data, model=model, train=train, query=QuerySpec(),
                            methods=PAPER_METHODS, densities=PAPER_DENSITIES, seeds=PAPER_SEEDS)


def _tiny_imbalanced(factor: float) -> ExperimentConfig:
    base = _tinyimagenet()
    return ExperimentConfig(**{**dict(base), "name": f"tinyimagenet-resnet18-imb{factor:g}",
                               "data": DataSpec(name="tinyimagenet", imbalance=factor)})


def _fashion(name: str, model: ModelSpec, train: TrainConfig) -> ExperimentConfig:
    return ExperimentConfig(
        name=name, data=DataSpec(name="fashion-mnist"), model=model, train=train,
        query=QuerySpec(scorer_options={"dynunc": {"window": 5}}),
        methods=CPU_METHODS, densities=PAPER_DENSITIES, seeds=PAPER_SEEDS)


def _tinyimagenet() -> ExperimentConfig:
    return _paper("tinyimagenet-resnet18", DataSpec(name="tinyimagenet"),
                  ModelSpec(name="resnet18"),
                  TrainConfig(epochs=200, batch_size=256, lr=0.2, weight_decay=1e-4,
                            drop_epochs=(100, 150), **_CIFAR_AUG))


#: name -> the preset's :class:`~droprune.experiments.config.ExperimentConfig` (its ``name`` is
#: the key); add one with :func:`register_preset`.
PRESETS: Registry[ExperimentConfig] = Registry("preset", entry_type=ExperimentConfig)


def register_preset(config: ExperimentConfig) -> ExperimentConfig:
    """Add ``config`` to :data:`PRESETS` under ``config.name`` (new), and so to
    ``load_config(name)``, ``preset = "name"`` in config files and ``droprune presets``.

    Examples
    --------
    >>> base = PRESETS.entry("mnist1d-cpu")
    >>> _ = register_preset(ExperimentConfig(**{**dict(base), "name": "mnist1d-quick",
    ...                                         "densities": (0.5,)}))
    >>> from droprune.experiments.config import load_config
    >>> load_config("mnist1d-quick").densities
    (0.5,)
    >>> register_preset(base)
    Traceback (most recent call last):
    ...
    ValueError: a preset named 'mnist1d-cpu' is already registered
    >>> _ = PRESETS.pop("mnist1d-quick")  # (tidy up the doctest)
    """
    return PRESETS.register(config)


#: The built-in presets, in the order ``droprune presets`` lists them.
_BUILTIN_PRESETS = (
    # The embedded default: MNIST-1D (generated offline), a small MLP, minutes on a 2-core CPU.
    ExperimentConfig(
        name="mnist1d-cpu",
        data=DataSpec(name="mnist1d", options={"num_samples": 10000}),
        model=ModelSpec(name="mlp", width=1.0),
        train=TrainConfig(epochs=30, batch_size=128, lr=0.05, weight_decay=5e-4,
                        drop_epochs=(15, 25)),
        query=QuerySpec(seeds=3, epochs_fraction=0.2, long_runs=1,
                        scorer_options={"dynunc": {"window": 5}}),
        # the paper's rule beside the front door's default (DRoP with a floor of d / 2)
        methods=CPU_METHODS[:3] + ("Random+DRoPFloor",) + CPU_METHODS[3:],
        densities=(0.3, 0.5, 0.7, 0.8, 0.9),  # 0.3, 0.5, 0.8: the paper's table
        seeds=(0, 1, 2),
    ),
    _paper(
        "cifar10-vgg16", DataSpec(name="cifar10"), ModelSpec(name="vgg16_bn"),
        TrainConfig(epochs=160, batch_size=128, lr=0.1, weight_decay=1e-4, drop_epochs=(80, 120),
                  **_CIFAR_AUG)),
    _paper(
        "cifar100-vgg19", DataSpec(name="cifar100"), ModelSpec(name="vgg19_bn"),
        TrainConfig(epochs=160, batch_size=128, lr=0.1, weight_decay=5e-4, drop_epochs=(80, 120),
                  **_CIFAR_AUG)),
    _tinyimagenet(),
    _tiny_imbalanced(2),
    _tiny_imbalanced(5),
    _tiny_imbalanced(20),
    _paper(
        "imagenet-resnet50", DataSpec(name="imagenet"), ModelSpec(name="resnet50"),
        TrainConfig(epochs=90, batch_size=512, lr=0.4, weight_decay=1e-4, drop_epochs=(30, 60, 80),
                  augment_flip=True, num_workers=8)),
    # Waterbirds: ImageNet-pretrained ResNet-50 (give model.pretrained=PATH to torchvision
    # weights); schedule is droprune's choice, not the paper's; torchvision's v1.5 blocks.
    ExperimentConfig(**{**dict(_paper(
        "waterbirds-resnet50", DataSpec(name="waterbirds"),
        ModelSpec(name="resnet50", pretrained=None),
        TrainConfig(epochs=100, batch_size=128, lr=1e-3, weight_decay=1e-4, drop_epochs=(),
                    augment_flip=True, num_workers=8))),
        "protocol_options": ProtocolSpec(resnet50="v1.5")}),
    # Fashion-MNIST (real images, CPU): 60k training images, 5k validation, 5k test.
    _fashion(
        "fashion-mnist-mlp", ModelSpec(name="mlp"),
        TrainConfig(epochs=20, batch_size=128, lr=0.05, weight_decay=5e-4,
                    drop_epochs=(10, 15))),
    _fashion(
        "fashion-mnist-lenet5", ModelSpec(name="lenet5"),
        TrainConfig(epochs=10, batch_size=128, lr=0.05, weight_decay=5e-4,
                    drop_epochs=(5, 8))),
)
for _config in _BUILTIN_PRESETS:
    register_preset(_config)
