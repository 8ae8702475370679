"""``droprune prune``: prune your own data and write the kept list.

Two ways in:

* from what you have, no training: ``--recalls FILE`` (per-class validation recall) with the
  training labels (``--labels FILE``, or the dataset given by ``--data``), and ``--scores FILE``
  for a method that ranks by a score;
* from a dataset: ``--data NAME`` (``--root``, ``--option`` as ``droprune data`` takes them)
  and ``--model NAME`` (or ``--model package.module:factory``) run the query protocol (the
  ``--preset`` / ``--config`` / ``--set`` of ``droprune sweep`` choose its training) for
  whatever recalls or scores are not given, then prune. The query models are kept under
  ``--out/query`` and reused by a second run with the same inputs.

Every input is read and validated before anything is trained or written; the outputs
(``kept.csv``, ``kept.npy``, ``classes.csv``, ``class_densities.png``, ``summary.html``,
``warnings.txt``, ``manifest.json``) are written atomically at the end. See ``docs/prune.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import CLIError
from ._common import (
    add_config_arguments,
    add_run_arguments,
    apply_threads,
    load_experiment,
    resolve_threads,
)
from .data import parse_options

__all__ = ["register"]

OUTPUTS = ("kept.csv", "kept.npy", "classes.csv", "class_densities.png", "summary.html",
           "warnings.txt", "manifest.json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prune", help="prune your own data to a density and write the kept list",
        description="Keep a fraction of a labelled training set with DRoP (or another method) "
                    "and write the kept samples (kept.csv: index, label, class_name, path), "
                    "the per-class table and a summary to --out. Give the per-class "
                    "validation recalls (--recalls) and the training labels (--labels or "
                    "--data) to prune without training; give --data (and --model) to train "
                    "the query models for whatever is missing.",
        epilog="examples: droprune prune --recalls recalls.csv --labels labels.npy "
               "--density 0.5 --out pruned;  droprune prune --data imagefolder --root photos "
               "--option image_size=64 --model resnet18 --density 0.3 --out pruned")
    p.add_argument("--density", type=float, required=True,
                   help="fraction of the training set KEPT, in [0, 1]")
    p.add_argument("--method", default="Random+DRoP",
                   help="Random+DRoP (default), X+DRoP, Random, X, Random+XQ, Random+Balanced, "
                        "Random+Proportional; X is a strategy of `droprune scorers`, or any "
                        "name with --scores")
    p.add_argument("--seed", type=int, default=0, help="seed of the selection and of the "
                                                       "query models (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    inputs = p.add_argument_group("what you have (no training)")
    inputs.add_argument("--recalls", type=Path, help="CSV with columns class (index or name), "
                                                     "recall (a fraction), optionally count "
                                                     "(validation samples)")
    inputs.add_argument("--labels", type=Path, help="training labels: .npy, or .csv/.parquet "
                                                    "with a 'label' column (indices or names)")
    inputs.add_argument("--scores", type=Path, help="per-sample scores (higher = harder = kept "
                                                    "first): a droprune score file (.parquet) "
                                                    "or a .npy")
    data = p.add_argument_group("a dataset (trains the query models for what is missing)")
    data.add_argument("--data", help="a registered dataset (see `droprune data list`), e.g. "
                                     "imagefolder")
    data.add_argument("--root", type=Path, help="folder holding the dataset")
    data.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="dataset source option, e.g. image_size=64 (repeatable)")
    data.add_argument("--model", help="a registered model name, or package.module:factory for "
                                      "a model of your own")
    add_config_arguments(data)
    add_run_arguments(data)
    rule = p.add_argument_group("quota rule")
    rule.add_argument("--min-per-class", type=int, default=0,
                      help="floor on every class's kept count (default 0: the paper's rule)")
    rule.add_argument("--min-density", type=float, default=None,
                      help="floor on every class's kept fraction (default: half of --density "
                           "for DRoP methods, 0 otherwise; 0 = the paper's rule)")
    rule.add_argument("--error-estimate", choices=("point", "beta"), default="point",
                      help="class error: 1 - recall (point, the paper, default) or its Beta "
                           "posterior mean given the validation counts (beta)")
    p.set_defaults(handler=_run)


@dataclass
class _Inputs:
    """Everything validated before any training."""

    labels: np.ndarray
    num_classes: int
    class_names: tuple[str, ...] | None
    fixed_classes: bool = True  # K is known (a dataset, or names); else the recalls file sets it
    paths: list[str] | None = None
    recalls: np.ndarray | None = None
    val_counts: np.ndarray | None = None
    scores: np.ndarray | None = None
    manifest: dict[str, Any] = field(default_factory=dict)


def _run(args: argparse.Namespace) -> int:
    from droprune.methods import parse_method
    from droprune.pruning import parse_prune_method

    _check_combination(args)
    # the grammar, Full and +CDBW refused; --scores with a method that picks at random refused
    method = parse_prune_method(args.method, scores_given=None if args.scores is None else True)
    need_recalls = method.needs_recalls and args.recalls is None
    need_scores = method.reads_scores and args.scores is None
    if need_scores and args.data is not None:
        method = parse_method(args.method)  # the query computes them: a registered strategy
    if (need_recalls or need_scores) and args.data is None:
        what = "the per-class validation recalls (--recalls FILE)" if need_recalls else \
            f"{method.quota_strategy or method.strategy} scores (--scores FILE)"
        raise CLIError(f"method {method.name} needs {what}; give it, or --data NAME (with "
                       f"--model) to train query models that compute it")
    cfg = splits = query_options = None
    if args.data is not None:
        threads = resolve_threads(args.threads)  # query models train with the CLI's policy
        cfg = _experiment(args, method, need_scores)
        apply_threads(threads)
        query_options = dict(device=args.device if args.device else cfg.device,
                             progress=not args.no_progress)
        from droprune.experiments.sweep import load_splits

        splits = load_splits(cfg)
    inputs = _read_inputs(args, method, splits)
    _check_rule(args, method, inputs)
    if need_recalls or need_scores:
        _query(args, cfg, splits, query_options, method, inputs, need_recalls, need_scores)
    return _prune_and_write(args, method, inputs, cfg)


def _check_combination(args: argparse.Namespace) -> None:
    if args.labels is not None and args.data is not None:
        raise CLIError("give the training labels once: --labels FILE or --data NAME, not both")
    if args.labels is None and args.data is None:
        raise CLIError("give the training labels: --labels FILE (with --recalls, no training) "
                       "or --data NAME")
    if args.data is None:
        used = [flag for flag, value in (("--root", args.root), ("--option", args.option),
                                         ("--model", args.model), ("--preset", args.preset),
                                         ("--config", args.config), ("--set", args.set))
                if value]
        if used:
            raise CLIError(f"{', '.join(used)} describe(s) a dataset and its query training: "
                           f"give --data NAME too, or leave them out")


# -- the dataset and its query protocol -------------------------------------------------------

def _experiment(args: argparse.Namespace, method, need_scores: bool):
    """The experiment config of the query: --preset/--config, this command's dataset and
    model, then the --set overrides; the grid is this command's method, density and seed."""
    from droprune.experiments.config import apply_overrides, config_from_dict

    values = load_experiment(args.preset, args.config, [], required=False).to_dict()
    data = dict(values["data"])
    if data.get("name") != args.data:
        data = {"name": args.data}  # another dataset: the preset's data section does not apply
    if args.root is not None:
        data["root"] = str(Path(args.root).resolve())  # kept.csv lists absolute paths
    if args.option:
        data["options"] = {**data.get("options", {}), **parse_options(args.option)}
    values["data"] = data
    if args.model is not None:  # a registry name or the user's "package.module:factory"
        values["model"] = {**values["model"], "name": args.model}
        if ":" in args.model:  # the factory builds its own model: no width or weights
            values["model"].update(width=1.0, pretrained=None)
    values = apply_overrides(values, args.set)
    # the query computes what is missing: the method's scores, else only the recalls
    values.update(methods=[method.name if need_scores else "Random+DRoP"],
                  densities=[args.density], seeds=[args.seed])
    return config_from_dict(values)


