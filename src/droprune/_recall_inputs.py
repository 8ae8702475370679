"""Per-class validation recalls from what the caller of :func:`droprune.prune` gave: the
recalls themselves, or validation labels with predicted classes (``val_pred``) or predicted
probabilities (``val_proba``; a tied row counts as wrong), and the number of classes implied.

Kept apart from :mod:`droprune.pruning` (which re-exports :func:`validation_predictions`) so
that each stays small; numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import (
    as_labels,
    as_per_class_counts,
    as_recalls,
    check_num_classes,
    infer_num_classes,
    refuse_mapping,
)
from .metrics import class_recalls

__all__ = ["validation_predictions"]


def _check_val_pred(val_pred: Any) -> None:
    """Predicted probabilities given as ``val_pred`` are refused with the fix (``val_proba=``)
    before anything reads them as class ids."""
    if val_pred is None or isinstance(val_pred, (str, bytes)):
        return
    try:
        arr = np.asarray(val_pred)
    except Exception:  # ragged input: as_labels says so
        return
    if arr.dtype == object or np.iscomplexobj(arr) or arr.dtype == bool:
        return
    fractional = (np.issubdtype(arr.dtype, np.floating) and arr.size > 0
                  and np.all(np.isfinite(arr)) and np.any(arr != np.round(arr)))
    if arr.ndim == 2 or fractional:
        what = f"shape {arr.shape}" if arr.ndim == 2 else "fractional values"
        raise ValueError(f"val_pred holds {what}, like predicted probabilities or logits: pass "
                         f"them as val_proba= (shape (M, K), the prediction is the argmax); "
                         f"val_pred takes one predicted class id per validation sample")


def _check_every_class_validated(sizes: np.ndarray, n_val: np.ndarray | None,
                                 names: list[str] | None) -> None:
    """Under the point estimate, a class with training samples but none in ``val_labels`` has
    no recall at all: refused with the two fixes."""
    if n_val is None:
        return
    missing = np.flatnonzero((sizes > 0) & (n_val == 0))
    if missing.size:
        c = int(missing[0])
        named = f"class {c}" + (f" ({names[c]})" if names else "")
        more = f" (and {missing.size - 1} more classes)" if missing.size > 1 else ""
        raise ValueError(f"{named}{more} has training samples but none in val_labels, so its "
                         f"recall is unknown: add validation samples of it, or pass "
                         f"error_estimate='beta' (such a class then gets the prior mean of the "
                         f"error)")


def _num_classes(num_classes: Any, labels: np.ndarray, recalls: Any, class_names: Any,
                 val_proba: Any, val_labels: Any, val_pred: Any = None) -> int:
    """K: ``num_classes``, else the number of recalls, of class names or the width of
    ``val_proba`` (the labels and validation labels must fit it: the argument is named), else
    the largest label of ``labels`` and ``val_labels`` + 1. ``val_pred`` never adds a class
    (:func:`validation_predictions` refuses a prediction outside them); it is taken only so that
    every caller passes the same inputs."""
    if num_classes is not None:
        return check_num_classes(num_classes)
    observed = [("labels", labels)]
    if val_labels is not None and recalls is None:
        observed.append(("val_labels", as_labels(val_labels, name="val_labels")))
    if recalls is not None:
        k = check_num_classes(int(np.size(recalls)), "the number of recalls")
        given, each = f"recalls has {k} entries", "recall"
    elif class_names is not None and not isinstance(class_names, str):
        k = check_num_classes(len(list(class_names)), "the number of class_names")
        given, each = f"class_names has {k} entries", "name"
    elif val_proba is not None and np.ndim(val_proba) == 2:
        k = check_num_classes(int(np.shape(val_proba)[1]), "the width of val_proba")
        given, each = f"val_proba has {k} columns (shape {np.shape(val_proba)})", "column"
    else:
        return infer_num_classes(*observed)
    for name, arr in observed:
        top = int(arr.max(initial=0))
        if top >= k:
            raise ValueError(f"{given} but {name} has {top + 1} classes (0..{top}): give one "
                             f"{each} per class")
    return k


def _recalls(k: int, recalls: Any, val_labels: Any, val_pred: Any, val_proba: Any,
             val_counts: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-class recalls and validation counts from what was given (one source only)."""
    given = [n for n, v in (("recalls", recalls), ("val_pred", val_pred),
                            ("val_proba", val_proba)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give one source of recalls, not {' and '.join(given)}: recalls=, or "
                         f"val_labels= with val_pred= or val_proba=")
    if val_labels is None:
        if given and given[0] != "recalls":
            raise ValueError(f"{given[0]} needs val_labels (the true class of each validation "
                             f"sample)")
        n_val = None if val_counts is None else as_per_class_counts(val_counts, k, "val_counts")
        if recalls is None:
            return None, n_val
        return as_recalls(recalls, k, allow_nan=np.ones(k, dtype=bool)), n_val
    if not given or given[0] == "recalls":
        raise ValueError("val_labels needs val_pred= (predicted classes) or val_proba= "
                         "(predicted probabilities), not recalls=")
    if val_counts is not None:
        raise ValueError("val_counts is computed from val_labels: pass one of them, not both")
    y, pred = validation_predictions(val_labels, val_pred, val_proba, k)
    return class_recalls(y, pred, num_classes=k), np.bincount(y, minlength=k).astype(np.int64)


def validation_predictions(val_labels: Any, val_pred: Any, val_proba: Any, k: int
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Validated validation labels and predicted classes (``val_pred``, or the argmax of
    ``val_proba``), int64, over ``k`` classes.

    A ``val_proba`` row whose largest value is shared by several classes counts as wrong: its
    predicted class is the first tied class other than the true one (``argmax`` alone would
    hand every tie to the lowest index, making that class look perfect).

    Examples
    --------
    >>> validation_predictions([0, 1], None, [[0.9, 0.1], [0.6, 0.4]], 2)[1].tolist()
    [0, 0]
    >>> validation_predictions([0, 1, 2], None, [[0.5, 0.5, 0], [0.5, 0.5, 0], [1, 1, 1]],
    ...                        3)[1].tolist()   # ties count as wrong
    [1, 0, 0]
    """
    if (val_pred is None) == (val_proba is None):
        raise ValueError("give the validation predictions once: val_pred= (predicted classes) "
                         "or val_proba= (predicted probabilities)")
    y = as_labels(val_labels, name="val_labels", num_classes=k)
    if val_proba is not None:
        refuse_mapping(val_proba, "val_proba", "sample")
        proba = np.asarray(val_proba)
        if proba.ndim == 1 and proba.shape == (y.size,):
            raise ValueError(f"val_proba has shape {proba.shape}, one value per sample: for "
                             f"predicted class ids use val_pred=; val_proba takes shape "
                             f"(len(val_labels), K) = ({y.size}, {k})")
        if proba.ndim != 2 or proba.shape != (y.size, k):
            raise ValueError(f"val_proba must have shape (len(val_labels), K) = ({y.size}, {k}), "
                             f"got {proba.shape}")
        if np.iscomplexobj(proba):
            raise ValueError("val_proba holds complex numbers: pass real probabilities or "
                             "logits")
        if proba.dtype == bool or not np.issubdtype(proba.dtype, np.number) \
                or not np.all(np.isfinite(proba)):
            raise ValueError("val_proba must hold finite numbers")
        return y, _argmax_ties_wrong(proba, y)
    _check_val_pred(val_pred)
    pred = as_labels(val_pred, name="val_pred")
    if pred.size != y.size:
        raise ValueError(f"val_pred has {pred.size} entries but val_labels {y.size}: one "
                         f"predicted class per validation sample")
    outside = np.flatnonzero(pred >= k)
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"val_pred[{i}] is {pred[i]}, not one of the {k} classes (0..{k - 1}): "
                         f"a prediction must be a class of the labels (or pass num_classes= "
                         f"when there are more classes)")
    return y, pred


def _argmax_ties_wrong(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise argmax, except that a row whose maximum is shared by several classes gets a
    tied class other than its true class ``y`` (a tie counts as wrong)."""
    pred = proba.argmax(axis=1)
    if proba.shape[1] < 2 or proba.shape[0] == 0:
        return pred
    is_top = proba == proba[np.arange(proba.shape[0]), pred][:, None]
    rows = np.flatnonzero(is_top.sum(axis=1) > 1)
    if rows.size:
        others = is_top[rows]
        others[np.arange(rows.size), y[rows]] = False
        pred[rows] = others.argmax(axis=1)
    return pred
