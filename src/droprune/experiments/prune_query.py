"""The query models of a pruning of your own data (``droprune prune --data``): the experiment
config that trains them, the ``--set`` options that can matter to it, the input size of an
image folder, the one line that says what will be trained (with a time and memory estimate),
and the per-class recalls and per-sample scores they give a pruning that lacks them.

The query models are those of a sweep (:func:`droprune.experiments.sweep.query_for_seed`),
kept under ``work_dir/query`` and reloaded, not retrained, by a second call with the same
inputs; query models made with another setup (the training config, the data, or the code of
the user's model factory) are retrained (:func:`droprune.scoring.query.run_query`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..methods import Method
from .config import ExperimentConfig, apply_overrides, check_device, config_from_dict
from .pipeline import QUERY_RUN_KINDS
from .sweep import load_splits, query_for_seed, query_plan

__all__ = ["TrainingEstimate", "check_query_options", "dataset_record", "estimate_training",
           "load_splits", "native_image_size", "prune_query_config", "query_kinds",
           "query_missing"]

logger = logging.getLogger(__name__)


def prune_query_config(base: Mapping[str, Any], *, data: str, root: str | Path | None = None,
                       options: Mapping[str, Any] | None = None, model: str | None = None,
                       overrides: Sequence[str] = (), method: Method, density: float,
                       seed: int, scores: bool, recalls: bool = True) -> ExperimentConfig:
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
        ``key.path=value`` overrides applied last (they may set the dataset's keys too). A
        dataset read from files needs its folder: none given is refused (``--root``).
    method, density, seed
        The pruning: the grid of the config is this one run.
    scores, recalls
        Whether the query models must score the samples for ``method`` and measure the
        validation recalls (``recalls=False``: given, so no run is trained for them alone).
    """
    from ..data.layout import dataset_root
    from ..data.registry import get_source

    values = dict(base)
    section: dict[str, Any] = (dict(values["data"]) if values["data"].get("name") == data
                               else {"name": data})
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
    # the grid is this one run; a method that only scores (recalls given) trains no recall run
    scoring = method.quota_strategy or method.strategy
    values.update(methods=[(method.name if recalls else scoring) if scores else "Random+DRoP"],
                  densities=[density], seeds=[seed])
    cfg = config_from_dict(values)
    if get_source(cfg.data.name).root == "required":  # its folder, named as the CLI asks it
        dataset_root(cfg.data.root, cfg.data.name, option="--root FOLDER")
    return cfg


def query_kinds(cfg: ExperimentConfig) -> list[str]:
    """The query runs (of :data:`~droprune.experiments.pipeline.QUERY_RUN_KINDS`) that
    :func:`query_missing` trains for ``cfg``'s one method."""
    runs, recall_runs = query_plan(cfg)
    return [k for k in QUERY_RUN_KINDS if runs[k] or k in recall_runs.values()]


#: ``--set`` keys a pruning never reads, and what chooses it instead
_NEVER = {
    "methods": "--method chooses the method",
    "densities": "--density chooses the density",
    "seeds": "--seed chooses the seed",
    "quotas": "the quota rule's options are --min-per-class, --min-density and "
              "--error-estimate",
    "stretch": "no final model is trained",
    "train.cdbw": "no final model is trained",
    "train.cdbw_loss": "no final model is trained",
    "protocol_options.stretch_rounding": "no final model is trained",
    "protocol_options.cdbw_loss": "no final model is trained",
    "protocol_options.quota_rounding": "droprune prune keeps the quotas of droprune.prune",
    "protocol_options.coreset_scores": "droprune prune keeps the quotas of droprune.prune",
    "protocol_options.score_ties": "droprune prune keeps the selection of droprune.prune",
    "protocol_options.kept_total": "droprune prune keeps the selection of droprune.prune",
}
#: ``--set`` keys that a query run of each kind reads (beyond model, train and protocol)
_RUN_KEYS = {
    "train.epochs": ("short", "long"), "train.drop_epochs": ("short", "long"),
    "query.seeds": ("short",), "query.epochs_fraction": ("short",),
    "query.long_runs": ("long",), "protocol_options.fixed_query_epochs": ("fixed",),
    "protocol_options.fixed_query_models": ("fixed",),
}


