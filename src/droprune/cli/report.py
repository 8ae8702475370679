"""``droprune report``: figures, tables, HTML and CSV/Parquet from sweep folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from droprune._extras import require


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write the report (plots, tables, HTML, CSV/Parquet) of sweep folders",
        description="Read every results*.sqlite of the given sweep folders (shards merged) and "
                    "write figures, tables, report.html, results.csv and results.parquet.",
        epilog="example: droprune report runs/mnist1d  (writes runs/mnist1d/report/)")
    p.add_argument("folders", nargs="+", type=Path, help="sweep folder(s)")
    p.add_argument("--out", type=Path, help="report folder (default: FIRST_FOLDER/report)")
    p.add_argument("--corr-density", type=float,
                   help="density of the class-density vs full-accuracy figure (default: lowest)")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    require("report", what="droprune report")
    from droprune.experiments.report import write_report

    rep = write_report(args.folders, args.out, corr_density=args.corr_density)
    print(f"report written to {rep.html}")
    for path in rep.files:
        print(f"  {path}")
    for note in rep.notes:
        print(f"note: {note}")
    return 0
