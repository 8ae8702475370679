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
arguments loads finished seeds instead of recomputing them.

Several workers on one ``work_dir`` (sweeps or ``droprune prune`` commands started together)
train each query model once: a worker claims a seed in ``work_dir/claims.sqlite``
(:class:`droprune._claims.Claims`, the sweep's claims: a lease renewed at every epoch end,
released at once when its process on this host is gone) before training it; a seed another
worker holds is skipped for one nobody holds, then waited for (a look every
:data:`MAX_POLL_SECONDS` at most) and loaded once saved, or taken over (resuming its
checkpoint) when its holder died or its lease expired.

What is reused is keyed on what determines the models (``work_dir/query.json``, and each
finished seed's metadata): the model spec and its arguments, for the user's own factory the
sha256 of the file that defines it and a hash of the built model's parameter names and shapes
(:func:`~droprune.models.factory.factory_source`, :func:`~droprune.models.factory.model_shapes`),
the training config, the datasets' fingerprints and the scorers with their options. When any
of it changed, the files of the work_dir were made by another query run: they are removed and
the models retrained, saying what changed (``on_change="retrain"``, the default), or the call
is refused (``on_change="refuse"``, what a sweep asks: its finished runs used those models).

Distributed (``torchrun``): every rank runs the same plan; each query model trains with DDP on
the ranks' shards and every score is gathered by sample index onto every rank
(:mod:`droprune.training.distributed`), so each rank holds the full result. Only rank 0 reads
and writes the files of ``work_dir`` (finished seeds are broadcast to the other ranks; the
trainer's checkpoints are written by rank 0 and read by every rank on resume).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, cast

import numpy as np
import torch

from .._checks import check_int
from .._claims import CLAIMS_FILE, Claims
from .._io import atomic_write_json
from .._json import to_jsonable
from ..data.base import DatasetSplits
from ..models.factory import (
    ModelFactory,
    factory_source,
    is_import_path,
    model_shapes,
    model_spec_name,
    resolve_model,
    seeded_model,
)
from ..training.config import TrainConfig
from ..training.hooks import Callback
from ..training.distributed import is_main, run_on_main
from ..training.inference import check_embedding_source
from ..training.loop import train
from .registry import SCORERS, check_scorers, make_recorders, posthoc_scores
from .store import QueryResult, SeedResult, load_query_result, save_query_result

__all__ = ["KEY_FILE", "MAX_POLL_SECONDS", "QueryResult", "SeedResult", "run_query"]

logger = logging.getLogger(__name__)

#: the file of a work_dir that names the query run its models belong to (its metadata)
KEY_FILE = "query.json"
#: the files of a work_dir that belong to one query model: finished seeds and checkpoints
_SEED_FILE = re.compile(r"^seed\d+(\.parquet)?$")
#: the longest wait between two looks at a query model another worker trains
MAX_POLL_SECONDS = 2.0


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
                    options: Mapping[str, Mapping[str, Any]],
                    built: torch.nn.Module | None) -> dict[str, Any]:
    """What identifies a query run (everything but the seeds). For the user's own factory
    (``built``: a model it built; None for a registry name) also the sha256 of its source
    file and the model's parameter shapes."""
    own = {} if built is None else {"model_source": (factory_source(model) or {}).get("sha256"),
                                    "model_shapes": model_shapes(built)}
    return {**own,
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


def _changes(saved: Any, plain: Mapping[str, Any]) -> list[str]:
    """What differs between two query metadata (JSON round trip), as ``key`` or ``key.field``
    (one level into sections such as the training config).

    Examples
    --------
    >>> _changes({"config": {"lr": 0.1, "epochs": 3}, "model": "mlp"},
    ...          {"config": {"lr": 0.01, "epochs": 3}, "model": "mlp"})
    ['config.lr (0.1 then, 0.01 now)']
    """
    saved = saved if isinstance(saved, Mapping) else {}
    out = []
    for key, now in plain.items():
        then = saved.get(key)
        if then == now:
            continue
        if isinstance(then, Mapping) and isinstance(now, Mapping):
            out += [f"{key}.{k} ({then.get(k)!r} then, {now.get(k)!r} now)"
                    for k in sorted(set(then) | set(now), key=str) if then.get(k) != now.get(k)]
        elif key in ("model_source", "model_shapes"):
            out.append({"model_source": "the factory's source file",
                        "model_shapes": "the model's parameter shapes"}[key])
        else:
            out.append(f"{key} ({then!r} then, {now!r} now)")
    return out


def _describe(changes: list[str]) -> str:
    """At most four changes, joined."""
    more = f"; and {len(changes) - 4} more" if len(changes) > 4 else ""
    return "; ".join(changes[:4]) + more


def _remove_seed_files(work: Path, seeds: Sequence[int] | None = None) -> None:
    """Remove the finished-seed files and checkpoints of ``seeds`` (None: every seed)."""
    for p in sorted(work.iterdir()) if work.is_dir() else []:
        name = p.name[:-len(".parquet")] if p.name.endswith(".parquet") else p.name
        if _SEED_FILE.match(p.name) and (seeds is None or name in {f"seed{s}" for s in seeds}):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


#: query files made by another query run: (where, what changed, their seeds; None: every seed)
_Stale = tuple[str, list[str], "list[int] | None"]


def _look(work: Path, seeds: list[int], meta: Mapping[str, Any]
          ) -> tuple[dict[int, SeedResult], list[_Stale]]:
    """What ``work`` holds for this query run, read only (rank 0 alone): the finished seeds
    that can be reused, and the query files made by another query run (``query.json`` naming
    another setup: every seed; else each finished seed whose metadata differs)."""
    plain = to_jsonable(meta, "metadata")
    key = work / KEY_FILE
    if key.is_file() and any(_SEED_FILE.match(p.name) for p in work.iterdir()):
        try:
            saved = json.loads(key.read_text())
        except (OSError, ValueError):
            saved = None
        if saved != plain:
            return {}, [(str(work), _changes(saved, plain) or ["an unreadable query.json"],
                         None)]
    found: dict[int, SeedResult] = {}
    stale: list[_Stale] = []
    for seed in seeds:
        saved_seed, changes = _finished(work, seed, plain)
        if changes:
            stale.append((str(work / f"seed{seed}.parquet"), changes, [seed]))
        elif saved_seed is not None:
            found[seed] = saved_seed
    return found, stale


def _finished(work: Path, seed: int, plain: Any) -> tuple[SeedResult | None, list[str]]:
    """The finished seed ``seed`` saved in ``work`` (None when there is none) and what differs
    between its metadata and this query run's (``plain``: the JSON round trip of it)."""
    path = work / f"seed{seed}.parquet"
    if not path.exists():
        return None, []
    saved = load_query_result(path)
    return saved.per_seed[0], _changes(saved.metadata, plain)


def _take(claims: Claims, work: Path, seed: int, plain: Any) -> tuple[str, Any]:
    """Whether this worker trains ``seed`` (rank 0 alone): ``("mine", None)`` once it holds the
    seed's claim, ``("held", worker)`` while another worker holds it, ``("done", SeedResult)``
    when a worker has saved it meanwhile (before or just after this worker's claim)."""
    saved, changes = _finished(work, seed, plain)
    if saved is not None and not changes:
        return "done", saved
    claimed, other = claims.claim(f"seed{seed}")
    if not claimed:
        return "held", other
    saved, changes = _finished(work, seed, plain)  # saved by its holder just before our claim
    if saved is not None and not changes:
        claims.release(f"seed{seed}")
        return "done", saved
    return "mine", None


class RenewClaim(Callback):
    """A training callback: renews this worker's claim of what it trains (a query model here, a
    run in a sweep) at every epoch end, so that the lease outlives the training (rank 0 alone
    under torchrun)."""

    def __init__(self, claims: Claims | None, run_id: str) -> None:
        self.claims, self.run_id = claims, run_id

    def on_epoch_end(self, epoch: int, stats: Any) -> None:
        run_on_main(Claims.claim, self.claims, self.run_id)


def _bind(work: Path, meta: Mapping[str, Any], stale: list[_Stale],
          log: Callable[[str], None]) -> None:
    """Make ``work`` this query run's (rank 0 alone): the stale query files announced and
    removed, ``query.json`` written."""
    for where, changes, seeds in stale:
        log(f"{where}: the query models there were made with another setup "
            f"({_describe(changes)}): retraining")
        _remove_seed_files(work, seeds)
    atomic_write_json(work / KEY_FILE, to_jsonable(meta, "metadata"))


def _copy(model: torch.nn.Module, factory: ModelFactory, seed: int) -> torch.nn.Module:
    """A copy of a built model (built anew when it cannot be deep-copied)."""
    import copy

    try:
        return copy.deepcopy(model)
    except Exception:  # noqa: BLE001 -- a module that cannot be copied is built again
        return seeded_model(factory, seed)


def _warn(message: str) -> None:
    """The default ``log`` of :func:`run_query`: a ``RuntimeWarning``."""
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _run_seed(splits: DatasetSplits, seed: int, *, factory: ModelFactory,
              config: TrainConfig, scorers: list[str],
              options: Mapping[str, Mapping[str, Any]], device: torch.device | str | None,
              checkpoint_dir: Path | None, progress: bool,
              model: torch.nn.Module | None = None,
              callbacks: Sequence[Callback] = ()) -> SeedResult:
    train_set = splits.train
    if model is None:  # (or built already, the same way) the initial weights depend on the seed
        model = seeded_model(factory, seed)
    if any(SCORERS[n].needs_embeddings for n in scorers):
        check_embedding_source(model)  # before training, not after
    recording = [n for n in scorers if SCORERS[n].kind == "recorder"]
    recorders = make_recorders(recording, {n: options[n] for n in recording if n in options}) \
        if recording else []
    result = train(model, train_set, config, seed=seed, val_set=splits.val, recorders=recorders,
                   callbacks=callbacks, checkpoint_dir=checkpoint_dir, device=device,
                   progress=progress)
    scores = {rec.name: rec.scores() for rec in recorders}
    posthoc = [n for n in scorers if SCORERS[n].kind == "posthoc"]
    if posthoc:
        scores.update(posthoc_scores(posthoc, result.model, train_set, seed=seed,
                                     options={n: options[n] for n in posthoc if n in options},
                                     batch_size=config.eval_batch_size, distributed=True))
    return SeedResult(seed=seed, scores={n: scores[n] for n in scorers},
                      val_recall=np.asarray(result.best_val_class_recall, dtype=np.float64),
                      # trained with a val_set: every epoch has a validation accuracy
                      best_epoch=int(cast(int, result.best_epoch)),
                      val_accuracy=[float(cast(float, h.val_accuracy)) for h in result.history])


def run_query(splits: DatasetSplits, *, model: str | ModelFactory | None = None,
              model_kwargs: Mapping[str, Any] | None = None, config: TrainConfig,
              seeds: Sequence[int], scorers: Sequence[str],
              device: torch.device | str | None = None, work_dir: str | Path | None = None,
              progress: bool = True,
              scorer_options: Mapping[str, Mapping[str, Any]] | None = None,
              model_name: str | None = None, on_change: str = "retrain",
              before_training: Callable[[Any, list[int], TrainConfig], None] | None = None,
              log: Callable[[str], None] | None = None) -> QueryResult:
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
    on_change
        What a ``work_dir`` holding query models of another setup (see the module docstring)
        gets: ``"retrain"`` (removed and retrained, after a message) or ``"refuse"``
        (``ValueError``).
    before_training
        Called once before the first query model is trained (not when every seed is reused)
        as ``before_training(model, seeds, config)``: a fresh model of the first seed to
        train (the caller may run it, e.g. to time a batch), the seeds that will train and the
        training config. An exception it raises stops the call before any training.
    log
        Where the one-line messages go (models retrained, and why; a query model another
        worker trains, waited for); default: a ``RuntimeWarning`` for the former, the
        ``droprune`` logger at INFO for the latter.

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
    if on_change not in ("retrain", "refuse"):
        raise ValueError(f"on_change must be 'retrain' or 'refuse', got {on_change!r}")
    note = logger.info if log is None else log
    log = _warn if log is None else log
    factory = resolve_model(model, splits.train, model_kwargs)
    built: dict[int, torch.nn.Module] = {}  # models built before their training: used for it
    own = not (isinstance(model, str) and not is_import_path(model))
    if own:  # the user's factory: its model's shapes are part of the key
        built[seed_list[0]] = seeded_model(factory, seed_list[0])
    meta = _query_metadata(splits, model, model_kwargs, config, names, options,
                           built.get(seed_list[0]))
    # model_kwargs and options must be storable in the score files: fail now
    to_jsonable(meta, "metadata")
    work = None if work_dir is None else Path(work_dir)
    found, stale = ({}, []) if work is None else run_on_main(_look, work, seed_list, meta)
    if stale and on_change == "refuse":
        where, changes, _ = stale[0]
        raise ValueError(f"{where} holds query models of another query run "
                         f"({_describe(changes)}); they cannot be reused: use a new folder")
    pending = [s for s in seed_list if s not in found]
    if pending and before_training is not None:  # before anything is written
        first = built.setdefault(pending[0], seeded_model(factory, pending[0]))
        before_training(_copy(first, factory, pending[0]), pending, config)
    if work is not None:
        run_on_main(_bind, work, meta, stale, log)
    claims = Claims(work / CLAIMS_FILE) if work is not None and is_main() else None
    plain = to_jsonable(meta, "metadata")
    trained: list[int] = []
    told: set[int] = set()  # seeds said to be waited for
    todo, pause = pending, 0.05
    while todo:
        held = []
        for seed in todo:
            state, value = ("mine", None) if work is None else run_on_main(
                _take, claims, work, seed, plain)
            if state == "done":  # trained and saved by another worker
                found[seed] = cast(SeedResult, value)
                continue
            if state == "held":
                held.append(seed)
                if seed not in told:
                    told.add(seed)
                    note(f"{work}: worker {value} trains the query model of seed {seed}; "
                         f"waiting for it")
                continue
            try:
                found[seed] = _run_seed(
                    splits, seed, factory=factory, config=config, scorers=names,
                    options=options, device=device, progress=progress,
                    checkpoint_dir=None if work is None else work / f"seed{seed}",
                    model=built.pop(seed, None),
                    callbacks=() if work is None else [RenewClaim(claims, f"seed{seed}")])
                if work is not None:
                    run_on_main(save_query_result, work / f"seed{seed}.parquet",
                                _combine([found[seed]], splits, meta))
            finally:  # saved, or failed: others need not wait for the lease
                if work is not None:
                    run_on_main(Claims.release, claims, f"seed{seed}")
            trained.append(seed)
        if held:  # other workers train them: look again soon
            time.sleep(pause)
            pause = min(2 * pause, MAX_POLL_SECONDS)
        todo = held
    return _combine([found[s] for s in seed_list], splits, meta,
                    trained=[s for s in seed_list if s in trained])


def _combine(per_seed: list[SeedResult], splits: DatasetSplits,
             meta: Mapping[str, Any], trained: Sequence[int] | None = None) -> QueryResult:
    """The result of ``per_seed``; with ``trained`` (the seeds trained by this call, the
    others reused) the metadata records which."""
    names = list(per_seed[0].scores)
    scores = {n: np.mean([s.scores[n] for s in per_seed], axis=0) for n in names}
    val_recall = np.mean([s.val_recall for s in per_seed], axis=0)
    metadata = dict(meta, seeds=[s.seed for s in per_seed])
    if trained is not None:
        metadata["trained_seeds"] = list(trained)
    # every query model's recall is measured on the same validation samples: n_k per class
    val_counts = splits.val.class_sizes
    return QueryResult(scores=scores, val_recall=val_recall,
                       labels=np.asarray(splits.train.labels), per_seed=per_seed,
                       metadata=metadata, val_counts=val_counts)
