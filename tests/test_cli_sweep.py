"""`droprune sweep` / `run` / `demo` / `report` refuse bad input before writing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from droprune.cli import main
from droprune.experiments.config import load_config


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


CONFIG_ERRORS = [
    (["data.name=nope"], "config: data.name: unknown dataset 'nope'; valid datasets: mnist1d"),
    (["model.name=nope"], "config: model.name: unknown model 'nope'; valid models: cnn1d"),
    (["query.scorer_options.dynunc.window=1"],
     "config: query.scorer_options: window must be an integer >= 2"),
    (["query.scorer_options.forgetting.never_learned=bogus"],
     "config: query.scorer_options: never_learned must be one of"),
    (["query.dynunc_window=1"],
     "config: query.dynunc_window: unknown key; valid keys: seeds, epochs_fraction, long_runs, "
     "scorer_options (this key moved to query.scorer_options"),
    (["query.forgetting_never_learned=bogus"],
     "config: query.forgetting_never_learned: unknown key"),
    (["data.options.colour=1"], "config: data.options: mnist1d: unknown generation"),
    (["methods=Random,EL3N"], "config: methods: unknown strategy 'EL3N'"),
    (["densities=0.3,1.5"], "config: densities: density must be in (0, 1]"),
    (["densities=0"], "config: densities: density must be in (0, 1]"),
]


COMMANDS = {"sweep": ["sweep", "--preset", "mnist1d-cpu"],
            "run": ["run", "--preset", "mnist1d-cpu", "--method", "Random", "--density", "0.5"],
            "demo": ["demo"]}


@pytest.mark.parametrize("command, overrides, message", [
    (command, overrides, message) for command in COMMANDS for overrides, message in CONFIG_ERRORS
    # `run` sets methods and densities from --method and --density (tested below)
    if not (command == "run" and overrides[0].startswith(("methods", "densities")))])
def test_config_errors_exit_2_in_one_line_and_create_nothing(tmp_path, capsys, command,
                                                            overrides, message):
    out = tmp_path / "out"
    argv = COMMANDS[command] + ["--out", str(out)] + sum((["--set", s] for s in overrides), [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"droprune {command}: error: ") and message in err
    assert not out.exists()


def test_run_checks_its_own_method_and_density(tmp_path, capsys):
    out = tmp_path / "out"
    for extra, message in ((["--method", "EL3N", "--density", "0.5"], "config: methods"),
                           (["--method", "Random", "--density", "0"], "config: densities")):
        assert main(["run", "--preset", "mnist1d-cpu", "--out", str(out), *extra]) == 2
        assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("overrides, message", CONFIG_ERRORS)
def test_an_existing_folder_is_left_byte_identical(tmp_path, capsys, overrides, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(load_config("mnist1d-cpu").to_dict()))
    (out / "notes.txt").write_bytes(b"mine\n")
    before = snapshot(out)
    argv = ["sweep", "--preset", "mnist1d-cpu", "--out", str(out)]
    assert main(argv + sum((["--set", s] for s in overrides), [])) == 2
    assert message in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize("extra, message", [
    (["--shard", "4/4"], "--shard i/n needs"),
    (["--shard", "x"], "--shard must look like i/n"),
    (["--device", "nope"], "device must be a torch device"),
    (["--set", "device=nope"], "config: device: must be a torch device"),
    (["--set", "nokey"], "override must look like KEY=VALUE"),
])
def test_other_input_errors_come_before_the_folder(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["sweep", "--preset", "mnist1d-cpu", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_cuda_asked_for_where_there_is_none(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out"
    assert main(["sweep", "--preset", "mnist1d-cpu", "--out", str(out), "--device",
                 "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert not out.exists()


def test_missing_dataset_root_comes_before_the_folder(tmp_path, capsys):
    out = tmp_path / "out"
    base = ["sweep", "--preset", "cifar10-vgg16", "--out", str(out)]
    assert main(base) == 2
    assert "cifar10: <root>: no root given" in capsys.readouterr().err
    assert main(base + ["--set", f"data.root={tmp_path / 'missing'}"]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not out.exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("x")
    assert main(["sweep", "--preset", "mnist1d-cpu", "--out", str(out)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert out.read_text() == "x"


def test_report_checks_corr_density_before_writing(tmp_path, capsys):
    from droprune.experiments.store import ResultStore

    folder = tmp_path / "sweep"
    folder.mkdir()
    store = ResultStore(folder / "results.sqlite")
    store.add(dict(
        run_id="r0", experiment="t", fingerprint="f", dataset="d", model="m", method="Random",
        strategy="Random", family="Random", quota="none", cdbw=0, density=0.5, seed=0, kept=5,
        epochs=1, accuracy=0.5, worst_class_accuracy=0.4, worst_class=0, worst_class_name="0",
        gap=0.2, std=0.1, min_samples_per_class=2, class_recall=[0.4, 0.6], class_sizes=[5, 5],
        class_counts=[2, 3], class_density=[0.4, 0.6], seconds=0.0, config={}))
    before = snapshot(folder)
    for value, message in (("1.5", "corr_density must be in (0, 1]"),
                           ("0.3", "corr_density 0.3 is not a density of these runs; valid: 0.5")):
        assert main(["report", str(folder), "--corr-density", value]) == 2
        assert message in capsys.readouterr().err
    assert snapshot(folder) == before and not (folder / "report").exists()
