"""RunRecord: the one definition of a result row (normalisation, checks, store columns)."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest
from .run_records import make_record

from droprune.experiments import record as record_module
from droprune.experiments.record import RunRecord
from droprune.experiments.store import COLUMNS, JSON_COLUMNS


def test_store_columns_are_the_record_fields():
    fields = dataclasses.fields(RunRecord)
    assert list(COLUMNS) == [f.name for f in fields]
    assert JSON_COLUMNS == ("class_recall", "group_accuracy", "class_sizes", "class_counts",
                            "class_density", "class_names", "val_recall", "config")


def test_values_are_normalised_to_plain_python():
    r = make_record(seed=np.int64(3), accuracy=np.float32(0.5), density=1, kept=np.int32(7),
                    class_sizes=np.array([10, 6, 4]), group_accuracy=np.array([np.nan, 0.5]),
                    config={"densities": (0.3, 0.5), 2: np.bool_(True)})
    assert r.seed == 3 and type(r.seed) is int and type(r.kept) is int
    assert r.accuracy == 0.5 and type(r.accuracy) is float
    assert r.density == 1.0 and type(r.density) is float
    assert r.class_recall == [0.9, 0.5, None] and r.class_counts == [5, 3, 2]
    assert r.class_sizes == [10, 6, 4] and r.group_accuracy == [None, 0.5]
    assert r.config == {"densities": [0.3, 0.5], "2": True}
    assert r.droprune_version is None and r.created is None  # the store fills them in
    assert r == make_record(seed=3, accuracy=0.5, density=1.0, kept=7, class_sizes=[10, 6, 4],
                            group_accuracy=[None, 0.5],
                            config={"densities": [0.3, 0.5], "2": True})


def test_a_record_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_record().accuracy = 0.1


@pytest.mark.parametrize("field, value, match", [
    ("accuracy", None, r"lacks \['accuracy'\]"),
    ("run_id", None, r"lacks \['run_id'\]"),
    ("seed", 1.5, "field seed must be an integer, got 1.5"),
    ("seed", "0", "field seed must be an integer"),
    ("accuracy", "0.8", "field accuracy must be a number"),
    ("accuracy", True, "field accuracy must be a number"),
    ("dataset", 3, "field dataset must be a string, got 3"),
    ("config", {"f": object()}, r"config\['f'\] = .* cannot be stored as JSON"),
])
def test_bad_fields(field, value, match):
    with pytest.raises(ValueError, match=match):
        make_record(**{field: value})


def test_from_mapping():
    values = dataclasses.asdict(make_record("x"))
    assert RunRecord.from_mapping(values) == make_record("x")
    for key in ("droprune_version", "created", "val_recall"):  # optional: may be left out
        del values[key]
    assert RunRecord.from_mapping(values) == make_record("x")
    del values["seed"], values["run_id"]
    with pytest.raises(ValueError, match=r"lacks \['run_id', 'seed'\]"):
        RunRecord.from_mapping(values)
    with pytest.raises(ValueError, match=r"unknown fields \['colour'\]"):
        RunRecord.from_mapping({**dataclasses.asdict(make_record()), "colour": "red"})


def test_docstring_examples():
    result = doctest.testmod(record_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