def _query(args, cfg, splits, options: dict[str, Any], method, inputs: _Inputs,
           need_recalls: bool, need_scores: bool) -> None:
    """Train (or reload from --out/query) the query models; fill in what was missing."""
    from droprune.experiments.sweep import query_for_seed

    query = query_for_seed(cfg, splits, args.seed, args.out, **options)
    if need_recalls:
        inputs.recalls = np.asarray(query.recall_for(method), dtype=np.float64)
        inputs.val_counts = query.val_counts
    if need_scores:
        inputs.scores = query.scores[method.scorers_needed[0]]
    inputs.manifest["query"] = {"folder": str(Path(args.out) / "query"),
                                "config": cfg.to_dict(), "model": cfg.model.name}


# -- reading what the user has -----------------------------------------------------------------

def _read_inputs(args: argparse.Namespace, method, splits) -> _Inputs:
    manifest: dict[str, Any] = {}
    if splits is not None:
        train = splits.train
        names = train.class_names
        inputs = _Inputs(labels=train.labels, num_classes=train.num_classes,
                         class_names=None if names is None else tuple(names),
                         paths=train.sample_paths())
        fingerprint = train.fingerprint()
        manifest["dataset"] = {"name": args.data, "root": None if args.root is None else
                               str(Path(args.root).resolve()),
                               "options": parse_options(args.option),
                               "fingerprint": fingerprint, "samples": len(train)}
    else:
        inputs = _read_labels(args.labels, args.recalls)
        manifest["labels"] = _file_entry(args.labels)
        fingerprint = None
    inputs.manifest = manifest
    if args.recalls is not None:
        inputs.recalls, inputs.val_counts = _read_recalls(args.recalls, inputs)
        manifest["recalls"] = _file_entry(args.recalls)
    if args.scores is not None:
        inputs.scores = _read_scores(args.scores, method, inputs, fingerprint)
        manifest["scores"] = _file_entry(args.scores)
    return inputs


