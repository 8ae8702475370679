"""The numpy core imports without torch, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

CORE = ["droprune._checks", "droprune._json", "droprune._plot", "droprune.quotas",
        "droprune.selection", "droprune.metrics", "droprune.methods", "droprune.pruning",
        "droprune._columns", "droprune.inputs", "droprune.prune_output",
        "droprune._registry", "droprune.scorers", "droprune.splits", "droprune.comparison"]


def test_core_does_not_import_torch():
    code = ("import sys, droprune, droprune.quotas, droprune.selection, droprune.metrics\n"
            "import droprune.scorers, droprune.splits, droprune.comparison, droprune.methods\n"
            "import importlib.util\n"
            "if importlib.util.find_spec('droprune.theory'): import droprune.theory\n"
            "assert 'torch' not in sys.modules, 'the numpy core imported torch'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_prune_works_with_torch_blocked():
    """The one-call array API runs where torch cannot be imported at all."""
    code = ("import sys\n"
            "sys.modules['torch'] = None  # any 'import torch' now raises ImportError\n"
            "import numpy as np, droprune\n"
            "labels = np.repeat([0, 1, 2], 50)\n"
            "r = droprune.prune(labels, 0.5, recalls=[0.9, 0.7, 0.5], min_density=0)\n"
            "assert r.kept.size == 75 and r.table['kept'].tolist() == [8, 25, 42], r.table\n"
            "r = droprune.prune(labels, 0.4, scores=np.arange(150.0), method='Margin+Balanced')\n"
            "assert r.method == 'Margin+Balanced' and r.kept.size == 60\n"
            "r.summary(); r.kept_frame()\n"
            "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", CORE)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
