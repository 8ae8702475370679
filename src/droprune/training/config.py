"""Training hyper-parameters (:class:`TrainConfig`), the step schedule and the paper's
stretched schedule for pruned data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from typing import Any

from .._checks import MAX_EPOCHS, MAX_TOTAL, check_density, check_int, check_number

__all__ = ["AMP_MODES", "CDBW_LOSSES", "TrainConfig"]

#: how CDB-W averages the weighted losses of a batch (see TrainConfig.cdbw_loss)
CDBW_LOSSES = ("mean1", "raw")
#: mixed-precision modes of TrainConfig.amp ("off" is stored as None)
AMP_MODES = ("off", "bf16", "fp16")


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
    augment_affine
        Instead of ``augment_pad``: the translation of torchvision's ``RandomAffine(degrees=0,
        translate=(t, t))`` with ``t = augment_affine`` (shifts of ``round(U(-t S, t S))``
        pixels on an axis of size ``S``, zero fill: the DRoP reference code's CIFAR
        augmentation); 0 disables it.
    cdbw
        Class-wise difficulty-balanced loss weights from the previous epoch's validation recall
        (see :func:`droprune.training.cdbw_weights`); needs a validation set.
    cdbw_loss
        How CDB-W's weighted losses are averaged over a batch: ``"mean1"`` (default,
        ``sum_i w_i l_i / B`` with class weights of mean 1) or ``"raw"`` (``sum_i w_i l_i /
        sum_i w_i``, PyTorch's weighted cross-entropy, as the DRoP reference code; a batch
        whose weights are all 0 falls back to the plain mean instead of the reference's NaN).
    eval_batch_size
        Batch size of validation and prediction.
    num_workers
        DataLoader worker processes for lazy (not in-memory) datasets. It cannot change
        results, so it is not part of a checkpoint's fingerprint.
    amp
        Mixed precision of the training forward pass and loss: None or ``"off"`` (default,
        float32; ``"off"`` is stored as None), ``"bf16"`` (bfloat16 autocast, on CUDA and on the
        CPU) or ``"fp16"`` (float16 autocast with a gradient scaler, CUDA only: refused when
        training on another device). Validation, prediction and scoring stay float32.

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
    augment_affine: float = 0.0
    cdbw: bool = False
    cdbw_loss: str = "mean1"
    eval_batch_size: int = 1024
    num_workers: int = 0
    amp: str | None = None

    def __post_init__(self) -> None:
        def store(name: str, value: Any) -> None:  # numpy scalars become Python numbers
            object.__setattr__(self, name, value)

        store("epochs", check_int(self.epochs, "epochs", minimum=1, maximum=MAX_EPOCHS))
        for name in ("batch_size", "eval_batch_size"):
            store(name, check_int(getattr(self, name), name, minimum=1, maximum=MAX_TOTAL))
        for name in ("augment_pad", "num_workers"):
            store(name, check_int(getattr(self, name), name, minimum=0))
        for name in ("nesterov", "augment_flip", "cdbw"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        store("lr", check_number(self.lr, "lr", minimum=0, min_inclusive=False))
        store("momentum", check_number(self.momentum, "momentum", minimum=0, maximum=1,
                                       max_inclusive=False))
        store("weight_decay", check_number(self.weight_decay, "weight_decay", minimum=0))
        store("drop_factor", check_number(self.drop_factor, "drop_factor", minimum=0, maximum=1,
                                          min_inclusive=False))
        store("augment_affine", check_number(self.augment_affine, "augment_affine", minimum=0,
                                             maximum=0.5, max_inclusive=False))
        if self.augment_affine and self.augment_pad:
            raise ValueError("augment_affine and augment_pad are two translations: set one")
        if self.cdbw_loss not in CDBW_LOSSES:
            raise ValueError(f"cdbw_loss must be one of {CDBW_LOSSES}, got {self.cdbw_loss!r}")
        if self.amp is not None and self.amp not in AMP_MODES:
            raise ValueError(f"amp must be None or one of {AMP_MODES}, got {self.amp!r}")
        if self.amp == "off":
            store("amp", None)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        try:
            drops = tuple(self.drop_epochs)
        except TypeError:
            raise ValueError(f"drop_epochs must be a sequence of epochs, got "
                             f"{self.drop_epochs!r}") from None
        drops = tuple(check_int(e, "drop_epochs", minimum=1, maximum=self.epochs - 1,
                                requirement=f"integers in [1, epochs={self.epochs}) (0-based "
                                            f"epochs at whose start the lr drops)")
                      for e in drops)
        if any(b <= a for a, b in zip(drops, drops[1:])):
            raise ValueError(f"drop_epochs must be strictly increasing, got {drops}")
        store("drop_epochs", drops)

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
        """Plain dict of the fields (``drop_epochs`` as a list), e.g. for JSON.

        ``cdbw_loss`` and ``amp`` are left out at their defaults (``"mean1"``, None), so the
        checkpoints, query files and run ids written before they existed still match."""
        out = asdict(self)
        out["drop_epochs"] = list(self.drop_epochs)
        if out["cdbw_loss"] == "mean1":
            del out["cdbw_loss"]
        if out["amp"] is None:
            del out["amp"]
        if out["augment_affine"] == 0:
            del out["augment_affine"]
        return out