def _file_entry(path: Path) -> dict[str, Any]:
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _table_file(path: Path, flag: str):
    """A .csv or .parquet file as a DataFrame (one-line errors)."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{flag} {path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, keep_default_na=True)
    except Exception as exc:
        raise ValueError(f"{flag} {path}: cannot read it as "
                         f"{'Parquet' if path.suffix.lower() == '.parquet' else 'CSV'} "
                         f"({type(exc).__name__}: {exc})") from None


def _npy_file(path: Path, flag: str) -> np.ndarray:
    """A plain .npy array (no pickles), with one-line errors."""
    if not path.is_file():
        raise FileNotFoundError(f"{flag} {path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{flag} {path}: not a plain .npy array ({exc})") from None


def _read_labels(path: Path, recalls_path: Path | None) -> _Inputs:
    """Training labels from .npy / .csv / .parquet; class names resolved through the recalls
    file when the labels are names."""
    from droprune._checks import as_labels

    suffix = path.suffix.lower()
    if suffix == ".npy":
        values = _npy_file(path, "--labels")
    elif suffix in (".csv", ".parquet"):
        frame = _table_file(path, "--labels")
        if "label" in frame.columns:
            values = frame["label"].to_numpy()
        elif len(frame.columns) == 1:
            values = frame.iloc[:, 0].to_numpy()
        else:
            raise ValueError(f"--labels {path}: needs a 'label' column (found "
                             f"{', '.join(map(str, frame.columns))})")
    else:
        raise ValueError(f"--labels {path}: use a .npy, .csv or .parquet file")
    if values.dtype.kind in "OUS":  # class names: their order is the recalls file's
        names = _recall_file_names(recalls_path)
        if names is None:
            raise ValueError(f"--labels {path} holds class names: give --recalls with the same "
                             f"names in its class column (it sets the class order)")
        index = {n: k for k, n in enumerate(names)}
        unknown = sorted({str(v) for v in values} - set(index))
        if unknown:
            raise ValueError(f"--labels {path}: class {unknown[0]!r} is not in --recalls "
                             f"{recalls_path} ({len(unknown)} such names)")
        labels = np.array([index[str(v)] for v in values], dtype=np.int64)
        return _Inputs(labels=labels, num_classes=len(names), class_names=tuple(names))
    try:
        labels = as_labels(values, name=f"--labels {path}")
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    k = int(labels.max()) + 1 if labels.size else 1
    return _Inputs(labels=labels, num_classes=k, class_names=None, fixed_classes=False)


def _recall_file_names(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    frame = _recall_frame(path)
    classes = frame["class"]
    return None if _integer_column(classes) is not None else [str(c) for c in classes]


def _recall_frame(path: Path):
    frame = _table_file(path, "--recalls")
    missing = [c for c in ("class", "recall") if c not in frame.columns]
    if missing:
        raise ValueError(f"--recalls {path}: needs columns 'class' (index or name) and 'recall' "
                         f"(optionally 'count'); missing {', '.join(missing)}")
    return frame


def _integer_column(values) -> np.ndarray | None:
    """The column as int64 when every entry is an integer, else None."""
    arr = values.to_numpy()
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    return None


def _read_recalls(path: Path, inputs: _Inputs) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-class recalls (and validation counts) in class order, every class present."""
    from droprune._checks import as_per_class_counts, as_recalls

    frame = _recall_frame(path)
    idx = _integer_column(frame["class"])
    if idx is None:  # class names
        if inputs.class_names is None:
            raise ValueError(f"--recalls {path} names its classes but the labels are indices: "
                             f"write class indices (0..K-1) in its class column, or class "
                             f"names in the labels file")
        where = {n: i for i, n in enumerate(inputs.class_names)}
        names = [str(c) for c in frame["class"]]
        unknown = [n for n in names if n not in where]
        if unknown:
            raise ValueError(f"--recalls {path}: class {unknown[0]!r} is not a class of the "
                             f"training data (classes: {', '.join(inputs.class_names[:10])}"
                             f"{', ...' if len(where) > 10 else ''})")
        idx = np.array([where[n] for n in names], dtype=np.int64)
    elif idx.size and idx.min() < 0:
        raise ValueError(f"--recalls {path}: class {int(idx.min())} is not a class index "
                         f"(0..K-1)")
    elif inputs.fixed_classes:
        if idx.size and idx.max() >= inputs.num_classes:
            raise ValueError(f"--recalls {path}: class {int(idx.max())} is not a class of the "
                             f"training data (indices 0..{inputs.num_classes - 1})")
    else:  # integer labels from a file: the recalls file says how many classes there are
        inputs.num_classes = int(idx.max()) + 1 if idx.size else 1
        top = int(inputs.labels.max()) if inputs.labels.size else 0
        if top >= inputs.num_classes:
            raise ValueError(f"--labels holds label {top}, outside [0, {inputs.num_classes}): "
                             f"the classes of --recalls {path}; give every class a row there")
    k = inputs.num_classes
    repeated = np.flatnonzero(np.bincount(idx, minlength=k) > 1)
    if repeated.size:
        raise ValueError(f"--recalls {path}: class {_name(inputs, repeated[0])} appears "
                         f"{int(np.sum(idx == repeated[0]))} times")
    absent = np.setdiff1d(np.arange(k), idx)
    if absent.size:
        listed = ", ".join(_name(inputs, c) for c in absent[:10])
        raise ValueError(f"--recalls {path}: missing {absent.size} of {k} classes ({listed}"
                         f"{', ...' if absent.size > 10 else ''}): give every class a row")
    order = np.argsort(idx)
    raw = frame["recall"].to_numpy()[order]
    try:
        raw = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"--recalls {path}: the recall column must hold numbers in [0, 1] "
                         f"(fractions, not percentages)") from None
    sizes = np.bincount(inputs.labels, minlength=k)
    counts = None
    if "count" in frame.columns:
        try:
            counts = as_per_class_counts(frame["count"].to_numpy()[order], k, "count")
        except ValueError as exc:
            raise ValueError(f"--recalls {path}: {exc}") from None
    no_val = sizes == 0 if counts is None else (sizes == 0) | (counts == 0)
    try:
        recalls = as_recalls(raw, k, name="recall", allow_nan=no_val)
    except ValueError as exc:
        raise ValueError(f"--recalls {path}: {exc}") from None
    return recalls, counts


