"""droprune._json: the one JSON convention (NaN -> null, +-inf -> "inf"/"-inf", numpy, paths)
and every writer that uses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from droprune._io import atomic_write_json
from droprune._json import dumps, to_jsonable
from droprune.cli._common import dump_json

NASTY = {"nan": float("nan"), "inf": np.inf, "ninf": np.float32(-np.inf), "i": np.int64(3),
         "b": np.bool_(False), "arr": np.array([[1.5, np.nan]]), "tup": (1, "x", None),
         "path": Path("a") / "b.npy", 7: [np.float64(0.25)]}
PLAIN = {"nan": None, "inf": "inf", "ninf": "-inf", "i": 3, "b": False, "arr": [[1.5, None]],
         "tup": [1, "x", None], "path": str(Path("a") / "b.npy"), "7": [0.25]}


def strict_loads(text: str):
    """json.loads that refuses the non-standard NaN/Infinity tokens."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_to_jsonable_converts_everything_once():
    out = to_jsonable(NASTY)
    assert out == PLAIN
    assert type(out["i"]) is int and type(out["b"]) is bool and type(out["7"][0]) is float
    assert float(out["inf"]) == np.inf and float(out["ninf"]) == -np.inf  # read back


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", np.datetime64("2024-01-01")])
def test_to_jsonable_refuses_what_has_no_json_form(value):
    with pytest.raises(ValueError, match=r"metadata\['a'\]\[0\] = .* cannot be stored as JSON"):
        to_jsonable({"a": [value]}, "metadata")


def test_every_writer_follows_the_convention(tmp_path):
    assert strict_loads(dumps(NASTY)) == PLAIN
    assert strict_loads(dump_json(NASTY)) == PLAIN  # the CLI's --json output
    # atomic_write_json used to write the non-standard NaN / Infinity tokens
    path = atomic_write_json(tmp_path / "x.json", NASTY)
    assert strict_loads(path.read_text()) == PLAIN
    assert path.read_text() == dumps(NASTY, indent=2, sort_keys=True) + "\n"


def test_dumps_passes_options_to_json():
    assert dumps({"b": 1, "a": (np.nan,)}, sort_keys=True) == '{"a": [null], "b": 1}'
