"""The query protocol: train a few short "query" models, score the training set with each,
average.

For each seed, one model (built with that seed: a registry name, ``"package.module:factory"``
or a callable ``factory(seed) -> nn.Module``, see :mod:`droprune.models.factory`) is trained with
:func:`droprune.training.train` for ``config.epochs`` epochs on the training split, validated
after every epoch on the validation split. That single run feeds every recorder scorer at once
(forgetting, dynunc, aum, el2n_trace); the post-hoc scorers (el2n, grand, grand_last_layer, ssp,
kcenter, random) then score the training set with the model of the FINAL epoch (the paper
scores after training for the given number of epochs: EL2N/GraNd after a few epochs of several
query models). The per-class validation recall is taken at the epoch of best validation
accuracy (first on ties) of each model.

Averaging: each score is the mean over seeds of the raw per-seed scores (as the paper averages
EL2N and GraNd over models); ``val_recall`` is the mean over seeds of each model's recall. This
``val_recall`` is what :func:`droprune.drop_quotas` takes, with ``val_counts`` (the number of
validation samples of each class, the same for every query model) for its noise-aware estimate.

Resume: with ``work_dir``, every training run checkpoints in ``work_dir/seed<k>/`` after each
epoch (an interrupted seed resumes from its last epoch, with identical results) and each
finished seed is saved atomically as ``work_dir/seed<k>.parquet``; a rerun with the same
arguments loads finished seeds instead of recomputing them. A work_dir holding a run with other
arguments is refused.

Distributed (``torchrun``): every rank runs the same plan; each query model trains with DDP on
the ranks' shards and every score is gathered by sample index onto every rank
(:mod:`droprune.training.distributed`), so each rank holds the full result. Only rank 0 reads
and writes the files of ``work_dir`` (finished seeds are broadcast to the other ranks; the
trainer's checkpoints are written by rank 0 and read by every rank on resume).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .._checks import check_int
from .._json import to_jsonable
from ..data.base import DatasetSplits
from ..models.factory import (
    ModelFactory,
    model_spec_name,
    resolve_model,
    seeded_model,
)
from ..training.config import TrainConfig
from ..training.distributed import run_on_main
from ..training.inference import check_embedding_source
from ..training.loop import train
from .registry import SCORERS, check_scorers, make_recorders, posthoc_scores
from .store import QueryResult, SeedResult, load_query_result, save_query_result

__all__ = ["QueryResult", "SeedResult", "run_query"]


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    try:
        seeds = list(seeds)
    except TypeError:
        raise ValueError(f"seeds must be a sequence of integers, got {seeds!r}") from None
    if not seeds:
        raise ValueError("seeds is empty: give at least one query-model seed")
    for s in seeds:
        check_int(s, "seeds", requirement="integers >= 0")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed trains the same model), got "
                         f"{seeds}")
    return [int(s) for s in seeds]


def _query_metadata(splits: DatasetSplits, model: Any, model_kwargs: Mapping[str, Any],
                    config: TrainConfig, scorers: list[str],
                    options: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What identifies a query run (everything but the seeds)."""
    return {
        "model": model_spec_name(model),
        "width": float(model_kwargs.get("width", 1.0)),
        "model_kwargs": dict(model_kwargs),
        "epochs": config.epochs,
        "config": config.to_dict(),
        "dataset_name": splits.train.name,
        "dataset_fingerprint": splits.train.fingerprint(),
        "val_fingerprint": splits.val.fingerprint(),
        "query_scorers": scorers,
        "scorer_options": {k: dict(v) for k, v in options.items()},
        "model_selection": "post-hoc scores: final-epoch model; val_recall: best-val-accuracy "
                           "epoch",
    }


def _same_run(saved: Mapping[str, Any], wanted: Mapping[str, Any], path: Path) -> None:
    """Refuse a finished-seed file written by another query run (JSON round trip compared)."""
    plain = to_jsonable(wanted, "metadata")
    diffs = [k for k in plain if saved.get(k) != plain[k]]
    if diffs:
        raise ValueError(f"{path} was written by another query run (differs in: "
                         f"{', '.join(diffs)}); delete it or pass another work_dir")


def _load_finished(path: Path, meta: Mapping[str, Any]) -> SeedResult | None:
    """The saved result of a finished seed (None when there is none yet); a file written by
    another query run is refused."""
    if not path.exists():
        return None
    saved = load_query_result(path, expected_fingerprint=meta["dataset_fingerprint"])
    _same_run(saved.metadata, meta, path)
    return saved.per_seed[0]


def _run_seed(splits: DatasetSplits, seed: int, *, factory: ModelFactory,
              config: TrainConfig, scorers: list[str],
              options: Mapping[str, Mapping[str, Any]], device: torch.device | str | None,
              checkpoint_dir: Path | None, progress: bool) -> SeedResult:
    train_set = splits.train
    model = seeded_model(factory, seed)  # the initial weights depend on the seed only
    if any(SCORERS[n].needs_embeddings for n in scorers):
        check_embedding_source(model)  # before training, not after
    recording = [n for n in scorers if SCORERS[n].kind == "recorder"]
    recorders = make_recorders(recording, {n: options[n] for n in recording if n in options}) \
        if recording else []
    result = train(model, train_set, config, seed=seed, val_set=splits.val, recorders=recorders,
                   checkpoint_dir=checkpoint_dir, device=device, progress=progress)
    scores = {rec.name: rec.scores() for rec in recorders}
    posthoc = [n for n in scorers if SCORERS[n].kind == "posthoc"]
    if posthoc:
        scores.update(posthoc_scores(posthoc, result.model, train_set, seed=seed,
                                     options={n: options[n] for n in posthoc if n in options},
                                     batch_size=config.eval_batch_size, distributed=True))
    return SeedResult(seed=seed, scores={n: scores[n] for n in scorers},
                      val_recall=np.asarray(result.best_val_class_recall, dtype=np.float64),
                      best_epoch=int(result.best_epoch),
                      val_accuracy=[float(h.val_accuracy) for h in result.history])