def _unused(key: str, cfg: ExperimentConfig, method: Method, kinds: Sequence[str],
            compare: bool) -> str | None:
    """Why ``--set key=...`` does nothing for this pruning (None: it may matter)."""
    def under(prefix: str) -> bool:
        return key == prefix or key.startswith(prefix + ".")

    never = next((why for k, why in _NEVER.items() if under(k)), None)
    if never or under("data") or under("device") or key in (
            "name", "drop_mode", "protocol", "protocol_options.val_split"):
        return never
    if compare:
        if under("query") or key.startswith("protocol_options.") or key in (
                "train.epochs", "train.drop_epochs"):
            return "--compare trains its proxy models --proxy-epochs epochs at train.lr"
        return None
    if not kinds:
        return f"nothing is trained: --recalls and --scores give what {method.name} needs"
    if under("query.scorer_options"):
        return None
    readers = next((runs for k, runs in _RUN_KEYS.items() if under(k)), None)
    if readers is None or set(readers) & set(kinds):
        return None
    if kinds == ["fixed"]:
        return (f"{method.name}'s recalls come from one query model of "
                f"protocol_options.fixed_query_epochs={cfg.choice('fixed_query_epochs')} "
                f"epochs at the initial learning rate (protocol {cfg.protocol}): set that, or "
                f"protocol_options.recall_source=short to average query.seeds short models")
    return (f"the query run(s) trained for {method.name} ({', '.join(kinds)}) do not read it "
            f"(see docs/prune.md)")


def check_query_options(cfg: ExperimentConfig, overrides: Sequence[str], *, method: Method,
                        trains: bool, compare: bool = False, model: str | None = None,
                        device: Any = None, threads: Any = None) -> None:
    """Refuse, in one line and before anything is trained, a ``--set`` option that does
    nothing for this pruning (e.g. ``query.seeds`` when the method's recalls come from the one
    fixed query model), a ``--model``, ``--threads`` or ``--device`` when nothing is trained
    (``threads``: the flag's value, None when not given; ``trains``:
    whether models are trained at all; ``device`` is the flag's, else the config's, which is
    not refused), and a device droprune cannot train on here
    (:func:`~droprune.experiments.config.check_device` with ``here``)."""
    nothing = f"nothing is trained (--recalls and --scores give what {method.name} needs)"
    if model is not None and not trains:
        raise ValueError(f"--model {model}: {nothing}; leave it out")
    if threads is not None and not trains:
        raise ValueError(f"--threads {threads}: {nothing}; leave it out")
    if device is not None and not trains and device != cfg.device:  # the flag, not the config's
        raise ValueError(f"--device {device}: {nothing}; leave it out")
    if device is not None and trains:
        check_device(device, "--device", here=True)
    kinds = query_kinds(cfg) if trains and not compare else []
    for item in overrides:
        key = item.partition("=")[0].strip()
        why = _unused(key, cfg, method, kinds, compare)
        if why:
            raise ValueError(f"--set {item}: does nothing here ({why}); leave it out")


def native_image_size(cfg: ExperimentConfig, splits: Any,
                      log: Callable[[str], None] | None = None
                      ) -> tuple[ExperimentConfig, Any]:
    """An image dataset read below the size asked (224 by default) without an ``image_size``
    option given: the config and splits that read it at its native size (the shorter side of
    the smallest of up to 16 images), never upscaled, said in one line to ``log`` (default:
    the ``droprune`` logger, INFO). Anything else is returned as it is."""
    log = logger.info if log is None else log
    from ..data.images import ImageFiles
    from ..data.registry import get_source

    files = splits.train.inputs
    accepted = get_source(cfg.data.name).options()
    if not isinstance(files, ImageFiles) or "image_size" in cfg.data.options \
            or "image_size" not in accepted or len(files) == 0:
        return cfg, splits
    from PIL import Image

    sizes = []
    for i in np.unique(np.linspace(0, len(files) - 1, min(16, len(files))).astype(int)):
        with Image.open(files.path(int(i))) as img:
            sizes.append(img.size)
    side = min(min(s) for s in sizes)
    if side >= files.image_size:
        return cfg, splits
    options = {"image_size": side, **({"resize_size": side} if "resize_size" in accepted
                                      else {})}
    values = cfg.to_dict()
    values["data"]["options"] = {**values["data"]["options"], **options}
    cfg = config_from_dict(values)
    w, h = min(sizes, key=min)
    log(f"images of {w}x{h} pixels: read at their native size (--option image_size={side}), "
        f"not upscaled to {files.image_size}; --option image_size=N chooses another")
    return cfg, load_splits(cfg)


