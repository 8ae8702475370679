"""The experiment config schema: validated whole against the registries, strict types, one-line
errors, scorer options, files over presets, and fingerprints that name run ids."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from droprune.experiments.config import (
    DataSpec,
    ExperimentConfig,
    QuerySpec,
    apply_overrides,
    config_from_dict,
    load_config,
)
from droprune.experiments.presets import PRESETS
from droprune.scoring.recorders import DynamicUncertaintyRecorder, ForgettingRecorder

# The run ids of these configs were named by these fingerprints before the config became a
# pydantic schema (and query.dynunc_window / query.forgetting_never_learned became
# query.scorer_options); with protocol="legacy" (droprune's behaviour before the protocol
# profiles) they must not change, or finished runs are no longer recognised. The TinyImageNet
# preset's batch size became the reference code's 256 (was 200): its ids changed with it.
FINGERPRINTS = {
    "mnist1d-cpu": ("f9e06a0670fdb393", "7d0df87004482692"),
    "cifar10-vgg16": ("97b45751f0d8f5fa", "3b42c560b3bb2bfa"),
    "tinyimagenet-resnet18-imb5": ("3d0ad89fd9fb3673", "3322400d8dfdf728"),
    "waterbirds-resnet50": ("eae615f9ca7fee3c", "25c3af7d8c0f9f00"),
    None: ("7eaba8d19c68cab7", "2a93805ff6ad765b"),
}


@pytest.mark.parametrize("source", list(FINGERPRINTS))
def test_fingerprints_of_existing_configs_are_unchanged(source):
    cfg = load_config(source, ["protocol=legacy"])
    assert (cfg.query_fingerprint(), cfg.final_fingerprint()) == FINGERPRINTS[source]
    if source is not None:  # the preset object and the loaded config agree (imbalance 5 -> 5.0)
        legacy = ExperimentConfig(**{**dict(PRESETS[source]), "protocol": "legacy"})
        assert legacy.final_fingerprint() == FINGERPRINTS[source][1]


@pytest.mark.parametrize("source", list(FINGERPRINTS))
def test_the_paper_profile_changes_the_fingerprints(source):
    """The default profile changes behaviour (val split, Forgetting's convention, recall
    source ...), so the run ids change too."""
    cfg = load_config(source)
    assert cfg.protocol == "paper"
    assert cfg.query_fingerprint() != FINGERPRINTS[source][0]
    assert cfg.final_fingerprint() != FINGERPRINTS[source][1]


def test_fingerprints_of_scorer_options():
    base = load_config("mnist1d-cpu", ["query.scorer_options={}", "protocol=legacy"])
    same = load_config("mnist1d-cpu", ['query.scorer_options={"dynunc": {"window": 10}, '
                                       '"forgetting": {"never_learned": "max"}}',
                                       "protocol=legacy"])
    assert base.final_fingerprint() == same.final_fingerprint()  # the effective values count
    old = load_config("mnist1d-cpu", ['query.scorer_options={"dynunc": {"window": 3}, '
                                      '"forgetting": {"never_learned": "zero"}}',
                                      "protocol=legacy"])
    assert old.query_fingerprint() == "1c2e3c842f8919a4"  # as with the two former keys
    grand = load_config("mnist1d-cpu", ['query.scorer_options={"grand": {"chunk_size": 8}}'])
    assert len({base.query_fingerprint(), old.query_fingerprint(),
                grand.query_fingerprint()}) == 3


def test_scorer_option_defaults_are_the_recorders():
    """An empty query.scorer_options runs the recorders with their defaults: the values the
    former query.dynunc_window and query.forgetting_never_learned defaulted to."""
    assert QuerySpec().scorer_options == {}
    assert inspect.signature(DynamicUncertaintyRecorder).parameters["window"].default == 10
    assert inspect.signature(ForgettingRecorder).parameters["never_learned"].default == "max"
    with pytest.raises(ValueError, match="window must be an integer >= 2"):
        DynamicUncertaintyRecorder(window=1)


def test_the_sweep_passes_the_scorer_options_as_given():
    cfg = load_config("mnist1d-cpu", ["query.scorer_options.forgetting.never_learned=zero",
                                      "protocol=legacy"])
    assert cfg.query.scorer_options == {"dynunc": {"window": 5},
                                        "forgetting": {"never_learned": "zero"}}
    assert cfg.scorer_options() == cfg.query.scorer_options
    assert load_config(None, ["protocol=legacy"]).scorer_options() == {}
    # the profile's conventions are filled in where not given (and not the recorder default)
    assert load_config().scorer_options() == {"forgetting": {"never_learned": "zero"},
                                              "kcenter": {"start": "mean"}}
    assert load_config(None, ["protocol=reference"]).scorer_options() == {
        "forgetting": {"never_learned": "zero"}, "dynunc": {"window_mode": "reference"},
        "kcenter": {"start": "mean"}}


@pytest.mark.parametrize("overrides, message", [
    (["data.name=nope"], "config: data.name: unknown dataset 'nope'"),
    (["data.name=cifar10"], "config: data.options: dataset 'cifar10' has no option(s) "
                            "['num_samples']; valid options: none (data.options must suit "
                            "data.name; data.options={} clears them)"),
    (["data.options.num_samples=105"], "config: data.options: mnist1d: num_samples must be a "
                                       "positive multiple of 10"),
    (["data.name=waterbirds", "data.options={}", "data.val_fraction=0.3"],
     "config: data.val_fraction: waterbirds uses its official"),
    (["data.name=gaussian-mixture", "data.options={}", "data.root=/data"],
     "config: data.root: dataset 'gaussian-mixture' reads no files"),
    (["data.val_fraction=1"], "config: data.val_fraction: must be in (0, 1)"),
    (["data.split_seed=-1"], "config: data.split_seed: must be an integer >= 0, got -1"),
    (['data.options={"num_samples": NaN}'], "config: data.options: must hold plain values"),
    (["model.name=resnet"], "config: model.name: unknown model 'resnet'; valid models: cnn1d"),
    (["model.width=inf"], "config: model.width: must be a number > 0, got 'inf'"),
    (["model.width=true"], "config: model.width: must be a number > 0, got True"),
    (["query.seeds=0"], "config: query.seeds: must be an integer >= 1, got 0"),
    (["query.epochs_fraction=0"], "config: query.epochs_fraction: must be in (0, 1], got 0"),
    (["query.scorer_options.dynunc.window=1"], "config: query.scorer_options: window must be"),
    (["query.scorer_options.forgetting.colour=1"],
     "config: query.scorer_options: scorer 'forgetting' has no option(s) ['colour']"),
    (["query.scorer_options.nope.x=1"], "config: query.scorer_options: unknown scorer 'nope'"),
    (["query.scorer_options.dynunc=3"],
     "config: query.scorer_options.dynunc: must be a table/object, got 3"),
    (["query.dynunc_window=3"], "query.dynunc_window: unknown key; valid keys: seeds, "
                                "epochs_fraction, long_runs, scorer_options (this key moved"),
    (['train.epochs="10"'], "config: train.epochs: must be an integer, got '10'"),
    (["train.epochs=10.0"], "config: train.epochs: must be an integer, got 10.0"),
    (["train.nesterov=1"], "config: train.nesterov: must be true or false, got 1"),
    (["train.lr=true"], "config: train.lr: must be a number, got True"),
    (['train={"lr": 0.1}'], "config: train.epochs: missing"),
    (["train.cdbw=true"], "config: train.cdbw: CDB-W is chosen per method"),
    (["stretch=yes"], "config: stretch: must be true or false, got 'yes'"),
    (["seeds=true"], "config: seeds: must be integers >= 0, got True"),
    (["seeds=1,1"], "config: seeds: repeated seed in [1, 1]"),
    (["densities=0.5,0.5"], "config: densities: repeated density"),
    (["densities=30"], "(a density is a fraction, not a percentage)"),
    (["methods=[]"], "config: methods: give at least one method"),
    (["methods=Random,random"], "config: methods: repeated method"),
    (["drop_mode=weird"], "config: drop_mode: must be 'density' or 'count', got 'weird'"),
    (["device=gpu0"], "config: device: must be a torch device such as 'cpu'"),
    (["name=3"], "config: name: must be a string, got 3"),
    (["data=3"], "config: data: must be a table/object, got 3"),
    (["colour=red"], "config: colour: unknown key; valid keys: name, data, model, train"),
    (["model.width=0", "seeds=-1"], "config: model.width: must be > 0, got 0 (and 1 more "
                                    "error(s))"),
])
def test_errors_are_one_line_and_name_the_key(overrides, message):
    with pytest.raises(ValueError) as err:
        load_config("mnist1d-cpu", overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_sections_built_directly_fail_in_one_line_under_their_key():
    for build, message in ((lambda: DataSpec(name="x"), "config: data.name: unknown dataset"),
                           (lambda: DataSpec(colour=1), "config: data.colour: unknown key"),
                           (lambda: QuerySpec(seeds=0), "config: query.seeds: must be an "),
                           (lambda: ExperimentConfig(data={"name": "x"}), "config: data.name"),
                           (lambda: ExperimentConfig(train={"epochs": 0}),
                            "config: train: epochs must be an integer in [1, 100000]")):
        with pytest.raises(ValueError) as err:
            build()
        assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_python_values_numpy_included():
    cfg = ExperimentConfig(seeds=[np.int64(3)], densities=np.float32(0.5), methods="Random",
                           data=DataSpec(imbalance=np.int64(4), split_seed=np.int32(1)))
    assert cfg.seeds == (3,) and cfg.densities == (0.5,) and cfg.methods == ("Random",)
    assert cfg.data.imbalance == 4.0 and isinstance(cfg.data.imbalance, float)
    assert type(cfg.seeds[0]) is int and type(cfg.data.split_seed) is int
    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()


def test_frozen_round_trip_and_equality():
    cfg = load_config("mnist1d-cpu")
    with pytest.raises(ValueError):
        cfg.name = "other"
    again = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.to_dict() == cfg.to_dict()
    assert cfg.to_dict()["query"] == {"seeds": 3, "epochs_fraction": 0.2, "long_runs": 1,
                                      "scorer_options": {"dynunc": {"window": 5}}}
    with pytest.raises(ValueError, match="config: must be a table/object, got list"):
        config_from_dict([1])


def test_a_file_table_replaces_the_presets(tmp_path):
    path = tmp_path / "gm.toml"
    path.write_text('preset = "mnist1d-cpu"\n[data]\nname = "gaussian-mixture"\n'
                    '[data.options]\nclass_sizes = [30, 10]\ndim = 2\n'
                    '[query.scorer_options.forgetting]\nnever_learned = "zero"\n')
    cfg = load_config(path)
    assert cfg.data.options == {"class_sizes": [30, 10], "dim": 2}  # no num_samples left over
    assert cfg.query.scorer_options == {"forgetting": {"never_learned": "zero"}}
    assert cfg.query.seeds == PRESETS["mnist1d-cpu"].query.seeds  # sections still merge
    empty = tmp_path / "c10.toml"
    empty.write_text('preset = "mnist1d-cpu"\n[data]\nname = "cifar10"\noptions = {}\n')
    assert load_config(empty).data.options == {}
    section = tmp_path / "c10-section.toml"
    section.write_text('preset = "mnist1d-cpu"\n[data]\nname = "cifar10"\n[data.options]\n')
    assert load_config(section).data.options == {}
    leak = tmp_path / "leak.json"
    leak.write_text(json.dumps({"preset": "mnist1d-cpu", "data": {"name": "cifar10"}}))
    with pytest.raises(ValueError, match=r"data.options={} clears them"):
        load_config(leak)


def test_overrides_create_the_tables_they_name():
    assert apply_overrides({}, ["query.scorer_options.dynunc.window=4", "a.b=x,y"]) == {
        "query": {"scorer_options": {"dynunc": {"window": 4}}}, "a": {"b": ["x", "y"]}}
    values = {"seeds": [0]}
    apply_overrides(values, ["seeds=1"])
    assert values == {"seeds": [0]}  # a new dict


def test_preset_names_are_the_presets():
    from droprune.experiments.preset_names import PRESET_NAMES
    from droprune.experiments.presets import PRESETS

    assert tuple(PRESETS) == PRESET_NAMES
