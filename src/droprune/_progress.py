"""Progress of long work, the one way droprune shows it: a tqdm bar on a terminal, one log line
per finished stage anywhere else.

:func:`progress_bar` draws a bar (on stderr) only when :func:`bars_enabled`: stderr is a
terminal (or a Jupyter kernel), ``$TQDM_DISABLE`` is not set to a true value and tqdm is
installed. Otherwise it returns a stand-in with the same methods that writes nothing while the
work runs and one INFO line on the ``droprune`` logger when the stage is closed (``train MLP
(seed 0, 10 epochs): 80/80 batch in 1.2 s; loss 0.31, acc 0.9``), so a log file gets no
``\\r`` updates. ``enabled=False`` shows nothing at all (``--no-progress``, ranks other than 0),
nor does any bar while :func:`silenced` is active (``droprune --quiet``).

Examples
--------
>>> import logging, sys
>>> logging.getLogger("droprune").addHandler(handler := logging.StreamHandler(sys.stdout))
>>> logging.getLogger("droprune").setLevel(logging.INFO)
>>> with progress_bar(3, "demo stage", unit="step") as bar:  # doctest's stderr: no terminal
...     for _ in range(3):
...         bar.update(1)
...     bar.set_postfix_str("all fine")
...     bar.seconds = 0.5  # (fixed for the example; measured otherwise)
demo stage: 3/3 step in 0.5 s; all fine
>>> logging.getLogger("droprune").removeHandler(handler)
>>> logging.getLogger("droprune").setLevel(logging.NOTSET)
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import time
from typing import Any, Iterator

from ._extras import available

__all__ = ["bars_enabled", "progress_bar", "silenced"]

logger = logging.getLogger(__name__)

_SILENCED = contextvars.ContextVar("droprune_progress_silenced", default=False)

_FALSE = ("", "0", "false", "no", "off")


def bars_enabled(stream: Any = None) -> bool:
    """Whether :func:`progress_bar` draws bars: ``$TQDM_DISABLE`` unset or false, tqdm
    installed, and ``stream`` (default: ``sys.stderr``) a terminal, or a Jupyter kernel
    running.

    Examples
    --------
    >>> import io
    >>> bars_enabled(io.StringIO())  # a file or a pipe: no bars
    False
    """
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in _FALSE:
        return False
    if not available("tqdm"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        terminal = bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        terminal = False
    return terminal or "ipykernel" in sys.modules


def progress_bar(total: int | None, desc: str, *, unit: str = "it", initial: int = 0,
                 enabled: bool = True, leave: bool = True) -> Any:
    """A progress bar of ``total`` steps named ``desc`` (say what runs: ``"train MLP (seed 0,
    10 epochs)"``).

    Returns a ``tqdm`` bar when :func:`bars_enabled` (and ``enabled``); else an object with
    the same ``update``, ``set_postfix_str``, ``set_description``, ``close`` and
    context-manager methods that logs one INFO line when closed (``enabled``) or nothing
    (``enabled=False``).
    """
    if not enabled or _SILENCED.get():
        return _Quiet(total, desc, unit, initial)
    if bars_enabled():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                    dynamic_ncols=True, mininterval=0.5)
    return _LineProgress(total, desc, unit, initial)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """No progress at all (no bars, no lines) inside the block: ``droprune --quiet``."""
    token = _SILENCED.set(True)
    try:
        yield
    finally:
        _SILENCED.reset(token)


class _Quiet:
    """The methods of a tqdm bar, showing nothing."""

    def __init__(self, total: int | None, desc: str, unit: str, initial: int) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.postfix = ""
        self.start = time.perf_counter()
        self.seconds: float | None = None
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.seconds is None:
                self.seconds = time.perf_counter() - self.start
            self._finished()

    def _finished(self) -> None:
        pass

    def __enter__(self) -> "_Quiet":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _LineProgress(_Quiet):
    """One log line when the stage is closed: what ran, how far, how long, the last postfix."""

    def _finished(self) -> None:
        done = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        line = f"{self.desc}: {done} {self.unit} in {self.seconds:.1f} s"
        logger.info(line + (f"; {self.postfix}" if self.postfix else ""))
