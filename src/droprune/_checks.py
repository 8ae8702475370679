"""Input validation shared by the numpy core.

Every public function of the core validates its arguments through these helpers so that bad
input fails early, with a ``ValueError`` that names the argument and says how to fix it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np

#: the largest number of samples counted exactly (int64 and float64 alike)
MAX_TOTAL = 2**53
#: Training epochs above this are refused (a typo, not a schedule: 100,000 epochs of one step
#: each already run for hours).
MAX_EPOCHS = 100_000
#: the most classes (or groups) droprune handles: every per-class array has K entries, so a
#: larger ``num_classes`` is refused by name before anything is allocated
MAX_CLASSES = 10**7
#: when the number of classes is inferred from labels (no ``num_classes`` given), the largest
#: label may be at most ``LABEL_FACTOR * N + LABEL_SLACK`` (``N`` samples): a label of 10**9
#: among 1000 samples is a mistake (an id, a hash), not 10**9 classes, and counting it would
#: allocate gigabytes. Pass ``num_classes`` to say there really are that many classes.
LABEL_FACTOR = 10
LABEL_SLACK = 1000

__all__ = [
    "as_class_sizes",
    "as_labels",
    "as_recalls",
    "as_scores",
    "as_selection",
    "check_density",
    "check_int",
    "check_number",
    "check_num_classes",
    "check_seed",
    "infer_num_classes",
    "refuse_mapping",
    "target_count",
]


def check_number(value: Any, name: str, *, minimum: float | None = None,
                 maximum: float | None = None, min_inclusive: bool = True,
                 max_inclusive: bool = True, integer: bool = False, allow_inf: bool = False,
                 requirement: str | None = None, hint: str | None = None) -> Any:
    """Return ``value`` as a Python ``int`` (``integer=True``) or ``float`` if it is a number in
    the given range; else raise a one-line ``ValueError`` naming ``name``.

    Python and numpy numbers are accepted; ``bool`` never is (``True`` is not a count), NaN
    never is, and infinities only with ``allow_inf`` (the range still applies). With
    ``integer=True`` only integer types are accepted (``2.0`` is refused, as a float).

    Parameters
    ----------
    value
        The number to check.
    name
        What it is called in the message (an argument, option or config key).
    minimum, maximum
        Bounds (None: unbounded); ``min_inclusive`` / ``max_inclusive`` say whether the bound
        itself is allowed.
    integer
        Require an integer type.
    allow_inf
        Accept ``+inf`` / ``-inf``.
    requirement
        If given, every failure reads ``"<name> must be <requirement>, got <value>"``.
        Otherwise a value of the wrong type reads ``"<name> must be a number <range>, got ..."``
        (``an integer`` with ``integer=True``) and one out of range ``"<name> must be <range>,
        got ..."``.
    hint
        Appended in parentheses after the requirement (e.g. what the number means).

    Examples
    --------
    >>> check_number(np.float32(0.5), "lr", minimum=0, min_inclusive=False)
    0.5
    >>> check_number(np.int64(3), "epochs", minimum=1, integer=True)
    3
    >>> check_number(0, "width", minimum=0, min_inclusive=False)
    Traceback (most recent call last):
    ...
    ValueError: width must be > 0, got 0
    >>> check_number(True, "val_fraction", minimum=0, maximum=1, hint="a share")
    Traceback (most recent call last):
    ...
    ValueError: val_fraction must be a number in [0, 1] (a share), got True
    >>> check_number(float("inf"), "factor", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: factor must be a finite number >= 1, got inf
    """
    lo, hi = ("[" if min_inclusive else "("), ("]" if max_inclusive else ")")
    if minimum is not None and maximum is not None:
        bounds = f"in {lo}{minimum:g}, {maximum:g}{hi}"
    elif minimum is not None:
        bounds = f"{'>=' if min_inclusive else '>'} {minimum:g}"
    elif maximum is not None:
        bounds = f"{'<=' if max_inclusive else '<'} {maximum:g}"
    else:
        bounds = ""
    note = f" ({hint})" if hint else ""

    def fail(kind: str) -> ValueError:
        text = requirement or " ".join(t for t in (kind, bounds) if t)
        return ValueError(f"{name} must be {text}{note}, got {value!r}")

    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, (complex, np.complexfloating)):
        raise fail("a real number (not complex)" if not integer else "an integer")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        raise fail("an integer" if integer else "a number")
    number = int(value) if integer else float(value)
    if number != number:  # NaN
        raise fail("a number")
    if not allow_inf and number in (math.inf, -math.inf):
        raise fail("a finite number")
    if (minimum is not None and (number < minimum if min_inclusive else number <= minimum)) or \
            (maximum is not None and (number > maximum if max_inclusive else number >= maximum)):
        raise fail("")
    return number


def check_density(density: Any, name: str = "density", *, positive: bool = False) -> float:
    """Return ``density`` as a float in [0, 1] (in (0, 1] if ``positive``) or raise
    ``ValueError``.

    ``density`` is always the fraction of samples KEPT (1.0 keeps everything).

    Examples
    --------
    >>> check_density(0.3)
    0.3
    >>> check_density(30)
    Traceback (most recent call last):
    ...
    ValueError: density must be in [0, 1] (the fraction KEPT), got 30 (a density is a fraction, not a percentage)
    """
    hint = "the fraction KEPT; nothing is left to train on at 0" if positive else \
        "the fraction KEPT"
    try:
        return check_number(density, name, minimum=0, maximum=1, min_inclusive=not positive,
                            hint=hint)
    except ValueError as exc:
        big = isinstance(density, (int, float, np.integer, np.floating)) \
            and not isinstance(density, (bool, np.bool_)) and 1.0 < float(density) <= 100.0
        if big:
            raise ValueError(f"{exc} (a density is a fraction, not a percentage)") from None
        raise


def check_int(value: Any, name: str, *, minimum: int = 0, maximum: int | None = None,
              requirement: str | None = None) -> int:
    """Return ``value`` as an int if it is an integer (Python or numpy, not bool) in
    ``[minimum, maximum]``; else raise ``ValueError("<name> must be <requirement>, got ...")``.

    ``requirement`` defaults to ``"an integer >= <minimum>"`` (or the closed range). This is
    :func:`check_number` with ``integer=True`` and one message for every failure.

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
    return check_number(value, name, minimum=minimum, maximum=maximum, integer=True,
                        requirement=requirement)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """Return a random seed as an int >= 0, or None (fresh randomness); else raise a one-line
    ``ValueError`` naming ``name``.

    Examples
    --------
    >>> check_seed(np.int64(3)), check_seed(None)
    (3, None)
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer >= 0, or None for fresh randomness, got -1
    """
    if seed is None:
        return None
    return check_int(seed, name, requirement="an integer >= 0, or None for fresh randomness")


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


def refuse_mapping(value: Any, name: str, what: str = "class or sample") -> None:
    """A dict or a set where an array in order is expected is refused by name: numpy would
    read it as one object (or its keys), never as entry k for ``what`` k.

    Examples
    --------
    >>> refuse_mapping({"cat": 0.9, "dog": 0.5}, "recalls", "class")
    Traceback (most recent call last):
    ...
    ValueError: recalls is a dict: pass an array (a list) in class order, entry k for class k (e.g. [d[k] for k in range(K)], or [d[name] for name in class_names]); droprune.read_recalls reads a recalls file
    """
    if not isinstance(value, (Mapping, Set)):
        return
    kind = "a dict" if isinstance(value, Mapping) else "a set"
    size, extra = "N", ")"
    if what == "class":
        size, extra = "K", ", or [d[name] for name in class_names])"
        if name == "recalls":
            extra += "; droprune.read_recalls reads a recalls file"
    raise ValueError(f"{name} is {kind}: pass an array (a list) in {what} order, entry k for "
                     f"{what} k (e.g. [d[k] for k in range({size})]{extra}")


def _as_1d(values: Any, name: str) -> np.ndarray:
    refuse_mapping(values, name)
    try:
        arr = np.asarray(values)
    except Exception as exc:  # pragma: no cover - numpy raises many types for ragged input
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _refuse_complex(arr: np.ndarray, name: str) -> None:
    """Complex numbers are refused by name: casting them to float would silently drop their
    imaginary parts."""
    if np.iscomplexobj(arr) or (arr.dtype == object and any(
            isinstance(v, (complex, np.complexfloating)) for v in arr.ravel()[:1000])):
        raise ValueError(f"{name} holds complex numbers: pass real numbers (droprune never "
                         f"drops an imaginary part silently)")


def _text_hint(arr: np.ndarray, name: str) -> str | None:
    """The hint for labels given as text (class names), or None when ``arr`` holds no text."""
    text = arr.dtype.kind in "US" or (arr.dtype == object and arr.size > 0 and all(
        isinstance(v, (str, bytes)) for v in arr.ravel()[:1000]))
    if not text:
        return None
    first = arr.ravel()[0] if arr.size else ""
    return (f"{name} holds text (class names such as {str(first)!r}), not integer class ids: "
            f"encode them first, e.g. names, ids = np.unique({name}, return_inverse=True) "
            f"(then pass ids, and class_names=names), or read a labels file with "
            f"droprune.read_labels(path, class_names=...)")


def _as_integer_array(values: Any, name: str, *, labels: bool = False) -> np.ndarray:
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
        if np.abs(arr).max() >= 2.0**63:
            raise ValueError(f"{name} holds {np.abs(arr).max():g}, beyond the int64 range")
        return arr.astype(np.int64)
    _refuse_complex(arr, name)
    hint = _text_hint(arr, name) if labels else None
    if hint is not None:
        raise ValueError(hint)
    raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")


def as_class_sizes(class_sizes: Any, name: str = "class_sizes") -> np.ndarray:
    """Validate per-class sizes: a 1-D array of non-negative integers (int64) whose total is
    at most ``2**53`` (counted exactly in int64 and float64 alike).

    Examples
    --------
    >>> as_class_sizes([2**62] * 4)
    Traceback (most recent call last):
    ...
    ValueError: class_sizes sum to 1.84e+19, more than 2**53 (9007199254740992), the most that is counted exactly: give sample counts
    """
    sizes = _as_integer_array(class_sizes, name)
    if sizes.size == 0:
        raise ValueError(f"{name} is empty: give the size of at least one class")
    if np.any(sizes < 0):
        raise ValueError(f"{name} must be >= 0, got {sizes[sizes < 0][0]} at index "
                         f"{int(np.flatnonzero(sizes < 0)[0])}")
    total = float(sizes.sum(dtype=np.float64))  # no overflow; an int64 sum would wrap
    if total > MAX_TOTAL / 2 and sum(int(v) for v in sizes) > MAX_TOTAL:  # exact near 2**53
        raise ValueError(f"{name} sum to {total:.3g}, more than 2**53 ({MAX_TOTAL}), the most "
                         f"that is counted exactly: give sample counts")
    return sizes


def as_labels(labels: Any, name: str = "labels", num_classes: int | None = None) -> np.ndarray:
    """Validate integer labels (any partition: classes or groups) as a 1-D int64 array >= 0.

    If ``num_classes`` is given, every label must be in ``[0, num_classes)``.
    """
    lab = _as_integer_array(labels, name, labels=True)
    if lab.size and lab.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {lab.min()}")
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
        if lab.size and lab.max() >= num_classes:
            raise ValueError(
                f"{name} must be in [0, {num_classes}), got {lab.max()}: "
                f"pass a larger num_classes or relabel"
            )
    return lab


def check_num_classes(num_classes: Any, name: str = "num_classes") -> int:
    """Return ``num_classes`` as an int in ``[1, MAX_CLASSES]`` or raise ``ValueError``.

    Examples
    --------
    >>> check_num_classes(np.int64(10))
    10
    >>> check_num_classes(10**9)
    Traceback (most recent call last):
    ...
    ValueError: num_classes must be an integer in [1, 10000000] (droprune handles at most 10**7 classes; every per-class array has one entry per class), got 1000000000
    """
    return check_number(num_classes, name, minimum=1, maximum=MAX_CLASSES, integer=True,
                        requirement=f"an integer in [1, {MAX_CLASSES}] (droprune handles at "
                                    f"most 10**7 classes; every per-class array has one entry "
                                    f"per class)")


def infer_num_classes(*named: tuple[str, np.ndarray]) -> int:
    """The number of classes of validated labels when none is given: the largest label + 1
    (1 when every array is empty), refused by name when the largest label exceeds
    ``LABEL_FACTOR * N + LABEL_SLACK`` (``N`` the most samples of any array) or
    :data:`MAX_CLASSES`, before any per-class array is allocated.

    Examples
    --------
    >>> infer_num_classes(("labels", np.array([0, 3, 1])))
    4
    >>> infer_num_classes(("labels", np.array([0, 10**9])))
    Traceback (most recent call last):
    ...
    ValueError: labels holds the label 1000000000 among 2 samples: with no num_classes given, labels may go up to 10 * N + 1000 = 1020 (a larger one is an id or a hash, not a class index, and counting it would allocate 8.0 GB); encode the classes as 0..K-1 (np.unique(labels, return_inverse=True)) or pass num_classes= if there really are that many classes
    """
    tops = [(int(arr.max()), name) for name, arr in named if arr.size]
    if not tops:
        return 1
    top, name = max(tops)
    n = max(arr.size for _, arr in named)
    bound = min(LABEL_FACTOR * n + LABEL_SLACK, MAX_CLASSES - 1)
    if top > bound:
        raise ValueError(
            f"{name} holds the label {top} among {n} samples: with no num_classes given, "
            f"labels may go up to {LABEL_FACTOR} * N + {LABEL_SLACK} = {bound} (a larger one "
            f"is an id or a hash, not a class index, and counting it would allocate "
            f"{8 * (top + 1) / 1e9:.1f} GB); encode the classes as 0..K-1 "
            f"(np.unique({name}, return_inverse=True)) or pass num_classes= if there really "
            f"are that many classes")
    return top + 1


def as_recalls(recalls: Any, size: int, name: str = "recalls",
               allow_nan: np.ndarray | None = None) -> np.ndarray:
    """Validate per-class recalls in [0, 1] (float64) of length ``size``.

    Parameters
    ----------
    allow_nan
        Boolean mask of entries where NaN is accepted (the classes that have no samples).
    """
    arr = _as_1d(recalls, name)
    _refuse_complex(arr, name)
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
    _refuse_complex(arr, name)
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
        valid = not any(isinstance(v, (bool, str, complex, np.complexfloating))
                        for v in prior)
        a, b = (float(v) for v in prior) if valid else (0.0, 0.0)
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
    >>> as_class_names(["cat", "cat"], 2)
    Traceback (most recent call last):
    ...
    ValueError: class_names repeats the name 'cat': give each class its own name
    """
    if class_names is None:
        return None
    refuse_mapping(class_names, name, "class")
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise ValueError(f"{name} must be a sequence of names, one per class, got {class_names!r}")
    names = [str(c) for c in class_names]
    if len(names) != size:
        raise ValueError(f"{name} has {len(names)} entries but there are {size} classes")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{name} repeats the name {n!r}: give each class its own name")
        seen.add(n)
    return names
