"""The number of CPU threads torch uses, for a block of code.

Small models train fastest on one thread: on a shared 2-core machine the (256, 256) MLP of the
demo trained 6-130x faster with 1 thread than with 2 (``benchmarks/bench_threads.py``). Results
can differ in the last bits between thread counts; the same thread count reproduces them.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .._checks import check_int

__all__ = ["check_threads", "torch_threads"]


def check_threads(threads: int | None) -> int | None:
    """``threads`` as an int >= 1, or None (leave torch's setting); else a ValueError.

    Examples
    --------
    >>> check_threads(2), check_threads(None)
    (2, None)
    """
    return None if threads is None else check_int(threads, "threads", minimum=1)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, then restore the previous value.

    Parameters
    ----------
    threads
        Number of intra-op CPU threads (>= 1); None leaves torch's setting as it is.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    threads = check_threads(threads)
    if threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)
