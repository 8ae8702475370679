"""``droprune prune --compare``: :func:`droprune.compare` on a dataset with a torch proxy.

The proxy is the experiment's model (``cfg.model``) trained for ``proxy_epochs`` epochs at the
experiment's learning rate and batch size, constant schedule, on each candidate's kept subset
(:func:`droprune.training.proxy.torch_proxy`). The query predictions that set the quotas are
those of the same model trained on the whole training set (seed ``seed``), saved under
``work_dir`` with every finished proxy evaluation, so an interrupted comparison resumes.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._io import atomic_save_npy, write_table
from ..comparison import (
    DEFAULT_CANDIDATES,
    Candidate,
    CompareResult,
    check_candidates,
    compare,
)
from .config import ExperimentConfig

__all__ = ["compare_files", "compare_on_dataset", "compare_section"]

logger = logging.getLogger(__name__)


def compare_on_dataset(cfg: ExperimentConfig, splits: Any, *, density: float, seed: int,
                       seeds: Sequence[int], proxy_epochs: int,
                       candidates: Sequence[Any] = (), tolerance: float = 0.02,
                       tie: float = 0.01, work_dir: str | Path, device: Any = None,
                       progress: bool | None = None,
                       log: Callable[[str], None] | None = None) -> CompareResult:
    """Compare the default candidates (and ``candidates``, method names added to them) on
    ``splits`` (train and val; test is never read) with the experiment's model as proxy.
    ``log`` gets the progress lines (default: the ``droprune`` logger, INFO)."""
    from ..training.proxy import torch_proxy

    log = logger.info if log is None else log
    same = {(c.method.lower(), repr(sorted(c.options.items()))) for c in DEFAULT_CANDIDATES}
    extra = [c for c in map(Candidate.of, candidates)  # a default under another name: once
             if (c.method.lower(), repr(sorted(c.options.items()))) not in same]
    cands = check_candidates(list(DEFAULT_CANDIDATES) + extra, False)
    train, val = splits.train, splits.val
    config = dataclasses.replace(cfg.train, epochs=proxy_epochs, drop_epochs=())
    proxy = torch_proxy(cfg.model.name, train, val, config, model_kwargs=cfg.model_kwargs(),
                        device=device)
    key = (f"{cfg.model.name}|{cfg.model_kwargs()}|epochs={proxy_epochs}|lr={config.lr}|"
           f"batch={config.batch_size}|data={train.fingerprint()}{_own_model_key(cfg, train)}")
    folder = Path(work_dir)
    trainings = len(cands) * len(seeds) * 2
    shape = "x".join(map(str, train.sample_shape))
    log(f"compare: {len(cands)} rules x {len(seeds)} seeds x 2 validation halves = {trainings} "
        f"proxy trainings of {cfg.model.name} for {proxy_epochs} epochs on "
        f"{int(round(density * len(train)))} samples of {shape}, after one query model on "
        f"{len(train)}, device {_device_name(device)}")
    start = time.perf_counter()
    query_pred = _query_predictions(proxy, len(train), seed, folder, key)
    took = time.perf_counter() - start
    if took > 0.5:
        log(f"compare: the query model took {took:.1f} s; the proxy trainings should take "
            f"about {took * density * trainings:.0f} s")
    return compare(train.labels, density, val_labels=val.labels, val_pred=query_pred,
                   fit_predict=proxy, candidates=cands, seeds=seeds, tolerance=tolerance,
                   tie=tie, class_names=train.class_names, num_classes=train.num_classes,
                   work_dir=folder, proxy_key=key, progress=progress)


def _own_model_key(cfg: ExperimentConfig, train: Any) -> str:
    """For the user's own factory: its source file's hash and its model's parameter shapes
    (an edited factory retrains the proxies); nothing for a registry model."""
    from ..models.factory import (
        factory_source,
        is_import_path,
        model_shapes,
        resolve_model,
        seeded_model,
    )

    if not is_import_path(cfg.model.name):
        return ""
    source = (factory_source(cfg.model.name) or {}).get("sha256")
    shapes = model_shapes(seeded_model(resolve_model(cfg.model.name, train), 0))
    return f"|source={source}|shapes={shapes}"


def _device_name(device: Any) -> str:
    from ..training.inference import resolve_device

    return str(resolve_device(device))


def _query_predictions(proxy: Callable[..., np.ndarray], n: int, seed: int, folder: Path,
                       key: str) -> np.ndarray:
    """The query model's validation predictions, trained once per (proxy, seed) and saved."""
    import hashlib

    path = folder / f"query-{hashlib.sha256(f'{key}|{seed}'.encode()).hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path)
    pred = np.asarray(proxy(np.arange(n), seed=seed), dtype=np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(path, pred)
    return pred


def compare_files(res: CompareResult) -> list[tuple[str, Callable[[Path], Any]]]:
    """``compare.csv`` and ``compare.png`` as ``(name, write(path))`` pairs, the ``extra``
    files of :func:`droprune.prune_output.write_prune_outputs`."""
    return [("compare.csv", lambda path: write_table(res.table, csv=path)),
            ("compare.png", res.plot)]


def compare_section(res: CompareResult) -> tuple[str, str]:
    """The "Why this rule" section of ``summary.html`` as (title, html)."""
    body = (f"<p><b>Recommended: {html.escape(res.recommended)}</b> "
            f"({html.escape(res.result.method)}): {html.escape(res.reason)}.</p>\n"
            f"<p>How: the validation split was cut in two halves per class; the query model's "
            f"predictions on one half set each rule's quotas, a proxy model trained on the kept "
            f"subset was measured on the other half, then the halves swapped; "
            f"{int(res.table['seeds'].iloc[0])} seed(s). The test split was not read. "
            f"Accuracies in %, mean [95% interval] over seeds; "
            f"<a href=\"compare.csv\">compare.csv</a>.</p>\n"
            f"<img src=\"compare.png\" alt=\"worst-class vs average accuracy per rule\">\n"
            f"<pre>{html.escape(res.summary())}</pre>\n")
    return "Why this rule", body
