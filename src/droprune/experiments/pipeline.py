"""One experiment, end to end: query models -> scores -> recalls -> quotas -> selection -> final
model trained from scratch on the kept subset -> metrics on the test split.

The query side is shared: for a seed, the short query models (EL2N, GraNd, validation recalls
for DRoP) and the full-schedule query run (Forgetting, Dynamic Uncertainty, AUM, SSP, CoreSet)
are trained once, saved under the sweep folder, and reused by every method and density.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .. import metrics as M
from ..pruning import select_by_method
from ..quotas import QUOTA_RULES, DropMode, QuotaOptions, quota_allocation, target_count
from ..selection import select
from .config import ExperimentConfig, QuotaSpec
from .methods import Method
from .record import RunRecord

if TYPE_CHECKING:
    from ..training.hooks import Callback

__all__ = [
    "CORESET_SCORES",
    "QUERY_RUN_KINDS",
    "QUOTA_ROUNDINGS",
    "QueryOutputs",
    "RunSpec",
    "build_final_model",
    "check_model_builds",
    "checkpoint_dir",
    "final_train_config",
    "kept_density",
    "plan_runs",
    "query_run_of",
    "query_train_config",
    "reference_kept",
    "run_final",
    "select_indices",
]

@dataclass(frozen=True)
class RunSpec:
    """One final run of the grid."""

    method: Method
    density: float
    seed: int

    def run_id(self, cfg: ExperimentConfig) -> str:
        """Stable id: the config fingerprint plus method, density and seed."""
        key = json.dumps([cfg.final_fingerprint(), self.method.name, repr(float(self.density)),
                          int(self.seed)])
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    @property
    def label(self) -> str:
        return f"{self.method.name} d={self.density:g} seed={self.seed}"


def plan_runs(cfg: ExperimentConfig) -> list[RunSpec]:
    """Every final run of the grid, ordered by seed, then density (high first), then method.

    ``Full`` runs once per seed (density 1); every other method once per density and seed.
    """
    runs: list[RunSpec] = []
    methods = cfg.parsed_methods
    for seed in cfg.seeds:
        for m in methods:
            if m.is_full:
                runs.append(RunSpec(m, 1.0, seed))
        for density in sorted(cfg.densities, reverse=True):
            for m in methods:
                if not m.is_full:
                    runs.append(RunSpec(m, float(density), seed))
    return runs


@dataclass
class QueryOutputs:
    """What the query side produced for one seed: scores by scorer name, DRoP's recalls and
    the number of validation samples of each class they were measured on.

    ``val_recall`` is the recall of the short query models (or None); ``strategy_recalls``
    maps a strategy name ("Random", "EL2N", ...) to the recall its DRoP quotas read when it
    differs (``protocol_options.recall_source="scorer"``); ``val_counts`` the number of
    validation samples of each class (the same for every query run)."""

    scores: dict[str, np.ndarray]
    val_recall: np.ndarray | None
    strategy_recalls: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    val_counts: np.ndarray | None = None

    def recall_for(self, method: Method) -> np.ndarray | None:
        """The validation recalls the quotas of ``method`` read."""
        return self.strategy_recalls.get(method.strategy, self.val_recall)


#: query runs of an experiment: "short" (query.seeds x epochs_fraction), "long" (the full
#: schedule, query.long_runs models) and "fixed" (one model, fixed_query_epochs, constant lr)
QUERY_RUN_KINDS = ("short", "long", "fixed")


def query_run_of(cfg: ExperimentConfig, scorer: str | None) -> str:
    """The query run that scores ``scorer`` (None: Random, which needs a run only for DRoP's
    recalls with ``recall_source="scorer"``): the registry's, except SSP with
    ``ssp_query="fixed"``; Random's is the fixed run."""
    from ..scoring.registry import SCORERS

    if scorer is None:
        return "fixed"
    if scorer == "ssp" and cfg.choice("ssp_query") == "fixed":
        return "fixed"
    return SCORERS[scorer].query


