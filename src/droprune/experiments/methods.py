"""Pruning methods named as in the paper, parsed into (scorer, quota rule) pairs.

A method is any scorer x any quota rule:

=====================  ==================================================================
name                   meaning
=====================  ==================================================================
``Full``               no pruning (density 1): the full-data baseline
``Random``             uniform at random over the whole dataset (no quotas)
``EL2N``               a strategy alone: global ranking by its score (no quotas)
``EL2N+DRoP``          the strategy's scores ranked within DRoP class quotas
``Random+DRoP``        uniform at random within DRoP class quotas (the proposed method)
``Random+EL2NQ``       uniform at random within the class counts EL2N alone produced
                       (the paper's "Random+StrategyQ")
``Random+Balanced``    uniform at random within equal class counts
``Random+Proportional`` stratified random pruning (every class keeps the density)
``...+CDBW``           any of the above with CDB-W cost-sensitive final training
=====================  ==================================================================

Strategies (case-insensitive): ``Random`` and the ``method_name`` of every entry of the scorer
registry (:data:`droprune.scoring.SCORERS`: EL2N, GraNd, GraNdLL, Forgetting, DynUnc, AUM,
EL2NTrace, SSP, CoreSet, and any scorer registered later). See :func:`strategies`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scoring.registry import SCORERS

__all__ = ["METHOD_EXAMPLES", "Method", "parse_method", "strategies"]

_QUOTAS = {"drop": "DRoP", "balanced": "Balanced", "proportional": "Proportional"}

METHOD_EXAMPLES = ("Full", "Random", "EL2N", "EL2N+DRoP", "Random+DRoP", "Random+EL2NQ",
                   "Forgetting+DRoP+CDBW")


def strategies() -> dict[str, str | None]:
    """Strategy name -> scorer name: ``"Random"`` (random order, None) and the
    ``method_name`` of every scorer in the registry, read now (so scorers registered later
    count).

    Examples
    --------
    >>> strategies()["EL2N"], strategies()["Random"]
    ('el2n', None)
    """
    out: dict[str, str | None] = {"Random": None}
    out.update({s.method_name: s.name for s in SCORERS.values() if s.method_name is not None})
    return out


@dataclass(frozen=True)
class Method:
    """A parsed method.

    Attributes
    ----------
    strategy
        Display name of the within-class (or global) ranking: "Random", "EL2N", ... or
        "Full".
    quota
        Quota rule: "none" (global ranking), "drop", "balanced", "proportional" or
        "from_selection" (class counts of ``quota_strategy`` alone).
    quota_strategy
        For "from_selection": the strategy whose class counts are used.
    cdbw
        Whether the final model is trained with CDB-W.
    """

    strategy: str
    quota: str = "none"
    quota_strategy: str | None = None
    cdbw: bool = False

    @property
    def scorer(self) -> str | None:
        """Scorer whose scores rank samples (None: random order / no pruning)."""
        return None if self.strategy == "Full" else strategies()[self.strategy]

    @property
    def is_full(self) -> bool:
        return self.strategy == "Full"

    @property
    def scorers_needed(self) -> tuple[str, ...]:
        """Every scorer this method reads (for planning the query runs)."""
        out = [s for s in (self.scorer,) if s]
        other = None if self.quota_strategy is None else strategies()[self.quota_strategy]
        if other is not None:
            out.append(other)
        return tuple(dict.fromkeys(out))

    @property
    def needs_recalls(self) -> bool:
        """Whether the quota rule reads validation recalls (DRoP)."""
        return self.quota == "drop"

    @property
    def name(self) -> str:
        """Canonical name (round-trips through :func:`parse_method`)."""
        if self.is_full:
            base = "Full"
        elif self.quota == "none":
            base = self.strategy
        elif self.quota == "from_selection":
            base = f"{self.strategy}+{self.quota_strategy}Q"
        else:
            base = f"{self.strategy}+{_QUOTAS[self.quota]}"
        return base + ("+CDBW" if self.cdbw else "")

    @property
    def family(self) -> str:
        """The strategy a plot groups by: "EL2N" for EL2N, EL2N+DRoP and Random+EL2NQ."""
        if self.quota == "from_selection":
            return self.quota_strategy or self.strategy
        return self.strategy


def _strategy(token: str, text: str) -> str:
    by_lower = {k.lower(): k for k in strategies()}
    key = token.strip().lower()
    if key not in by_lower:
        raise ValueError(f"unknown strategy {token!r} in method {text!r}; valid strategies: "
                         f"{', '.join(by_lower.values())} (and Full); valid forms: "
                         f"{', '.join(METHOD_EXAMPLES)}")
    return by_lower[key]


def parse_method(text: str) -> Method:
    """Parse a method name such as ``"EL2N+DRoP"`` or ``"Random+ForgettingQ+CDBW"``.

    Examples
    --------
    >>> parse_method("random+drop")
    Method(strategy='Random', quota='drop', quota_strategy=None, cdbw=False)
    >>> parse_method("Random+EL2NQ").name
    'Random+EL2NQ'
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a method name must be a non-empty string, got {text!r}")
    parts = [p.strip() for p in text.split("+")]
    cdbw = False
    if parts[-1].lower() == "cdbw":
        cdbw = True
        parts = parts[:-1]
    if not parts or not parts[0]:
        raise ValueError(f"method {text!r} has no strategy; valid forms: "
                         f"{', '.join(METHOD_EXAMPLES)}")
    if parts[0].lower() == "full":
        if len(parts) > 1:
            raise ValueError(f"method {text!r}: Full takes no quota rule")
        return Method("Full", cdbw=cdbw)
    strategy = _strategy(parts[0], text)
    if len(parts) == 1:
        return Method(strategy, cdbw=cdbw)
    if len(parts) > 2:
        raise ValueError(f"method {text!r} has too many parts; valid forms: "
                         f"{', '.join(METHOD_EXAMPLES)}")
    rule = parts[1].lower()
    if rule in _QUOTAS:
        return Method(strategy, quota=rule, cdbw=cdbw)
    if rule.endswith("q"):
        if strategy != "Random":
            raise ValueError(f"method {text!r}: quotas of another strategy are taken with "
                             f"random selection inside (e.g. Random+{parts[1]})")
        other = _strategy(parts[1][:-1], text)
        if other == "Random":
            raise ValueError(f"method {text!r}: RandomQ is plain Random; use 'Random'")
        return Method("Random", quota="from_selection", quota_strategy=other, cdbw=cdbw)
    raise ValueError(f"unknown quota rule {parts[1]!r} in method {text!r}; valid: DRoP, "
                     f"Balanced, Proportional, or <Strategy>Q")
