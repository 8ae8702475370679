"""Sweeps: methods x densities x seeds, resumable and shardable.

Layout of a sweep folder (``--out``)::

    config.json                       the experiment (a folder holds one experiment)
    results.sqlite                    one row per finished final run (or results-shard-I-of-N.sqlite)
    query/seed-S/short/, long/        query models' scores and recalls, reused by every run
    selections/<run_id>.npy           the indices each run kept (audit / retrain)
    checkpoints/<run_id>/             a final run in progress (removed once stored)
    claims.sqlite                     which worker trains which run (a lease each)

Resuming: run the same command again. Finished runs are read from every store of the folder and
skipped; a run interrupted mid-training resumes from its last epoch checkpoint (kept until the
run's row is committed); query runs resume likewise. Temporary files of writes killed over an
hour ago are removed. Rows are written in one transaction each, so none is duplicated or half
there.

Sharding: ``shard=(i, n)`` takes the i-th of n contiguous blocks of the run plan (ordered by
seed, so a shard needs the query models of few seeds) and writes its own store; the report
merges every store of the folder. Shards sharing a folder also share the query results.

Several workers: any number of sweeps of one folder split the remaining runs. Each claims a run
(:class:`~droprune.experiments.claims.Claims`) before training it, renews the lease at every
epoch end and releases it once the row is committed; runs that other workers hold are skipped,
then waited for (a look every quarter lease, at most every :data:`MAX_POLL_SECONDS`) until each
is stored or its lease expired (then it is taken over). A sweep returns once every run of its
plan is stored by some worker.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._checks import check_int
from .._io import atomic_write_json, remove_stale_temporaries
from .._progress import progress_bar
from ..scoring.query import RenewClaim
from .config import ExperimentConfig, check_device, config_from_dict
from .pipeline import (
    QUERY_RUN_KINDS,
    QueryOutputs,
    RunSpec,
    check_model_builds,
    checkpoint_dir,
    plan_runs,
    query_run_of,
    query_train_config,
    run_final,
)
from .record import RunRecord
from .claims import CLAIMS_FILE, Claims, lease_seconds
from .store import ResultStore, store_paths

#: the longest wait between two looks at runs held by other workers (else a quarter lease)
MAX_POLL_SECONDS = 30.0

__all__ = ["SweepSummary", "check_inputs", "check_shard", "load_splits", "parse_shard",
           "query_for_seed", "query_seeds", "run_sweep", "shard_runs"]

logger = logging.getLogger(__name__)


@dataclass
class SweepSummary:
    """What a sweep call did."""

    out_dir: Path
    planned: int
    skipped: int
    completed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    shard: tuple[int, int] | None = None
    #: runs of the plan that other workers of the folder stored while this one ran
    by_others: int = 0

    def __str__(self) -> str:
        """E.g. ``1 run completed, 0 already done, 1 planned; 3 s; results in runs/one``.

        Examples
        --------
        >>> print(SweepSummary(Path("out"), planned=4, skipped=3, completed=["a"], shard=(0, 2)))
        1 run completed, 3 already done, 4 in shard 0/2's plan; 0 s; results in out
        """
        where = ("planned" if self.shard is None
                 else f"in shard {self.shard[0]}/{self.shard[1]}'s plan")
        others = f"{self.by_others} by other workers, " if self.by_others else ""
        return (f"{_runs(len(self.completed))} completed, {others}{self.skipped} already done, "
                f"{self.planned} {where}; {self.seconds:.0f} s; results in {self.out_dir}")


def _runs(n: int) -> str:
    """``"1 run"``, ``"2 runs"``."""
    return f"{n} run" if n == 1 else f"{n} runs"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """Parse ``"i/n"`` (0-based i < n) into ``(i, n)``; None stays None."""
    if text is None:
        return None
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    return check_shard((i, n), text)


def check_shard(shard: Any, text: Any = None) -> tuple[int, int] | None:
    """``shard`` as ``(i, n)`` with integers ``0 <= i < n`` (None stays None); else
    ``ValueError`` ("--shard i/n needs 0 <= i < n")."""
    if shard is None:
        return None
    need = f"--shard i/n needs integers 0 <= i < n, got {text if text is not None else shard!r}"
    try:
        i, n = shard
        i, n = check_int(i, "shard i"), check_int(n, "shard n", minimum=1)
    except (TypeError, ValueError):
        raise ValueError(need) from None
    if i >= n:
        raise ValueError(need)
    return i, n


def shard_runs(plan: list[RunSpec], shard: tuple[int, int] | None) -> list[RunSpec]:
    """The runs of one shard: the i-th of n contiguous, near-equal blocks of the plan."""
    if shard is None:
        return list(plan)
    i, n = shard
    lo, hi = (len(plan) * i) // n, (len(plan) * (i + 1)) // n
    return plan[lo:hi]


def _store_name(shard: tuple[int, int] | None) -> str:
    return "results.sqlite" if shard is None else f"results-shard-{shard[0]}-of-{shard[1]}.sqlite"


def bind_config(out_dir: Path, cfg: ExperimentConfig) -> None:
    """Write ``config.json`` for a new folder, or check that the folder holds this experiment.

    Only the grid (methods, densities, seeds), the name and the device may differ from the
    stored config: everything a run's result depends on must match.
    """
    path = out_dir / "config.json"
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            stored = None  # refused as unreadable below
        if isinstance(stored, dict):  # written before the protocol profiles: legacy's
            stored.setdefault("protocol", "legacy")
            _refuse_other_user_code(out_dir, stored, cfg)
        try:
            if stored is None:
                raise ValueError("not JSON")
            old = config_from_dict(stored)
        except ValueError as exc:
            reason = (str(exc).splitlines() or ["unreadable"])[0]
            raise ValueError(f"{path} is not a readable droprune config ({reason}); delete it "
                             f"and run the same command again: it is written anew and every "
                             f"result of the folder is kept (give the experiment the folder "
                             f"was made with)") from None
        if old.final_fingerprint() != cfg.final_fingerprint():
            a, b = old.to_dict(), cfg.to_dict()
            sections = ("data", "model", "train", "query", "stretch", "drop_mode", "protocol",
                        "protocol_options", "quotas")
            diff = [k for k in sections if a.get(k) != b.get(k)]
            keys = "; ".join(f"{key}: {then!r} in the folder, {now!r} now"
                             for key, then, now in _differences(
                                 {k: a.get(k) for k in diff}, {k: b.get(k) for k in diff}))
            raise ValueError(f"{out_dir} holds an experiment with a different {', '.join(diff)} "
                             f"({keys}); use a new --out folder (results of different setups "
                             f"must not mix)")
    atomic_write_json(path, cfg.to_dict())


def _refuse_other_user_code(out_dir: Path, stored: dict[str, Any], cfg: ExperimentConfig
                            ) -> None:
    """A folder whose config names the user's own model factory (``package.module:factory``)
    other than this command's is refused BEFORE that config is validated, which would import
    (run) the module: a folder's file never runs code the command did not name."""
    model = stored.get("model")
    name = model.get("name") if isinstance(model, dict) else None
    if isinstance(name, str) and ":" in name and name != cfg.model.name:
        raise ValueError(f"{out_dir} holds an experiment with a different model (model.name: "
                         f"{name!r} in the folder, {cfg.model.name!r} now; its code was not "
                         f"imported); use a new --out folder (results of different setups "
                         f"must not mix)")