def query_train_config(cfg: ExperimentConfig, *, kind: str):
    """Training config of a query run (``kind`` of :data:`QUERY_RUN_KINDS`): the full schedule
    (long), ``epochs_fraction`` of it with
    drop epochs scaled alike (short; at least one epoch; drops that fall on epoch 0 or past
    the end are dropped), or ``fixed_query_epochs`` at the initial learning rate (fixed).
    Without ``protocol_options.query_augment`` the query runs train without augmentation."""
    if kind not in QUERY_RUN_KINDS:
        raise ValueError(f"kind must be one of {QUERY_RUN_KINDS}, got {kind!r}")
    tc = _cifar_augment(cfg, cfg.train)
    if not cfg.choice("query_augment"):
        tc = dataclasses.replace(tc, augment_pad=0, augment_flip=False, augment_affine=0.0)
    if kind == "long":
        return tc
    if kind == "fixed":
        return dataclasses.replace(tc, epochs=cfg.choice("fixed_query_epochs"), drop_epochs=())
    f = cfg.query.epochs_fraction
    epochs = max(1, int(f * tc.epochs))
    drops = sorted({int(f * e) for e in tc.drop_epochs})
    return dataclasses.replace(tc, epochs=epochs,
                               drop_epochs=tuple(e for e in drops if 0 < e < epochs))


def final_train_config(cfg: ExperimentConfig, density: float, *, cdbw: bool,
                       num_samples: int | None = None):
    """Training config of a final run: the paper's stretched schedule below density 1 when
    ``cfg.stretch`` is set, CDB-W (with the protocol's ``cdbw_loss``) when the method asks
    for it.

    With ``protocol_options.stretch_rounding="reference"`` and ``num_samples`` (N, the size
    of the full training set) the schedule is stretched as the DRoP reference code does it:
    from the kept fraction ``f = round(d N) / N`` in its float arithmetic, ``E' = int((0.5 +
    0.5 f) * (E / f))`` and each drop epoch ``int(e * (E' / E))``."""
    tc = dataclasses.replace(_cifar_augment(cfg, cfg.train), cdbw=cdbw)
    if cdbw:
        tc = dataclasses.replace(tc, cdbw_loss=cfg.choice("cdbw_loss"))
    if cfg.stretch and density < 1.0:
        if cfg.choice("stretch_rounding") == "reference" and num_samples:
            tc = _reference_stretch(tc, reference_kept(density, num_samples), num_samples)
        else:
            tc = tc.stretched(density)
    return tc


#: the datasets whose augmentation ``protocol_options.cifar_augment`` chooses
CIFAR_DATASETS = ("cifar10", "cifar100")


def _cifar_augment(cfg: ExperimentConfig, tc):
    """``tc`` with the CIFAR translation of ``protocol_options.cifar_augment``: ``"crop"``
    leaves ``augment_pad``; ``"affine"`` replaces a pad-and-crop translation of a CIFAR
    config by ``RandomAffine(translate=(0.15, 0.15))``'s (the reference code)."""
    if (cfg.choice("cifar_augment") == "affine" and tc.augment_pad > 0
            and cfg.data.name in CIFAR_DATASETS):
        return dataclasses.replace(tc, augment_pad=0, augment_affine=0.15)
    return tc


def reference_kept(density: float, n: int) -> int:
    """The number of samples the DRoP reference code keeps at ``density`` out of ``n``: its
    scheduler's ``int(n * (start - (it + 1) * increment))`` with one iteration from 1, i.e.
    ``int(n * (1 - (1 - d)))`` in floats (one fewer than ``round(d n)`` at some densities,
    e.g. 128116 for d = 0.1 and 640583 for d = 0.5 of ImageNet's 1281167)."""
    return int(n * (1.0 - abs(float(density) - 1.0) / 1))  # start 1, one iteration


def kept_density(cfg: ExperimentConfig, density: float, n: int) -> float:
    """The density a selection is given so that it keeps the protocol's ``kept_total``:
    ``density`` itself (``"round"``: ``round(d N)``), or with ``"reference"`` the fraction
    ``K / N`` of the reference code's ``K`` (:func:`reference_kept`; ``target_count`` of it
    is ``K`` again)."""
    if cfg.choice("kept_total") == "reference" and 0 < density < 1 and n > 0:
        kept = reference_kept(density, n)
        return kept / n
    return density


