"""Experiments: methods, configs and presets, the pipeline, sweeps, the results store, reports.

See ``docs/experiments.md``.
"""

from .config import DataSpec, ExperimentConfig, ModelSpec, QuerySpec, config_from_dict, load_config
from .methods import Method, parse_method
from .pipeline import RunSpec, plan_runs, select_indices
from .presets import PRESETS
from .record import RunRecord
from .report import write_report
from .store import ResultStore, read_results
from .sweep import run_sweep

__all__ = [
    "PRESETS",
    "DataSpec",
    "ExperimentConfig",
    "Method",
    "ModelSpec",
    "QuerySpec",
    "ResultStore",
    "RunRecord",
    "RunSpec",
    "config_from_dict",
    "load_config",
    "parse_method",
    "plan_runs",
    "read_results",
    "run_sweep",
    "select_indices",
    "write_report",
]