@dataclasses.dataclass
class TrainingEstimate:
    """What training one model should take: ``seconds`` (from one timed batch), ``memory``
    (bytes at the peak, beyond the data), ``available`` (bytes free on the device; None when
    unknown)."""

    seconds: float
    memory: int
    available: int | None


def estimate_training(model: Any, dataset: Any, config: Any, *, device: Any = None,
                      val_samples: int = 0, probe: int = 8) -> TrainingEstimate:
    """Time one training step on ``probe`` samples and measure its activations (the output of
    every leaf module that is not computed in place), scaled to the whole training
    (``config.epochs`` epochs of ``len(dataset)`` samples, plus a validation pass of
    ``val_samples`` per epoch) and to a batch of ``config.batch_size``; the memory adds four
    copies of the parameters (weights, gradients, momentum, one spare). ``model`` is run (its
    gradients and batch-norm statistics change: pass a model built for this). A model that
    cannot take the data raises its ``ValueError`` here, before any training."""
    import torch

    from ..data.base import iter_batches
    from ..training.inference import check_model_fits, resolve_device

    dev = resolve_device(device)
    model = model.to(dev)
    check_model_fits(model, dataset, dev)
    b = max(1, min(probe, len(dataset), config.batch_size))
    x, y, _ = next(iter_batches(dataset, b, indices=np.arange(b), device=dev))
    act = [0]

    def count(module: Any, inputs: Any, out: Any) -> None:
        shared = {t.data_ptr() for t in inputs if isinstance(t, torch.Tensor)}
        if isinstance(out, torch.Tensor) and out.data_ptr() not in shared:  # not in place
            act[0] += out.numel() * out.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    times = []
    try:
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            model.train()
            for _ in range(2):  # the first step pays for warming up: the faster one counts
                act[0], start = 0, time.perf_counter()
                torch.nn.functional.cross_entropy(model(dataset.to_float(x)), y).backward()
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                times.append(time.perf_counter() - start)
                model.zero_grad(set_to_none=True)
                if times[0] > 2.0:
                    break
    finally:
        for h in hooks:
            h.remove()
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    per_sample = act[0] / b + x[0].numel() * 4  # the activations kept for backward, the input
    seconds = min(times) / b * config.epochs * (len(dataset) + val_samples / 3)
    batch = min(config.batch_size, len(dataset))
    return TrainingEstimate(seconds, int(4 * params + batch * per_sample),
                            _available_memory(dev))