def _reference_stretch(tc, kept: int, total: int):
    """The reference code's ``epochs_correction`` (its float operations, in its order)."""
    if kept == 0:
        raise ValueError("density keeps no sample: nothing to train on")
    coefficient = 0.5 + (1 - 0.5) * kept / total
    epochs = int(coefficient * (tc.epochs * total / kept))
    drops = tuple(int(e * (epochs / tc.epochs)) for e in tc.drop_epochs)
    return dataclasses.replace(tc, epochs=epochs, drop_epochs=drops)


def build_final_model(cfg: ExperimentConfig, train_set, seed: int):
    """A freshly initialised model for ``train_set``: the registry model ``cfg.model.name``
    (width, the protocol's init, batch-norm momentum and ResNet-50 variant:
    :meth:`ExperimentConfig.model_kwargs`; optional pretrained weights) or the user's factory
    ``"package.module:factory"``.

    The initial weights are those drawn after seeding the CPU generator with ``seed``; they are
    drawn from a fork of it (:func:`~droprune.models.factory.seeded_model`), so the caller's
    global torch RNG state is left untouched.
    """
    from ..models import load_torchvision_weights
    from ..models.factory import resolve_model, seeded_model

    model = seeded_model(resolve_model(cfg.model.name, train_set, cfg.model_kwargs()), seed)
    if cfg.model.pretrained:
        load_torchvision_weights(model, cfg.model.pretrained)
    return model


def check_model_builds(cfg: ExperimentConfig, train_set, seed: int, option: str) -> None:
    """Build ``cfg``'s model once for ``train_set`` (as :func:`build_final_model` does for
    ``seed``) and run it on two samples on the CPU: a factory that raises or returns no module,
    or a model that does not take the data or output one logit per class, is refused in one
    line that starts with ``option`` and the model (``"model.name facs:make: ..."``), before
    anything is trained or written."""
    from ..training.inference import check_model_fits

    try:
        check_model_fits(build_final_model(cfg, train_set, seed), train_set, "cpu")
    except ValueError as exc:
        raise ValueError(f"{option} {cfg.model.name}: {exc}") from None


def select_indices(method: Method, density: float, seed: int, labels: np.ndarray,
                   num_classes: int, query: QueryOutputs, drop_mode: DropMode = "density",
                   quotas: QuotaSpec | None = None, *, rounding: str = "largest_remainder",
                   coreset_scores: str = "order", ties: str = "random") -> np.ndarray:
    """Indices a method keeps at ``density`` (sorted). ``Full`` keeps everything.

    ``quotas`` (the config's safeguards; default the paper's rule) adds floors and the
    validation-noise-aware error estimate to the quota rules that take them, with the
    per-class validation counts of ``query``.

    ``rounding`` (every quota rule with real-valued quotas; another selection's counts are
    integers already): ``"largest_remainder"`` keeps exactly
    :func:`~droprune.quotas.make_quotas` per class; ``"floor_topup"`` keeps the floor of each
    class's real-valued quota and tops the total up to ``round(d N)`` with samples drawn at
    random from all the others, whatever their class (as the DRoP reference code).

    ``coreset_scores`` (CoreSet with class quotas only): ``"order"`` ranks a class's samples
    by the greedy k-center order; ``"binary"`` as the reference code, which scores the
    ``round(d N)`` samples the greedy chose 1 and the others 0 and breaks ties by the highest
    index: the chosen first, then the others, each by descending index.

    ``ties``: how equal scores are ordered (:func:`droprune.select`), ``"random"`` from the
    seed or ``"highest_index"`` (the reference code)."""
    n = labels.size
    if rounding not in QUOTA_ROUNDINGS:
        raise ValueError(f"rounding must be one of {QUOTA_ROUNDINGS}, got {rounding!r}")
    if coreset_scores not in CORESET_SCORES:
        raise ValueError(f"coreset_scores must be one of {CORESET_SCORES}, got "
                         f"{coreset_scores!r}")
    if method.is_full:
        return np.arange(n, dtype=np.int64)
    scores = query.scores[method.scorers_needed[0]] if method.scorers_needed else None
    if method.scorer == "kcenter" and coreset_scores == "binary" and method.quota != "none":
        assert scores is not None  # kcenter reads its order scores
        chosen = scores > n - target_count(density, n)  # order scores are N - rank
        scores = chosen + np.arange(n) / (2.0 * n)
    recalls = query.recall_for(method)
    options = (quotas or QuotaSpec()).to_options(drop_mode).for_rule(method.quota)
    val_counts = query.val_counts if method.needs_recalls else None
    rule = QUOTA_RULES.entry(method.quota)
    if rounding == "floor_topup" and rule.allocate is not None and "selection" not in rule.needs:
        return _floor_topup(method.quota, labels, num_classes, density, recalls, val_counts,
                            options, scores, seed, ties)
    return select_by_method(method, labels, density, num_classes=num_classes, scores=scores,
                            recalls=recalls, val_counts=val_counts, options=options, seed=seed,
                            ties=ties)


