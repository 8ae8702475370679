"""The names of the presets, importable without torch: the command line checks a ``--preset``
against them before it imports torch. :data:`droprune.experiments.presets.PRESETS` defines
exactly these (checked in ``tests/experiments/test_config_schema.py``)."""

__all__ = ["PRESET_NAMES"]

PRESET_NAMES = (
    "mnist1d-cpu",
    "cifar10-vgg16",
    "cifar100-vgg19",
    "tinyimagenet-resnet18",
    "tinyimagenet-resnet18-imb2",
    "tinyimagenet-resnet18-imb5",
    "tinyimagenet-resnet18-imb20",
    "imagenet-resnet50",
    "waterbirds-resnet50",
    "fashion-mnist-mlp",
    "fashion-mnist-lenet5",
)
