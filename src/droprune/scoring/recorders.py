"""Training-dynamics recorders: per-sample scores read off the training loop's own forward pass.

The trainer hands every recorder the dataset indices, the detached logits and the labels of each
training batch (:class:`droprune.training.hooks.Recorder`); nothing here runs an extra pass over
the data. Several recorders can listen to one run.

How values are recorded
-----------------------
Each recorder turns a batch into one float per sample (correct or not, probability of the true
class, EL2N, margin) and adds it into two full-length per-epoch buffers on the training device,
``sum`` and ``count``, with ``index_add_`` (vectorised, no Python per sample, no host sync).
:meth:`on_batch` only keeps a reference to the batch's tensors; the pending batches are
processed together (concatenated, per-sample values computed with a handful of large tensor
operations) once they hold ``flush_elements`` logits, and always before the epoch ends, before
:meth:`epoch_buffers` and before :meth:`state_dict`. This is what keeps the cost per batch at a
few microseconds; the logits handed to :meth:`on_batch` must therefore not be modified in place
afterwards (the trainer's detached logits never are).

At the end of the epoch the value of sample ``i`` is ``sum[i] / count[i]`` for the samples that
were presented (``count[i] > 0``); the buffers are then folded into the recorder's state and
cleared. In a distributed run the trainer sums both buffers across ranks first
(:meth:`~droprune.training.hooks.Recorder.synchronize`), which gives exactly the single-process
values because each sample is seen by one rank per epoch.

Missing and repeated presentations
----------------------------------
The trainer presents every sample once per epoch. A sample missing from an epoch (subset
training, a sampler that skips it) simply has no value for that epoch: forgetting compares
consecutive *presentations*, dynamic uncertainty slides its window over the sample's own
presentations, and the traces hold NaN for that epoch. A sample never presented gets the score
NaN from every recorder (there is nothing to score it by), which :func:`droprune.select`
refuses with a message naming the sample. Should a sampler present a sample several times in
one epoch, that epoch's value is the mean over those presentations (for forgetting: correct when
more than half of them were).

Resuming
--------
:meth:`state_dict` holds tensors only (it loads with ``torch.load(weights_only=True)``); a run
stopped after any epoch and resumed from it gives bit-identical scores. The state may be
loaded before :meth:`on_train_begin` (as Lightning restores a callback's state before training
starts): it is then kept, returned by :meth:`state_dict`, and applied (and checked) by the next
:meth:`on_train_begin`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from .._checks import check_int
from ..training.hooks import Recorder

__all__ = [
    "AUMRecorder",
    "DYNUNC_WINDOW_MODES",
    "DynamicUncertaintyRecorder",
    "EL2NTraceRecorder",
    "FORGETTING_CONVENTIONS",
    "ForgettingRecorder",
    "batch_correct",
    "batch_el2n",
    "batch_margin",
    "batch_true_probability",
]

#: Dynamic Uncertainty windows: He et al.'s (``"paper"``) or the DRoP reference code's
DYNUNC_WINDOW_MODES = ("paper", "reference")

#: never-learned conventions of :class:`ForgettingRecorder` -> what a never-learned sample scores
FORGETTING_CONVENTIONS: dict[str, str] = {
    "max": "one more than the largest count of any learned sample (Toneva et al.: never-learned "
           "samples rank as the most forgettable, so they are kept first)",
    "epochs": "the number of recorded epochs, a constant above every possible count (also kept "
              "first; unlike 'max' it does not depend on the other samples, so averages over "
              "seeds treat every run alike)",
    "zero": "0, as if never forgotten (never-learned samples rank with the unforgettable ones "
            "and are pruned first)",
}


# -- per-sample values -------------------------------------------------------------------------
# The recorders work on transposed logits ``zt`` (K, B): on the CPU, reductions over a small
# class axis are many times faster across a contiguous sample axis (torch.softmax(dim=1) on
# (100k, 10) is ~20x slower than the same arithmetic on (10, 100k)).
def _exp_shifted(zt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``exp(z - max z)`` (K, B) and its column sums (B,): the softmax is their ratio."""
    e = (zt - zt.amax(0, keepdim=True)).exp_()
    return e, e.sum(0)


