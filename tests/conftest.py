"""Suite-wide settings.

One torch thread per test process: the models in the tests are tiny, and on a 2-core machine
OpenMP threads waiting for each other make them 10-100x slower, not faster. The suite runs
with two pytest-xdist workers (``scripts/test``), one per core.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
