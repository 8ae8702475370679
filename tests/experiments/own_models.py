"""Model factories named by import path in the experiment tests
(``model.name = "tests.experiments.own_models:..."``)."""

from __future__ import annotations

from torch import nn

from droprune.models import build_model


def mnist1d_mlp(seed: int) -> nn.Module:
    """The registry's MLP at width 0.25 for MNIST-1D, built by a factory of one's own."""
    return build_model("mlp", num_classes=10, in_channels=1, input_size=(40,), width=0.25)


def mnist1d_sequential(seed: int) -> nn.Module:
    """A plain nn.Sequential for MNIST-1D (1 x 40 signals, 10 classes)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(40, 16), nn.ReLU(), nn.Linear(16, 10))


def no_seed() -> nn.Module:
    """Not a factory: it does not take the seed."""
    return nn.Linear(40, 10)


NOT_CALLABLE = 3


def raises(seed: int) -> nn.Module:
    """A factory that fails."""
    raise RuntimeError("boom in the factory")


def two_classes(seed: int) -> nn.Module:
    """Two logits for 1 x 1 inputs (a three-class mixture needs three)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(1, 2))


class _Pair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 3)

    def forward(self, x):
        y = self.fc(x.flatten(1))
        return y, y


def tuple_out(seed: int) -> nn.Module:
    """A module that returns a tuple, not logits."""
    return _Pair()
