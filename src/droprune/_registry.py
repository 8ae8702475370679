"""One registry shape for every extension point: datasets, models, scorers, quota rules, presets.

A :class:`Registry` maps names to entries (each entry carries everything about what it
registers). It is a ``dict`` (read it as one: ``in``, ``[]``, ``.values()``), plus:

- :meth:`Registry.register` adds an entry and refuses a name that is taken (and whatever the
  registry's ``check`` refuses, e.g. a method-name clash);
- :meth:`Registry.entry` looks a name up and raises ``ValueError`` listing the valid names
  (``KeyError`` would print a bare quoted name).

Part of the numpy core: no torch, nothing above it.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Colour:
...     name: str
...     hex: str
>>> COLOURS = Registry("colour")
>>> _ = COLOURS.register(Colour("red", "#f00"))
>>> COLOURS.entry("red").hex
'#f00'
>>> COLOURS.register(Colour("red", "#e00"))
Traceback (most recent call last):
...
ValueError: a colour named 'red' is already registered
>>> COLOURS.entry("blue")
Traceback (most recent call last):
...
ValueError: unknown colour 'blue'; valid colours: red
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict, Generic[T]):  # type: ignore[type-arg]
    """Name -> entry, with duplicate-refusing :meth:`register` and a clear :meth:`entry`.

    Parameters
    ----------
    kind
        What an entry is, for messages (``"dataset"``, ``"quota rule"``, ...).
    check
        Optional ``check(registry, entry)`` run before an entry is added (raise ``ValueError``).
    key
        How an entry's name is read (default: its ``name`` attribute).
    entry_type
        The class every entry must be (checked first; None: any).
    """

    def __init__(self, kind: str, *, check: Callable[[Registry[T], T], None] | None = None,
                 key: Callable[[T], str] | None = None, entry_type: type | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.entry_type = entry_type
        self._check = check
        self._key = key

    def register(self, entry: T, *, replace: bool = False) -> T:
        """Add ``entry`` under its name; a taken name is a ``ValueError`` unless ``replace``.

        Returns the entry (so ``register`` can decorate or be chained).
        """
        if self.entry_type is not None and not isinstance(entry, self.entry_type):
            raise ValueError(f"register_{self.kind.replace(' ', '_')} takes a "
                             f"{self.entry_type.__name__}, got {type(entry).__name__}")
        name = getattr(entry, "name", None) if self._key is None else self._key(entry)
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r} (from "
                             f"{type(entry).__name__})")
        if name in self and not replace:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        if self._check is not None:
            self._check(self, entry)
        self[name] = entry
        return entry

    def entry(self, name: Any) -> T:
        """The entry of ``name``; ``ValueError`` listing the valid names otherwise."""
        if not isinstance(name, str) or name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}; valid {self.kind}s: "
                             f"{', '.join(self) or 'none'}")
        return self[name]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self)})"