#: how a quota rule's real-valued quotas become kept samples (see select_indices)
QUOTA_ROUNDINGS = ("largest_remainder", "floor_topup")
#: how CoreSet ranks the samples of a class (see select_indices)
CORESET_SCORES = ("order", "binary")


def _floor_topup(rule: str, labels: np.ndarray, num_classes: int, density: float,
                 recalls: np.ndarray | None, val_counts: np.ndarray | None,
                 options: QuotaOptions, scores: np.ndarray | None, seed: int,
                 ties: str = "random") -> np.ndarray:
    """The reference code's rounding, for any quota rule with counts: the floor of each
    class's real-valued quota (:func:`~droprune.quotas.quota_allocation`), then a random
    top-up from the pool (the floors of ``options`` hold because the top-up only adds
    samples)."""
    sizes = np.bincount(labels, minlength=num_classes)
    real = quota_allocation(rule, sizes, density, recalls=recalls, val_counts=val_counts,
                            options=options)
    assert real is not None  # a rule with counts (not "none")
    floors = np.minimum(np.floor(real + 1e-9), sizes).astype(np.int64)  # 1e-9: float noise
    kept = select(labels, floors, scores=scores, seed=seed, ties=ties)
    missing = target_count(density, labels.size) - kept.size
    if missing > 0:
        rest = np.setdiff1d(np.arange(labels.size), kept)
        extra = np.random.default_rng([seed, 1]).choice(rest, missing, replace=False)
        kept = np.sort(np.concatenate([kept, extra]))
    return kept.astype(np.int64)


