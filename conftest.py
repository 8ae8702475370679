"""Suite-wide settings, for the tests and for the docstring examples of the package
(``--doctest-modules`` over ``src/droprune``).

One torch thread per test process: the models in the tests are tiny, and on a 2-core machine
OpenMP threads waiting for each other make them 10-100x slower, not faster. The suite runs
with two pytest-xdist workers (``scripts/test``), one per core.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# `python -m droprune` runs the command: not a module to import for its docstrings
collect_ignore = ["src/droprune/__main__.py"]

# Property tests explore a fixed sequence of examples (derandomize), so the suite gives the same
# verdict on every run; set HYPOTHESIS_PROFILE=explore to search with fresh random examples.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def matplotlib_untouched(monkeypatch):
    """Fail a test whose code switches the matplotlib backend, imports pyplot or leaves a
    pyplot figure open (library code draws on explicit Figure objects only)."""
    import sys

    import matplotlib

    backend = dict.__getitem__(matplotlib.rcParams, "backend")  # raw: without resolving it
    pyplot = sys.modules.get("matplotlib.pyplot")
    figures = pyplot.get_fignums() if pyplot is not None else []
    monkeypatch.setattr(matplotlib, "use",
                        lambda *a, **k: pytest.fail(f"matplotlib.use{a} was called"))
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # `import` of it now fails
    monkeypatch.delattr(matplotlib, "pyplot", raising=False)
    yield
    assert dict.__getitem__(matplotlib.rcParams, "backend") == backend
    if pyplot is not None:
        assert pyplot.get_fignums() == figures
