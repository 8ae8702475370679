"""``droprune quotas``: per-class keep counts of a quota rule (DRoP by default)."""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np

from droprune.quotas import (
    QUOTA_RULES,
    QuotaOptions,
    QuotaWarning,
    make_quotas,
    quota_allocation,
    starved_classes,
)

from ._common import (
    dump_json,
    format_table,
    parse_float_list,
    parse_int_list,
    parse_number,
    read_flagged,
)


def rules() -> list[str]:
    """The quota rules this command computes: every registered rule with counts of its own
    (not ``none``, not another selection's histogram), read now."""
    return [r.name for r in QUOTA_RULES.values()
            if r.allocate is not None and "selection" not in r.needs]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quotas", help="per-class keep counts of DRoP (or another quota rule)",
        description="Print how many samples each class keeps at a density (fraction KEPT). "
                    "Sizes and recalls come from --sizes/--recalls or from a CSV with columns "
                    "'size' and 'recall' (optional 'name').",
        epilog="example: droprune quotas --sizes 500,500,100 --recalls 0.9,0.8,0.7 "
               "--density 0.5")
    p.add_argument("--sizes", help="comma-separated class sizes N_k")
    p.add_argument("--recalls", help="comma-separated validation recalls r_k in [0, 1]")
    p.add_argument("--csv", type=Path, help="CSV file with columns size, recall[, name]")
    p.add_argument("--density", type=float, required=True,
                   help="fraction of the dataset KEPT, in [0, 1]")
    p.add_argument("--rule", choices=rules(), default="drop",
                   help="quota rule (default: drop): " + "; ".join(
                       f"{r.name}: {r.description}" for r in QUOTA_RULES.values()
                       if r.name in rules()))
    p.add_argument("--mode", choices=("density", "count"), default="density",
                   help="DRoP: class density (the paper, default) or kept count (the paper's "
                        "reference code) proportional to the class error")
    p.add_argument("--val-counts", help="comma-separated validation samples per class that "
                                        "each recall was measured on (or a 'count' column in "
                                        "--csv)")
    p.add_argument("--error-estimate", choices=("point", "beta"), default="point",
                   help="DRoP class error: 'point' = 1 - recall (the paper, default) or 'beta' = "
                        "its Beta-posterior mean given --val-counts")
    p.add_argument("--prior", default="0.5,0.5", help="a,b of the Beta prior of 'beta' "
                                                      "(default 0.5,0.5: Jeffreys)")
    p.add_argument("--min-per-class", type=int, default=0,
                   help="every class keeps at least this many samples (default 0)")
    p.add_argument("--min-density", type=float, default=0.0,
                   help="every class keeps at least this fraction of its samples (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_run)


def read_quota_csv(path: Path) -> tuple[list[int], list[float] | None, list[str] | None,
                                         list[int] | None]:
    """Read class sizes (and recalls, names, validation counts when present) from a CSV with a
    header row."""
    if not path.is_file():
        raise FileNotFoundError(f"--csv {path}: no such file")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "size" not in rows[0]:
        raise ValueError(f"--csv {path}: needs a header row with a 'size' column "
                         f"(and 'recall', optionally 'name' and 'count')")
    sizes = [parse_number(r["size"], f"--csv {path}: row {i}: size", integer=True)
             for i, r in enumerate(rows, 1)]
    recalls = [parse_number(r["recall"], f"--csv {path}: row {i}: recall")
               for i, r in enumerate(rows, 1)] if "recall" in rows[0] else None
    names = [r["name"] for r in rows] if "name" in rows[0] else None
    counts = [parse_number(r["count"], f"--csv {path}: row {i}: count", integer=True)
              for i, r in enumerate(rows, 1)] if "count" in rows[0] else None
    read_flagged(f"--csv {path}:", _check_columns, sizes, recalls, names, counts)
    return sizes, recalls, names, counts


def _check_columns(sizes: list[int], recalls: list[float] | None, names: list[str] | None,
                   counts: list[int] | None) -> None:
    """The columns of a quota CSV, checked as the library checks them (class k: row k + 1)."""
    from droprune._checks import as_class_names, as_class_sizes, as_per_class_counts, as_recalls

    n = as_class_sizes(sizes, name="size")
    if recalls is not None:
        as_recalls(recalls, n.size, name="recall", allow_nan=n == 0)
    as_class_names(names, n.size, name="name")
    if counts is not None:
        as_per_class_counts(counts, n.size, "count")


def _run(args: argparse.Namespace) -> int:
    names = None
    recalls = None
    val_counts = None if args.val_counts is None else parse_int_list(args.val_counts,
                                                                      "--val-counts")
    if args.csv is not None:
        if args.sizes or args.recalls:
            raise ValueError("give either --csv or --sizes/--recalls, not both")
        sizes, recalls, names, csv_counts = read_quota_csv(args.csv)
        val_counts = val_counts if csv_counts is None else csv_counts
    else:
        if not args.sizes:
            raise ValueError("give --sizes (comma-separated class sizes) or --csv")
        sizes = parse_int_list(args.sizes, "--sizes")
        if args.recalls:
            recalls = parse_float_list(args.recalls, "--recalls")
    options = QuotaOptions(mode=args.mode, error_estimate=args.error_estimate,
                           # two numbers: QuotaOptions checks (check_beta_prior)
                           prior=cast("tuple[float, float]",
                                      tuple(parse_float_list(args.prior, "--prior"))),
                           min_per_class=args.min_per_class, min_density=args.min_density)
    return print_quotas(np.asarray(sizes), None if recalls is None else np.asarray(recalls),
                        args.density, rule=args.rule, options=options.for_rule(args.rule),
                        val_counts=val_counts, names=names, as_json=args.json)


def print_quotas(sizes: np.ndarray, recalls: np.ndarray | None, density: float, *, rule: str,
                 options: QuotaOptions, val_counts: list[int] | None, names: list[str] | None,
                 as_json: bool) -> int:
    """Compute the quotas of ``rule`` (a name of :data:`droprune.quotas.QUOTA_RULES`) and print
    them as a table or JSON; the classes the rule starves are listed on stderr (and under
    ``"starved"`` in the JSON)."""
    entry = QUOTA_RULES.entry(rule)
    if entry.needs_recalls and recalls is None:
        raise ValueError(f"the {rule} rule needs --recalls (or a 'recall' column in --csv)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuotaWarning)
        counts = make_quotas(rule, sizes, density, recalls=recalls, val_counts=val_counts,
                             options=options, class_names=names)
    assert counts is not None  # rules() excludes "none", the one rule without counts
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    starved = starved_classes(counts, sizes)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept_density = np.where(sizes > 0, counts / np.maximum(sizes, 1), np.nan)
        exact = quota_allocation(rule, sizes, density, recalls=recalls, val_counts=val_counts,
                                 options=options) / np.maximum(sizes, 1)
    names = names or [str(k) for k in range(sizes.size)]
    mode = options.mode if "mode" in entry.options else None
    if as_json:
        out = {"rule": rule, "density": density, "total": int(counts.sum()),
               "class_sizes": sizes, "counts": counts, "densities": kept_density,
               "names": names, "starved": starved,
               "exact_densities": np.where(sizes > 0, exact, 0.0)}
        if mode is not None:
            out["mode"] = mode
        if entry.needs_recalls:
            out["recalls"] = recalls
            out.update(error_estimate=options.error_estimate, prior=options.prior)
            if val_counts is not None:
                out["val_counts"] = val_counts
        if entry.floors:
            out.update(min_per_class=options.min_per_class, min_density=options.min_density)
        print(dump_json(out))
        return 0
    headers = ["class", "size"] + (["recall"] if recalls is not None else []) + ["kept", "density"]
    rows = []
    for k in range(sizes.size):
        row = [names[k], int(sizes[k])]
        if recalls is not None:
            row.append(float(recalls[k]))
        rows.append(row + [int(counts[k]), float(kept_density[k])])
    print(format_table(headers, rows))
    print(f"kept {int(counts.sum())} of {int(sizes.sum())} samples "
          f"(density {density:g}, rule {rule}{', mode ' + mode if mode else ''})")
    return 0
