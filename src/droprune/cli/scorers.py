"""``droprune scorers``: the scorer registry (every score, its method name, query run and
options), read from :data:`droprune.scorers.SCORERS`, which imports no torch. The options are
read from each score's code (torch's): without torch they are left out, and the command says
which extra brings them."""

from __future__ import annotations

import argparse
import logging

from droprune._extras import available, install_hint

from ._common import dump_json, format_table

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scorers", help="list every pruning score, its method name and options",
                       description="Every registered score (higher = harder = kept first): the "
                                   "name a method uses (e.g. EL2N in EL2N+DRoP), whether the "
                                   "training loop records it or it is computed post hoc, which "
                                   "query run produces it, and its options with their "
                                   "defaults (set them with --set query.scorer_options). "
                                   "Without torch the options are not listed (null in --json).")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")
    p.set_defaults(handler=_scorers)


def _scorers(args: argparse.Namespace) -> int:
    from droprune.scorers import SCORERS

    options = available("torch")  # read from the scores' code, which imports torch
    if not options:
        logger.warning("the options of each score are not listed: they are read from the "
                       "scoring code, which needs torch (%s)", install_hint("torch"))
    entries = [{"name": s.name, "method_name": s.method_name, "kind": s.kind,
                "query": s.query, "options": s.options if options else None,
                "description": s.description, "reference": s.reference}
               for s in SCORERS.values()]
    if args.json:
        print(dump_json(entries))
        return 0
    rows = [[e["name"], e["method_name"] or "-", e["kind"], e["query"], "?" if e["options"]
             is None else ", ".join(f"{k}={v!r}" for k, v in e["options"].items()) or "-",
             e["reference"]] for e in entries]
    print(format_table(["scorer", "method", "kind", "query run", "options", "reference"], rows))
    return 0
