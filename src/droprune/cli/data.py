"""``droprune data``: list the dataset sources, describe one, or check its files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._extras import require
from .._kv import parse_assignment
from ._common import dump_json, format_table

__all__ = ["UNDOCUMENTED", "parse_options", "register", "source_row"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data", help="list, describe and check datasets",
        description="Inspect the datasets droprune reads: 'list' the sources and their "
                    "expected layouts, 'info' prints split sizes, class counts, shapes and "
                    "fingerprints, 'check' validates the files on disk and reports problems.",
        epilog="examples: droprune data info mnist1d; droprune data check cifar10 --root /data")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(handler=lambda args: (p.print_help(), 0)[1])

    lst = actions.add_parser("list", help="the registered datasets and their layouts")
    lst.add_argument("--json", action="store_true", help="print JSON instead of text")
    lst.set_defaults(handler=_run_list)

    for action, helptext in (("info", "sizes per split, class counts, shapes, fingerprints"),
                             ("check", "validate the files and report problems")):
        q = actions.add_parser(action, help=helptext, description=helptext)
        q.add_argument("name", help="dataset name (see 'droprune data list')")
        q.add_argument("--root", type=Path, help="folder holding the dataset")
        q.add_argument("--val-fraction", type=float, default=0.5,
                       help="share of each test class used for validation (default 0.5)")
        q.add_argument("--split-seed", type=int, default=0, help="seed of the val/test split")
        q.add_argument("--imbalance", type=float, default=None,
                       help="long-tailed train split with this factor (largest/smallest class)")
        q.add_argument("--imbalance-seed", type=int, default=0,
                       help="seed of the long-tailed subsampling")
        q.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="source option, e.g. num_samples=2000 (VALUE read as --set "
                            "reads it: JSON when possible, a,b as a list, else text); "
                            "repeatable")
        q.add_argument("--json", action="store_true", help="print JSON instead of tables")
        if action == "info":
            q.add_argument("--no-fingerprint", action="store_true",
                           help="skip hashing the inputs (faster on large datasets)")
            q.set_defaults(handler=_run_info)
        else:
            q.add_argument("--decode", choices=("none", "sample", "all"), default="sample",
                           help="lazily decoded sources: decode a sample of images per split "
                                "(default), all of them, or none")
            q.set_defaults(handler=_run_check)


def parse_options(items: list[str]) -> dict[str, Any]:
    """Parse ``["num_samples=2000", "means=[0,1]"]`` into keyword options (values read as by
    ``--set``: JSON when possible, comma lists as lists, else strings).

    Examples
    --------
    >>> parse_options(["num_samples=2000", "name=abc", "means=[0, 1]"])
    {'num_samples': 2000, 'name': 'abc', 'means': [0, 1]}
    """
    return dict(parse_assignment(item, "--option", "num_samples=2000") for item in items)


def _load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return dict(val_fraction=args.val_fraction, split_seed=args.split_seed,
                imbalance=args.imbalance, imbalance_seed=args.imbalance_seed,
                **parse_options(args.option))


#: Shown for a source whose entry leaves its layout or download place out.
UNDOCUMENTED = "not documented"


def source_row(source: Any) -> dict[str, Any]:
    """What ``droprune data list`` shows of one :class:`~droprune.data.DatasetSource`: all of it
    read from the entry (a text it leaves empty reads as :data:`UNDOCUMENTED`)."""
    return {"name": source.name, "description": source.description, "root": source.root,
            "options": source.options(), "layout": source.layout or UNDOCUMENTED,
            "where": source.where or UNDOCUMENTED, "official_splits": source.official_splits,
            "class_names": source.class_names, "group_names": source.group_names}


def _list_text(row: dict[str, Any]) -> str:
    opts = ", ".join(row["options"]) or "-"
    val = "official" if row["official_splits"] else "from the test set"
    lines = [f"{row['name']}: {row['description']}",
             f"  root: {row['root']}; options: {opts}; validation split: {val}",
             f"  layout: {row['layout']}", f"  get it: {row['where']}"]
    lines += [f"  {label}: {', '.join(row[key])}" for label, key in
              (("classes", "class_names"), ("groups", "group_names")) if row[key]]
    return "\n".join(lines)


def _run_list(args: argparse.Namespace) -> int:
    require("torch", "torch", what="droprune data list")
    from droprune.data import DATASETS

    rows = [source_row(source) for source in DATASETS.values()]
    print(dump_json(rows) if args.json else "\n".join(_list_text(r) for r in rows))
    return 0


def _run_info(args: argparse.Namespace) -> int:
    require("torch", "torch", what="droprune data info")
    from droprune.data.registry import load_dataset, summarize_splits

    splits = load_dataset(args.name, args.root, **_load_kwargs(args))
    summary = summarize_splits(splits, fingerprint=not args.no_fingerprint)
    if args.json:
        print(dump_json(summary))
        return 0
    print(print_summary(summary))
    return 0


def print_summary(summary: dict[str, Any]) -> str:
    """The text of ``droprune data info``: one table of splits, one of class counts."""
    splits = summary["splits"]
    headers = ["split", "size", "shape", "dtype"] + (
        ["fingerprint"] if "fingerprint" in splits["train"] else [])
    rows = []
    for name, info in splits.items():
        shape = "x".join(str(s) for s in info["sample_shape"] or [])
        row = [name, info["size"], shape, info["dtype"]]
        if "fingerprint" in info:
            row.append(info["fingerprint"])
        rows.append(row)
    names = summary["class_names"] or [str(k) for k in range(summary["num_classes"])]
    counts = [[k, names[k]] + [splits[s]["class_counts"][k] for s in splits]
              for k in range(summary["num_classes"])]
    lines = [f"{summary['name']}: {summary['num_classes']} classes",
             format_table(headers, rows), "",
             format_table(["class", "name"] + list(splits), counts)]
    if "group_counts" in splits["train"]:
        gnames = summary.get("group_names") or []
        groups = [[g, gnames[g] if g < len(gnames) else ""]
                  + [splits[s]["group_counts"][g] for s in splits]
                  for g in range(len(splits["train"]["group_counts"]))]
        lines += ["", format_table(["group", "name"] + list(splits), groups)]
    return "\n".join(lines)


def _run_check(args: argparse.Namespace) -> int:
    require("torch", "torch", what="droprune data check")
    from droprune.data.registry import check_dataset

    problems = check_dataset(args.name, args.root, decode=args.decode, **_load_kwargs(args))
    if args.json:
        print(dump_json({"name": args.name, "root": None if args.root is None else
                         str(args.root), "ok": not problems, "problems": problems}))
    elif problems:
        print(f"{args.name}: {len(problems)} problem(s)")
        for p in problems:
            print(f"- {p}")
    else:
        print(f"{args.name}: OK")
    return 1 if problems else 0
