"""Method names, experiment configs (files, presets, overrides, validation), run plans."""

from __future__ import annotations

import json

import pytest

from droprune.experiments.config import ExperimentConfig, config_from_dict, load_config
from droprune.experiments.methods import Method, parse_method
from droprune.experiments.pipeline import plan_runs
from droprune.experiments.presets import PRESETS
from droprune.experiments.sweep import parse_shard, shard_runs


@pytest.mark.parametrize("text, expected", [
    ("Full", Method("Full")),
    ("random", Method("Random")),
    ("EL2N", Method("EL2N")),
    ("el2n+drop", Method("EL2N", "drop")),
    ("Random+DRoP", Method("Random", "drop")),
    ("Random+EL2NQ", Method("Random", "from_selection", "EL2N")),
    ("Forgetting+DRoP+CDBW", Method("Forgetting", "drop", cdbw=True)),
    ("CoreSet", Method("CoreSet")),
    ("Random+Balanced", Method("Random", "balanced")),
])
def test_parse_method(text, expected):
    m = parse_method(text)
    assert m == expected
    assert parse_method(m.name) == m  # canonical names round-trip


def test_method_properties():
    m = parse_method("Random+GraNdQ")
    assert m.scorer is None and m.scorers_needed == ("grand",) and m.family == "GraNd"
    assert parse_method("DynUnc+DRoP").scorers_needed == ("dynunc",)
    assert parse_method("Random+DRoP").needs_recalls
    assert not parse_method("EL2N").needs_recalls
    assert parse_method("CoreSet").scorer == "kcenter"


@pytest.mark.parametrize("text, message", [
    ("EL3N", "unknown strategy 'EL3N'"),
    ("EL2N+Foo", "unknown quota rule"),
    ("EL2N+GraNdQ", "random selection inside"),
    ("Random+RandomQ", "plain Random"),
    ("Full+DRoP", "Full takes no quota"),
    ("", "non-empty"),
    ("EL2N+DRoP+x+y", "too many parts"),
])
def test_bad_method_names(text, message):
    with pytest.raises(ValueError, match=message):
        parse_method(text)


def test_presets_are_valid_and_round_trip():
    assert "mnist1d-cpu" in PRESETS and "cifar10-vgg16" in PRESETS
    for name, cfg in PRESETS.items():
        again = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again == cfg, name
    paper = PRESETS["cifar10-vgg16"]
    assert paper.train.epochs == 160 and paper.train.drop_epochs == (80, 120)
    assert paper.query.seeds == 5 and paper.query.epochs_fraction == 0.1
    assert PRESETS["tinyimagenet-resnet18-imb5"].data.imbalance == 5


def test_overrides_and_files(tmp_path):
    cfg = load_config("mnist1d-cpu", ["train.epochs=7", "train.drop_epochs=[]", "densities=0.3,0.6", "seeds=4",
                                      "methods=Random,Random+DRoP", "model.width=0.5"])
    assert cfg.train.epochs == 7 and cfg.densities == (0.3, 0.6) and cfg.seeds == (4,)
    assert cfg.methods == ("Random", "Random+DRoP") and cfg.model.width == 0.5
    toml = tmp_path / "exp.toml"
    toml.write_text('preset = "mnist1d-cpu"\nname = "mine"\n[train]\nepochs = 3\ndrop_epochs = [2]\n')
    cfg = load_config(toml)
    assert cfg.name == "mine" and cfg.train.epochs == 3
    assert cfg.train.lr == PRESETS["mnist1d-cpu"].train.lr  # rest of the preset kept
    js = tmp_path / "exp.json"
    js.write_text(json.dumps({"methods": ["Random"], "densities": [0.5]}))
    assert load_config(js).methods == ("Random",)


