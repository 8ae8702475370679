"""Score files: Parquet tables other tools can read without droprune.

Layout
------
One row per sample, in dataset order: column ``index`` (0..N-1, int64), ``label`` (int64) and
one float64 column per score (higher = harder = kept first). A query result adds one column per
seed and score, named ``<score>@seed<k>``. The metadata is a JSON object stored in the Parquet
schema metadata under the key ``droprune``: scorer names, model, width, seeds, epochs, dataset
name and fingerprint, droprune version, creation time (UTC) and the orientation.

Files are written atomically (temporary file + ``os.replace``): a reader never sees a half
written file. :func:`load_scores` (and the format's constants) live in :mod:`droprune.inputs`,
which reads score files without torch; they are re-exported here.

Examples
--------
>>> import numpy as np, pandas as pd, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "scores.parquet")
>>> _ = save_scores(path, {"el2n": np.array([0.1, 0.9])}, labels=[0, 1],
...                 metadata={"dataset_fingerprint": "abc"})
>>> pd.read_parquet(path)["el2n"].tolist()
[0.1, 0.9]
>>> frame, meta = load_scores(path, expected_fingerprint="abc")
>>> meta["orientation"]
'higher = harder = kept first'
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._checks import as_labels
from .._io import write_table
from .._json import dumps
from ..inputs import METADATA_KEY, ORIENTATION, SEED_SEP, load_scores

__all__ = ["METADATA_KEY", "ORIENTATION", "QueryResult", "SeedResult", "load_query_result",
           "load_scores", "save_query_result", "save_scores"]


def save_scores(path: str | Path, scores: Mapping[str, Any], *, labels: Any,
                metadata: Mapping[str, Any] | None = None) -> Path:
    """Write per-sample scores to a Parquet file, atomically.

    Parameters
    ----------
    path
        Destination (``.parquet``); the folder is created when missing.
    scores
        Column name -> (N,) scores, index-aligned with the dataset (row i = sample i).
    labels
        Class label of each sample, (N,).
    metadata
        JSON-able description. Recognised keys: ``model``, ``width``, ``seeds``, ``epochs``,
        ``dataset_name``, ``dataset_fingerprint`` (checked by :func:`load_scores`), anything
        else is kept as is. ``scorers``, ``num_samples``, ``droprune_version``, ``created`` and
        ``orientation`` are filled in.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from .. import __version__

    lab = as_labels(labels)
    if not isinstance(scores, Mapping):
        # an empty dict is allowed: a query run with no scorers only records validation recalls
        raise ValueError("scores must be a dict of name -> per-sample scores")
    columns: dict[str, np.ndarray] = {"index": np.arange(lab.size, dtype=np.int64),
                                      "label": lab}
    for name, values in scores.items():
        if not isinstance(name, str) or not name or name in ("index", "label"):
            raise ValueError(f"score name {name!r} is not allowed: use a non-empty string other "
                             f"than 'index' and 'label'")
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.size != lab.size:
            raise ValueError(f"scores[{name!r}] has shape {arr.shape} but there are {lab.size} "
                             f"labels (scores are index-aligned with the dataset)")
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"scores[{name!r}] must be numbers, got dtype {arr.dtype}")
        columns[name] = arr.astype(np.float64)  # NaN (a sample never scored) is kept as NaN
    meta = dict(metadata or {})
    meta.setdefault("scorers", [c for c in scores if SEED_SEP not in c])
    meta.update(num_samples=int(lab.size), droprune_version=__version__,
                created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                orientation=ORIENTATION)
    text = dumps(meta, "metadata", sort_keys=True)
    return write_table(pd.DataFrame(columns), parquet=path,
                       metadata={METADATA_KEY: text.encode()})[0]


# -- query results ------------------------------------------------------------------------------
@dataclass
class SeedResult:
    """One query model: its scores and its validation recall.

    Attributes
    ----------
    seed
        The training seed.
    scores
        name -> float64 (N,).
    val_recall
        Per-class validation recall at the model's best-validation-accuracy epoch, (K,).
    best_epoch
        That epoch (0-based).
    val_accuracy
        Validation accuracy after each epoch.
    """

    seed: int
    scores: dict[str, np.ndarray]
    val_recall: np.ndarray
    best_epoch: int
    val_accuracy: list[float] = field(default_factory=list)


@dataclass
class QueryResult:
    """Scores averaged over query models, and what feeds :func:`droprune.drop_quotas`.

    Attributes
    ----------
    scores
        name -> float64 (N,), the mean over seeds of the raw scores.
    val_recall
        Mean over seeds of each model's per-class validation recall at its best epoch, (K,).
    labels
        Training labels (N,).
    per_seed
        One :class:`SeedResult` per query model, in the order of the seeds.
    metadata
        model, width, seeds, epochs, dataset name and fingerprint, config, scorer options.
    val_counts
        Number of validation samples of each class, (K,): what each recall was measured on
        (the ``val_counts`` of :func:`droprune.drop_quotas`); None in files written before
        droprune recorded it.
    """

    scores: dict[str, np.ndarray]
    val_recall: np.ndarray
    labels: np.ndarray
    per_seed: list[SeedResult]
    metadata: dict[str, Any]
    val_counts: np.ndarray | None = None


def save_query_result(path: str | Path, result: QueryResult) -> Path:
    """Write a :class:`QueryResult` as a score file: the averaged scores, one
    ``<score>@seed<k>`` column per seed, and the validation recalls in the metadata."""
    columns = dict(result.scores)
    for s in result.per_seed:
        for name, values in s.scores.items():
            columns[f"{name}{SEED_SEP}{s.seed}"] = values
    meta = dict(result.metadata)
    meta.update(
        scorers=list(result.scores), val_recall=np.asarray(result.val_recall),
        val_counts=None if result.val_counts is None else np.asarray(result.val_counts),
        seeds=[s.seed for s in result.per_seed],
        per_seed=[{"seed": s.seed, "best_epoch": s.best_epoch,
                   "val_recall": np.asarray(s.val_recall), "val_accuracy": s.val_accuracy}
                  for s in result.per_seed])
    return save_scores(path, columns, labels=result.labels, metadata=meta)


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def load_query_result(path: str | Path, *, expected_fingerprint: str | None = None
                      ) -> QueryResult:
    """Read a file written by :func:`save_query_result` (see :func:`load_scores` for errors)."""
    frame, meta = load_scores(path, expected_fingerprint=expected_fingerprint)
    if "per_seed" not in meta or "val_recall" not in meta:
        raise ValueError(f"{path} is a score file but not a query result (no per-seed "
                         f"validation recalls); read it with load_scores")
    names = list(meta["scorers"])
    per_seed = [SeedResult(seed=int(s["seed"]),
                           scores={n: frame[f"{n}{SEED_SEP}{s['seed']}"].to_numpy()
                                   for n in names},
                           val_recall=_floats(s["val_recall"]), best_epoch=int(s["best_epoch"]),
                           val_accuracy=[float(v) for v in s["val_accuracy"]])
                for s in meta["per_seed"]]
    reserved = {"scorers", "val_recall", "val_counts", "per_seed", "num_samples",
                "droprune_version", "created", "orientation"}
    counts = meta.get("val_counts")
    return QueryResult(scores={n: frame[n].to_numpy() for n in names},
                       val_recall=_floats(meta["val_recall"]),
                       labels=frame["label"].to_numpy().astype(np.int64), per_seed=per_seed,
                       metadata={k: v for k, v in meta.items() if k not in reserved},
                       val_counts=None if counts is None else np.asarray(counts, np.int64))
