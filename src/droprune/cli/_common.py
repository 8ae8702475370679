"""Helpers shared by the subcommands: parsing number lists, printing tables and JSON, the
options that choose an experiment and the CPU thread count of the commands that train."""

from __future__ import annotations

import argparse

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from droprune._json import dumps

__all__ = ["DEFAULT_THREADS", "THREADS_ENV", "add_config_arguments", "add_run_arguments",
           "apply_threads", "check_experiment", "check_preset",
           "dump_json", "format_table", "load_experiment", "parse_float_list",
           "parse_int_list", "parse_number", "resolve_threads"]

#: environment variable with the default of ``--threads``
THREADS_ENV = "DROPRUNE_THREADS"
#: torch threads of the commands that train, unless --threads or $DROPRUNE_THREADS say otherwise:
#: on a busy 2-core machine the demo's MLP trained 6-130x faster with 1 thread than with 2
#: (benchmarks/bench_threads.py)
DEFAULT_THREADS = 1


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


def add_run_arguments(parser) -> None:
    """The options of every command that trains: --threads and --no-progress."""
    parser.add_argument("--threads", metavar="N",
                        help=f"CPU threads torch uses (default: ${THREADS_ENV}, else "
                             f"{DEFAULT_THREADS}: small models train fastest on one thread). "
                             f"Results can differ in the last bits between thread counts; the "
                             f"same count reproduces them")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (nor, off a terminal, the line per finished "
                             "training that replaces them)")


def resolve_threads(option: str | None, environ: Mapping[str, str] = os.environ) -> int:
    """The thread count of a command: ``--threads``, else ``$DROPRUNE_THREADS``, else
    :data:`DEFAULT_THREADS`; an integer >= 1 (checked without importing torch).

    Examples
    --------
    >>> resolve_threads(None, {}), resolve_threads(None, {"DROPRUNE_THREADS": "4"})
    (1, 4)
    >>> resolve_threads("2", {"DROPRUNE_THREADS": "4"})
    2
    >>> resolve_threads("0", {})
    Traceback (most recent call last):
    ...
    ValueError: --threads must be an integer >= 1, got '0'
    """
    name, text = ("--threads", option) if option is not None else (THREADS_ENV,
                                                                   environ.get(THREADS_ENV))
    if text is None or not str(text).strip():
        return DEFAULT_THREADS
    requirement = f"{name} must be an integer >= 1, got {text!r}"
    try:
        value = parse_number(text, name, integer=True)
    except ValueError:
        raise ValueError(requirement) from None
    if value < 1:
        raise ValueError(requirement)
    return value


def apply_threads(threads: int) -> None:
    """Make torch use ``threads`` CPU threads for the rest of the command. The command owns its
    process, so this is process-wide; library code uses
    :func:`droprune.training.torch_threads` instead."""
    import torch

    torch.set_num_threads(threads)


def check_preset(name: str) -> None:
    """Refuse an unknown preset name without importing torch (a typo is reported at once).

    Examples
    --------
    >>> check_preset("mnist1d-cpux")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown preset 'mnist1d-cpux'; valid presets: mnist1d-cpu, ...
    """
    from droprune.experiments.preset_names import preset_names

    names = preset_names()
    if name not in names:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(names)}")


def check_experiment(preset: str | None, config: str | None, *, required: bool = True) -> None:
    """Refuse a missing experiment (when ``required``), an unknown preset name or a missing
    config file, without importing torch."""
    if required and preset is None and config is None:
        raise ValueError("choose the experiment: --preset NAME (see `droprune presets`) or "
                         "--config FILE")
    if preset is not None:
        check_preset(preset)
    if config is not None and not Path(config).is_file():
        raise FileNotFoundError(f"--config {config}: no such file (a .toml or .json experiment "
                                f"file; presets go with --preset)")


def load_experiment(preset: str | None, config: str | None, overrides: list[str], *,
                    required: bool = True):
    """The ExperimentConfig chosen by --preset/--config (one is required unless not
    ``required``: then the default config) and --set. When ``required``, a --config file must
    name a preset or the data (``load_config``'s ``require_data``)."""
    check_experiment(preset, config, required=required)
    from droprune.experiments.config import load_config

    return load_config(preset or config, overrides, require_data=required)


def command_line(args: argparse.Namespace, prog: str) -> str:
    """The command line ``prog ...``, rebuilt from the parsed options (given or defaulted), for
    manifests (``--quiet`` / ``--verbose`` left out: they change only what is logged).

    Examples
    --------
    >>> command_line(argparse.Namespace(density=0.5, out="o", compare=True, set=["a=1"]),
    ...              "droprune prune")
    'droprune prune --density 0.5 --out o --compare --set a=1'
    """
    import shlex

    parts = shlex.split(prog)
    for key, value in vars(args).items():
        if key in ("command", "handler", "verbosity") or value is None or value is False:
            continue
        flag = f"--{key.replace('_', '-')}"
        for v in value if isinstance(value, list) else [value]:
            parts += [flag] if v is True else [flag, str(v)]
    return shlex.join(parts)


def read_flagged(flag: str, reader: Any, *args: Any, **kwargs: Any) -> Any:
    """``reader(*args, **kwargs)``, its one-line error prefixed with the option naming the file
    (``--labels labels.csv: ...``)."""
    try:
        return reader(*args, **kwargs)
    except (FileNotFoundError, ValueError) as exc:
        raise (FileNotFoundError if isinstance(exc, FileNotFoundError) else ValueError)(
            f"{flag} {exc}") from None
