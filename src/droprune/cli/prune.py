"""``droprune prune``: prune your own data and write the kept list (``docs/prune.md``).

Argparse and calls: files read by :mod:`droprune.inputs`, query models trained by
:mod:`droprune.experiments.prune_query`, outputs written by :mod:`droprune.prune_output`;
everything read and validated before anything is trained or written."""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import CLIError
from ._compare import add_compare_arguments, check_compare, run_compare
from ._json_output import add_json_argument, json_handler
from ._outofcore import add_outofcore_arguments, run_out_of_core, wants_out_of_core
from ._common import (
    add_config_arguments,
    add_run_arguments,
    apply_threads,
    command_line,
    load_experiment,
    read_flagged,
    resolve_threads,
)
from .data import parse_options

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prune", help="prune your own data to a density and write the kept list",
        description="Keep a fraction of a labelled training set with DRoP (or another method) "
                    "and write the kept list, the per-class table and a summary to --out: from "
                    "--recalls and --labels (or --data) without training, or from --data (and "
                    "--model), whose query models compute whatever is missing.",
        epilog="examples: droprune prune --recalls recalls.csv --labels labels.npy "
               "--density 0.5 --out pruned;  droprune prune --data imagefolder --root photos "
               "--option image_size=64 --model resnet18 --density 0.3 --out pruned")
    p.add_argument("--density", type=float, required=True,
                   help="fraction of the training set KEPT, in [0, 1]")
    p.add_argument("--method", default="Random+DRoP",
                   help="Random+DRoP (default), X+DRoP, Random, X, Random+XQ, Random+Balanced, "
                        "Random+Proportional; X is a strategy of `droprune scorers`, or any "
                        "name with --scores")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the selection and of the query models (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder: new or empty, or "
                   "that of the same command (resumed); see --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace another run's output in "
                   "--out, or write beside files droprune did not write")
    files = p.add_argument_group("what you have (no training)")
    files.add_argument("--recalls", type=Path, help="CSV with columns class (index or name), "
                       "recall (a fraction), optionally count (validation samples)")
    files.add_argument("--labels", type=Path, help="training labels: .npy, or .csv/.parquet with "
                       "a 'label' column (indices or names; a CSV may have no header row)")
    files.add_argument("--scores", type=Path, help="per-sample scores (higher = harder = kept "
                       "first): a droprune score file (.parquet) or a .npy")
    files.add_argument("--class-ids", choices=("name", "index"), default="name",
                       help="with named classes (a dataset's, or those of --recalls): name "
                            "(default) matches the ids of --recalls/--labels to the names and "
                            "refuses other integers; index takes integer id k as the k-th "
                            "class of the printed class order")
    data = p.add_argument_group("a dataset (trains the query models for what is missing)")
    data.add_argument("--data", help="a registered dataset (`droprune data list`), e.g. mnist1d")
    data.add_argument("--root", type=Path, help="folder holding the dataset")
    data.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="dataset source option, e.g. image_size=64 (repeatable)")
    data.add_argument("--model", help="a registered model, or package.module:factory (your own)")
    add_config_arguments(data)
    add_run_arguments(data)
    add_compare_arguments(p)
    add_outofcore_arguments(p)
    add_json_argument(p)
    rule = p.add_argument_group("quota rule")
    rule.add_argument("--min-per-class", type=int, default=0,
                      help="floor on every class's kept count (default 0: the paper's rule)")
    rule.add_argument("--min-density", type=float, default=None,
                      help="floor on every class's kept fraction (default: half of --density "
                           "for DRoP methods, 0 otherwise; 0 = the paper's rule)")
    rule.add_argument("--error-estimate", choices=("point", "beta"), default="point",
                      help="class error: 1 - recall (point, the paper, default) or its Beta "
                           "posterior mean given the validation counts (beta)")
    p.set_defaults(handler=json_handler(_run))


