"""``droprune demo``: the main job -- a small sweep on the embedded MNIST-1D default + report."""

from __future__ import annotations

import argparse
from pathlib import Path

from droprune._extras import require

from ._common import add_run_arguments, apply_threads, load_experiment, resolve_threads

PRESET = "mnist1d-cpu"
QUICK = ["seeds=0", "densities=0.3,0.7", "train.epochs=6", "train.drop_epochs=4",
         "query.seeds=2", "query.epochs_fraction=0.34",
         "query.scorer_options.dynunc.window=3", "protocol_options.fixed_query_epochs=6"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="the main job: prune MNIST-1D with and without DRoP, then report",
        description=f"Run the `{PRESET}` preset (MNIST-1D generated offline; Random, EL2N, "
                    "Forgetting and DynUnc with and without DRoP, Random+DRoPFloor (DRoP with "
                    "the front door's floor) and the full data, densities 0.3-0.9, 3 seeds) "
                    "and write the report. Resumable: run it "
                    "again to continue after an interruption.")
    p.add_argument("--out", type=Path, default=Path("droprune-demo"),
                   help="output folder (default: ./droprune-demo)")
    p.add_argument("--quick", action="store_true",
                   help="a one-minute smoke version (1 seed, 2 densities, 6 epochs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key of the preset (repeatable)")
    p.add_argument("--device", help="torch device (default: CUDA when available, else CPU)")
    add_run_arguments(p)
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    require("torch", "torch", "pydantic", "pyarrow", "mnist1d", what="droprune demo")
    require("report", what="droprune demo (its report)")
    threads = resolve_threads(args.threads)
    overrides = (QUICK if args.quick else []) + list(args.set)
    cfg = load_experiment(PRESET, None, overrides)
    apply_threads(threads)
    from droprune.experiments.report import write_report
    from droprune.experiments.store import read_results
    from droprune.experiments.sweep import run_sweep
    from droprune.training.distributed import is_main

    summary = run_sweep(cfg, args.out, device=args.device, progress=not args.no_progress)
    if is_main():  # under torchrun only rank 0 writes and prints
        print(summary)
        rep = write_report(args.out)
        print(f"report: {rep.html}")
        print(headline(read_results(args.out)))
    return 0


def headline(df) -> str:
    """A few lines saying what the demo shows at its lowest density, whatever it shows."""
    pruned = df[df["method"] != "Full"]
    if pruned.empty:
        return "no pruned runs yet"
    d = float(pruned["density"].min())
    at = pruned[pruned["density"] == d].groupby("method")[["accuracy", "worst_class_accuracy"]]
    means = at.mean().sort_values("worst_class_accuracy", ascending=False) * 100
    lines = [f"worst-class / average test accuracy (%) at density {d:g}, mean over seeds:"]
    for method, row in means.iterrows():
        lines.append(f"  {method:<18} worst {row['worst_class_accuracy']:5.1f}   "
                     f"average {row['accuracy']:5.1f}")
    full = df[df["method"] == "Full"]
    if not full.empty:
        lines.append(f"  {'Full data':<18} worst {100 * full['worst_class_accuracy'].mean():5.1f}"
                     f"   average {100 * full['accuracy'].mean():5.1f}")
    for method, what in (("Random+DRoP", "the paper's rule"),
                         ("Random+DRoPFloor", "DRoP with a floor of half the density, the "
                                              "default of droprune prune")):
        if method in means.index:
            rank = list(means.index).index(method) + 1
            lines.append(f"{method} ({what}) ranks {rank} of {len(means)} pruning methods by "
                         f"worst-class accuracy at density {d:g}.")
    return "\n".join(lines)