@pytest.mark.parametrize("overrides, message", [
    (["densities=0.3,1.5"], "densities: density must be in"),
    (["densities=0"], r"in \(0, 1\]"),
    (["methods=Random,EL3N"], "unknown strategy"),
    (["methods=Random,random"], "repeated method"),
    (["train.epochs=0"], "train: epochs must be an integer in \\[1, 100000\\]"),
    (["train.epochs=abc"], "train.epochs: must be an integer"),
    (["train.cdbw=true"], "add \\+CDBW to a method name"),
    (["train.drop_epochs=40"], "train.drop_epochs"),
    (["train.epochs=7"], "set train.drop_epochs too"),
    (["train.colour=red"], "train.colour: unknown key; valid keys: epochs"),
    (["seeds=-1"], "seeds"),
    (["drop_mode=weird"], "drop_mode"),
    (["model.width=0"], "model.width"),
    (["data.imbalance=0.5"], "data.imbalance"),
    (["stretch=maybe"], "stretch: must be true or false"),
    (["nokey"], "must look like KEY=VALUE"),
])
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_config("mnist1d-cpu", overrides)


def test_unknown_preset_or_file(tmp_path):
    with pytest.raises(ValueError, match="valid presets: mnist1d-cpu"):
        load_config("mnist1d-gpu")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(ValueError, match="could not be parsed"):
        load_config(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"preset": "nope"}))
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        load_config(other)


def test_fingerprints():
    a = load_config("mnist1d-cpu")
    b = load_config("mnist1d-cpu", ["seeds=5", "densities=0.2", "name=x"])
    c = load_config("mnist1d-cpu", ["train.lr=0.2"])
    assert a.final_fingerprint() == b.final_fingerprint()  # the grid is not part of it
    assert a.final_fingerprint() != c.final_fingerprint()
    assert a.query_fingerprint() != c.query_fingerprint()
    d = load_config("mnist1d-cpu", ["stretch=false"])
    assert a.query_fingerprint() == d.query_fingerprint() != "" and \
        a.final_fingerprint() != d.final_fingerprint()


def test_plan_runs_counts_and_ids():
    cfg = load_config("mnist1d-cpu", ["seeds=0,1", "densities=0.3,0.5",
                                      "methods=Full,Random,Random+DRoP"])
    plan = plan_runs(cfg)
    assert len(plan) == 2 * (1 + 2 * 2)
    assert [r.seed for r in plan] == sorted(r.seed for r in plan)  # grouped by seed
    full = [r for r in plan if r.method.is_full]
    assert len(full) == 2 and all(r.density == 1.0 for r in full)
    ids = [r.run_id(cfg) for r in plan]
    assert len(set(ids)) == len(ids)
    # the same run in a bigger grid has the same id (resume across grid changes)
    big = load_config("mnist1d-cpu", ["seeds=0,1,2", "densities=0.3,0.5,0.7",
                                      "methods=Full,Random,Random+DRoP,EL2N"])
    assert set(ids) <= {r.run_id(big) for r in plan_runs(big)}


def test_shards_partition_the_plan():
    cfg = load_config("mnist1d-cpu")
    plan = plan_runs(cfg)
    for n in (1, 2, 3, 7, len(plan) + 3):
        parts = [shard_runs(plan, (i, n)) for i in range(n)]
        assert sum(parts, []) == plan
        sizes = [len(p) for p in parts]
        assert max(sizes) - min(sizes) <= 1
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) is None
    for bad in ("4/4", "x", "1/0", "-1/3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_default_config_is_valid():
    assert ExperimentConfig().methods


def test_override_into_a_non_section_is_refused():
    with pytest.raises(ValueError, match="seeds is not a section"):
        load_config("mnist1d-cpu", ["seeds.x=1"])


def test_presets_command(capsys):
    from droprune.cli import main

    assert main(["presets"]) == 0
    assert "cifar10-vgg16" in capsys.readouterr().out
    assert main(["presets", "--show", "mnist1d-cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "mnist1d-cpu"
    assert main(["presets", "--show", "nope"]) == 2
    assert "valid presets" in capsys.readouterr().err


def test_unreadable_config_json_in_folder_is_refused(tmp_path):
    from droprune.experiments.sweep import bind_config

    (tmp_path / "config.json").write_text('{"methods": ["EL3N"]}')
    with pytest.raises(ValueError, match="not a readable droprune config"):
        bind_config(tmp_path, load_config("mnist1d-cpu"))
