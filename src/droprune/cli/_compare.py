"""``droprune prune --compare``: its options and its run (see docs/compare.md)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from . import CLIError
from ._common import command_line, parse_int_list

#: what --compare decides itself: these options choose one rule and are refused beside it
RULE_FLAGS = (("method", "--method"), ("min_density", "--min-density"),
              ("error_estimate", "--error-estimate"), ("min_per_class", "--min-per-class"))


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "compare rules first (--compare; needs --data, trains proxy models)")
    g.add_argument("--compare", action="store_true",
                   help="compare pruning rules on held-out validation halves (cross-fitted, "
                        "over --compare-seeds; the test split is never read), keep the "
                        "recommended one, and write compare.csv and compare.png")
    g.add_argument("--compare-seeds", default="0,1,2",
                   help="comma-separated seeds, one estimate each (default 0,1,2)")
    g.add_argument("--proxy-epochs", type=int, default=10,
                   help="epochs of each proxy model (constant learning rate; default 10)")
    g.add_argument("--candidate", action="append", default=[], metavar="METHOD",
                   help="one more rule to compare, e.g. Random+Sqrt (repeatable)")
    g.add_argument("--tolerance", type=float, default=0.02,
                   help="average-accuracy tolerance of the recommendation (fraction, 0.02)")
    g.add_argument("--tie", type=float, default=0.01,
                   help="worst-class differences below this count as noise (fraction, 0.01)")


def check_compare(args: argparse.Namespace) -> None:
    """Refuse what --compare cannot take, before anything is read or trained."""
    if not args.compare:
        extra = [f for f, v in (("--candidate", args.candidate),) if v]
        if extra:
            raise CLIError(f"{', '.join(extra)} adds a rule to --compare: give --compare too")
        return
    if args.data is None:
        raise CLIError("--compare trains proxy models on the data: give --data NAME (and "
                       "--model); from files alone there is nothing to train")
    given = [flag for key, flag in RULE_FLAGS
             if getattr(args, key) not in (None, 0, "point", "Random+DRoP")]
    if given or args.recalls is not None or args.scores is not None:
        given += [f for f, v in (("--recalls", args.recalls), ("--scores", args.scores)) if v]
        raise CLIError(f"--compare chooses the rule and computes what it needs: leave out "
                       f"{', '.join(given)} (add rules with --candidate METHOD)")
    parse_int_list(args.compare_seeds, "--compare-seeds")
    if args.proxy_epochs < 1:
        raise CLIError(f"--proxy-epochs must be at least 1, got {args.proxy_epochs}")


def run_compare(args: argparse.Namespace, cfg: Any, splits: Any, paths: Any,
                manifest: dict[str, Any]) -> int:
    """Compare, then write the recommended rule's outputs with the comparison beside them."""
    import droprune
    from droprune.experiments.prune_compare import (
        compare_files,
        compare_on_dataset,
        compare_section,
    )
    from droprune.prune_output import write_prune_outputs

    out = Path(args.out)
    seeds = parse_int_list(args.compare_seeds, "--compare-seeds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", droprune.QuotaWarning)
        res = compare_on_dataset(
            cfg, splits, density=args.density, seed=args.seed, seeds=seeds,
            proxy_epochs=args.proxy_epochs, candidates=args.candidate,
            tolerance=args.tolerance, tie=args.tie, work_dir=out / "compare",
            device=args.device or cfg.device, progress=False if args.no_progress else None)
    print(res.summary())
    write_prune_outputs(res.result, out, paths=paths, sections=[compare_section(res)],
                        extra=compare_files(res), manifest=dict(
                            manifest, command=command_line(args, "droprune prune"),
                            compare={"recommended": res.recommended, "reason": res.reason,
                                     "seeds": seeds, "proxy_epochs": args.proxy_epochs,
                                     "tolerance": res.tolerance, "tie": res.tie,
                                     "table": "compare.csv"}))
    print(res.result.summary())
    print(f"kept list ({res.recommended}): {out / 'kept.csv'}")
    return 0
