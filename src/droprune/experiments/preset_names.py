"""The names of the presets, importable without torch: the command line checks a ``--preset``
against them before it imports torch. :data:`droprune.experiments.presets.PRESETS` defines
exactly these built-in ones (checked in ``tests/experiments/test_config_schema.py``);
:func:`preset_names` adds those registered at run time (``register_preset``).
"""

from __future__ import annotations

import sys

__all__ = ["PRESET_NAMES", "preset_names"]

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


def preset_names() -> tuple[str, ...]:
    """Every preset name: the keys of :data:`~droprune.experiments.presets.PRESETS` when that
    module is loaded (a preset registered at run time included: whoever registered it loaded
    it), else the built-in :data:`PRESET_NAMES`. The module is never imported here (that would
    import torch).

    Examples
    --------
    >>> preset_names()[:2]
    ('mnist1d-cpu', 'cifar10-vgg16')
    """
    registry = getattr(sys.modules.get("droprune.experiments.presets"), "PRESETS", None)
    return PRESET_NAMES if registry is None else tuple(registry)
