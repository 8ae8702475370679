"""`droprune sweep` / `run` / `demo` / `report` refuse bad input before writing anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    for value, message in (("1.5", "--corr-density must be in (0, 1]"),
                           ("0.3", "--corr-density 0.3 is not a density of these runs; valid: "
                                   "0.5")):
        assert main(["report", str(folder), "--corr-density", value]) == 2
        assert message in capsys.readouterr().err
    assert snapshot(folder) == before and not (folder / "report").exists()


@pytest.mark.parametrize("argv, message", [
    (["sweep"], "choose the experiment: --preset NAME (see `droprune presets`) or --config FILE"),
    (["run", "--method", "Random", "--density", "0.5"], "choose the experiment: --preset NAME"),
    (["sweep", "--preset", "mnist1d-cpux"], "unknown preset 'mnist1d-cpux'; valid presets: "
                                            "mnist1d-cpu, cifar10-vgg16"),
    (["sweep", "--config", "nope.toml"], "--config nope.toml: no such file"),
    (["sweep", "--preset", "mnist1d-cpu", "--threads", "0"],
     "--threads must be an integer >= 1, got '0'"),
    (["run", "--preset", "mnist1d-cpu", "--method", "Random", "--density", "0.5", "--threads",
      "two"], "--threads must be an integer >= 1, got 'two'"),
    (["demo", "--threads", "1.5"], "--threads must be an integer >= 1, got '1.5'"),
])
def test_experiment_and_threads_refused_before_the_folder(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_threads_from_the_environment(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("DROPRUNE_THREADS", "-2")
    assert main(["sweep", "--preset", "mnist1d-cpu", "--out", str(out)]) == 2
    assert "DROPRUNE_THREADS must be an integer >= 1, got '-2'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("option, env, expected", [
    ([], None, 1), ([], "3", 3), (["--threads", "2"], "3", 2)])
def test_threads_are_applied_for_the_command(tmp_path, capsys, monkeypatch, option, env,
                                             expected):
    import torch

    if env is not None:
        monkeypatch.setenv("DROPRUNE_THREADS", env)
    before = torch.get_num_threads()
    try:
        # the dataset root is checked after the threads are set, before anything is written
        assert main(["sweep", "--preset", "cifar10-vgg16", "--out", str(tmp_path / "out"),
                     *option]) == 2
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)
    assert "no root given" in capsys.readouterr().err


def test_run_help_describes_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option, words in (("--seed SEED", "seed of the run"), ("--out OUT", "sweep folder"),
                          ("--no-progress", "no progress bars"), ("--threads N", "CPU threads")):
        assert f"{option} {words}" in text


@pytest.mark.parametrize("argv", [
    ["sweep", "--preset", "mnist1d-cpux", "--out", "x"],
    ["run", "--preset", "cifar10", "--method", "Random", "--density", "0.5", "--out", "x"],
    ["presets", "--show", "mnist1d"],
])
def test_a_preset_typo_is_reported_before_torch_is_imported(tmp_path, argv):
    code = ("import sys\nfrom droprune.cli import main\ncode = main(sys.argv[1:])\n"
            "print(code, 'torch' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert "unknown preset" in done.stderr
