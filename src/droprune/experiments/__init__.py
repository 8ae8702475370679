"""Experiments: methods, configs and presets, the pipeline, sweeps, the results store, reports.

See ``docs/experiments.md``. The names below are imported on first use (so that
:mod:`droprune.experiments.preset_names` imports without torch: the command line checks a
preset name before it loads torch).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the submodule that defines it
_WHERE = {
    "DataSpec": "config", "ExperimentConfig": "config", "ModelSpec": "config",
    "QuerySpec": "config", "config_from_dict": "config", "load_config": "config",
    "Method": "methods", "parse_method": "methods",
    "RunSpec": "pipeline", "plan_runs": "pipeline", "select_indices": "pipeline",
    "PRESETS": "presets", "register_preset": "presets",
    "RunRecord": "record",
    "write_report": "report",
    "ResultStore": "store", "read_results": "store",
    "run_sweep": "sweep",
}

__all__ = sorted(_WHERE, key=lambda n: (not n.isupper(), n))


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
