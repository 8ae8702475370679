"""The runnable examples in the training modules' docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["augment", "batching", "cdbw", "config", "hooks", "inference", "loop", "stats",
           "distributed"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"droprune.training.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
