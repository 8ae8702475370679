"""Input validation shared by the numpy core.

Every public function of the core validates its arguments through these helpers so that bad
input fails early, with a ``ValueError`` that names the argument and says how to fix it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "as_class_sizes",
    "check_int",
    "as_labels",
    "as_recalls",
    "as_scores",
    "check_density",
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
            raise ValueError(f"{name} must hold integers, got the non-integer value {bad!r}")
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


# ---------------------------------------------------------------------------------------------
# Quota floors and validation-noise-aware recalls (droprune.quotas: min_per_class, min_density,
# val_counts, prior, class_names). Kept together at the end of the file.
# ---------------------------------------------------------------------------------------------

__all__ += ["as_class_names", "as_per_class_counts", "ceil_fraction", "check_beta_prior"]


def as_per_class_counts(values: Any, size: int, name: str) -> np.ndarray:
    """Validate one non-negative integer per class (int64, length ``size``).

    Integers of any dtype and integral floats are accepted; NaN, negatives, fractions and a
    length other than ``size`` are refused with a ``ValueError`` naming ``name``.

    Examples
    --------
    >>> as_per_class_counts([25, np.int32(0), 3.0], 3, "val_counts")
    array([25,  0,  3])
    >>> as_per_class_counts([25, -1], 2, "val_counts")
    Traceback (most recent call last):
    ...
    ValueError: val_counts must be >= 0, got -1 at class 1
    """
    arr = _as_integer_array(values, name)
    if arr.size != size:
        raise ValueError(f"{name} has {arr.size} entries but there are {size} classes")
    if np.any(arr < 0):
        k = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name} must be >= 0, got {arr[k]} at class {k}")
    return arr


def ceil_fraction(fraction: float, n: Any) -> np.ndarray:
    """``ceil(fraction * n)`` for every entry of ``n``, on the decimal ``repr(fraction)`` prints.

    As in :func:`target_count`, the product is exact on the number as written: ``0.07 * 100``
    is 7, not the 8 that binary floating point (7.000000000000001) would round up to.

    Examples
    --------
    >>> ceil_fraction(0.07, [100, 10, 0])
    array([7, 1, 0])
    """
    num, den = Fraction(repr(float(fraction))).as_integer_ratio()
    sizes = np.asarray(n, dtype=np.int64)
    if num == 0 or sizes.size == 0:
        return np.zeros(sizes.shape, dtype=np.int64)
    if den < 2**62 and num * int(sizes.max()) < 2**62:
        return -((-num * sizes) // den)
    return np.array([-((-num * int(v)) // den) for v in sizes.ravel()],
                    dtype=np.int64).reshape(sizes.shape)


def check_beta_prior(prior: Any, name: str = "prior") -> tuple[float, float]:
    """Return ``prior`` as a pair ``(a, b)`` of finite numbers > 0 or raise ``ValueError``.

    Examples
    --------
    >>> check_beta_prior((1, 1))
    (1.0, 1.0)
    """
    try:
        a, b = (float(v) for v in prior)
        valid = not any(isinstance(v, (bool, str)) for v in prior)
    except (TypeError, ValueError):
        valid = False
    if not valid or not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        raise ValueError(f"{name} must be a pair (a, b) of numbers > 0, the Beta(a, b) prior of "
                         f"a class error (e.g. (0.5, 0.5) Jeffreys, (1, 1) Laplace), got {prior!r}")
    return a, b


def as_class_names(class_names: Any, size: int, name: str = "class_names") -> list[str] | None:
    """Validate optional class names: ``None``, or one name per class (kept as ``str``).

    Examples
    --------
    >>> as_class_names(["cat", 7], 2)
    ['cat', '7']
    """
    if class_names is None:
        return None
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise ValueError(f"{name} must be a sequence of names, one per class, got {class_names!r}")
    names = [str(c) for c in class_names]
    if len(names) != size:
        raise ValueError(f"{name} has {len(names)} entries but there are {size} classes")
    return names
