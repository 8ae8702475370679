"""``droprune prune --out-of-core`` / ``--emit-sql``: a manifest of any size, through DuckDB
(:mod:`droprune.outofcore`; docs/prune.md, "A manifest of any size")."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from . import CLIError
from ._common import command_line


def add_outofcore_arguments(parser: argparse.ArgumentParser) -> None:
    big = parser.add_argument_group("a manifest of any size (DuckDB; docs/prune.md)")
    big.add_argument("--out-of-core", action="store_true",
                     help="read --labels as a manifest (.parquet or .csv with a header: label, "
                          "optionally path and a score column) in DuckDB, never in memory, and "
                          "stream kept.parquet; the random order is the seeded hash order")
    big.add_argument("--score-column", metavar="NAME",
                     help="the manifest's score column (default: the column named after the "
                          "method's strategy, e.g. el2n for EL2N+DRoP)")
    big.add_argument("--memory-limit", default="2GB",
                     help="DuckDB's memory limit; it spills to a temporary folder beyond it "
                          "(default 2GB)")
    big.add_argument("--emit-sql", type=Path, metavar="FILE",
                     help="write the selection as one SQL query to FILE, for --dialect; alone "
                          "it prunes nothing, with --out-of-core it prunes too")
    big.add_argument("--dialect", choices=("spark", "trino", "bigquery", "duckdb"),
                     default="spark", help="SQL dialect of --emit-sql (default spark)")
    big.add_argument("--table", help="the table the emitted query reads (default manifest; "
                                     "with --dialect duckdb, the --labels file itself)")
    big.add_argument("--index-column", default="idx",
                     help="the table's column holding each sample's row index (default idx)")


def wants_out_of_core(args: argparse.Namespace) -> bool:
    return bool(args.out_of_core or args.emit_sql is not None)


def run_out_of_core(args: argparse.Namespace) -> int:
    """--labels read as a manifest by DuckDB: kept.parquet (with --out-of-core) and/or the
    selection as SQL for another engine (--emit-sql)."""
    import droprune
    from droprune._io import atomic_write_text
    from droprune.outofcore import (
        emit_sql,
        file_record_streamed,
        prune_manifest,
        write_manifest_outputs,
    )
    from droprune.prune_output import file_record

    used = [flag for flag, value in (("--data", args.data), ("--scores", args.scores),
                                     ("--compare", args.compare)) if value]
    if used:
        raise CLIError(f"--out-of-core and --emit-sql read --labels as a manifest (its scores "
                       f"a column: --score-column); leave out {', '.join(used)}")
    options = dict(method=args.method, seed=args.seed, recalls=args.recalls,
                   class_ids=args.class_ids, score=args.score_column,
                   min_per_class=args.min_per_class, min_density=args.min_density,
                   error_estimate=args.error_estimate, memory_limit=args.memory_limit)
    if args.emit_sql is not None:
        sql = emit_sql(args.labels, args.density, dialect=args.dialect, table=args.table,
                       index=args.index_column, **options)
        atomic_write_text(args.emit_sql, sql + "\n")
        print(f"selection query ({args.dialect}): {args.emit_sql}")
        if not args.out_of_core:
            return 0
    with warnings.catch_warnings():  # recorded in the result, printed with the summary
        warnings.simplefilter("ignore", droprune.QuotaWarning)
        result = prune_manifest(args.labels, args.density, args.out / "kept.parquet",
                                **options)
    manifest = dict(labels=file_record_streamed(args.labels), class_ids=args.class_ids,
                    class_order=list(result.class_names), out_of_core=True,
                    command=command_line(args, "droprune prune"),
                    min_per_class=args.min_per_class, min_density=args.min_density,
                    error_estimate=args.error_estimate)
    if args.recalls is not None:
        manifest["recalls"] = file_record(args.recalls)
    write_manifest_outputs(result, args.out, manifest=manifest)
    print(result.summary())
    print(f"kept list: {args.out / 'kept.parquet'}")
    return 0
