"""The one JSON convention of droprune (results store, score-file metadata, CLI output, files).

:func:`to_jsonable` turns a value into plain JSON data; :func:`dumps` writes it as strict JSON
text (never the non-standard ``NaN`` / ``Infinity`` tokens, so any JSON reader accepts it).

Conversions
-----------
* mappings -> ``dict`` with ``str`` keys; lists, tuples and numpy arrays -> ``list``
  (recursively);
* numpy scalars -> the Python ``bool`` / ``int`` / ``float`` / ``str`` they hold;
* ``pathlib.Path`` -> ``str``;
* ``NaN`` -> ``null`` (``None``): an undefined value, e.g. the recall of a class without test
  samples;
* ``+inf`` / ``-inf`` -> the strings ``"inf"`` / ``"-inf"`` (``float("inf")`` reads them back),
  e.g. an infinite threshold of the two-Gaussian theory;
* ``None``, ``str``, ``bool``, ``int`` and finite ``float`` are kept; anything else raises
  ``ValueError``.
"""

from __future__ import annotations

import json
import math
from pathlib import PurePath
from typing import Any, Mapping

import numpy as np

__all__ = ["dumps", "to_jsonable"]


def to_jsonable(value: Any, name: str = "value") -> Any:
    """Plain JSON data for ``value`` (see the module docstring for the conventions).

    Parameters
    ----------
    value
        Nested dicts / lists / tuples / numpy arrays of numbers, strings, booleans, None, paths.
    name
        How the error message calls ``value``.

    Raises
    ------
    ValueError
        If some part of ``value`` has no JSON form (the message gives its place in ``value``).

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"r": np.array([0.5, np.nan]), "t": (float("inf"), -np.inf), 3: np.int64(2)})
    {'r': [0.5, None], 't': ['inf', '-inf'], '3': 2}
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(value)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    raise ValueError(f"{name} = {value!r} ({type(value).__name__}) cannot be stored as JSON: "
                     f"use strings, numbers, lists or dicts")


def dumps(value: Any, name: str = "value", **kwargs: Any) -> str:
    """Strict JSON text of :func:`to_jsonable` ``(value)``; ``kwargs`` go to ``json.dumps``
    (e.g. ``indent=2``, ``sort_keys=True``).

    Examples
    --------
    >>> import numpy as np
    >>> dumps([np.float32(0.5), float("nan"), float("-inf")])
    '[0.5, null, "-inf"]'
    """
    return json.dumps(to_jsonable(value, name), allow_nan=False, **kwargs)
