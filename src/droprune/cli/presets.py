"""``droprune presets``: list the experiment presets, or print one as JSON."""

from __future__ import annotations

import argparse

from droprune._extras import require

from ._common import check_preset, dump_json, format_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list experiment presets (or print one with --show)",
                       description="The paper's setups and the CPU preset of the demo.")
    p.add_argument("--show", metavar="NAME", help="print this preset's full config as JSON")
    p.set_defaults(handler=_presets)


def _presets(args: argparse.Namespace) -> int:
    require("torch", "torch", "pydantic", what="droprune presets")
    if args.show:
        check_preset(args.show)  # before torch: a typo is reported at once
    from droprune.experiments.presets import PRESETS

    if args.show:
        print(dump_json(PRESETS[args.show].to_dict()))
        return 0
    rows = []
    for name, cfg in PRESETS.items():
        t = cfg.train
        rows.append([name, cfg.data.name, f"{cfg.model.name} x{cfg.model.width:g}", t.epochs,
                     t.batch_size, t.lr, t.weight_decay, ",".join(map(str, t.drop_epochs)) or "-",
                     len(cfg.methods), len(cfg.densities), len(cfg.seeds)])
    print(format_table(["preset", "data", "model", "epochs", "batch", "lr", "wd", "drops",
                        "methods", "densities", "seeds"], rows))
    return 0
