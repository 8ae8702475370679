"""Pruning methods named as in the paper, parsed into (scorer, quota rule) pairs.

A method is any scorer x any quota rule:

=======================  =================================================================
name                     meaning
=======================  =================================================================
``Full``                 no pruning (density 1): the full-data baseline
``Random``               uniform at random over the whole dataset (no quotas)
``EL2N``                 a strategy alone: global ranking by its score (no quotas)
``EL2N+DRoP``            the strategy's scores ranked within DRoP class quotas
``Random+DRoP``          uniform at random within DRoP class quotas (the proposed method)
``Random+EL2NQ``         uniform at random within the class counts EL2N alone produced
                         (the paper's "Random+StrategyQ")
``Random+Balanced``      uniform at random within equal class counts
``Random+Proportional``  stratified random pruning (every class keeps the density)
``...+CDBW``             any of the above with CDB-W cost-sensitive final training
=======================  =================================================================

Strategies (case-insensitive): ``Random`` and the ``method_name`` of every entry of the scorer
registry (:data:`droprune.scorers.SCORERS`: EL2N, GraNd, GraNdLL, Forgetting, DynUnc, AUM,
EL2NTrace, SSP, CoreSet, and any scorer registered later). See :func:`strategies`. Quota rules:
the ``method_name`` of every entry of the quota-rule registry
(:data:`droprune.quotas.QUOTA_RULES`: DRoP, Balanced, Proportional, and any rule registered
later), and ``<Strategy>Q`` for the class counts of another strategy.

This module is part of the numpy core: it imports without torch (both registries describe their
entries without it). :func:`parse_method` with ``strategies="any"`` (any name is a strategy: the
label of scores the caller supplies, as :func:`droprune.prune` does) accepts any strategy name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Literal

from .quotas import QUOTA_RULES
from .scorers import SCORERS

__all__ = ["METHOD_EXAMPLES", "Method", "parse_method", "strategies"]

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
        Quota rule, a name of :data:`droprune.quotas.QUOTA_RULES`: "none" (global ranking),
        "drop", "balanced", "proportional", "from_selection" (class counts of
        ``quota_strategy`` alone), or any registered rule.
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
        """Scorer whose scores rank samples (None: random order / no pruning), from the scorer
        registry."""
        return None if self.strategy == "Full" else _scorer_of(self.strategy)

    @property
    def is_full(self) -> bool:
        return self.strategy == "Full"

    @property
    def scorers_needed(self) -> tuple[str, ...]:
        """Every scorer this method reads (for planning the query runs)."""
        out = [s for s in (self.scorer,) if s]
        other = None if self.quota_strategy is None else _scorer_of(self.quota_strategy)
        if other is not None:
            out.append(other)
        return tuple(dict.fromkeys(out))

    @property
    def reads_scores(self) -> bool:
        """Whether the method reads per-sample scores: a strategy other than Random (ranking)
        or the class counts of another strategy (``Random+XQ``)."""
        return not self.is_full and (self.strategy != "Random" or self.quota == "from_selection")

    @property
    def needs_recalls(self) -> bool:
        """Whether the quota rule reads validation recalls (DRoP, and any registered rule that
        needs them)."""
        return not self.is_full and QUOTA_RULES.entry(self.quota).needs_recalls

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
            base = f"{self.strategy}+{QUOTA_RULES.entry(self.quota).method_name}"
        return base + ("+CDBW" if self.cdbw else "")

    @property
    def family(self) -> str:
        """The strategy a plot groups by: "EL2N" for EL2N, EL2N+DRoP and Random+EL2NQ."""
        if self.quota == "from_selection":
            return self.quota_strategy or self.strategy
        return self.strategy


def _scorer_of(strategy: str) -> str | None:
    known = strategies()
    if strategy not in known:
        raise ValueError(f"strategy {strategy!r} is not in the scorer registry; valid "
                         f"strategies: {', '.join(known)}")
    return known[strategy]


def _strategy(token: str, text: str, valid: Collection[str] | str | None) -> str:
    key = token.strip().lower()
    if valid == "any":
        if not key:
            raise ValueError(f"method {text!r} has an empty strategy; valid forms: "
                             f"{', '.join(METHOD_EXAMPLES)}")
        return "Random" if key == "random" else token.strip()
    names = strategies() if valid is None else ["Random", *valid]
    by_lower = {k.lower(): k for k in names}
    if key not in by_lower:
        raise ValueError(f"unknown strategy {token!r} in method {text!r}; valid strategies: "
                         f"{', '.join(by_lower.values())} (and Full); valid forms: "
                         f"{', '.join(METHOD_EXAMPLES)}")
    return by_lower[key]


def parse_method(text: str, strategies: Collection[str] | Literal["any"] | None = None
                 ) -> Method:
    """Parse a method name such as ``"EL2N+DRoP"`` or ``"Random+ForgettingQ+CDBW"``.

    Parameters
    ----------
    text
        The method name (case-insensitive).
    strategies
        The valid strategy names besides ``Random`` (matched case-insensitively, returned as
        spelt here). ``None`` (default): the scorer registry's (see :func:`strategies`).
        ``"any"``: any non-empty name, kept as written (``random`` is ``Random``): the
        label of scores the caller supplies.

    Examples
    --------
    >>> parse_method("random+drop", strategies=())
    Method(strategy='Random', quota='drop', quota_strategy=None, cdbw=False)
    >>> parse_method("Random+EL2NQ").name
    'Random+EL2NQ'
    >>> parse_method("Margin+DRoP", strategies="any").name
    'Margin+DRoP'
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a method name must be a non-empty string, got {text!r}")
    if isinstance(strategies, str) and strategies != "any":
        raise ValueError(f"strategies must be a collection of names, 'any' or None, got "
                         f"{strategies!r}")
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
    strategy = _strategy(parts[0], text, strategies)
    if len(parts) == 1:
        return Method(strategy, cdbw=cdbw)
    if len(parts) > 2:
        raise ValueError(f"method {text!r} has too many parts; valid forms: "
                         f"{', '.join(METHOD_EXAMPLES)}")
    token = parts[1].lower()
    by_token = {r.method_name.lower(): r.name for r in QUOTA_RULES.values() if r.method_name}
    if token in by_token:
        return Method(strategy, quota=by_token[token], cdbw=cdbw)
    if token.endswith("q"):
        if strategy != "Random":
            raise ValueError(f"method {text!r}: quotas of another strategy are taken with "
                             f"random selection inside (e.g. Random+{parts[1]})")
        other = _strategy(parts[1][:-1], text, strategies)
        if other == "Random":
            raise ValueError(f"method {text!r}: RandomQ is plain Random; use 'Random'")
        return Method("Random", quota="from_selection", quota_strategy=other, cdbw=cdbw)
    valid = ", ".join(r.method_name for r in QUOTA_RULES.values() if r.method_name)
    raise ValueError(f"unknown quota rule {parts[1]!r} in method {text!r}; valid: {valid}, or "
                     f"<Strategy>Q")
