"""The one KEY=VALUE parser (``--set`` overrides, ``--option`` source options)."""

from __future__ import annotations

import pytest

from droprune._kv import parse_assignment, parse_value
from droprune.cli.data import parse_options
from droprune.experiments.config import apply_overrides


@pytest.mark.parametrize("text, value", [
    ("10", 10), ("0.5", 0.5), ("true", True), ("null", None), ("[1, 2]", [1, 2]),
    ('{"a": 1}', {"a": 1}), ('"x,y"', "x,y"), ("0.3,0.5", [0.3, 0.5]), ("0.3,", [0.3]),
    ("Random, EL2N", ["Random", "EL2N"]), ("abc", "abc"), (" 7 ", 7), ("", ""),
])
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_parse_assignment_and_its_errors():
    assert parse_assignment(" a.b = 1,2", "--set", "k=v") == ("a.b", [1, 2])
    assert parse_assignment("a==b", "--set", "k=v") == ("a", "=b")
    for bad in ("novalue", "=3", " =3"):
        with pytest.raises(ValueError, match=r"--set must look like KEY=VALUE \(e.g. k=v\)"):
            parse_assignment(bad, "--set", "k=v")


def test_overrides_and_source_options_read_values_alike():
    items = ["n=2000", "means=[0, 1]", "names=a,b", "label=x"]
    assert parse_options(items) == apply_overrides({}, items) == {
        "n": 2000, "means": [0, 1], "names": ["a", "b"], "label": "x"}