def run_final(cfg: ExperimentConfig, spec: RunSpec, splits, query: QueryOutputs, *,
              work_dir: Path, device=None, progress: bool = True,
              callbacks: Sequence[Callback] = ()) -> RunRecord:
    """Select, train the final model from scratch, evaluate on the test split.

    Returns the result record to write to the store (:class:`RunRecord`). Its test metrics
    are those of the model after the last epoch, or with ``protocol_options.report_epoch =
    "best_val"`` of the epoch of best validation accuracy (the test split predicted at each
    improvement, :class:`~droprune.training.best_val.BestValidationTest`); its ``epochs``
    field is the number of epochs the reported model was trained (that epoch + 1).
    The selection is saved (``work_dir/selections/<run_id>.npy``) so the run can be audited
    or retrained; the training checkpoints under :func:`checkpoint_dir` so an interrupted run
    resumes. The checkpoint is left in place: the caller removes it once the record is
    stored (a crash in between then loses no training). ``callbacks`` are passed to
    :func:`~droprune.training.train` (e.g. the sweep's lease renewal).
    """
    from ..data.base import PASS_STREAMS
    from ..data.splits import check_reportable
    from ..training.best_val import BestValidationTest
    from ..training.distributed import run_on_main
    from ..training import predict_logits, train

    start = time.perf_counter()
    train_set = splits.train
    labels = train_set.labels
    k = train_set.num_classes
    run_id = spec.run_id(cfg)
    kept = select_indices(spec.method, kept_density(cfg, spec.density, labels.size),
                          spec.seed, labels, k, query, cfg.choice("drop_mode"), cfg.quotas,
                          rounding=cfg.choice("quota_rounding"),
                          coreset_scores=cfg.choice("coreset_scores"),
                          ties=cfg.choice("score_ties"))
    sel_path = work_dir / "selections" / f"{run_id}.npy"
    kept = run_on_main(_save_selection, sel_path, kept)  # distributed: rank 0's, on every rank
    subset = train_set.subset(kept)
    tc = final_train_config(cfg, spec.density, cdbw=spec.method.cdbw, num_samples=labels.size)
    model = build_final_model(cfg, subset, seed=1_000_003 * spec.seed + 7)
    ckpt = checkpoint_dir(work_dir, run_id)
    test = check_reportable(splits.test)
    best = None
    if cfg.choice("report_epoch") == "best_val":
        best = BestValidationTest(model, val_set=splits.val, test_set=test, seed=spec.seed,
                                  batch_size=tc.eval_batch_size, device=device)
    result = train(model, subset, tc, seed=spec.seed, val_set=splits.val if tc.cdbw else None,
                   recorders=() if best is None else (best,), checkpoint_dir=ckpt,
                   device=device, progress=progress, callbacks=callbacks)
    if best is None:  # the model after the last epoch
        reported = tc.epochs - 1
        pred = predict_logits(result.model, test.for_pass(
            (spec.seed, PASS_STREAMS["test"], reported)), batch_size=tc.eval_batch_size,
            device=device, distributed=True).argmax(axis=1)
    else:
        reported, pred = best.best_epoch, best.test_predictions
    group_props = None
    if test.groups is not None and train_set.groups is not None:
        g = max(test.num_groups, train_set.num_groups)
        group_props = np.bincount(train_set.groups[kept], minlength=g)
    report = M.robustness_report(test.labels, pred, num_classes=k,
                                 class_names=train_set.class_names, groups=test.groups,
                                 train_group_proportions=group_props)
    counts = np.bincount(labels[kept], minlength=k)
    return RunRecord(
        run_id=run_id, experiment=cfg.name, fingerprint=cfg.final_fingerprint(),
        dataset=cfg.data.name, model=cfg.model.name, method=spec.method.name,
        strategy=spec.method.strategy, family=spec.method.family, quota=spec.method.quota,
        cdbw=int(spec.method.cdbw), density=float(spec.density), seed=int(spec.seed),
        kept=int(kept.size), epochs=reported + 1, accuracy=report.accuracy,
        worst_class_accuracy=report.worst_class_accuracy, worst_class=report.worst_class,
        worst_class_name=report.worst_class_name, gap=report.gap, std=report.std,
        worst_group_accuracy=report.worst_group_accuracy,
        group_weighted_accuracy=report.group_weighted_accuracy,
        min_samples_per_class=int(counts.min()), class_recall=report.class_recall,
        group_accuracy=report.group_accuracy, class_sizes=train_set.class_sizes,
        class_counts=counts, class_density=M.class_densities(labels, kept, k),
        class_names=list(train_set.class_names) if train_set.class_names else None,
        val_recall=query.recall_for(spec.method),
        selection_file=str(sel_path.relative_to(work_dir)),
        seconds=time.perf_counter() - start, config=cfg.to_dict(),
    )


def checkpoint_dir(work_dir: Path, run_id: str) -> Path:
    """The folder of a final run's training checkpoint: ``work_dir/checkpoints/<run_id>``."""
    return Path(work_dir) / "checkpoints" / run_id


def _save_selection(path: Path, kept: np.ndarray) -> np.ndarray:
    """Save a run's kept indices; returns them (run by rank 0 alone in a distributed run, so
    every rank trains on rank 0's selection and only rank 0 writes)."""
    from .._io import atomic_save_npy

    atomic_save_npy(path, kept)
    return kept
