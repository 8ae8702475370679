"""The numpy core imports without torch, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

CORE = ["droprune._checks", "droprune._json", "droprune._plot", "droprune.quotas",
        "droprune.selection", "droprune.metrics"]


def test_core_does_not_import_torch():
    code = ("import sys, droprune, droprune.quotas, droprune.selection, droprune.metrics\n"
            "import importlib.util\n"
            "if importlib.util.find_spec('droprune.theory'): import droprune.theory\n"
            "assert 'torch' not in sys.modules, 'the numpy core imported torch'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", CORE)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
