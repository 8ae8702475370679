"""``droprune quotas``: per-class keep counts of a quota rule (DRoP by default)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from droprune.quotas import drop_densities, make_quotas

from ._common import dump_json, format_table, parse_float_list, parse_int_list, parse_number

RULES = ("drop", "proportional", "balanced")


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
    p.add_argument("--rule", choices=RULES, default="drop", help="quota rule (default: drop)")
    p.add_argument("--mode", choices=("density", "count"), default="density",
                   help="DRoP: class density (the paper, default) or kept count (the paper's "
                        "reference code) proportional to the class error")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_run)


def read_quota_csv(path: Path) -> tuple[list[int], list[float] | None, list[str] | None]:
    """Read class sizes (and recalls, names when present) from a CSV with a header row."""
    if not path.is_file():
        raise FileNotFoundError(f"--csv {path}: no such file")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "size" not in rows[0]:
        raise ValueError(f"--csv {path}: needs a header row with a 'size' column "
                         f"(and 'recall', optionally 'name')")
    sizes = [parse_number(r["size"], f"--csv {path}: row {i}: size", integer=True)
             for i, r in enumerate(rows, 1)]
    recalls = [parse_number(r["recall"], f"--csv {path}: row {i}: recall")
               for i, r in enumerate(rows, 1)] if "recall" in rows[0] else None
    names = [r["name"] for r in rows] if "name" in rows[0] else None
    return sizes, recalls, names


def _run(args: argparse.Namespace) -> int:
    names = None
    recalls = None
    if args.csv is not None:
        if args.sizes or args.recalls:
            raise ValueError("give either --csv or --sizes/--recalls, not both")
        sizes, recalls, names = read_quota_csv(args.csv)
    else:
        if not args.sizes:
            raise ValueError("give --sizes (comma-separated class sizes) or --csv")
        sizes = parse_int_list(args.sizes, "--sizes")
        if args.recalls:
            recalls = parse_float_list(args.recalls, "--recalls")
    return print_quotas(np.asarray(sizes), None if recalls is None else np.asarray(recalls),
                        args.density, rule=args.rule, mode=args.mode, names=names,
                        as_json=args.json)


def print_quotas(sizes: np.ndarray, recalls: np.ndarray | None, density: float, *, rule: str,
                 mode: str, names: list[str] | None, as_json: bool) -> int:
    """Compute the quotas and print them as a table or JSON."""
    if rule == "drop" and recalls is None:
        raise ValueError("the drop rule needs --recalls (or a 'recall' column in --csv)")
    counts = make_quotas(rule, sizes, density, recalls=recalls, mode=mode)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept_density = np.where(sizes > 0, counts / np.maximum(sizes, 1), np.nan)
    names = names or [str(k) for k in range(sizes.size)]
    if as_json:
        out = {"rule": rule, "density": density, "total": int(counts.sum()),
               "class_sizes": sizes, "counts": counts, "densities": kept_density,
               "names": names}
        if rule == "drop":
            out["mode"] = mode
            out["recalls"] = recalls
            out["exact_densities"] = drop_densities(sizes, recalls, density, mode=mode)
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
          f"(density {density:g}, rule {rule}{', mode ' + mode if rule == 'drop' else ''})")
    return 0
