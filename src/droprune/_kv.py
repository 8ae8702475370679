"""``KEY=VALUE`` text, as the command line gives it (``--set``, ``--option``): one parser.

A value is read as JSON when it is JSON (``10``, ``0.5``, ``true``, ``null``, ``[1, 2]``,
``{"a": 1}``, ``"text"``), else as a comma-separated list when it holds a comma (each item read
the same way, empty items dropped: ``0.3,0.5`` -> ``[0.3, 0.5]``), else as the string itself.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["parse_assignment", "parse_value"]


def parse_value(text: str) -> Any:
    """The value of ``KEY=VALUE`` text (see the module docstring).

    Examples
    --------
    >>> parse_value("10"), parse_value("0.3,0.5"), parse_value("Random,EL2N"), parse_value("x")
    (10, [0.3, 0.5], ['Random', 'EL2N'], 'x')
    >>> parse_value('{"num_samples": 2000}')
    {'num_samples': 2000}
    """
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "," in text:
            return [parse_value(t) for t in text.split(",") if t.strip() != ""]
        return text


def parse_assignment(item: str, what: str, example: str) -> tuple[str, Any]:
    """Split ``"KEY=VALUE"`` into the stripped key and the parsed value.

    Parameters
    ----------
    item
        The text, e.g. ``"train.epochs=10"``.
    what
        What it was given as, for the message (e.g. ``"--set"``).
    example
        A valid item, for the message.

    Raises
    ------
    ValueError
        Without ``=`` or with an empty key: ``"<what> must look like KEY=VALUE (e.g.
        <example>), got <item>"``.

    Examples
    --------
    >>> parse_assignment("densities=0.3,0.5", "--set", "train.epochs=10")
    ('densities', [0.3, 0.5])
    """
    key, sep, value = str(item).partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{what} must look like KEY=VALUE (e.g. {example}), got {item!r}")
    return key.strip(), parse_value(value)
