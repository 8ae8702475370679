"""The record of one finished final run: :class:`RunRecord`, the one definition of a result row.

Each field carries its SQL column type (``metadata["sql"]``) and whether the column holds JSON
text (``metadata["json"]``); the results store (:mod:`droprune.experiments.store`) derives its
table, its JSON columns and its NOT NULL checks from these fields, in field order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._json import to_jsonable

__all__ = ["RunRecord"]


def _column(sql: str, *, json: bool = False, filled_by_store: bool = False) -> Any:
    """A record field stored in an SQL column of type ``sql``. Nullable columns, and the
    columns the store fills in when they are None, default to None."""
    meta = {"sql": sql, "json": json, "filled_by_store": filled_by_store}
    nullable = "NOT NULL" not in sql and "PRIMARY KEY" not in sql
    return field(default=None, metadata=meta) if nullable or filled_by_store \
        else field(metadata=meta)


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One finished final run: identity, test metrics, selection summary.

    Scalars are plain Python numbers and strings (numpy scalars are converted); the JSON
    fields hold plain JSON data (lists / dicts; arrays and tuples become lists, NaN becomes
    None, see :mod:`droprune._json`). A required field that is None raises ``ValueError``.

    Attributes
    ----------
    run_id
        Stable id of the run (:meth:`droprune.experiments.pipeline.RunSpec.run_id`).
    experiment, fingerprint, dataset, model
        The experiment's name, the fingerprint of its final-run config, dataset and model.
    method, strategy, family, quota, cdbw
        The method (name, within-class strategy, strategy family, quota rule, CDB-W 0/1).
    density, seed, kept, epochs
        Fraction kept, seed, number of samples kept, training epochs of the final model whose
        test metrics are reported: the schedule's length, or with
        ``protocol_options.report_epoch="best_val"`` the epoch of best validation accuracy
        + 1 (so the reported epoch is always ``epochs - 1``, 0-based).
    accuracy, worst_class_accuracy, worst_class, worst_class_name, gap, std
        Test metrics (:func:`droprune.metrics.robustness_report`).
    worst_group_accuracy, group_weighted_accuracy, group_accuracy
        Group metrics (None without groups).
    min_samples_per_class
        Fewest samples any class keeps.
    class_recall, class_sizes, class_counts, class_density, class_names, val_recall
        Per-class lists: test recall, training size, kept count, kept fraction, names (or
        None), DRoP's validation recall (or None).
    selection_file
        The saved kept indices, relative to the sweep folder.
    seconds, config
        Wall time of the run; the experiment config (a dict).
    droprune_version, created
        Filled in by the store when None (the installed version; the UTC time of writing).

    Examples
    --------
    >>> import numpy as np
    >>> r = RunRecord(run_id="r1", experiment="x", fingerprint="f", dataset="toy", model="mlp",
    ...               method="Random+DRoP", strategy="Random", family="Random", quota="drop",
    ...               cdbw=0, density=0.5, seed=0, kept=5, epochs=3, accuracy=0.8,
    ...               worst_class_accuracy=0.5, worst_class=1, worst_class_name="1", gap=0.4,
    ...               std=0.2, min_samples_per_class=2, class_recall=np.array([0.9, np.nan]),
    ...               class_sizes=[6, 4], class_counts=np.array([3, 2]),
    ...               class_density=[0.5, 0.5], seconds=1.0, config={"name": "x"})
    >>> r.class_recall, r.class_counts
    ([0.9, None], [3, 2])
    """

    run_id: str = _column("TEXT PRIMARY KEY")
    experiment: str = _column("TEXT NOT NULL")
    fingerprint: str = _column("TEXT NOT NULL")
    dataset: str = _column("TEXT NOT NULL")
    model: str = _column("TEXT NOT NULL")
    method: str = _column("TEXT NOT NULL")
    strategy: str = _column("TEXT NOT NULL")
    family: str = _column("TEXT NOT NULL")
    quota: str = _column("TEXT NOT NULL")
    cdbw: int = _column("INTEGER NOT NULL")
    density: float = _column("REAL NOT NULL")
    seed: int = _column("INTEGER NOT NULL")
    kept: int = _column("INTEGER NOT NULL")
    epochs: int = _column("INTEGER NOT NULL")
    accuracy: float = _column("REAL NOT NULL")
    worst_class_accuracy: float = _column("REAL NOT NULL")
    worst_class: int = _column("INTEGER NOT NULL")
    worst_class_name: str = _column("TEXT NOT NULL")
    gap: float = _column("REAL NOT NULL")
    std: float = _column("REAL NOT NULL")
    worst_group_accuracy: float | None = _column("REAL")
    group_weighted_accuracy: float | None = _column("REAL")
    min_samples_per_class: int = _column("INTEGER NOT NULL")
    # per-class fields: given as lists or arrays, stored as lists (see __post_init__)
    class_recall: list | np.ndarray = _column("TEXT NOT NULL", json=True)
    group_accuracy: list | np.ndarray | None = _column("TEXT", json=True)
    class_sizes: list | np.ndarray = _column("TEXT NOT NULL", json=True)
    class_counts: list | np.ndarray = _column("TEXT NOT NULL", json=True)
    class_density: list | np.ndarray = _column("TEXT NOT NULL", json=True)
    class_names: list | None = _column("TEXT", json=True)
    val_recall: list | np.ndarray | None = _column("TEXT", json=True)
    selection_file: str | None = _column("TEXT")
    seconds: float = _column("REAL NOT NULL")
    config: dict = _column("TEXT NOT NULL", json=True)
    droprune_version: str | None = _column("TEXT NOT NULL", filled_by_store=True)
    created: str | None = _column("TEXT NOT NULL", filled_by_store=True)

    def __post_init__(self) -> None:
        missing = [f.name for f in dataclasses.fields(self)
                   if getattr(self, f.name) is None and _required(f)]
        if missing:
            raise ValueError(f"result record lacks {missing}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, _normalised(f, value))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "RunRecord":
        """A record from a dict of field values (e.g. a row read back from a store).

        Raises
        ------
        ValueError
            If a required field is missing or None, or a key is not a field.
        """
        fields = dataclasses.fields(cls)
        missing = [f.name for f in fields if _required(f) and values.get(f.name) is None]
        if missing:
            raise ValueError(f"result record lacks {missing}")
        unknown = sorted(set(values) - {f.name for f in fields})
        if unknown:
            raise ValueError(f"result record has unknown fields {unknown}")
        return cls(**values)


def _required(f: dataclasses.Field) -> bool:
    sql = f.metadata["sql"]
    return ("NOT NULL" in sql or "PRIMARY KEY" in sql) and not f.metadata["filled_by_store"]


def _normalised(f: dataclasses.Field, value: Any) -> Any:
    """``value`` as stored in field ``f``: JSON data, or a Python scalar of the column type."""
    if f.metadata["json"]:
        return to_jsonable(value, f"result record field {f.name}")
    if isinstance(value, np.generic):
        value = value.item()
    sql = f.metadata["sql"]
    if sql.startswith("INTEGER") and isinstance(value, int):
        return int(value)
    if sql.startswith("REAL") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if sql.startswith("TEXT") and isinstance(value, str):
        return value
    kind = {"INTEGER": "an integer", "REAL": "a number", "TEXT": "a string"}[sql.split()[0]]
    raise ValueError(f"result record field {f.name} must be {kind}, got {value!r}")
