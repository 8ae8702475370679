"""Training hyper-parameters (:class:`TrainConfig`), the step schedule and the paper's
stretched schedule for pruned data."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from typing import Any

from .._checks import check_density

__all__ = ["TrainConfig"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`droprune.training.train` (SGD, step schedule).

    Attributes
    ----------
    epochs
        Number of epochs (>= 1).
    batch_size
        Training batch size.
    lr
        Initial learning rate of SGD.
    momentum, weight_decay, nesterov
        SGD momentum (in [0, 1)), L2 weight decay (applied to every parameter, biases and
        batch-norm weights included) and Nesterov momentum.
    drop_epochs
        Epochs (0-based, strictly increasing, each in ``[1, epochs)``) at the START of which the
        learning rate is multiplied by ``drop_factor``.
    drop_factor
        Multiplier of each drop, in (0, 1].
    augment_pad
        Random translation by up to this many pixels/steps on every spatial axis (zero padding
        + random crop); 0 disables it. Works for 1-D signals and images.
    augment_flip
        Random horizontal flip (last axis) with probability 1/2; images (B, C, H, W) only.
    cdbw
        Class-wise difficulty-balanced loss weights from the previous epoch's validation recall
        (see :func:`droprune.training.cdbw_weights`); needs a validation set.
    eval_batch_size
        Batch size of validation and prediction.
    num_workers
        DataLoader worker processes for lazy (not in-memory) datasets. It cannot change
        results, so it is not part of a checkpoint's fingerprint.

    Examples
    --------
    >>> c = TrainConfig(epochs=200, drop_epochs=(60, 120, 160))
    >>> c.lr_at(0), round(c.lr_at(60), 6), round(c.lr_at(199), 6)
    (0.1, 0.02, 0.0008)
    >>> s = c.stretched(0.5)
    >>> s.epochs, s.drop_epochs
    (300, (90, 180, 240))
    """

    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    drop_epochs: tuple[int, ...] = ()
    drop_factor: float = 0.2
    nesterov: bool = False
    augment_pad: int = 0
    augment_flip: bool = False
    cdbw: bool = False
    eval_batch_size: int = 1024
    num_workers: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("augment_pad", "num_workers"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("nesterov", "augment_flip", "cdbw"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        self._check_float("lr", lambda v: v > 0, "> 0")
        self._check_float("momentum", lambda v: 0 <= v < 1, "in [0, 1)")
        self._check_float("weight_decay", lambda v: v >= 0, ">= 0")
        self._check_float("drop_factor", lambda v: 0 < v <= 1, "in (0, 1]")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        try:
            drops = tuple(self.drop_epochs)
        except TypeError:
            raise ValueError(f"drop_epochs must be a sequence of epochs, got "
                             f"{self.drop_epochs!r}") from None
        for e in drops:
            if not _is_int(e) or not 1 <= e < self.epochs:
                raise ValueError(f"drop_epochs must hold integers in [1, epochs={self.epochs}) "
                                 f"(0-based epochs at whose start the lr drops), got {e!r}")
        if any(b <= a for a, b in zip(drops, drops[1:])):
            raise ValueError(f"drop_epochs must be strictly increasing, got {drops}")
        object.__setattr__(self, "drop_epochs", drops)

    def _check_float(self, name: str, ok, text: str) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not ok(value):
            raise ValueError(f"{name} must be a finite number {text}, got {value!r}")

    def lr_at(self, epoch: int) -> float:
        """Learning rate during ``epoch`` (0-based): ``lr * drop_factor ** (drops <= epoch)``."""
        drops = sum(1 for e in self.drop_epochs if e <= epoch)
        return float(self.lr * self.drop_factor ** drops)

    def stretched(self, density: float) -> "TrainConfig":
        """The paper's schedule for data pruned to ``density`` (the fraction KEPT).

        ``epochs' = int((0.5 + 0.5 d) * epochs / d)`` and every drop epoch ``e`` becomes
        ``int((0.5 + 0.5 d) * e / d)``: a pruned run does about as many SGD steps as half
        the full run plus half of its own. The products are computed exactly on the decimal
        that ``repr(density)`` prints (no binary rounding can lose an epoch). ``density=1``
        returns an equal config.
        """
        d = check_density(density)
        if d == 0:
            raise ValueError("density must be > 0 to stretch a schedule (nothing is kept at 0)")
        dd = Fraction(repr(d))
        factor = (1 + dd) / (2 * dd)
        return replace(self, epochs=int(factor * self.epochs),
                       drop_epochs=tuple(int(factor * e) for e in self.drop_epochs))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (``drop_epochs`` as a list), e.g. for JSON."""
        out = asdict(self)
        out["drop_epochs"] = list(self.drop_epochs)
        return out