def run_query(splits: DatasetSplits, *, model: str | ModelFactory | None = None,
              model_kwargs: Mapping[str, Any] | None = None, config: TrainConfig,
              seeds: Sequence[int], scorers: Sequence[str],
              device: torch.device | str | None = None, work_dir: str | Path | None = None,
              progress: bool = True,
              scorer_options: Mapping[str, Mapping[str, Any]] | None = None,
              model_name: str | None = None) -> QueryResult:
    """Train one query model per seed, score the training split with each, average.

    Parameters
    ----------
    splits
        Train / validation / test splits; only ``train`` (scored) and ``val`` (recall) are used.
        Splits may hold any data :func:`droprune.data.as_labelled` takes.
    model
        Which model each seed trains (see :mod:`droprune.models.factory`): a name of
        :data:`droprune.models.MODELS`, built for the training split (its number of classes,
        input channels and input size); ``"package.module:factory"``; or a callable
        ``factory(seed) -> nn.Module`` returning a fresh model that maps a normalised batch to
        logits (B, K). A factory is called inside a fork of the CPU random generator seeded
        with the seed, so its initial weights depend on the seed only (build on the CPU). The
        metadata records the name, the import path or ``"module:qualname"`` of the callable.
    model_kwargs
        For a registry name: more arguments of :func:`droprune.models.build_model` (e.g.
        ``{"width": 0.5}``).
    config
        Training configuration of every query model (``config.epochs`` is the query length).
    seeds
        One query model per seed (distinct integers >= 0).
    scorers
        Names from :data:`droprune.scoring.SCORERS`; recorder and post-hoc scorers mix freely.
    device
        Training and scoring device (None: CUDA when available, else CPU).
    work_dir
        Folder for checkpoints and finished seeds (resume without recomputation).
    progress
        Show the trainer's progress bars.
    scorer_options
        Per-scorer options, e.g. ``{"forgetting": {"never_learned": "zero"},
        "grand": {"chunk_size": 64}}``.
    model_name
        Deprecated alias of ``model`` (a registry name).

    Returns
    -------
    QueryResult
        Averaged scores, averaged validation recall, per-seed details, metadata.

    Examples
    --------
    >>> from droprune.scoring import run_query
    >>> # result = run_query(splits, model="cnn1d", config=TrainConfig(epochs=20),
    >>> #                    seeds=[0, 1, 2], scorers=["el2n", "forgetting"])
    >>> # mine = run_query(splits, model=lambda seed: MyNet(), config=TrainConfig(epochs=20),
    >>> #                  seeds=[0, 1, 2], scorers=["el2n"])
    >>> # counts = droprune.drop_quotas(splits.train.class_sizes, result.val_recall, 0.5)
    """
    if model_name is not None:
        if model is not None:
            raise ValueError("give the model once: model= (model_name is its deprecated alias)")
        warnings.warn("run_query(model_name=...) is deprecated: use model=...",
                      DeprecationWarning, stacklevel=2)
        model = model_name
    if model is None:
        raise ValueError("model is required: a model name, 'package.module:factory' or a "
                         "factory(seed) -> nn.Module")
    model_kwargs = dict(model_kwargs or {})
    options = {k: dict(v) for k, v in (scorer_options or {}).items()}
    # no scorers is fine: the query models then only give the validation recalls (Random+DRoP)
    names = check_scorers(scorers, options, allow_empty=True)
    seed_list = _check_seeds(seeds)
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(splits, DatasetSplits):
        raise ValueError(f"splits must be a DatasetSplits, got {type(splits).__name__}")
    if len(splits.val) == 0:
        raise ValueError("splits.val is empty: the query protocol needs validation data for "
                         "the per-class recall")
    factory = resolve_model(model, splits.train, model_kwargs)
    meta = _query_metadata(splits, model, model_kwargs, config, names, options)
    # model_kwargs and options must be storable in the score files: fail now
    to_jsonable(meta, "metadata")
    work = None if work_dir is None else Path(work_dir)
    per_seed: list[SeedResult] = []
    for seed in seed_list:
        done = None if work is None else work / f"seed{seed}.parquet"
        saved = None if done is None else run_on_main(_load_finished, done, meta)
        if saved is not None:
            per_seed.append(saved)
            continue
        result = _run_seed(splits, seed, factory=factory, config=config, scorers=names,
                           options=options, device=device, progress=progress,
                           checkpoint_dir=None if work is None else work / f"seed{seed}")
        if done is not None:
            run_on_main(save_query_result, done, _combine([result], splits, meta))
        per_seed.append(result)
    return _combine(per_seed, splits, meta)


def _combine(per_seed: list[SeedResult], splits: DatasetSplits,
             meta: Mapping[str, Any]) -> QueryResult:
    names = list(per_seed[0].scores)
    scores = {n: np.mean([s.scores[n] for s in per_seed], axis=0) for n in names}
    val_recall = np.mean([s.val_recall for s in per_seed], axis=0)
    metadata = dict(meta, seeds=[s.seed for s in per_seed])
    # every query model's recall is measured on the same validation samples: n_k per class
    val_counts = splits.val.class_sizes
    return QueryResult(scores=scores, val_recall=val_recall,
                       labels=np.asarray(splits.train.labels), per_seed=per_seed,
                       metadata=metadata, val_counts=val_counts)
