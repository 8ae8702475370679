"""Input validation shared by the numpy core.

Every public function of the core validates its arguments through these helpers so that bad
input fails early, with a ``ValueError`` that names the argument and says how to fix it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

__all__ = [
    "as_class_sizes",
    "check_int",
    "as_labels",
    "as_recalls",
    "as_scores",
    "as_selection",
    "check_density",
    "check_number",
    "target_count",
]


def check_density(density: Any, name: str = "density") -> float:
    """Return ``density`` as a float in [0, 1] or raise ``ValueError``.

    ``density`` is always the fraction of samples KEPT (1.0 keeps everything).
    """
    if isinstance(density, bool) or not np.isscalar(density):
        raise ValueError(f"{name} must be a number in [0, 1] (the fraction KEPT), got {density!r}")
    try:
        d = float(density)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number in [0, 1] (the fraction KEPT), got {density!r}"
        ) from None
    if not np.isfinite(d) or d < 0.0 or d > 1.0:
        hint = " (a density is a fraction, not a percentage)" if 1.0 < d <= 100.0 else ""
        raise ValueError(f"{name} must be in [0, 1] (the fraction KEPT), got {density!r}{hint}")
    return d


def check_int(value: Any, name: str, *, minimum: int = 0, maximum: int | None = None,
              requirement: str | None = None) -> int:
    """Return ``value`` as an int if it is an integer (Python or numpy, not bool) in
    ``[minimum, maximum]``; else raise ``ValueError("<name> must be <requirement>, got ...")``.

    ``requirement`` defaults to ``"an integer >= <minimum>"`` (or the closed range).

    Examples
    --------
    >>> check_int(3, "epochs", minimum=1)
    3
    >>> check_int(0, "epochs", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be an integer >= 1, got 0
    """
    if requirement is None:
        requirement = (f"an integer >= {minimum}" if maximum is None
                       else f"an integer in [{minimum}, {maximum}]")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum \
            or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {requirement}, got {value!r}")
    return int(value)


def check_number(value: Any, name: str, *, minimum: float | None = None,
                 maximum: float | None = None, open_min: bool = False,
                 open_max: bool = False) -> int | float:
    """Return ``value`` if it is a finite real number (Python or numpy, not bool) within the
    bounds; else raise ``ValueError("<name> must be a finite number <bounds>, got ...")``.

    ``minimum``/``maximum`` are inclusive unless ``open_min``/``open_max``. A numpy scalar
    comes back as the Python number it holds (so configs stay JSON-serialisable); a Python
    number comes back unchanged.

    Examples
    --------
    >>> check_number(0.1, "lr", minimum=0, open_min=True)
    0.1
    >>> check_number(1.0, "momentum", minimum=0, maximum=1, open_max=True)
    Traceback (most recent call last):
    ...
    ValueError: momentum must be a finite number in [0, 1), got 1.0
    """
    if minimum is not None and maximum is not None:
        bounds = (f"in {'(' if open_min else '['}{minimum:g}, "
                  f"{maximum:g}{')' if open_max else ']'}")
    elif minimum is not None:
        bounds = f"{'>' if open_min else '>='} {minimum:g}"
    elif maximum is not None:
        bounds = f"{'<' if open_max else '<='} {maximum:g}"
    else:
        bounds = ""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer,
                                                                       np.floating))
    if ok:
        try:
            ok = bool(np.isfinite(float(value)))
        except OverflowError:  # a Python int beyond the float range
            ok = False
    if ok and minimum is not None:
        ok = value > minimum if open_min else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if open_max else value <= maximum
    if not ok:
        raise ValueError(f"{name} must be a finite number{' ' if bounds else ''}{bounds}, "
                         f"got {value!r}")
    return value.item() if isinstance(value, np.generic) else value


def target_count(density: float, n: int) -> int:
    """Number of samples kept at ``density`` out of ``n``: ``round(density * n)``, halves up.

    The product is taken on the decimal that ``repr(density)`` prints, so ``0.15 * 10`` keeps 2
    (as the user wrote it) and not 1 (as binary floating point would have it).

    Examples
    --------
    >>> target_count(0.5, 3)
    2
    >>> target_count(0.15, 10)
    2
    >>> target_count(0.3, 7)
    2
    """
    d = check_density(density)
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    exact = Decimal(repr(d)) * n
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _as_1d(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except Exception as exc:  # pragma: no cover - numpy raises many types for ragged input
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _as_integer_array(values: Any, name: str) -> np.ndarray:
    arr = _as_1d(values, name)
    if arr.dtype == bool:
        raise ValueError(f"{name} must hold integers, got booleans")
    if arr.size == 0:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64, copy=False)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise ValueError(f"{name} must hold integers, got the non-integer value "
                             f"{bad.item()!r}")
        return arr.astype(np.int64)
    raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")


def as_class_sizes(class_sizes: Any, name: str = "class_sizes") -> np.ndarray:
    """Validate per-class sizes: a 1-D array of non-negative integers (int64)."""
    sizes = _as_integer_array(class_sizes, name)
    if sizes.size == 0:
        raise ValueError(f"{name} is empty: give the size of at least one class")
    if np.any(sizes < 0):
        raise ValueError(f"{name} must be >= 0, got {sizes[sizes < 0][0]} at index "
                         f"{int(np.flatnonzero(sizes < 0)[0])}")
    return sizes


def as_labels(labels: Any, name: str = "labels", num_classes: int | None = None) -> np.ndarray:
    """Validate integer labels (any partition: classes or groups) as a 1-D int64 array >= 0.

    If ``num_classes`` is given, every label must be in ``[0, num_classes)``.
    """
    lab = _as_integer_array(labels, name)
    if lab.size and lab.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {lab.min()}")
    if num_classes is not None:
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if lab.size and lab.max() >= num_classes:
            raise ValueError(
                f"{name} must be in [0, {num_classes}), got {lab.max()}: "
                f"pass a larger num_classes or relabel"
            )
    return lab


def as_recalls(recalls: Any, size: int, name: str = "recalls",
               allow_nan: np.ndarray | None = None) -> np.ndarray:
    """Validate per-class recalls in [0, 1] (float64) of length ``size``.

    Parameters
    ----------
    allow_nan
        Boolean mask of entries where NaN is accepted (the classes that have no samples).
    """
    arr = _as_1d(recalls, name)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise ValueError(f"{name} must be numbers in [0, 1], got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size != size:
        raise ValueError(f"{name} has {arr.size} entries but there are {size} classes")
    nan = np.isnan(arr)
    bad_nan = nan if allow_nan is None else nan & ~allow_nan
    if np.any(bad_nan):
        raise ValueError(
            f"{name} contains NaN at class {int(np.flatnonzero(bad_nan)[0])}: every class with "
            f"samples needs a recall in [0, 1]"
        )
    finite = arr[~nan]
    if np.any(np.isinf(finite)):
        raise ValueError(f"{name} contains infinite values")
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        hint = ""
        if finite.min() >= 0.0 and finite.max() <= 100.0:
            hint = (" They look like percentages: divide by 100 (droprune never guesses, since a "
                    "recall of 1 could mean 100% or 1%).")
        raise ValueError(
            f"{name} must be in [0, 1], got values in [{finite.min():g}, {finite.max():g}].{hint}"
        )
    return arr


def as_scores(scores: Any, n: int, name: str = "scores") -> np.ndarray:
    """Validate per-sample scores: 1-D, finite, length ``n`` (float64 view when possible)."""
    arr = _as_1d(scores, name)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numbers, got dtype {arr.dtype}")
    if arr.size != n:
        raise ValueError(f"{name} has {arr.size} entries but there are {n} samples "
                         f"(scores are index-aligned with the dataset: row i = sample i)")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} contains a non-finite value ({arr[i]}) at sample {i}")
    return arr


def as_selection(selected: Any, n: int, name: str = "selected") -> np.ndarray:
    """Validate a selection of samples out of ``n``: 1-D integer indices in ``[0, n)``, each
    at most once (order kept), as int64.

    A selection is always given as indices (what :func:`droprune.selection.select` returns),
    never as a boolean mask: booleans are refused, since ``[True, False]`` read as indices
    would silently mean samples 1 and 0. Pass ``np.flatnonzero(mask)`` for a mask.
    Integer-valued floats are accepted (as for labels).

    Examples
    --------
    >>> as_selection([3, 0], 5)
    array([3, 0])
    >>> as_selection([0, 0], 5)
    Traceback (most recent call last):
    ...
    ValueError: selected holds the repeated index 0: a selection keeps each sample at most once
    """
    arr = _as_1d(selected, name)
    if arr.dtype == bool:
        raise ValueError(f"{name} must hold sample indices, got booleans: pass "
                         f"np.flatnonzero(mask) for a boolean mask")
    sel = _as_integer_array(arr, name)
    if sel.size and (sel.min() < 0 or sel.max() >= n):
        bad = sel.min() if sel.min() < 0 else sel.max()
        raise ValueError(f"{name} holds index {bad} but there are {n} samples: indices must be "
                         f"in [0, {n})")
    if sel.size:
        ordered = np.sort(sel)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeated.size:
            raise ValueError(f"{name} holds the repeated index {repeated[0]}: a selection keeps "
                             f"each sample at most once")
    return sel