def _run(args: argparse.Namespace) -> int:
    from droprune.methods import parse_method
    from droprune.prune_output import claim_output_folder, prune_run_key
    from droprune.pruning import parse_prune_method

    start = time.perf_counter()
    _check_combination(args)
    if wants_out_of_core(args):  # a manifest of any size, read by DuckDB
        return run_out_of_core(args)
    check_compare(args)
    # the grammar, Full and +CDBW refused; --scores with a method that picks at random refused
    method = parse_prune_method(args.method, scores_given=None if args.scores is None
                                else f"--scores {args.scores}")
    need_recalls = method.needs_recalls and args.recalls is None
    need_scores = method.reads_scores and args.scores is None
    if need_scores and args.data is not None:
        method = parse_method(args.method)  # the query computes them: a registered strategy
    if (need_recalls or need_scores) and args.data is None:
        what = "the per-class validation recalls (--recalls FILE)" if need_recalls else \
            f"{method.quota_strategy or method.strategy} scores (--scores FILE)"
        raise CLIError(f"method {method.name} needs {what}; give it, or --data NAME (with "
                       f"--model) to train query models that compute it")
    trains = need_recalls or need_scores or args.compare
    cfg = splits = None
    if args.data is not None:
        from droprune.experiments.prune_query import (
            check_query_options, load_splits, native_image_size, prune_query_config)

        threads = resolve_threads(args.threads)  # query models train with the CLI's policy
        base = load_experiment(args.preset, args.config, [], required=False).to_dict()
        cfg = prune_query_config(base, data=args.data, root=args.root, options=parse_options(
            args.option), model=args.model, overrides=args.set, method=method,
            density=args.density, seed=args.seed, scores=need_scores, recalls=need_recalls)
        check_query_options(cfg, args.set, method=method, trains=trains, compare=args.compare,
                            model=args.model, device=args.device or cfg.device,
                            threads=args.threads)
        apply_threads(threads)
        cfg, splits = native_image_size(cfg, load_splits(cfg))
    given, paths, manifest = _read_inputs(args, method, splits, cfg)
    quota = None if args.compare else _quota_options(args, method, given, cfg)
    manifest["run_key"] = prune_run_key(vars(args), manifest,
                                        None if cfg is None else cfg.to_dict())
    claim_output_folder(args.out, manifest["run_key"], overwrite=args.overwrite)
    if args.compare:
        return run_compare(args, cfg, splits, paths, manifest)
    if need_recalls or need_scores:  # the query models compute what is missing
        from droprune.experiments.prune_query import query_missing

        assert cfg is not None  # --data is given (refused above otherwise)
        found = query_missing(cfg, splits, method, seed=args.seed, work_dir=args.out,
                              recalls=need_recalls, scores=need_scores,
                              device=args.device or cfg.device, progress=not args.no_progress)
        manifest = dict(manifest, query=found.pop("manifest"))
        given = dict(given, **found)
    manifest["seconds"] = round(time.perf_counter() - start, 3)
    assert quota is not None  # None only with --compare, which returned above
    return _prune_and_write(args, method, given, quota, paths, manifest)


def _check_combination(args: argparse.Namespace) -> None:
    if (args.labels is None) == (args.data is None):
        raise CLIError("give the training labels once: --labels FILE (with --recalls, no "
                       "training) or --data NAME, not both")
    used = [f"--{k}" for k in ("root", "option", "model", "preset", "config", "set", "device",
                               "threads") if getattr(args, k)]
    if args.data is None and used:
        raise CLIError(f"{', '.join(used)} describe(s) a dataset and its query training: "
                       f"give --data NAME too, or leave them out")