def _margin_t(zt: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    other = zt.scatter(0, y.view(1, -1), float("-inf")).amax(0)
    return zt.gather(0, y.view(1, -1)).view(-1) - other


def _correct_t(zt: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (_margin_t(zt, y) > 0).to(torch.float32)


def _true_probability_t(zt: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    e, total = _exp_shifted(zt)
    return e.gather(0, y.view(1, -1)).view(-1) / total


def _el2n_t(zt: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    e, total = _exp_shifted(zt)
    p = e.div_(total)
    # p - onehot without a one-hot matrix (F.one_hot checks the label range: a CUDA sync)
    p.scatter_add_(0, y.view(1, -1), p.new_full((1, p.shape[1]), -1.0))
    return p.pow_(2).sum(0).sqrt_()


def _classes_first(logits: torch.Tensor) -> torch.Tensor:
    return logits.to(torch.float32).t().contiguous()


def batch_margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """AUM margin: true-class logit minus the largest other logit, shape (B,) float32."""
    return _margin_t(_classes_first(logits), labels)


def batch_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """1.0 where the true class has the strictly largest logit (margin > 0) else 0.0, (B,).

    Same as ``argmax(logits) == label`` except on exact ties, which count as wrong here (argmax
    would pick the first tied class, e.g. class 0 for all-zero logits).
    """
    return _correct_t(_classes_first(logits), labels)


def batch_true_probability(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Softmax probability of the true class, shape (B,) float32."""
    return _true_probability_t(_classes_first(logits), labels)


def batch_el2n(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """EL2N of each sample, ``||softmax(logits) - onehot(label)||_2``, shape (B,) float32."""
    return _el2n_t(_classes_first(logits), labels)


class _EpochRecorder(Recorder):
    """Shared machinery: per-epoch ``sum``/``count`` buffers and tensor-only state.

    Subclasses set :attr:`_batch_value` (a function of transposed logits and labels),
    :attr:`_state_names` (attributes, stored as ``_<name>``, that :meth:`state_dict` holds) and
    implement :meth:`_init_state`, :meth:`_fold` and :meth:`scores`.
    """

    #: per-sample value of ``(logits transposed to (K, n), labels (n,))``
    _batch_value: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    _state_names: tuple[str, ...] = ()
    #: pending logits elements that trigger a flush (bounds the memory held between flushes)
    flush_elements: int = 1 << 20

    def __init__(self) -> None:
        self._num_samples: int | None = None
        self._device = torch.device("cpu")
        self._pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._pending_elements = 0
        #: state loaded before on_train_begin, applied by it
        self._deferred_state: dict[str, torch.Tensor] | None = None

    # -- Recorder protocol ------------------------------------------------------------------
    def on_train_begin(self, num_samples: int, num_classes: int, epochs: int,
                       device: torch.device | str) -> None:
        if int(num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if int(epochs) < 0:
            raise ValueError(f"epochs must be >= 0, got {epochs}")
        n = int(num_samples)
        self._num_samples = n
        self._device = torch.device(device)
        self._sum = torch.zeros(n, dtype=torch.float32, device=self._device)
        self._count = torch.zeros(n, dtype=torch.float32, device=self._device)
        self._epochs_done = torch.zeros((), dtype=torch.int64)
        self._init_state(n, int(epochs))
        if self._deferred_state is not None:
            state, self._deferred_state = self._deferred_state, None
            self.load_state_dict(state)

    def on_batch(self, epoch: int, indices: torch.Tensor, logits: torch.Tensor,
                 labels: torch.Tensor) -> None:
        if self._num_samples is None:
            raise RuntimeError(f"{type(self).__name__}.on_batch called before on_train_begin")
        # Keep a reference only; batches are processed together in _flush (a few large tensor
        # operations instead of a dozen tiny ones per batch per recorder).
        self._pending.append((indices, logits, labels))
        self._pending_elements += logits.numel()
        if self._pending_elements >= self.flush_elements:
            self._flush()

    def _flush(self) -> None:
        """Add the pending batches' values into the epoch buffers."""
        if not self._pending:
            return
        dev = self._device
        batches, self._pending, self._pending_elements = self._pending, [], 0
        idx = torch.cat([b[0].to(dev, torch.int64) for b in batches])
        zt = torch.cat([b[1].to(dev, torch.float32).t() for b in batches], dim=1)  # (K, n)
        labels = torch.cat([b[2].to(dev, torch.int64) for b in batches])
        values = self._batch_value(zt, labels)
        self._sum.index_add_(0, idx, values)
        self._count.index_add_(0, idx, torch.ones_like(values))

    def epoch_buffers(self) -> list[torch.Tensor]:
        if self._num_samples is None:
            return []
        self._flush()
        return [self._sum, self._count]

    def on_epoch_end(self, epoch: int) -> None:
        if self._num_samples is None:
            raise RuntimeError(f"{type(self).__name__}.on_epoch_end called before on_train_begin")
        self._flush()
        seen = self._count > 0
        value = self._sum / self._count.clamp_min(1.0)
        self._fold(value, seen)
        self._sum.zero_()
        self._count.zero_()
        self._epochs_done += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        if self._num_samples is None:
            return dict(self._deferred_state or {})
        self._flush()
        names = ("sum", "count", "epochs_done") + self._state_names
        return {name: getattr(self, f"_{name}").detach().clone() for name in names}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if self._num_samples is None:  # not begun: kept, applied by on_train_begin
            if not isinstance(state, dict):
                raise ValueError(f"{type(self).__name__} state must be a dict of tensors, got "
                                 f"{type(state).__name__}")
            self._deferred_state = dict(state) or None
            return
        names = ("sum", "count", "epochs_done") + self._state_names
        missing = sorted(set(names) - set(state))
        extra = sorted(set(state) - set(names))
        if missing or extra:
            raise ValueError(f"{type(self).__name__} state does not match: missing {missing}, "
                             f"unexpected {extra} (was it saved by another recorder?)")
        loaded = {}
        for name in names:
            mine, theirs = getattr(self, f"_{name}"), state[name]
            if not isinstance(theirs, torch.Tensor) or theirs.dtype != mine.dtype:
                raise ValueError(f"{type(self).__name__} state {name!r}: expected a "
                                 f"{mine.dtype} tensor, got {getattr(theirs, 'dtype', theirs)!r}")
            # the trace may hold more epochs than announced: only its sample axis must match
            fits = theirs.shape == mine.shape or (
                name == "trace" and theirs.dim() == 2 and theirs.shape[1:] == mine.shape[1:])
            if not fits:
                raise ValueError(f"{type(self).__name__} state {name!r}: shape "
                                 f"{tuple(theirs.shape)} does not fit {tuple(mine.shape)} (saved "
                                 f"for another dataset size or window?)")
            loaded[name] = theirs.detach().to(mine.device).clone()
        for name, value in loaded.items():
            setattr(self, f"_{name}", value)
        self._pending, self._pending_elements = [], 0

    # -- helpers for subclasses -------------------------------------------------------------
    @property
    def epochs_recorded(self) -> int:
        """Number of epochs folded in so far."""
        return 0 if self._num_samples is None else int(self._epochs_done)

    def _require_epochs(self) -> None:
        if self._num_samples is None or int(self._epochs_done) == 0:
            raise RuntimeError(f"{type(self).__name__}.scores(): no epoch recorded yet (the "
                               f"trainer calls on_epoch_end after each epoch)")

    def _init_state(self, num_samples: int, epochs: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fold(self, value: torch.Tensor, seen: torch.Tensor) -> None:  # pragma: no cover
        raise NotImplementedError


class ForgettingRecorder(_EpochRecorder):
    """Forgetting events (Toneva et al., ICLR 2019, "An empirical study of example forgetting").

    A forgetting event of sample ``i`` is a presentation at which it is misclassified while it
    was classified correctly at its previous presentation (correctness of the training forward
    pass, i.e. with augmentation and train-mode batch norm, as Toneva et al. count it; correct
    means the true class has the strictly largest logit, so exact ties count as wrong). The
    score is the number of such events: higher = more forgotten = harder = kept first.

    Parameters
    ----------
    never_learned
        Score of the samples that were presented but never classified correctly (see
        :data:`FORGETTING_CONVENTIONS`): ``"max"`` (default, Toneva et al.'s convention),
        ``"epochs"`` or ``"zero"``.

    Examples
    --------
    >>> import torch
    >>> rec = ForgettingRecorder()
    >>> rec.on_train_begin(2, 2, 3, "cpu")
    >>> for logits in ([[1., 0.], [1., 0.]], [[0., 1.], [1., 0.]], [[1., 0.], [1., 0.]]):
    ...     rec.on_batch(0, torch.tensor([0, 1]), torch.tensor(logits), torch.tensor([0, 1]))
    ...     rec.on_epoch_end(0)
    >>> rec.scores()  # sample 0 forgotten once; sample 1 never learned -> max + 1
    array([1., 2.])
    """

    name = "forgetting"
    _batch_value = staticmethod(_correct_t)
    _state_names = ("last_correct", "presented", "ever_correct", "events")

    def __init__(self, never_learned: str = "max") -> None:
        super().__init__()
        if never_learned not in FORGETTING_CONVENTIONS:
            raise ValueError(f"never_learned must be one of {sorted(FORGETTING_CONVENTIONS)}, "
                             f"got {never_learned!r}")
        self.never_learned = never_learned

    def _init_state(self, num_samples: int, epochs: int) -> None:
        z: dict[str, Any] = dict(dtype=torch.bool, device=self._device)
        self._last_correct = torch.zeros(num_samples, **z)
        self._presented = torch.zeros(num_samples, **z)
        self._ever_correct = torch.zeros(num_samples, **z)
        self._events = torch.zeros(num_samples, dtype=torch.int64, device=self._device)

    def _fold(self, value: torch.Tensor, seen: torch.Tensor) -> None:
        correct = value > 0.5
        forgotten = seen & self._presented & self._last_correct & ~correct
        self._events += forgotten
        self._last_correct = torch.where(seen, correct, self._last_correct)
        self._presented |= seen
        self._ever_correct |= seen & correct

    @property
    def counts(self) -> np.ndarray:
        """Raw number of forgetting events per sample, int64 (N,) (0 for never-learned)."""
        self._require_epochs()
        return self._events.cpu().numpy().astype(np.int64)

    @property
    def never_learned_mask(self) -> np.ndarray:
        """True for samples presented at least once but never classified correctly."""
        self._require_epochs()
        return (self._presented & ~self._ever_correct).cpu().numpy()

    def scores(self) -> np.ndarray:
        """Forgetting counts (float64), never-learned samples by the chosen convention, NaN for
        samples never presented."""
        counts = self.counts.astype(np.float64)
        presented = self._presented.cpu().numpy()
        never = self.never_learned_mask
        learned = presented & ~never
        if self.never_learned == "max":
            fill = (counts[learned].max() if learned.any() else 0.0) + 1.0
        elif self.never_learned == "epochs":
            fill = float(self.epochs_recorded)
        else:
            fill = 0.0
        counts[never] = fill
        counts[~presented] = np.nan
        return counts


class DynamicUncertaintyRecorder(_EpochRecorder):
    """Dynamic Uncertainty (He et al., 2023, "Large-scale dataset pruning with dynamic
    uncertainty").

    With ``P_t`` the softmax probability of the true class at the sample's ``t``-th presentation
    (training forward pass), the uncertainty of the window starting at ``k`` is the sample
    standard deviation (``J - 1`` in the denominator, as ``torch.std``) of
    ``P_k .. P_{k+J-1}``; the score is its mean over all ``T - J + 1`` windows of the ``T``
    presentations. Higher = more fluctuating prediction = harder = kept first.

    Fewer presentations than the window (``T < J``, e.g. a short query run): one shorter window
    over all ``T`` presentations is used (``T >= 2``); a sample presented once scores 0 (a
    single value does not fluctuate); never presented: NaN.

    Parameters
    ----------
    window
        ``J``, the number of consecutive presentations per window (>= 2; the paper uses 10).
    window_mode
        ``"paper"`` (default): windows of ``J`` presentations, as He et al. define them.
        ``"reference"``: as the DRoP reference code computes it, windows of ``J - 1``
        presentations and each sample's last presentation never used (``J >= 3``); the
        reference also divides the sum of the windows' stds by ``E - J`` instead of their
        number, a constant factor that changes no ranking and is not reproduced.

    Examples
    --------
    >>> import torch
    >>> rec = DynamicUncertaintyRecorder(window=2)
    >>> rec.on_train_begin(1, 2, 3, "cpu")
    >>> for p in (0.5, 0.9, 0.5):  # logits [log p, log(1 - p)], class 0
    ...     logits = torch.tensor([[p, 1 - p]]).log()
    ...     rec.on_batch(0, torch.tensor([0]), logits, torch.tensor([0]))
    ...     rec.on_epoch_end(0)
    >>> round(float(rec.scores()[0]), 6)  # both windows have std 0.4 / sqrt(2)
    0.282843
    """

    name = "dynunc"
    _batch_value = staticmethod(_true_probability_t)
    _state_names: tuple[str, ...] = ("ring", "presentations", "window_sum", "windows")

    def __init__(self, window: int = 10, window_mode: str = "paper") -> None:
        super().__init__()
        if window_mode not in DYNUNC_WINDOW_MODES:
            raise ValueError(f"window_mode must be one of {DYNUNC_WINDOW_MODES}, got "
                             f"{window_mode!r}")
        reference = window_mode == "reference"
        self.window = check_int(window, "window", minimum=3 if reference else 2,
                                requirement="an integer >= 3 with window_mode='reference' "
                                            "(windows of window - 1)" if reference else
                                "an integer >= 2 (the paper uses 10)")
        self.window_mode = window_mode
        #: presentations per window: J, or J - 1 as the reference code computes it
        self._span = self.window - 1 if reference else self.window
        if reference:
            self._state_names = type(self)._state_names + ("held", "has_held")

    def _init_state(self, num_samples: int, epochs: int) -> None:
        dev = self._device
        self._ring = torch.zeros(self._span, num_samples, dtype=torch.float32, device=dev)
        self._presentations = torch.zeros(num_samples, dtype=torch.int64, device=dev)
        self._window_sum = torch.zeros(num_samples, dtype=torch.float64, device=dev)
        self._windows = torch.zeros(num_samples, dtype=torch.int64, device=dev)
        if self.window_mode == "reference":
            self._held = torch.zeros(num_samples, dtype=torch.float32, device=dev)
            self._has_held = torch.zeros(num_samples, dtype=torch.bool, device=dev)

    def _fold(self, value: torch.Tensor, seen: torch.Tensor) -> None:
        if self.window_mode == "reference":
            # each presentation is used only once the next one arrives: the last is never used
            arrived = seen
            held = self._held
            self._held = torch.where(arrived, value, held)
            value, seen = held, arrived & self._has_held
            self._has_held = self._has_held | arrived
        cols = torch.arange(value.numel(), device=value.device)
        slot = self._presentations % self._span
        self._ring[slot, cols] = torch.where(seen, value, self._ring[slot, cols])
        self._presentations += seen
        full = seen & (self._presentations >= self._span)
        # two-pass sample std (J - 1), written out: torch.std(dim=0) is ~30x slower on the CPU
        dev_sq = (self._ring - self._ring.mean(0, keepdim=True)).pow_(2).sum(0)
        std = dev_sq.div_(self._span - 1).sqrt_().to(torch.float64)
        self._window_sum += torch.where(full, std, torch.zeros_like(std))
        self._windows += full

    def scores(self) -> np.ndarray:
        """Mean windowed std of the true-class probability, float64 (N,)."""
        self._require_epochs()
        ring = self._ring.cpu().numpy().astype(np.float64)
        t = self._presentations.cpu().numpy()
        out = self._window_sum.cpu().numpy() / np.maximum(self._windows.cpu().numpy(), 1)
        short = (t >= 2) & (t < self._span)
        if short.any():
            vals = ring[:, short]
            used = np.arange(self._span)[:, None] < t[short][None, :]
            mean = np.where(used, vals, 0.0).sum(0) / t[short]
            var = np.where(used, (vals - mean) ** 2, 0.0).sum(0) / (t[short] - 1)
            out[short] = np.sqrt(var)
        out[t == 1] = 0.0
        out[t == 0] = np.nan
        return out


class _TraceRecorder(_EpochRecorder):
    """A per-epoch trace ``(E, N)`` (NaN where a sample was not presented) on the device."""

    _state_names = ("trace",)

    def _init_state(self, num_samples: int, epochs: int) -> None:
        self._trace = torch.full((max(epochs, 1), num_samples), float("nan"),
                                 dtype=torch.float32, device=self._device)

    def _fold(self, value: torch.Tensor, seen: torch.Tensor) -> None:
        e = int(self._epochs_done)
        if e >= self._trace.shape[0]:  # more epochs than announced: grow
            self._trace = torch.cat([self._trace, torch.full_like(self._trace, float("nan"))])
        self._trace[e] = torch.where(seen, value, torch.full_like(value, float("nan")))

    @property
    def trace(self) -> np.ndarray:
        """Per-epoch values, float64 (epochs recorded, N); NaN where a sample was not presented."""
        self._require_epochs()
        return self._trace[: int(self._epochs_done)].cpu().numpy().astype(np.float64)

    def _mean_over_epochs(self) -> np.ndarray:
        tr = self.trace
        present = ~np.isnan(tr)
        count = present.sum(0)
        total = np.where(present, tr, 0.0).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class EL2NTraceRecorder(_TraceRecorder):
    """EL2N (Paul et al., NeurIPS 2021) of the training forward pass, recorded every epoch.

    ``el2n = ||softmax(logits) - onehot(y)||_2``; higher = harder = kept first. :attr:`trace`
    gives the (E, N) array; :meth:`scores` reduces it.

    Parameters
    ----------
    reduce
        ``"mean"`` (default): mean over the epochs the sample was presented; ``"last"``: the
        value at its last presentation.
    """

    name = "el2n_trace"
    _batch_value = staticmethod(_el2n_t)

    def __init__(self, reduce: str = "mean") -> None:
        super().__init__()
        if reduce not in ("mean", "last"):
            raise ValueError(f"reduce must be 'mean' or 'last', got {reduce!r}")
        self.reduce = reduce

    def scores(self) -> np.ndarray:
        """EL2N reduced over epochs, float64 (N,); NaN for samples never presented."""
        if self.reduce == "mean":
            return self._mean_over_epochs()
        tr = self.trace
        present = ~np.isnan(tr)
        last = tr.shape[0] - 1 - np.argmax(present[::-1], axis=0)
        out = tr[last, np.arange(tr.shape[1])]
        return np.where(present.any(0), out, np.nan)


class AUMRecorder(_TraceRecorder):
    """Area Under the Margin (Pleiss et al., NeurIPS 2020).

    The margin of a presentation is the true-class logit minus the largest other logit; AUM is
    its mean over the epochs the sample was presented. A low (negative) AUM flags a hard or
    mislabelled sample, so the score is ``-AUM``: higher = harder = kept first. :attr:`trace`
    holds the per-epoch margins (not negated).
    """

    name = "aum"
    _batch_value = staticmethod(_margin_t)

    def scores(self) -> np.ndarray:
        """``-AUM``, float64 (N,); NaN for samples never presented."""
        return -self._mean_over_epochs()
