"""The ``droprune data`` command: list, info, check (exit codes and output)."""

from __future__ import annotations

import json

import pytest

from droprune.cli import main
from droprune.cli.data import parse_options


def test_list_names_every_source(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "cifar-10-python.tar.gz" in out and "waterbirds:" in out
    assert main(["data", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"mnist1d", "tinyimagenet", "gaussian-mixture"}


def test_info_prints_sizes_class_counts_and_fingerprints(cifar10_tree, capsys):
    root = cifar10_tree(n=20, n_test=20)
    assert main(["data", "info", "cifar10", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "cifar10: 10 classes" in out
    train_row = next(line for line in out.splitlines() if line.strip().startswith("train"))
    assert train_row.split()[:4] == ["train", "100", "3x32x32", "uint8"]
    assert "airplane" in out and len(train_row.split()[4]) == 16


def test_info_json_with_imbalance_and_options(capsys):
    args = ["data", "info", "gaussian-mixture", "--option", "class_sizes=[40, 40]",
            "--option", "dim=2", "--imbalance", "4", "--json", "--no-fingerprint"]
    assert main(args) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["splits"]["train"]["class_counts"] == [40, 10]
    assert info["splits"]["val"]["class_counts"] == [20, 20]
    assert "fingerprint" not in info["splits"]["train"]


def test_info_shows_groups(waterbirds_tree, capsys):
    root = waterbirds_tree()
    assert main(["data", "info", "waterbirds", "--root", str(root), "--option",
                 "image_size=8"]) == 0
    out = capsys.readouterr().out
    assert "waterbird_on_water" in out


def test_check_ok_and_problems(cifar10_tree, capsys, tmp_path):
    root = cifar10_tree(n_test=20)
    assert main(["data", "check", "cifar10", "--root", str(root)]) == 0
    assert capsys.readouterr().out.strip() == "cifar10: OK"
    assert main(["data", "check", "cifar10", "--root", str(tmp_path / "x")]) == 1
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and str(tmp_path / "x") in out
    assert main(["data", "check", "cifar10", "--root", str(tmp_path / "x"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and len(report["problems"]) == 1


def test_user_errors_exit_2_with_one_line(capsys):
    assert main(["data", "info", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nope'" in err and "Traceback" not in err
    assert main(["data", "info", "gaussian-mixture", "--option", "novalue"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_parse_options():
    assert parse_options(["a=1", "b=x", "c=[1, 2]", "d=0.5"]) == {"a": 1, "b": "x",
                                                                  "c": [1, 2], "d": 0.5}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_options(["=3"])