def _name(inputs: _Inputs, k: int) -> str:
    k = int(k)
    if inputs.class_names is not None and k < len(inputs.class_names):
        return f"{k} ({inputs.class_names[k]})"
    return str(k)


def _read_scores(path: Path, method, inputs: _Inputs, fingerprint: str | None) -> np.ndarray:
    """One score per training sample, from a droprune score file or a .npy."""
    from droprune._checks import as_scores

    n = inputs.labels.size
    suffix = path.suffix.lower()
    if suffix == ".npy":  # a bare array carries no fingerprint: only its length is checked
        values = _npy_file(path, "--scores")
    elif suffix == ".parquet":
        from droprune.scoring.store import load_scores

        frame, _ = load_scores(path, expected_fingerprint=fingerprint)
        if len(frame) != n:
            raise ValueError(f"--scores {path} holds {len(frame)} samples but the training data "
                             f"has {n}: these scores belong to another dataset")
        if not np.array_equal(frame["label"].to_numpy(), inputs.labels):
            raise ValueError(f"--scores {path}: its labels differ from the training labels: "
                             f"these scores belong to another dataset (or another order)")
        values = frame[_score_column(path, frame, method)].to_numpy()
    else:
        raise ValueError(f"--scores {path}: use a droprune score file (.parquet) or a .npy")
    try:
        return as_scores(values, n, name=f"--scores {path}")
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _score_column(path: Path, frame, method) -> str:
    columns = [c for c in frame.columns if c not in ("index", "label") and "@seed" not in c]
    wanted = (method.quota_strategy or method.strategy).lower()
    try:
        from droprune.methods import strategies

        scorer = {k.lower(): v for k, v in strategies().items()}.get(wanted)
    except ImportError:  # pragma: no cover - torch is installed with the command
        scorer = None
    for c in columns:
        if c.lower() in (wanted, scorer):
            return c
    if len(columns) == 1:
        return columns[0]
    raise ValueError(f"--scores {path}: no column for {method.quota_strategy or method.strategy}"
                     f" (columns: {', '.join(columns) or 'none'}); name the method after one "
                     f"of them")


