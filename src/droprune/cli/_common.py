"""Helpers shared by the subcommands: parsing number lists, printing tables and JSON."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from droprune._json import dumps

__all__ = ["dump_json", "format_table", "parse_float_list", "parse_int_list", "parse_number"]


def parse_number(text: Any, name: str, *, integer: bool = False) -> Any:
    """Parse one number of text (``"500"``, ``"0.9"``; ``"500.0"`` is an integer too), naming
    the option in the error; the range is the library's to check.

    Examples
    --------
    >>> parse_number("500.0", "size", integer=True), parse_number("0.9", "recall")
    (500, 0.9)
    """
    kind = "an integer" if integer else "a number"
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {kind}, got {text!r}") from None
    if integer and not value.is_integer():  # 2.5, inf and nan
        raise ValueError(f"{name} must be {kind}, got {text!r}")
    return int(value) if integer else value


def parse_float_list(text: str, name: str) -> list[float]:
    """Parse ``"0.9,0.8,0.7"`` into floats, naming the option in the error."""
    try:
        return [parse_number(v, name) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None


def parse_int_list(text: str, name: str) -> list[int]:
    """Parse ``"500,500,100"`` into integers, naming the option in the error."""
    try:
        return [parse_number(v, name, integer=True) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from None


def dump_json(obj: Any) -> str:
    """Indented JSON text of ``obj`` in droprune's one convention (:mod:`droprune._json`:
    numpy values converted, NaN as null, infinities as ``"inf"`` / ``"-inf"``)."""
    return dumps(obj, "output", indent=2)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table; floats printed with 4 decimals."""
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.4f}"
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def add_config_arguments(parser) -> None:
    """The options that choose an experiment: --preset / --config and --set overrides."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--preset", help="a preset name (see `droprune presets`)")
    src.add_argument("--config", help="a .toml or .json experiment file (may name a preset)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set train.epochs=10 --set "
                             "densities=0.3,0.5 (repeatable)")
    parser.add_argument("--device", help="torch device (default: the config's, else CUDA "
                                         "when available)")


def load_experiment(preset: str | None, config: str | None, overrides: list[str]):
    """The ExperimentConfig chosen by --preset/--config and --set."""
    from droprune.experiments.config import load_config

    return load_config(preset or config, overrides)
