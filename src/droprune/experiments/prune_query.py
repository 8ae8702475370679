"""The query models of a pruning of your own data (``droprune prune --data``): the experiment
config that trains them, and the per-class recalls and per-sample scores they give a pruning
that lacks them.

The query models are those of a sweep (:func:`droprune.experiments.sweep.query_for_seed`),
kept under ``work_dir/query`` and reloaded, not retrained, by a second call with the same
inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..methods import Method
from .config import ExperimentConfig, apply_overrides, config_from_dict
from .sweep import load_splits, query_for_seed

__all__ = ["dataset_record", "load_splits", "prune_query_config", "query_missing"]


def prune_query_config(base: Mapping[str, Any], *, data: str, root: str | Path | None = None,
                       options: Mapping[str, Any] | None = None, model: str | None = None,
                       overrides: Sequence[str] = (), method: Method, density: float,
                       seed: int, scores: bool) -> ExperimentConfig:
    """The experiment config of a pruning's query models.

    Parameters
    ----------
    base
        An experiment config as plain values (a preset's or a file's ``to_dict()``, or the
        default config's); its data section applies only when it names ``data``.
    data, root, options
        The dataset: registered name, folder (made absolute, so the kept list names absolute
        files) and source options (merged over the base's).
    model
        A registry name, or ``"package.module:factory"`` (a model of the user's own, which
        builds itself: no width, no pretrained weights).
    overrides
        ``key.path=value`` overrides applied last (they may set the dataset's keys too).
    method, density, seed
        The pruning: the grid of the config is this one run.
    scores
        Whether the query models must score the samples for ``method`` (else they only
        measure the validation recalls, as for ``Random+DRoP``).
    """
    values = dict(base)
    section = dict(values["data"]) if values["data"].get("name") == data else {"name": data}
    if root is not None:
        section["root"] = str(Path(root).resolve())
    if options:
        section["options"] = {**section.get("options", {}), **options}
    values["data"] = section
    if model is not None:
        values["model"] = {**values["model"], "name": model}
        if ":" in model:  # the factory builds its own model: no width or weights
            values["model"].update(width=1.0, pretrained=None)
    values = apply_overrides(values, list(overrides))
    values.update(methods=[method.name if scores else "Random+DRoP"], densities=[density],
                  seeds=[seed])
    return config_from_dict(values)


def query_missing(cfg: ExperimentConfig, splits: Any, method: Method, *, seed: int,
                  work_dir: str | Path, recalls: bool, scores: bool, device: Any = None,
                  progress: bool = True) -> dict[str, Any]:
    """Train (or reload from ``work_dir/query``) the query models of ``seed`` and return what
    the pruning lacked: ``recalls`` and ``val_counts`` (when ``recalls``), ``scores`` of the
    method's scorer (when ``scores``), and ``manifest``, a record of the query."""
    query = query_for_seed(cfg, splits, seed, Path(work_dir), device=device, progress=progress)
    found: dict[str, Any] = {"manifest": {"folder": str(Path(work_dir) / "query"),
                                          "config": cfg.to_dict(), "model": cfg.model.name}}
    if recalls:
        found.update(recalls=np.asarray(query.recall_for(method), dtype=np.float64),
                     val_counts=query.val_counts)
    if scores:
        found["scores"] = query.scores[method.scorers_needed[0]]
    return found


def dataset_record(cfg: ExperimentConfig, dataset: Any) -> dict[str, Any]:
    """What a manifest records of the dataset pruned: name, folder, source options, number of
    samples and fingerprint (``dataset.fingerprint()``)."""
    return {"name": cfg.data.name, "root": cfg.data.root, "options": dict(cfg.data.options),
            "samples": len(dataset), "fingerprint": dataset.fingerprint()}
