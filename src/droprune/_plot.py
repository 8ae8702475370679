"""Figures without process-wide side effects: every figure droprune draws is an explicit
``matplotlib.figure.Figure`` on its own Agg canvas.

pyplot is never imported and the matplotlib backend is never switched, so drawing a report or
a theory figure changes neither the backend of the caller nor pyplot's list of open figures,
and works without a display. matplotlib itself is imported only when a figure is made (it
comes with ``pip install "droprune[report]"``; without it, one ``ImportError`` saying so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._extras import require
from ._io import atomic_write

__all__ = ["agg_figure", "save_png"]


def agg_figure(width: float, height: float, **kwargs: Any) -> Any:
    """A new ``Figure`` of ``width`` x ``height`` inches with its own Agg canvas;
    ``kwargs`` go to ``Figure`` (e.g. ``layout="constrained"``).

    Examples
    --------
    >>> fig = agg_figure(2.0, 1.5)
    >>> ax = fig.subplots()
    >>> fig.get_size_inches().tolist(), type(fig.canvas).__name__
    ([2.0, 1.5], 'FigureCanvasAgg')
    """
    require("report", "matplotlib", what="drawing a figure")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), **kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Any, path: str | Path, *, dpi: int) -> Path:
    """Write ``fig`` as a PNG at ``dpi``, atomically (the folder is created). Returns ``path``."""
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi))
