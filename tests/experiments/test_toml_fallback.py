"""TOML configs on Python 3.10: ``tomllib`` is missing there and its backport ``tomli`` (a
dependency of ``droprune[torch]`` below 3.11) reads them. Simulated on this Python by hiding
``tomllib`` and putting a ``tomli`` in its place."""

from __future__ import annotations

import sys
import tomllib
import types

import pytest

from droprune._extras import MissingExtraError
from droprune.experiments.config import load_config

TOML = 'preset = "mnist1d-cpu"\nname = "mine"\n[train]\nepochs = 3\ndrop_epochs = [2]\n'


def test_tomli_reads_the_config_where_tomllib_is_missing(tmp_path, monkeypatch):
    read = []
    tomli = types.ModuleType("tomli")
    tomli.loads = lambda text: read.append(text) or tomllib.loads(text)
    monkeypatch.setitem(sys.modules, "tomllib", None)  # Python 3.10: no tomllib
    monkeypatch.setitem(sys.modules, "tomli", tomli)
    path = tmp_path / "exp.toml"
    path.write_text(TOML)
    cfg = load_config(path)
    assert read == [TOML] and cfg.name == "mine" and cfg.train.epochs == 3
    path.write_text("this is = = not toml")  # tomli's own errors: one line, as with tomllib
    with pytest.raises(ValueError, match=r"could not be parsed: "):
        load_config(path)


def test_neither_tomllib_nor_tomli_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    path = tmp_path / "exp.toml"
    path.write_text(TOML)
    with pytest.raises(MissingExtraError, match=r'reading a \.toml config on Python < 3\.11 needs '
                                                r'tomli, which is not installed: pip install '
                                                r'"droprune\[torch\]"'):
        load_config(path)
    json_path = tmp_path / "exp.json"  # JSON configs need neither
    json_path.write_text('{"preset": "mnist1d-cpu", "name": "j"}')
    assert load_config(json_path).name == "j"
