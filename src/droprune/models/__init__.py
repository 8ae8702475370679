"""Models: every one a :class:`Classifier` (``logits = classifier(features(x))``) registered by
name in :data:`MODELS` (one :class:`ModelEntry` each; :func:`register_model` adds yours); build
them with :func:`build_model`.

========== ============================================================================
name       model
========== ============================================================================
mlp        flatten + Linear/ReLU hidden layers (any input shape)
cnn2d      small image CNN (Fashion-MNIST, CIFAR)
cnn1d      small 1-D CNN (MNIST-1D, input (1, 40))
lenet5     LeNet-5 (ReLU, max-pool)
vgg16_bn   CIFAR VGG-16 with batch norm, one linear head
vgg19_bn   CIFAR VGG-19 with batch norm, one linear head
resnet18   CIFAR ResNet-18 (3x3 stem, no max-pool)
resnet50   torchvision's ResNet-50 (same state-dict keys; see load_torchvision_weights)
========== ============================================================================

Your own model: :func:`resolve_model` turns a name, ``"package.module:factory"`` or a callable
``factory(seed) -> nn.Module`` into one factory; :func:`seeded_model` builds it for a seed.

Examples
--------
>>> from droprune.models import build_model
>>> m = build_model("cnn1d", num_classes=10, in_channels=1, input_size=(40,), width=0.5)
>>> m.embedding_dim
64
"""

from .._extras import require as _require

_require("torch", "torch", what="droprune.models")  # one line naming the extra, not a traceback

from .base import MODELS, Classifier, ModelEntry, build_model, register_model
from .cnn import LeNet5, SmallCNN
from .factory import ModelFactory, check_model_spec, model_spec_name, resolve_model, seeded_model
from .layers import num_parameters
from .mlp import MLP
from .resnet import BasicBlock, Bottleneck, ResNet, load_torchvision_weights
from .vgg import VGG

__all__ = [
    "MLP",
    "MODELS",
    "BasicBlock",
    "Bottleneck",
    "Classifier",
    "LeNet5",
    "ModelEntry",
    "ModelFactory",
    "ResNet",
    "SmallCNN",
    "VGG",
    "build_model",
    "check_model_spec",
    "load_torchvision_weights",
    "model_spec_name",
    "num_parameters",
    "register_model",
    "resolve_model",
    "seeded_model",
]