def _available_memory(device: Any) -> int | None:
    """Bytes free on ``device``: CUDA's free memory, or the system's available memory."""
    import torch

    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _human(seconds: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"3.5 h"``."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _bytes(n: float) -> str:
    """``"12 MB"``, ``"3.4 GB"``."""
    return f"{n / 1e6:.0f} MB" if n < 1e9 else f"{n / 1e9:.1f} GB"


class _QueryRuns:
    """The observer of :func:`~droprune.experiments.sweep.query_for_seed` for a pruning: says
    what each query run will train (and refuses one that cannot fit in memory), and records
    what ran."""

    def __init__(self, cfg: ExperimentConfig, splits: Any, device: Any,
                 log: Callable[[str], None]) -> None:
        self.cfg, self.splits, self.device, self.log = cfg, splits, device, log
        self.runs: list[dict[str, Any]] = []

    def before_training(self, kind: str, model: Any, seeds: list[int], config: Any) -> None:
        train = self.splits.train
        try:
            est = estimate_training(model, train, config, device=self.device,
                                    val_samples=len(self.splits.val))
        except ValueError as exc:  # the model does not take the data: say which option chose it
            raise ValueError(f"--model {self.cfg.model.name}: {exc}") from None
        shape = "x".join(map(str, train.sample_shape))
        self.log(f"query {'model' if len(seeds) == 1 else 'models'} ({kind} run): {len(seeds)} x "
                 f"{self.cfg.model.name}, {config.epochs} epochs, batch {config.batch_size}, "
                 f"lr {config.lr:g}, on {len(train)} samples of {shape}, device "
                 f"{self.device_name}: about {_human(est.seconds * len(seeds))}, "
                 f"{_bytes(est.memory)} of memory")
        if est.available is not None and est.memory > est.available:
            size = " or the input size (--option image_size=N)" if len(
                train.sample_shape) == 3 else ""
            raise ValueError(f"the query model {self.cfg.model.name} on inputs of {shape} with "
                             f"batch {config.batch_size} needs about {_bytes(est.memory)} of "
                             f"memory, {_bytes(est.available)} is free on {self.device_name}: "
                             f"lower --set train.batch_size{size}")

    @property
    def device_name(self) -> str:
        from ..training.inference import resolve_device

        return str(resolve_device(self.device))

    def finished(self, kind: str, result: Any, seconds: float) -> None:
        meta = result.metadata
        self.runs.append({
            "kind": kind, "seeds": list(meta["seeds"]),
            "trained_seeds": list(meta.get("trained_seeds", [])),
            "epochs": meta["config"]["epochs"],
            "epochs_trained": [len(s.val_accuracy) for s in result.per_seed],
            "best_epoch": [s.best_epoch for s in result.per_seed],
            "scorers": list(meta["query_scorers"]), "train": meta["config"],
            "seconds": round(seconds, 3)})


def query_missing(cfg: ExperimentConfig, splits: Any, method: Method, *, seed: int,
                  work_dir: str | Path, recalls: bool, scores: bool, device: Any = None,
                  progress: bool = True, log: Callable[[str], None] | None = None
                  ) -> dict[str, Any]:
    """Train (or reload from ``work_dir/query``) the query models of ``seed`` and return what
    the pruning lacked: ``recalls`` and ``val_counts`` (when ``recalls``), ``scores`` of the
    method's scorer (when ``scores``), and ``manifest``, a record of what ran: the model (and
    the source file of the user's factory), each query run's seeds, epochs trained, training
    config and duration, which were reused, the input shape, the device and torch's version.

    Before a query run trains, ``log`` (default: the ``droprune`` logger, INFO) gets one
    line: the model, epochs, samples, input shape, device, and an estimate of the time and
    memory; a run that cannot fit in the free memory is refused (``ValueError``) before it
    starts. A training that diverges raises
    ``FloatingPointError`` saying which ``--set train.lr`` to try."""
    import torch

    from ..models.factory import factory_source

    log = logger.info if log is None else log
    runs = _QueryRuns(cfg, splits, device, log)
    start = time.perf_counter()
    try:
        query = query_for_seed(cfg, splits, seed, Path(work_dir), device=device,
                               progress=progress, on_change="retrain", log=log, observer=runs)
    except FloatingPointError as exc:
        lr = cfg.train.lr
        raise FloatingPointError(f"{exc}; on the command line: --set train.lr={lr / 10:g} (now "
                                 f"{lr:g}), and the query models are retrained") from None
    found: dict[str, Any] = {"manifest": {
        "folder": str(Path(work_dir) / "query"), "model": cfg.model.name,
        "model_source": factory_source(cfg.model.name), "protocol": cfg.protocol,
        "input_shape": list(splits.train.sample_shape), "device": runs.device_name,
        "torch_version": torch.__version__, "runs": runs.runs,
        "seconds": round(time.perf_counter() - start, 3)}}
    if recalls:
        found.update(recalls=np.asarray(query.recall_for(method), dtype=np.float64),
                     val_counts=query.val_counts)
    if scores:
        found["scores"] = query.scores[method.scorers_needed[0]]
    return found


def dataset_record(cfg: ExperimentConfig, dataset: Any) -> dict[str, Any]:
    """What a manifest records of the dataset pruned: name, folder, source options, how the
    validation split was drawn, number of samples and fingerprint (``dataset.fingerprint()``)."""
    return {"name": cfg.data.name, "root": cfg.data.root, "options": dict(cfg.data.options),
            "val_fraction": cfg.data.val_fraction, "split_seed": cfg.data.split_seed,
            "samples": len(dataset), "fingerprint": dataset.fingerprint()}
