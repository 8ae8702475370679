"""CDB-W: class-wise difficulty-balanced loss weights (Sinha et al., 2020).

The difficulty of class k is its validation error ``1 - r_k`` after the previous epoch; the
loss of a sample of class k is multiplied by ``w_k`` proportional to it (their exponent
tau = 1). Decisions, documented here and in ``docs/training.md``:

- normalisation: the weights have mean 1 over the classes, and the trainer AVERAGES the weighted
  per-sample losses over the batch (``mean_i w_{y_i} l_i``), so the loss keeps the scale of
  unweighted training on balanced data and a batch's weight does not depend on its
  composition;
- a class whose recall is 1 gets weight 0 (as in the paper, it is ignored until it errs again);
- if every recall is 1 (no difficulty anywhere) the weights are uniform (all 1);
- a class absent from the validation set (recall NaN) gets the mean raw weight of the others
  (neutral), and uniform weights when no class has a recall;
- the first epoch, which has no previous recall, uses uniform weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_recalls

__all__ = ["cdbw_weights", "epoch_class_weights"]


def cdbw_weights(recalls: Any) -> np.ndarray:
    """Per-class loss weights ``w_k ∝ 1 - r_k`` normalised to mean 1 (float64, (K,)).

    Parameters
    ----------
    recalls
        Validation recall of each class from the previous epoch, in [0, 1]; NaN for classes
        without validation samples.

    Examples
    --------
    >>> cdbw_weights([0.5, 1.0, 0.0])
    array([1., 0., 2.])
    >>> cdbw_weights([1.0, 1.0])
    array([1., 1.])
    """
    n = np.asarray(recalls).size
    r = as_recalls(recalls, size=n, allow_nan=np.ones(n, dtype=bool))
    raw = 1.0 - r
    known = ~np.isnan(raw)
    if not known.any() or raw[known].sum() == 0:
        return np.ones(r.size)
    raw[~known] = raw[known].mean()
    return raw / raw.mean()


def epoch_class_weights(previous_recalls: Any | None, num_classes: int) -> np.ndarray:
    """The CDB-W class weights of an epoch: :func:`cdbw_weights` of the previous epoch's
    validation recalls, uniform for the first epoch (``previous_recalls`` None).

    Examples
    --------
    >>> epoch_class_weights(None, 2)
    array([1., 1.])
    >>> epoch_class_weights([0.5, 1.0, 0.0], 3)
    array([1., 0., 2.])
    """
    return np.ones(num_classes) if previous_recalls is None else cdbw_weights(previous_recalls)
