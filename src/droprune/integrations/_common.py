"""What the Lightning and Hugging Face integrations share: the index wrapper and the
bookkeeping of a list of recorders (begin on the first batch, state for checkpoints)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .._extras import require

require("torch", "torch", what="droprune.integrations")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ..training.hooks import Recorder  # noqa: E402

__all__ = ["IndexedDataset", "RecorderSet", "with_indices"]


class IndexedDataset(torch.utils.data.Dataset):
    """A map-style dataset whose item ``i`` also carries ``i`` (see :func:`with_indices`)."""

    def __init__(self, dataset: Any, key: str = "index") -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise ValueError(f"with_indices needs a map-style dataset (with __len__ and "
                             f"__getitem__), got {type(dataset).__name__}")
        self.dataset, self.key = dataset, key

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Any:
        item = self.dataset[i]
        if isinstance(item, dict):
            if self.key in item:
                raise ValueError(f"with_indices: the items already have a key {self.key!r}; "
                                 f"pass key= another name")
            return {**item, self.key: i}
        if isinstance(item, (tuple, list)):
            return (*item, i)
        return item, i


def with_indices(dataset: Any, key: str = "index") -> IndexedDataset:
    """``dataset`` with the sample index added to every item: ``(x, y)`` items become
    ``(x, y, i)``, dict items (Hugging Face ``datasets``) get ``item[key] = i``, any other item
    becomes ``(item, i)``. The default collate turns the indices into a tensor per batch: the
    DATASET indices the recorders need, whatever the sampler's order.

    Examples
    --------
    >>> ds = with_indices([("a", 0), ("b", 1)])
    >>> ds[1], len(ds)
    (('b', 1, 1), 2)
    >>> with_indices([{"text": "a", "label": 0}])[0]
    {'text': 'a', 'label': 0, 'index': 0}
    """
    return IndexedDataset(dataset, key)


class RecorderSet:
    """A list of recorders fed from a framework's training steps.

    The recorders begin on the first training batch (the number of classes is read off the
    logits); state loaded before that (a checkpoint restored before training starts) is kept
    and applied right after their ``on_train_begin``, so every :class:`Recorder` works, not only
    droprune's.
    """

    def __init__(self, recorders: Iterable[Recorder | str], num_samples: int | None = None,
                 what: str = "RecorderCallback") -> None:
        from ..scoring import make_recorders

        recs = list(recorders)
        if not recs:
            raise ValueError(f"{what}: pass at least one recorder (a Recorder or a name such "
                             f"as 'forgetting')")
        names = [r for r in recs if isinstance(r, str)]
        made = iter(make_recorders(names)) if names else iter(())
        self.recorders: list[Recorder] = [next(made) if isinstance(r, str) else r for r in recs]
        for r in self.recorders:
            if not hasattr(r, "on_batch") or not hasattr(r, "on_epoch_end"):
                raise ValueError(f"{what}: {r!r} is not a Recorder")
        self.num_samples, self.what = num_samples, what
        self.begun = False
        self._pending: list[dict[str, torch.Tensor]] | None = None

    def begin_if_needed(self, num_samples: int, logits: torch.Tensor, epochs: int) -> None:
        if self.begun:
            return
        n = self.num_samples if self.num_samples is not None else num_samples
        for r in self.recorders:
            r.on_train_begin(n, int(logits.shape[-1]), max(int(epochs), 1), logits.device)
        if self._pending is not None:
            for r, state in zip(self.recorders, self._pending):
                r.load_state_dict(state)
            self._pending = None
        self.begun = True

    def restart(self) -> None:
        """A new training run: the recorders begin afresh on its first batch (then the state
        loaded last, if any, is applied)."""
        self.begun = False

    def feed(self, epoch: int, indices: Any, logits: torch.Tensor, labels: Any) -> None:
        logits = logits.detach()
        idx = torch.as_tensor(indices, device=logits.device).reshape(-1)
        y = torch.as_tensor(labels, device=logits.device).reshape(-1)
        if logits.dim() != 2 or idx.numel() != logits.shape[0] or y.numel() != logits.shape[0]:
            raise ValueError(f"{self.what}: expected logits (batch, K) with one index and one "
                             f"label per row, got logits {tuple(logits.shape)}, "
                             f"{idx.numel()} indices, {y.numel()} labels")
        for r in self.recorders:
            r.on_batch(epoch, idx, logits, y)

    def epoch_end(self, epoch: int) -> None:
        if not self.begun:
            return
        if torch.distributed.is_available() and torch.distributed.is_initialized() \
                and torch.distributed.get_world_size() > 1:
            for r in self.recorders:
                r.synchronize(torch.distributed.all_reduce)
        for r in self.recorders:
            r.on_epoch_end(epoch)

    def state_dict(self) -> dict[str, Any]:
        names = _names(self.recorders)
        if not self.begun:
            states = self._pending or [{} for _ in self.recorders]
        else:
            states = [r.state_dict() for r in self.recorders]
        return {"names": names, "states": [dict(s) for s in states]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        names = _names(self.recorders)
        if list(state.get("names", [])) != names:
            raise ValueError(f"{self.what}: the checkpoint holds recorders "
                             f"{list(state.get('names', []))}, this callback has {names}")
        states = list(state["states"])
        if not any(states):  # saved before any batch: nothing to restore
            self._pending = None
            return
        self._pending = states  # applied by the next begin (a new fit starts afresh)
        if self.begun:
            for r, s in zip(self.recorders, states):
                r.load_state_dict(s)

    def scores(self) -> dict[str, np.ndarray]:
        return dict(zip(_names(self.recorders), (r.scores() for r in self.recorders)))


def _names(recorders: Sequence[Recorder]) -> list[str]:
    return [getattr(r, "name", type(r).__name__) for r in recorders]