def _differences(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, value in a, value in b)`` of every leaf where two configs differ.

    Examples
    --------
    >>> _differences({"train": {"lr": 0.1, "epochs": 3}}, {"train": {"lr": 0.2, "epochs": 3}})
    [('train.lr', 0.1, 0.2)]
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [(prefix[:-1], a, b)]


def load_splits(cfg: ExperimentConfig):
    """The experiment's ``DatasetSplits`` (train, val, test)."""
    from ..data import load_dataset

    return load_dataset(cfg.data.name, cfg.data.root, val_fraction=cfg.data.val_fraction,
                        split_seed=cfg.data.split_seed, val_split=cfg.choice("val_split"),
                        imbalance=cfg.data.imbalance,
                        imbalance_seed=cfg.data.split_seed, **cfg.source_options())


def query_plan(cfg: ExperimentConfig) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The scorers of each query run (:data:`~droprune.experiments.pipeline.QUERY_RUN_KINDS`;
    :func:`~droprune.experiments.pipeline.query_run_of` says which run scores what), and, for
    each strategy whose DRoP quotas read recalls, the run they come from (the short run, or
    with ``protocol_options.recall_source="scorer"`` the run of the strategy's scorer)."""
    runs: dict[str, list[str]] = {k: [] for k in QUERY_RUN_KINDS}
    recall_runs: dict[str, str] = {}
    for m in cfg.parsed_methods:
        for s in m.scorers_needed:
            kind = query_run_of(cfg, s)
            if s not in runs[kind]:
                runs[kind].append(s)
        if m.needs_recalls:
            recall_runs[m.strategy] = query_run_of(cfg, m.scorer) \
                if cfg.choice("recall_source") == "scorer" else "short"
    return runs, recall_runs


def query_seeds(cfg: ExperimentConfig, seed: int) -> dict[str, list[int]]:
    """The model seeds of each query run of ``seed``: ``query.seeds`` short models,
    ``query.long_runs`` long ones and ``protocol_options.fixed_query_models`` fixed ones
    (whose recalls and scores are averaged over them)."""
    return {"short": [seed * 1000 + j for j in range(cfg.query.seeds)],
            "long": [seed * 1000 + 500 + j for j in range(cfg.query.long_runs)],
            "fixed": [seed * 1000 + 800 + j for j in range(cfg.choice("fixed_query_models"))]}


def query_for_seed(cfg: ExperimentConfig, splits, seed: int, work_dir: Path, *, device=None,
                   progress: bool = True, on_change: str = "refuse", log=None,
                   observer: Any = None) -> QueryOutputs:
    """Train (or reload) the query models of one seed and collect their outputs.

    ``on_change`` and ``log`` go to :func:`~droprune.scoring.query.run_query`: query models
    of another setup in ``work_dir/query`` are refused by default (a sweep's finished runs
    were selected with them) or retrained (``"retrain"``). ``observer``, when given, is told
    about each query run: ``observer.before_training(kind, model, seeds, config)`` before it
    trains anything, ``observer.finished(kind, result, seconds)`` once it is done."""
    import functools

    from ..scoring.query import run_query

    runs, recall_runs = query_plan(cfg)
    scores: dict[str, Any] = {}
    recalls: dict[str, Any] = {}
    common = dict(model=cfg.model.name, model_kwargs=cfg.model_kwargs(),
                  device=device, progress=progress, scorer_options=cfg.scorer_options())
    base = work_dir / "query" / f"seed-{seed}"
    seeds = query_seeds(cfg, seed)
    for kind in QUERY_RUN_KINDS:
        if runs[kind] or kind in recall_runs.values():
            start = time.perf_counter()
            res = run_query(splits, config=query_train_config(cfg, kind=kind),
                            seeds=seeds[kind], scorers=runs[kind], work_dir=base / kind,
                            on_change=on_change, log=log, before_training=None
                            if observer is None else functools.partial(
                                observer.before_training, kind), **common)
            if observer is not None:
                observer.finished(kind, res, time.perf_counter() - start)
            scores.update(res.scores)
            recalls[kind] = res.val_recall
    return QueryOutputs(scores=scores, val_recall=recalls.get("short"),
                        strategy_recalls={s: recalls[k] for s, k in recall_runs.items()
                                          if k != "short"}, val_counts=splits.val.class_sizes)


def run_sweep(cfg: ExperimentConfig, out_dir: str | Path, *,
              shard: tuple[int, int] | None = None, device=None, progress: bool = True,
              log: Any = None) -> SweepSummary:
    """Run (or resume) every final run of ``cfg`` that is not yet in the folder's stores.

    Any number of sweeps may run on one folder at once: they split the runs (a claim with a
    lease per run, see the module docstring) and each returns once every run of its plan is
    stored. Every input is checked before the folder is touched (:func:`check_inputs`); the
    user's own model (``model.name = "package.module:factory"``) is also built once on the
    data and run on two samples first (:func:`~droprune.experiments.pipeline.check_model_builds`).

    Parameters
    ----------
    cfg
        The experiment.
    out_dir
        Sweep folder (created if missing). See the module docstring for its layout.
    shard
        ``(i, n)``: run only the i-th of n blocks of the plan, into its own store.
    device
        Torch device for training (default: ``cfg.device``, else CUDA when available).
    progress
        Show progress (an overall bar plus one per training run on a terminal, else one log
        line per finished training; :func:`droprune._progress.progress_bar`).
    log
        Where the one-line progress messages go (``"N runs to do"``, ``"training started"``,
        ...): a function of one string, or None (default) for the ``droprune`` logger at INFO
        (``droprune sweep`` shows them on stderr; ``--quiet`` hides them).

    Notes
    -----
    Distributed (``torchrun``): every rank runs the same plan (each training with DDP, every
    score gathered onto every rank); only rank 0 writes the folder (config, store rows,
    selections, query files), shows progress and logs; the other ranks receive what it read
    or decided (finished runs, selections) and wait until its writes are complete.
    """
    from ..models.factory import is_import_path
    from ..training.distributed import is_main, run_on_main

    start = time.perf_counter()
    out_dir = Path(out_dir)
    shard = check_shard(shard)
    device = device if device is not None else cfg.device
    check_inputs(cfg, out_dir, device=device)
    splits = None
    if is_import_path(cfg.model.name):  # the user's code: built and run once on the data first
        splits = load_splits(cfg)
        check_model_builds(cfg, splits.train, cfg.seeds[0], "model.name")
    lease = lease_seconds()
    log = logger.info if log is None else log
    if not is_main():
        progress, log = False, _silent
    store_path = out_dir / _store_name(shard)
    done = run_on_main(_open_folder, out_dir, cfg, store_path)
    store = ResultStore(store_path) if is_main() else None
    claims = Claims(out_dir / CLAIMS_FILE, lease=lease) if is_main() else None
    mine = shard_runs(plan_runs(cfg), shard)
    todo = [r for r in mine if r.run_id(cfg) not in done]
    summary = SweepSummary(out_dir=out_dir, planned=len(mine), skipped=len(mine) - len(todo),
                           shard=shard)
    plan = "this plan" if shard is None else f"shard {shard[0]}/{shard[1]}'s plan"
    if not todo:
        summary.seconds = time.perf_counter() - start
        log(f"nothing to do: {'the' if len(mine) == 1 else 'all'} {_runs(len(mine))} of {plan} "
            f"{'is' if len(mine) == 1 else 'are'} in {out_dir}")
        return summary
    log(f"{cfg.name}: {_runs(len(todo))} to do ({summary.skipped} already done) -> {out_dir}")
    splits = load_splits(cfg) if splits is None else splits
    bar = progress_bar(len(mine), f"sweep {cfg.name}", unit="run", initial=summary.skipped,
                       enabled=progress)
    query: QueryOutputs | None = None
    query_seed = None
    told: set[str] = set()  # runs logged as held by another worker

    def held_by(spec: RunSpec, worker: str | None) -> None:
        if spec.run_id(cfg) not in told:
            told.add(spec.run_id(cfg))
            log(f"{spec.label}: skipped for now, worker {worker} holds it")

    def done_elsewhere(specs: list[RunSpec]) -> list[RunSpec]:
        """``specs`` less the runs another worker has stored meanwhile (counted, bar moved)."""
        finished = run_on_main(_finished_runs, out_dir)
        left = [r for r in specs if r.run_id(cfg) not in finished]
        summary.by_others += len(specs) - len(left)
        bar.update(len(specs) - len(left))
        return left

    try:
        while todo:
            held: list[RunSpec] = []
            for spec in done_elsewhere(todo):
                run_id = spec.run_id(cfg)
                holder = run_on_main(_holder, claims, run_id)
                if holder is not None:  # looked at before the query models are made for it
                    held.append(spec)
                    held_by(spec, holder)
                    continue
                if spec.seed != query_seed:
                    bar.set_postfix_str(f"query models, seed {spec.seed}")
                    query = query_for_seed(cfg, splits, spec.seed, out_dir, device=device,
                                           progress=progress, log=log)
                    query_seed = spec.seed
                claimed, other = run_on_main(_claim, claims, run_id)
                if not claimed:
                    held.append(spec)
                    held_by(spec, other)
                    continue
                if not done_elsewhere([spec]):  # stored by another worker before our claim
                    run_on_main(_release, claims, run_id)
                    continue
                if other is not None:
                    log(f"{spec.label}: taking over from worker {other} (its lease expired)")
                assert query is not None  # made for the first run (query_seed starts at None)
                log(f"{spec.label}: training started ({run_id})")
                bar.set_postfix_str(spec.label)
                try:
                    record = run_final(cfg, spec, splits, query, work_dir=out_dir,
                                       device=device, progress=progress,
                                       callbacks=[RenewClaim(claims, run_id)])
                    run_on_main(_add_row, store, record)
                except BaseException:  # an error or Ctrl-C: others need not wait for the lease
                    run_on_main(_release, claims, run_id)
                    raise
                # only now that the row is committed: a crash before keeps the trained model
                run_on_main(_remove_tree, checkpoint_dir(out_dir, record.run_id))
                run_on_main(_release, claims, run_id)
                summary.completed.append(record.run_id)
                bar.update(1)
            if held:  # other workers hold them: wait until each is stored or its lease expired
                time.sleep(min(lease / 4, MAX_POLL_SECONDS))
            todo = held
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - start
    return summary


def check_inputs(cfg: ExperimentConfig, out_dir: Path, *, device: Any = None) -> None:
    """Every check a sweep can fail on its inputs, done before the folder is touched: the
    config type, the folder (a folder or nothing), the device (a torch device; CUDA present
    when asked for) and the dataset root (given and existing when the source needs one)."""
    from ..data.layout import dataset_root
    from ..data.registry import get_source

    if not isinstance(cfg, ExperimentConfig):
        raise ValueError(f"cfg must be an ExperimentConfig (see load_config), got "
                         f"{type(cfg).__name__}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} exists and is not a folder; give a folder")
    if device is not None:
        check_device(device, "device", here=True)
    if get_source(cfg.data.name).root == "required":
        dataset_root(cfg.data.root, cfg.data.name, option="data.root (in the config, or --set "
                                                           "data.root=FOLDER)")


def _silent(*args: Any, **kwargs: Any) -> None:
    """The log of ranks other than 0."""


def _open_folder(out_dir: Path, cfg: ExperimentConfig, store_path: Path) -> set[str]:
    """Create or check the sweep folder (config.json, this shard's store; stale temporary
    files removed); the ids of every run finished in any store of the folder (rank 0 alone in
    a distributed run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bind_config(out_dir, cfg)
    remove_stale_temporaries(out_dir)  # left by killed writes (an hour old: never in progress)
    ResultStore(store_path)
    return _finished_runs(out_dir)


def _finished_runs(out_dir: Path) -> set[str]:
    """The ids of every run finished in any store of the folder (rank 0 alone in a
    distributed run)."""
    done: set[str] = set()
    for path in store_paths(out_dir):
        done |= ResultStore(path, readonly=True).run_ids()
    return done


def _holder(claims: Claims, run_id: str) -> str | None:
    """The other worker holding a live claim of the run, if any (rank 0 alone)."""
    return claims.holder(run_id)


def _claim(claims: Claims, run_id: str) -> tuple[bool, str | None]:
    """Claim or renew the run, see :meth:`Claims.claim` (rank 0 alone)."""
    return claims.claim(run_id)


def _release(claims: Claims, run_id: str) -> None:
    """Release this worker's claim of the run once its row is stored (rank 0 alone)."""
    claims.release(run_id)


def _add_row(store: ResultStore, record: RunRecord) -> bool:
    """Store one finished run (rank 0 alone in a distributed run)."""
    return store.add(record)


def _remove_tree(path: Path) -> None:
    """Remove a stored run's checkpoint folder (rank 0 alone in a distributed run)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
