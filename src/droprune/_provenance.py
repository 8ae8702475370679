"""How a result was made: droprune's version and commit, the library builds and the machine.

Tables and figures carry this (the report's "How this was made" section, its
``provenance.json``): results are bit-identical only on the same CPU and torch build, so a
reader must be able to tell which build and which CPU produced a number. Nothing here imports
torch: versions are read from the installed packages' metadata.
"""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["provenance"]


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    """``git <args>`` in droprune's source checkout, or None (not a checkout, no git)."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True,
                              timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict[str, Any]:
    """What produced a result: droprune version and commit (``+dirty`` with uncommitted
    changes), Python, numpy, torch and pandas versions, the CPU model, its logical cores, the
    OS, and the time (UTC).

    Examples
    --------
    >>> info = provenance()
    >>> sorted(info)[:4]
    ['commit', 'cpu', 'cpus', 'droprune']
    """
    import os

    from . import __version__

    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {"droprune": __version__, "commit": commit,
            "python": platform.python_version(), "numpy": _version("numpy"),
            "torch": _version("torch"), "pandas": _version("pandas"), "cpu": _cpu(),
            "cpus": os.cpu_count(), "os": platform.platform(terse=True),
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def provenance_line(info: dict[str, Any]) -> str:
    """One line for captions and footers.

    Examples
    --------
    >>> provenance_line({"droprune": "0.1.0", "commit": "abc1234", "torch": "2.13.0",
    ...                  "numpy": "2.1", "cpu": "Xeon", "cpus": 2, "python": "3.11.7"})
    'droprune 0.1.0 (commit abc1234), torch 2.13.0, numpy 2.1, Python 3.11.7, Xeon x 2'
    """
    return (f"droprune {info.get('droprune')} (commit {info.get('commit') or 'unknown'}), "
            f"torch {info.get('torch') or 'not installed'}, numpy {info.get('numpy')}, "
            f"Python {info.get('python')}, {info.get('cpu')} x {info.get('cpus')}")
