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

import numpy as np

from .. import metrics as M
from ..quotas import make_quotas, quotas_from_selection
from ..selection import select, select_global
from .config import ExperimentConfig
from .methods import Method
from .record import RunRecord

__all__ = [
    "QueryOutputs",
    "RunSpec",
    "build_final_model",
    "final_train_config",
    "plan_runs",
    "query_train_config",
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
    """What the query side produced for one seed: scores by scorer name and DRoP's recalls."""

    scores: dict[str, np.ndarray]
    val_recall: np.ndarray | None


def query_train_config(cfg: ExperimentConfig, *, long: bool):
    """Training config of a query run: the full schedule (long) or ``epochs_fraction`` of it
    with drop epochs scaled alike (short; at least one epoch; drops that fall on epoch 0 or
    past the end are dropped)."""
    if long:
        return cfg.train
    f = cfg.query.epochs_fraction
    epochs = max(1, int(f * cfg.train.epochs))
    drops = sorted({int(f * e) for e in cfg.train.drop_epochs})
    return dataclasses.replace(cfg.train, epochs=epochs,
                               drop_epochs=tuple(e for e in drops if 0 < e < epochs))


def final_train_config(cfg: ExperimentConfig, density: float, *, cdbw: bool):
    """Training config of a final run: the paper's stretched schedule below density 1 when
    ``cfg.stretch`` is set, CDB-W when the method asks for it."""
    tc = dataclasses.replace(cfg.train, cdbw=cdbw)
    if cfg.stretch and density < 1.0:
        tc = tc.stretched(density)
    return tc


def build_final_model(cfg: ExperimentConfig, train_set, seed: int):
    """A freshly initialised model for ``train_set``: the registry model ``cfg.model.name``
    (width, optional pretrained weights) or the user's factory ``"package.module:factory"``.

    The initial weights are those drawn after seeding the CPU generator with ``seed``; they are
    drawn from a fork of it (:func:`~droprune.models.factory.seeded_model`), so the caller's
    global torch RNG state is left untouched.
    """
    from ..models import load_torchvision_weights
    from ..models.factory import resolve_model, seeded_model

    model = seeded_model(resolve_model(cfg.model.name, train_set, cfg.model.build_kwargs), seed)
    if cfg.model.pretrained:
        load_torchvision_weights(model, cfg.model.pretrained)
    return model


def select_indices(method: Method, density: float, seed: int, labels: np.ndarray,
                   num_classes: int, query: QueryOutputs, drop_mode: str = "density"
                   ) -> np.ndarray:
    """Indices a method keeps at ``density`` (sorted). ``Full`` keeps everything."""
    n = labels.size
    if method.is_full:
        return np.arange(n, dtype=np.int64)
    scores = None if method.scorer is None else query.scores[method.scorer]
    if method.quota == "none":
        return select_global(scores, density, seed=seed, n=n)
    selection_counts = None
    if method.quota == "from_selection":
        other = query.scores[method.scorers_needed[-1]]
        selection_counts = quotas_from_selection(
            labels, select_global(other, density, seed=seed), num_classes)
    counts = make_quotas(method.quota, np.bincount(labels, minlength=num_classes), density,
                         recalls=query.val_recall, selection_counts=selection_counts,
                         mode=drop_mode)
    return select(labels, counts, scores=scores, seed=seed)


def run_final(cfg: ExperimentConfig, spec: RunSpec, splits, query: QueryOutputs, *,
              work_dir: Path, device=None, progress: bool = True) -> RunRecord:
    """Select, train the final model from scratch, evaluate on the test split.

    Returns the result record written to the store (:class:`RunRecord`).
    The selection is saved (``work_dir/selections/<run_id>.npy``) so the run can be audited
    or retrained; the training checkpoints under ``work_dir/checkpoints/<run_id>`` so an
    interrupted run resumes, and the checkpoint is removed once the run is stored.
    """
    from ..data.splits import check_reportable
    from ..training.distributed import run_on_main
    from ..training import predict_logits, train

    start = time.perf_counter()
    train_set = splits.train
    labels = train_set.labels
    k = train_set.num_classes
    run_id = spec.run_id(cfg)
    kept = select_indices(spec.method, spec.density, spec.seed, labels, k, query, cfg.drop_mode)
    sel_path = work_dir / "selections" / f"{run_id}.npy"
    kept = run_on_main(_save_selection, sel_path, kept)  # distributed: rank 0's, on every rank
    subset = train_set.subset(kept)
    tc = final_train_config(cfg, spec.density, cdbw=spec.method.cdbw)
    model = build_final_model(cfg, subset, seed=1_000_003 * spec.seed + 7)
    ckpt = work_dir / "checkpoints" / run_id
    result = train(model, subset, tc, seed=spec.seed, val_set=splits.val if tc.cdbw else None,
                   checkpoint_dir=ckpt, device=device, progress=progress)
    test = check_reportable(splits.test)
    pred = predict_logits(result.model, test, batch_size=tc.eval_batch_size,
                          device=device, distributed=True).argmax(axis=1)
    group_props = None
    if test.groups is not None and train_set.groups is not None:
        g = max(test.num_groups, train_set.num_groups)
        group_props = np.bincount(train_set.groups[kept], minlength=g)
    report = M.robustness_report(test.labels, pred, num_classes=k,
                                 class_names=train_set.class_names, groups=test.groups,
                                 train_group_proportions=group_props)
    counts = np.bincount(labels[kept], minlength=k)
    run_on_main(_remove_tree, ckpt)
    return RunRecord(
        run_id=run_id, experiment=cfg.name, fingerprint=cfg.final_fingerprint(),
        dataset=cfg.data.name, model=cfg.model.name, method=spec.method.name,
        strategy=spec.method.strategy, family=spec.method.family, quota=spec.method.quota,
        cdbw=int(spec.method.cdbw), density=float(spec.density), seed=int(spec.seed),
        kept=int(kept.size), epochs=int(tc.epochs), accuracy=report.accuracy,
        worst_class_accuracy=report.worst_class_accuracy, worst_class=report.worst_class,
        worst_class_name=report.worst_class_name, gap=report.gap, std=report.std,
        worst_group_accuracy=report.worst_group_accuracy,
        group_weighted_accuracy=report.group_weighted_accuracy,
        min_samples_per_class=int(counts.min()), class_recall=report.class_recall,
        group_accuracy=report.group_accuracy, class_sizes=train_set.class_sizes,
        class_counts=counts, class_density=M.class_densities(labels, kept, k),
        class_names=list(train_set.class_names) if train_set.class_names else None,
        val_recall=query.val_recall, selection_file=str(sel_path.relative_to(work_dir)),
        seconds=time.perf_counter() - start, config=cfg.to_dict(),
    )


def _save_selection(path: Path, kept: np.ndarray) -> np.ndarray:
    """Save a run's kept indices; returns them (run by rank 0 alone in a distributed run, so
    every rank trains on rank 0's selection and only rank 0 writes)."""
    from .._io import atomic_save_npy

    atomic_save_npy(path, kept)
    return kept


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
