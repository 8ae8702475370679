"""Absurd values and wrong types on the command line: one line, exit 2, nothing written (the
tracebacks of the reliability campaign of issue #22)."""

from __future__ import annotations

import pytest

from droprune.cli import main


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_a_huge_floor_is_refused_by_name(capsys):
    assert main(["quotas", "--sizes", "5,5", "--recalls", "0.5,0.9", "--density", "0.5",
                 "--min-per-class", str(10**20)]) == 2
    assert "--min-per-class must be an integer in [0, 9007199254740992]" in _error(capsys)


def test_a_config_whose_preset_is_not_a_name_is_refused(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("preset = []\n")
    out = tmp_path / "out"
    assert main(["sweep", "--config", str(tmp_path / "bad.toml"), "--out", str(out)]) == 2
    assert "unknown preset []" in _error(capsys) and not out.exists()


@pytest.mark.parametrize("key", ["train.epochs", "protocol_options.fixed_query_epochs"])
def test_epochs_that_would_run_forever_are_refused(key, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", "--preset", "mnist1d-cpu", "--set", f"{key}={10**12}",
                 "--out", str(out)]) == 2
    assert "must be an integer in [1, 100000], got 1000000000000" in _error(capsys)
    assert not out.exists()


def test_a_factory_that_raises_is_named_in_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "broken_factory.py").write_text(
        "def factory(seed):\n    raise RuntimeError('boom in my factory')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    assert main(["prune", "--data", "gaussian-mixture", "--model", "broken_factory:factory",
                 "--density", "0.3", "--out", str(out), "--no-progress"]) == 2
    err = _error(capsys)
    assert "model factory 'broken_factory:factory' raised RuntimeError: boom in my factory" in err
    assert not out.exists()


def test_a_folder_naming_other_user_code_is_refused_without_importing_it(tmp_path, capsys):
    import json
    import sys

    out = tmp_path / "run"
    out.mkdir()
    from droprune.experiments.presets import PRESETS

    stored = PRESETS["mnist1d-cpu"].to_dict()
    stored["model"] = dict(stored["model"], name="never_imported_module_x:factory")
    (out / "config.json").write_text(json.dumps(stored))
    assert main(["sweep", "--preset", "mnist1d-cpu", "--out", str(out)]) == 2
    err = _error(capsys)
    assert "'never_imported_module_x:factory' in the folder" in err
    assert "its code was not imported" in err
    assert "never_imported_module_x" not in sys.modules