def _read_inputs(args: argparse.Namespace, method, splits, cfg
                 ) -> tuple[dict[str, Any], list[str] | None, dict[str, Any]]:
    """What was given, as keyword arguments of ``droprune.prune`` (labels, num_classes,
    class_names, recalls, val_counts, scores); the sample files; the manifest's inputs."""
    from droprune.inputs import read_labels, read_recalls, read_scores
    from droprune.prune_output import file_record

    manifest: dict[str, Any] = {}
    paths = fingerprint = None
    if splits is not None:
        from droprune.experiments.prune_query import dataset_record

        train = splits.train
        names = None if train.class_names is None else tuple(train.class_names)
        labels, k, paths = train.labels, train.num_classes, train.sample_paths()
        manifest["dataset"] = dataset_record(cfg, train)
        fingerprint = manifest["dataset"]["fingerprint"]
    else:  # a recalls file that names its classes sets the class order
        first = args.recalls and read_flagged("--recalls", read_recalls, args.recalls)
        names = first and first.class_names  # (and its rows are the classes of the labels)
        labels = read_flagged("--labels", read_labels, args.labels, class_names=names,
                              class_ids=args.class_ids, num_classes=first and first.recalls.size)
        k, manifest["labels"] = None if names is None else len(names), file_record(args.labels)
    recalls = counts = scores = None
    if args.recalls is not None:
        recalls, counts, names = read_flagged("--recalls", read_recalls, args.recalls, labels=labels,
                                       class_names=names, num_classes=k,
                                       class_ids=args.class_ids)
        manifest["recalls"] = file_record(args.recalls)
    if args.scores is not None:
        scores = read_flagged("--scores", read_scores, args.scores, labels.size, labels=labels,
                       column=_score_columns(method), fingerprint=fingerprint)
        manifest["scores"] = file_record(args.scores)
    if names is not None:  # how the class ids of the files were read
        print(f"class order (--class-ids {args.class_ids}): " + ", ".join(
            f"{i}={n}" for i, n in enumerate(names[:10])) + (", ..." if len(names) > 10 else ""))
    manifest.update(class_ids=args.class_ids, class_order=None if names is None else list(names))
    k = recalls.size if recalls is not None else k or int(labels.max(initial=0)) + 1
    return dict(labels=labels, num_classes=k, class_names=names, recalls=recalls,
                val_counts=counts, scores=scores), paths, manifest


def _score_columns(method) -> list[str]:
    """The score-file columns of the method's strategy: its name, and its scorer's."""
    from droprune.methods import strategies

    wanted = method.quota_strategy or method.strategy
    scorer = {k.lower(): v for k, v in strategies().items()}.get(wanted.lower())
    return [wanted] + ([scorer] if scorer else [])


def _quota_options(args: argparse.Namespace, method, given: dict, cfg) -> dict[str, Any]:
    """The quota rule's options (the floor resolved), checked against the class sizes before
    any training; as keyword arguments of ``droprune.prune``."""
    from droprune.pruning import resolve_floor
    from droprune.quotas import QuotaOptions, check_quota_options

    if args.error_estimate == "beta" and method.needs_recalls and args.recalls is not None \
            and given["val_counts"] is None:
        raise ValueError(f"--error-estimate beta needs the validation samples per class: add a "
                         f"'count' column to --recalls {args.recalls}")
    rule, floor = resolve_floor(method.quota, args.min_density, args.density)
    options = QuotaOptions(
        min_per_class=args.min_per_class, error_estimate=args.error_estimate, min_density=floor,
        mode=cfg.choice("drop_mode") if cfg is not None else "density")
    sizes = np.bincount(given["labels"], minlength=given["num_classes"])
    check_quota_options(rule, sizes, args.density, options)  # None: droprune.prune's default
    return dict(min_per_class=options.min_per_class, min_density=args.min_density,
                error_estimate=options.error_estimate, mode=options.mode)


def _prune_and_write(args: argparse.Namespace, method, given: dict, quota: dict,
                     paths: list[str] | None, manifest: dict[str, Any]) -> int:
    import droprune
    from droprune.prune_output import write_prune_outputs

    with warnings.catch_warnings():  # recorded in the result, printed with the summary
        warnings.simplefilter("ignore", droprune.QuotaWarning)
        result = droprune.prune(density=args.density, method=method.name, seed=args.seed,
                                **given, **quota)
    write_prune_outputs(result, args.out, paths=paths,
                        manifest=dict(manifest, command=command_line(args, "droprune prune"),
                                      **quota))
    print(result.summary())
    if result.starved:
        print("to give every class a floor here: --min-per-class 5 (or --min-density), or "
              "--error-estimate beta (with a 'count' column in --recalls)")
    print(f"kept list: {Path(args.out) / 'kept.csv'}")
    return 0
