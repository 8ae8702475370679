"""Method names: moved to :mod:`droprune.methods` (the numpy core, importable without torch).

This module re-exports them so ``from droprune.experiments.methods import parse_method`` keeps
working.
"""

from __future__ import annotations

from ..methods import METHOD_EXAMPLES, Method, parse_method, strategies

__all__ = ["METHOD_EXAMPLES", "Method", "parse_method", "strategies"]
