"""Bad input found by the reliability campaign (benchmarks/reliability_campaign.py), each
refused in one line that names the option and the fix, before anything is allocated, trained
or written: absurd mixture sizes, devices no model trains on, options that do nothing, a
config that names no data, the user's model that does not fit the data, a missing root."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from droprune.cli import main

OWN = "tests.experiments.own_models"
MIXTURE = ["--data", "gaussian-mixture", "--option", "class_sizes=[30,20,20]",
           "--option", "test_sizes=[10,10,10]", "--option", "means=[-2,0,2]",
           "--option", "stds=[1,1,1]", "--set", "protocol_options.fixed_query_epochs=1",
           "--no-progress", "--density", "0.5"]
TOO_MANY = ("more than the 100,000,000 a gaussian-mixture draws in memory: give fewer samples or a "
            "smaller dim")


def refused(capsys, command: str, argv: list, out) -> str:
    """Run ``droprune COMMAND argv``: exit 2, one error line, nothing at ``out``."""
    assert main([command, *map(str, argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"droprune {command}: error: "), err
    assert not out.exists()
    return err[len(f"droprune {command}: error: "):]


def sweep_config(tmp_path, **sections) -> str:
    cfg = {"name": "tiny", "methods": ["Random+DRoP"], "densities": [0.5], "seeds": [0],
           "data": {"name": "gaussian-mixture", "options": {
               "class_sizes": [30, 20, 20], "test_sizes": [10, 10, 10], "means": [-2, 0, 2],
               "stds": [1, 1, 1]}},
           "model": {"name": "mlp"}, "train": {"epochs": 1, "drop_epochs": []},
           "query": {"seeds": 1}, **sections}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    return str(path)


# -- 1, 2: mixture sizes bounded before anything is allocated -----------------------------------

def test_prune_refuses_a_mixture_too_large_to_draw(tmp_path, capsys):
    out = tmp_path / "out"
    err = refused(capsys, "prune", ["--data", "gaussian-mixture", "--option",
                                    "class_sizes=[1000000000,20,20]", "--density", "0.5",
                                    "--out", out], out)
    assert err.startswith("config: data.options: class_sizes (for train and test: no "
                          "test_sizes given) ask for 2,000,000,080 samples of dim 1 "
                          "(2,000,000,080 values), " + TOO_MANY)


def test_a_sweep_config_with_a_huge_mixture_is_refused_before_the_folder(tmp_path, capsys):
    out = tmp_path / "out"
    config = sweep_config(tmp_path, data={"name": "gaussian-mixture", "options": {
        "class_sizes": [10**12, 40, 30], "test_sizes": [20, 20, 20], "means": [-2, 0, 2],
        "stds": [1, 1, 1]}})
    err = refused(capsys, "sweep", ["--config", config, "--out", out], out)
    assert err.startswith("config: data.options: class_sizes and test_sizes ask for "
                          "1,000,000,000,130 samples of dim 1 (1,000,000,000,130 values), "
                          + TOO_MANY)


# -- 3, 4: devices ------------------------------------------------------------------------------

@pytest.mark.parametrize("device, message", [
    ("meta", "--device must be a device droprune trains on ('cpu', 'cuda', 'cuda:1', 'mps'), "
             "got 'meta'"),
    ("cpu:99", "--device must be 'cpu' for the CPU (torch has one CPU device; --threads sets "
               "how many cores it uses), got 'cpu:99'"),
])
def test_prune_refuses_a_device_no_model_trains_on(tmp_path, capsys, device, message):
    out = tmp_path / "out"
    assert refused(capsys, "prune", [*MIXTURE, "--out", out, "--device", device], out) == message


def test_a_cuda_index_beyond_the_devices_is_refused(monkeypatch):
    import torch

    from droprune.experiments.config import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda:1", "--device", here=True) == "cuda:1"
    assert check_device("cuda:5", "--device") == "cuda:5"  # a config may run elsewhere
    with pytest.raises(ValueError, match=r"^--device cuda:2: this machine has 2 CUDA device\(s\),"
                                         r" cuda:0 to cuda:1; use one of them, or --device cpu$"):
        check_device("cuda:2", "--device", here=True)
    assert check_device("cpu:0", "--device", here=True) == "cpu:0"  # the one CPU device


def test_a_sweep_refuses_a_meta_device_in_its_config(tmp_path, capsys):
    out = tmp_path / "out"
    err = refused(capsys, "sweep", ["--config", sweep_config(tmp_path), "--set", "device=meta",
                                    "--out", out], out)
    assert err == ("config: device: must be a device droprune trains on ('cpu', 'cuda', "
                   "'cuda:1', 'mps'), got 'meta'")


@pytest.mark.parametrize("flag, value", [("--device", "bogus"), ("--threads", "2")])
def test_device_and_threads_without_data_are_refused(tmp_path, capsys, flag, value):
    pd.DataFrame({"class": [0, 1, 2], "recall": [0.9, 0.7, 0.5]}).to_csv(
        tmp_path / "r.csv", index=False)
    pd.DataFrame({"label": [0, 1, 2] * 4}).to_csv(tmp_path / "l.csv", index=False)
    out = tmp_path / "out"
    err = refused(capsys, "prune", ["--recalls", tmp_path / "r.csv", "--labels",
                                    tmp_path / "l.csv", "--density", "0.5", "--out", out,
                                    flag, value], out)
    assert err == (f"{flag} describe(s) a dataset and its query training: give --data NAME "
                   f"too, or leave them out")


@pytest.mark.parametrize("flag, value", [("--device", "cpu"), ("--threads", "1")])
def test_a_device_or_threads_with_nothing_to_train_is_refused(tmp_path, capsys, flag, value):
    pd.DataFrame({"class": [0, 1, 2], "recall": [0.9, 0.7, 0.5]}).to_csv(
        tmp_path / "r.csv", index=False)
    out = tmp_path / "out"
    err = refused(capsys, "prune", [*MIXTURE, "--recalls", tmp_path / "r.csv", "--out", out,
                                    flag, value], out)
    assert err == (f"{flag} {value}: nothing is trained (--recalls and --scores give what "
                   "Random+DRoP needs); leave it out")


# -- 5: a config that names no data -------------------------------------------------------------

def test_a_sweep_config_naming_no_data_is_refused(tmp_path, capsys):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    out = tmp_path / "out"
    err = refused(capsys, "sweep", ["--config", empty, "--out", out], out)
    assert err == (f"config file {empty}: names neither a preset nor data: add preset = "
                   f"\"NAME\" (`droprune presets`) or a [data] table with name = \"DATASET\" "
                   f"(`droprune data list`)")
    from droprune.experiments.config import load_config

    # the data named by --set, or a preset, is enough; a file for prune --data needs none
    assert load_config(empty, ["data.name=gaussian-mixture"], require_data=True).data.name \
        == "gaussian-mixture"
    assert load_config(empty).data.name == "mnist1d"


# -- 6, 8: the user's model checked on the data, named by its option ----------------------------

@pytest.mark.parametrize("factory, message", [
    ("two_classes", "Sequential outputs shape (2,) per sample but gaussian-mixture has 3 "
                    "classes: build the model with num_classes=3"),
    ("tuple_out", "_Pair returns a tuple; droprune needs a module that returns logits "
                  "(batch, 3)"),
])
def test_prune_names_the_model_option_when_the_model_does_not_fit(tmp_path, capsys, factory,
                                                                  message):
    out = tmp_path / "out"
    err = refused(capsys, "prune", [*MIXTURE, "--out", out, "--model", f"{OWN}:{factory}"],
                  out)
    assert err == f"--model {OWN}:{factory}: {message}"


@pytest.mark.parametrize("factory, message", [
    ("raises", f"model factory '{OWN}:raises' raised RuntimeError: boom in the factory (when "
               f"called as factory(seed=0)); fix the factory"),
    ("two_classes", "Sequential outputs shape (2,) per sample but gaussian-mixture has 3 "
                    "classes: build the model with num_classes=3"),
])
def test_a_sweep_checks_the_users_model_before_the_folder(tmp_path, capsys, factory, message):
    out = tmp_path / "out"
    config = sweep_config(tmp_path, model={"name": f"{OWN}:{factory}"})
    err = refused(capsys, "sweep", ["--config", config, "--out", out], out)
    assert err == f"model.name {OWN}:{factory}: {message}"


# -- 7: the root of a dataset read from files ---------------------------------------------------

def test_prune_without_root_names_the_root_option(tmp_path, capsys):
    out = tmp_path / "out"
    err = refused(capsys, "prune", ["--data", "imagefolder", "--density", "0.5", "--out", out],
                  out)
    assert err.startswith("imagefolder: <root>: no root given: pass the folder holding the "
                          "dataset with --root FOLDER; expected layout: ROOT/train/<class>/")


def test_a_sweep_without_root_names_data_root(tmp_path, capsys):
    out = tmp_path / "out"
    err = refused(capsys, "sweep", ["--preset", "cifar10-vgg16", "--out", out], out)
    assert err.startswith("cifar10: <root>: no root given: pass the folder holding the dataset "
                          "with data.root (in the config, or --set data.root=FOLDER); ")