def _check_rule(args: argparse.Namespace, method, inputs: _Inputs) -> None:
    """The density, floors and error estimate, checked before any training."""
    from droprune.quotas import make_quotas

    if args.error_estimate == "beta" and method.needs_recalls and args.recalls is not None \
            and inputs.val_counts is None:
        raise ValueError(f"--error-estimate beta needs the validation samples per class: add a "
                         f"'count' column to --recalls {args.recalls}")
    from droprune.pruning import resolve_min_density

    args.min_density = resolve_min_density(args.min_density, method.quota, args.density)
    sizes = np.bincount(inputs.labels, minlength=inputs.num_classes)
    rule = "proportional" if method.quota == "drop" else method.quota
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_quotas(rule, sizes, args.density, selection_counts=np.zeros_like(sizes),
                    min_per_class=args.min_per_class, min_density=args.min_density)


# -- pruning and the outputs -------------------------------------------------------------------

def _prune_and_write(args: argparse.Namespace, method, inputs: _Inputs, cfg) -> int:
    import droprune
    from droprune._io import atomic_save_npy, atomic_write_json, atomic_write_text

    with warnings.catch_warnings():  # recorded in the result, printed with the summary
        warnings.simplefilter("ignore", droprune.QuotaWarning)
        result = _prune(args, method, inputs, cfg)
    out = Path(args.out)
    paths = inputs.paths if inputs.paths is not None else [""] * inputs.labels.size
    result.to_csv(out / "kept.csv", paths)
    atomic_save_npy(out / "kept.npy", result.kept)
    atomic_write_text(out / "classes.csv", result.table.to_csv(index=False))
    _plot(result, out / "class_densities.png")
    atomic_write_text(out / "warnings.txt", "".join(f"{w}\n" for w in result.warnings))
    atomic_write_text(out / "summary.html", _html(result))
    manifest = dict(inputs.manifest, command=_command(args), droprune_version=droprune.__version__,
                    method=result.method, density=result.density, seed=result.seed,
                    min_per_class=args.min_per_class, min_density=args.min_density,
                    error_estimate=args.error_estimate, kept=int(result.kept.size),
                    samples=int(result.labels.size), starved=list(result.starved),
                    outputs=list(OUTPUTS))
    atomic_write_json(out / "manifest.json", manifest)
    print(result.summary())
    if result.starved:
        print("to give every class a floor here: --min-per-class 5 (or --min-density), or "
              "--error-estimate beta (with a 'count' column in --recalls)")
    print(f"kept list: {out / 'kept.csv'}")
    return 0


