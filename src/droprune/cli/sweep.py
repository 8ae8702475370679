"""``droprune sweep`` and ``droprune run``: final runs of an experiment into a results store."""

from __future__ import annotations

import argparse
from pathlib import Path

from droprune._extras import require

from ._common import (
    add_config_arguments,
    add_run_arguments,
    apply_threads,
    load_experiment,
    resolve_threads,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run methods x densities x seeds of an experiment (resumable, shardable)",
        description="Run every final run of an experiment that is not yet in the --out folder. "
                    "Kill it at any point and run the same command again to resume. With "
                    "--shard i/n, run the i-th of n blocks (a cluster job array); "
                    "`droprune report` merges the shards.",
        epilog="example: droprune sweep --preset mnist1d-cpu --out runs/mnist1d "
               "--set seeds=0 --set densities=0.3,0.5")
    add_config_arguments(p)
    p.add_argument("--out", required=True, type=Path, help="sweep folder (results, selections, "
                                                            "query scores)")
    p.add_argument("--shard", help="i/n: run only the i-th of n blocks of the plan (0-based)")
    add_run_arguments(p)
    p.set_defaults(handler=_sweep)

    r = sub.add_parser(
        "run", help="one final run: a method at a density and seed",
        description="Run one method at one density and seed (the same run a sweep would do, "
                    "stored in the same way).",
        epilog="example: droprune run --preset mnist1d-cpu --method Random+DRoP --density 0.5 "
               "--out runs/one")
    add_config_arguments(r)
    r.add_argument("--method", required=True, help="e.g. Random+DRoP, EL2N, Forgetting+DRoP (strategies: `droprune scorers`)")
    r.add_argument("--density", required=True, type=float, help="fraction KEPT, in (0, 1]")
    r.add_argument("--seed", type=int, default=0,
                   help="seed of the run: its query models, selection and final model "
                        "(default: 0)")
    r.add_argument("--out", required=True, type=Path,
                   help="sweep folder to add the run to (results, selection, query scores); "
                        "runs already in it are not redone")
    add_run_arguments(r)
    r.set_defaults(handler=_run)


def _sweep(args: argparse.Namespace) -> int:
    require("torch", what="droprune sweep")
    threads = resolve_threads(args.threads)
    cfg = load_experiment(args.preset, args.config, args.set)
    apply_threads(threads)
    from droprune.experiments.sweep import parse_shard, run_sweep
    from droprune.training.distributed import is_main

    summary = run_sweep(cfg, args.out, shard=parse_shard(args.shard), device=args.device,
                        progress=not args.no_progress)
    if is_main():  # torchrun: one summary, from rank 0
        print(summary)
    return 0


def _run(args: argparse.Namespace) -> int:
    require("torch", what="droprune run")
    overrides = list(args.set) + [f"methods={args.method}", f"densities={args.density}",
                                  f"seeds={args.seed}"]
    if args.method.strip().lower() == "full":
        if args.density != 1.0:
            raise ValueError(f"--method Full keeps the whole training set: give --density 1, "
                             f"got {args.density:g}")
        overrides[-2] = "densities=1.0"
    threads = resolve_threads(args.threads)
    cfg = load_experiment(args.preset, args.config, overrides)
    apply_threads(threads)
    from droprune.experiments.store import ResultStore
    from droprune.experiments.sweep import run_sweep
    from droprune.training.distributed import is_main

    summary = run_sweep(cfg, args.out, device=args.device, progress=not args.no_progress)
    if not is_main():  # torchrun: one summary, from rank 0
        return 0
    print(summary)
    rows = [r for r in ResultStore(args.out / "results.sqlite", readonly=True).records()
            if r["method"] == cfg.parsed_methods[0].name and r["seed"] == args.seed]
    for r in rows:
        print(f"{r['method']} d={r['density']:g} seed={r['seed']}: accuracy {r['accuracy']:.4f}, "
              f"worst class {r['worst_class_name']} {r['worst_class_accuracy']:.4f}, "
              f"kept {r['kept']}")
    return 0
