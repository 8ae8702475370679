"""build_final_model: initial weights fixed by the seed, the caller's torch RNG left alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from droprune.experiments import load_config
from droprune.experiments.pipeline import build_final_model
from droprune.models import build_model

TRAIN_SET = SimpleNamespace(num_classes=10, in_channels=1, sample_shape=(1, 40))  # MNIST-1D


@pytest.fixture(scope="module")
def cfg():
    return load_config("mnist1d-cpu", ["model.width=0.25"])


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_weights_are_those_drawn_after_manual_seed(cfg):
    # what build_final_model did before it forked the RNG: seed the global generator, build
    torch.manual_seed(1234)
    expected = _weights(build_model("mlp", num_classes=10, in_channels=1, input_size=(40,),
                                    width=0.25))
    torch.manual_seed(99)  # any caller state: the weights depend on the seed alone
    got = _weights(build_final_model(cfg, TRAIN_SET, seed=1234))
    assert got.keys() == expected.keys()
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    other = _weights(build_final_model(cfg, TRAIN_SET, seed=1235))
    assert not all(torch.equal(other[k], expected[k]) for k in expected)


def test_the_callers_global_rng_is_untouched(cfg):
    torch.manual_seed(7)
    state = torch.get_rng_state()
    build_final_model(cfg, TRAIN_SET, seed=1234)
    assert torch.equal(torch.get_rng_state(), state)
    draw = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(draw, torch.rand(3))  # the caller's stream continues where it was