def _prune(args: argparse.Namespace, method, inputs: _Inputs, cfg):
    import droprune

    return droprune.prune(
        inputs.labels, args.density, recalls=inputs.recalls, val_counts=inputs.val_counts,
        scores=inputs.scores if method.reads_scores else None, method=method.name,
        seed=args.seed, error_estimate=args.error_estimate, min_per_class=args.min_per_class,
        min_density=args.min_density, class_names=inputs.class_names,
        num_classes=inputs.num_classes, mode=cfg.choice("drop_mode") if cfg is not None else "density")


def _command(args: argparse.Namespace) -> str:
    """The command line, rebuilt from the parsed options."""
    import shlex

    parts = ["droprune", "prune"]
    for flag in ("density", "method", "seed", "out", "recalls", "labels", "scores", "data",
                 "root", "model", "preset", "config", "device", "min_per_class", "min_density",
                 "error_estimate"):
        value = getattr(args, flag)
        if value is not None:
            parts += [f"--{flag.replace('_', '-')}", str(value)]
    for flag in ("option", "set"):
        for value in getattr(args, flag):
            parts += [f"--{flag}", value]
    return shlex.join(parts)


def _plot(result, path: Path) -> None:
    """Sorted class densities, and kept vs original count of every class."""
    from droprune._plot import agg_figure, save_png

    t = result.table
    k = len(t)
    fig = agg_figure(max(6.0, min(16.0, 0.25 * k + 4)), 6.5, layout="constrained")
    top, bottom = fig.subplots(2, 1)
    order = np.argsort(-t["density"].fillna(-1).to_numpy(), kind="stable")
    x = np.arange(k)
    top.bar(x, t["density"].to_numpy()[order], color="tab:blue")
    top.axhline(result.kept.size / max(result.labels.size, 1), color="black", lw=1, ls="--",
                label="overall density")
    top.set_ylabel("class density (kept / size)")
    top.set_title(f"{result.method} at density {result.density:g}: classes by density")
    top.legend(loc="upper right")
    bottom.bar(x - 0.2, t["size"].to_numpy(), width=0.4, color="0.75", label="original")
    bottom.bar(x + 0.2, t["kept"].to_numpy(), width=0.4, color="tab:blue", label="kept")
    bottom.set_ylabel("samples")
    bottom.set_title("kept vs original samples per class")
    bottom.legend(loc="upper right")
    if k <= 40:
        top.set_xticks(x, [str(n) for n in t["name"].to_numpy()[order]], rotation=90)
        bottom.set_xticks(x, [str(n) for n in t["name"]], rotation=90)
    else:
        top.set_xlabel("classes, densest first")
        bottom.set_xlabel("class index")
    save_png(fig, path, dpi=100)


def _html(result) -> str:
    warns = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings) or "<li>none</li>"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>droprune prune: "
            f"{html.escape(result.method)}</title></head><body>\n"
            f"<h1>droprune prune</h1>\n<pre>{html.escape(result.summary())}</pre>\n"
            f"<p>Kept list: <a href=\"kept.csv\">kept.csv</a> (index, label, class_name, path);"
            f" per-class table: <a href=\"classes.csv\">classes.csv</a>.</p>\n"
            f"<img src=\"class_densities.png\" alt=\"class densities\">\n"
            f"<h2>Warnings</h2>\n<ul>{warns}</ul>\n<h2>Classes</h2>\n"
            f"{result.table.to_html(index=False, na_rep='')}\n</body></html>\n")
