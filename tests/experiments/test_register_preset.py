"""register_preset: a registered config is a preset everywhere (load_config, `droprune
presets`, the command line's torch-free name check); duplicates are refused."""

from __future__ import annotations

import json

import pytest

from droprune.cli import main
from droprune.cli._common import check_preset
from droprune.experiments.config import ExperimentConfig, load_config
from droprune.experiments.preset_names import PRESET_NAMES, preset_names
from droprune.experiments.presets import PRESETS, register_preset


@pytest.fixture
def quick(request):
    """A preset registered for one test, popped again afterwards."""
    request.addfinalizer(lambda: PRESETS.pop("mnist1d-quick", None))
    base = PRESETS.entry("mnist1d-cpu")
    return register_preset(ExperimentConfig(**{**dict(base), "name": "mnist1d-quick",
                                               "densities": (0.5,)}))


def test_a_registered_preset_is_a_preset_everywhere(quick, capsys):
    assert PRESETS["mnist1d-quick"] is quick
    assert load_config("mnist1d-quick").densities == (0.5,)
    assert preset_names() == PRESET_NAMES + ("mnist1d-quick",)
    check_preset("mnist1d-quick")  # the CLI's check before torch
    assert main(["presets"]) == 0
    assert "mnist1d-quick" in capsys.readouterr().out
    assert main(["presets", "--show", "mnist1d-quick"]) == 0
    assert json.loads(capsys.readouterr().out)["densities"] == [0.5]


def test_duplicate_and_malformed_presets_are_refused(quick):
    with pytest.raises(ValueError, match="a preset named 'mnist1d-cpu' is already registered"):
        register_preset(PRESETS["mnist1d-cpu"])
    with pytest.raises(ValueError, match="a preset named 'mnist1d-quick' is already registered"):
        register_preset(quick)
    with pytest.raises(ValueError, match="register_preset takes an? ExperimentConfig, got dict"):
        register_preset({"name": "x"})
    with pytest.raises(ValueError, match="unknown preset 'nope'; valid presets: mnist1d-cpu"):
        PRESETS.entry("nope")
    assert tuple(PRESETS) == PRESET_NAMES + ("mnist1d-quick",)
