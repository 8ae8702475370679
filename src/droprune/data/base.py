"""The labelled-dataset type every part of droprune works with, and batch iteration.

A :class:`LabelledDataset` holds its inputs either in memory (one tensor, uint8 images or
float signals) or lazily (any sequence whose ``__getitem__`` decodes one sample to a tensor,
e.g. image files decoded with Pillow). Labels are always a numpy int64 array, index-aligned
with the inputs. Each item is ``(x, y, i)``: the sample index ``i`` travels with the batch
because the scorers record per-sample values by index.

Normalisation and augmentation are NOT done per item: batches are moved to the device as they
are (uint8 stays uint8) and :meth:`LabelledDataset.to_float` turns a whole batch into
normalised float32 there.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from .._checks import as_labels

__all__ = ["DatasetSplits", "LabelledDataset", "PASS_STREAMS", "iter_batches"]

#: The middle integer of a pass key ``(seed, stream, epoch)`` (:meth:`LabelledDataset.for_pass`)
#: by what the pass reads: so that a training epoch, the validation after it and a test
#: evaluation never draw the same random crops.
PASS_STREAMS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True, eq=False)
class LabelledDataset(torch.utils.data.Dataset):
    """A labelled dataset; items are ``(x, y, index)``.

    Attributes
    ----------
    inputs
        In-memory tensor of shape (N, C, ...) (uint8 for images, float32 for signals), or a lazy
        sequence of length N whose items are such tensors without the batch dimension.
    labels
        int64 numpy array (N,), values in ``[0, num_classes)``.
    num_classes
        Number of classes K (a class may be empty in a subset).
    name
        Short name of the source (``"mnist1d"``, ``"cifar10"``, ...), used in fingerprints.
    class_names
        Names of the K classes, when known.
    groups
        Optional int64 group label per sample (e.g. class x background for Waterbirds).
    group_names
        Names of the groups, when known.
    mean, std
        Per-channel normalisation applied by :meth:`to_float`, in the units of the float input
        (uint8 inputs are first divided by 255).
    source_indices
        Index of each sample in the dataset it was taken from (``subset`` keeps track), so a
        subset's results can be traced back to the original rows.
    split
        Which split this is (``"train"``, ``"val"``, ``"test"``), when it comes from a
        :class:`DatasetSplits`; reporting code refuses ``"val"`` (only ``test`` is reported).
    """

    inputs: Any
    labels: np.ndarray
    num_classes: int
    name: str = "dataset"
    class_names: tuple[str, ...] | None = None
    groups: np.ndarray | None = None
    group_names: tuple[str, ...] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    source_indices: np.ndarray | None = field(default=None, repr=False)
    split: str | None = None

    def __post_init__(self) -> None:
        labels = as_labels(self.labels, num_classes=self.num_classes)
        object.__setattr__(self, "labels", labels)
        if len(self.inputs) != labels.size:
            raise ValueError(f"{self.name}: {len(self.inputs)} inputs but {labels.size} labels")
        if self.class_names is not None:
            names = tuple(str(c) for c in self.class_names)
            if len(names) != self.num_classes:
                raise ValueError(f"{self.name}: {len(names)} class names for "
                                 f"{self.num_classes} classes")
            object.__setattr__(self, "class_names", names)
        if self.groups is not None:
            groups = as_labels(self.groups, name="groups")
            if groups.size != labels.size:
                raise ValueError(f"{self.name}: {groups.size} group labels for {labels.size} "
                                 f"samples")
            object.__setattr__(self, "groups", groups)
        if (self.mean is None) != (self.std is None):
            raise ValueError(f"{self.name}: give both mean and std, or neither")
        if self.source_indices is None:
            object.__setattr__(self, "source_indices", np.arange(labels.size, dtype=np.int64))

    # -- torch Dataset protocol -------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.labels.size)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        return self.inputs[i], int(self.labels[i]), int(i)

    # -- properties ---------------------------------------------------------------------------
    @property
    def in_memory(self) -> bool:
        """True when ``inputs`` is one tensor (batches are then sliced, not collated)."""
        return isinstance(self.inputs, torch.Tensor)

    @property
    def class_sizes(self) -> np.ndarray:
        """Number of samples of each class, shape (K,)."""
        return np.bincount(self.labels, minlength=self.num_classes).astype(np.int64)

    @property
    def num_groups(self) -> int:
        """Number of groups (0 when the dataset has none)."""
        if self.groups is None:
            return 0
        if self.group_names is not None:
            return len(self.group_names)
        return int(self.groups.max()) + 1 if self.groups.size else 0

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one input, without the batch dimension."""
        if self.in_memory:
            return tuple(self.inputs.shape[1:])
        return tuple(self.inputs[0].shape)

    @property
    def in_channels(self) -> int:
        """Number of input channels (first dimension of one input)."""
        return int(self.sample_shape[0])

    # -- derived datasets ---------------------------------------------------------------------
    def subset(self, indices: Any) -> "LabelledDataset":
        """The samples at ``indices`` (re-indexed 0..m-1; ``source_indices`` tracks origins)."""
        idx = as_labels(indices, name="indices")
        if idx.size and idx.max() >= len(self):
            raise ValueError(f"{self.name}: index {idx.max()} out of range for {len(self)} "
                             f"samples")
        if self.in_memory:
            inputs = self.inputs[torch.from_numpy(idx)]
        else:
            inputs = _LazySubset(self.inputs, idx)
        assert self.source_indices is not None  # __post_init__ fills it
        return replace(
            self,
            inputs=inputs,
            labels=self.labels[idx],
            groups=None if self.groups is None else self.groups[idx],
            source_indices=self.source_indices[idx],
        )

    def sample_paths(self) -> list[str] | None:
        """The file of every sample, in dataset order, when the inputs are files read lazily
        (the ``imagefolder``, ``imagenet`` and ``waterbirds`` sources; a
        subset keeps its samples' files); ``None`` when the inputs are in memory.

        Any lazy input sequence with a ``paths()`` method returning one path per item
        provides them (:class:`droprune.data.images.ImageFiles` does).
        """
        paths = getattr(self.inputs, "paths", None)
        return paths() if callable(paths) else None

    def for_pass(self, key: Sequence[int]) -> "LabelledDataset":
        """This dataset as read in pass ``key`` (integers, e.g. seed, stream, epoch): inputs
        with random transforms drawn per pass (ImageNet's reference random resized crops,
        :meth:`droprune.data.images.ImageFiles.for_pass`) draw those of ``key``; any other
        dataset is returned as it is (the same object)."""
        for_pass = getattr(self.inputs, "for_pass", None)
        if not callable(for_pass):
            return self
        inputs = for_pass(key)
        return self if inputs is self.inputs else replace(self, inputs=inputs)

    def with_labels(self, labels: np.ndarray) -> "LabelledDataset":
        """The same inputs with other labels (e.g. a partition into groups)."""
        return replace(self, labels=np.asarray(labels))

    # -- batches ------------------------------------------------------------------------------
    def to_float(self, x: torch.Tensor) -> torch.Tensor:
        """Turn a batch of inputs (on any device) into normalised float32.

        uint8 inputs are scaled to [0, 1]; then ``(x - mean) / std`` per channel (dimension 1).
        """
        if x.dtype == torch.uint8:
            x = x.to(torch.float32).div_(255.0)
        else:
            x = x.to(torch.float32)
        if self.mean is not None:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
            std = torch.as_tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
            x = (x - mean) / std
        return x

    def fingerprint(self) -> str:
        """Short hash of name, labels, input shape and the inputs: their bytes (in memory), or
        for lazy inputs their ``fingerprint_key`` (or length) and, when they are files
        (:meth:`sample_paths`), the size and modification time of every file.

        Used in score files, checkpoints and the reuse of query models, so that scores and
        models are never applied to another dataset by mistake: new images under the same
        file names change it (a copy that does not keep modification times does too; then
        the query models are trained again).
        """
        h = hashlib.sha256()
        h.update(self.name.encode())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        h.update(str(self.sample_shape).encode())
        if self.in_memory:
            h.update(self.inputs.contiguous().numpy().tobytes())
        else:
            h.update(repr(getattr(self.inputs, "fingerprint_key", len(self.inputs))).encode())
            paths = self.sample_paths()
            if paths is not None:
                h.update(files_key(paths))
        return h.hexdigest()[:16]


def files_key(paths: Sequence[str]) -> bytes:
    """The size and modification time (ns) of every file, in order, as bytes to hash; a
    missing file counts as size and time -1 (reading it fails later, naming it).

    Examples
    --------
    >>> files_key(["/no/such/file"]) == np.array([[-1, -1]], dtype=np.int64).tobytes()
    True
    """
    out = np.empty((len(paths), 2), dtype=np.int64)
    for i, path in enumerate(paths):
        try:
            st = os.stat(path)
            out[i] = st.st_size, st.st_mtime_ns
        except OSError:
            out[i] = -1, -1
    return out.tobytes()


class _LazySubset(Sequence):
    """Lazy view of a lazy input sequence at given indices."""

    def __init__(self, base: Sequence, indices: np.ndarray) -> None:
        self.base, self.indices = base, indices

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, i: int):  # type: ignore[override]
        return self.base[int(self.indices[i])]

    def paths(self) -> list[str] | None:
        """The base's paths at these indices (None when the base has none)."""
        inner = getattr(self.base, "paths", None)
        base = inner() if callable(inner) else None
        return None if base is None else [base[int(i)] for i in self.indices]

    def for_pass(self, key: Sequence[int]) -> "_LazySubset":
        """The view of the base's pass ``key`` (the same object when the base has none)."""
        inner = getattr(self.base, "for_pass", None)
        base = inner(key) if callable(inner) else self.base
        return self if base is self.base else _LazySubset(base, self.indices)

    @property
    def fingerprint_key(self) -> Any:
        inner = getattr(self.base, "fingerprint_key", len(self.base))
        return (inner, hashlib.sha256(self.indices.tobytes()).hexdigest()[:16])


@dataclass(frozen=True, init=False)
class DatasetSplits:
    """Train, validation and test splits of one source.

    ``val`` drives DRoP and CDB-W (the paper: a stratified half of each class of the official
    test set); ``test`` (the other half) is the only split metrics are reported on.

    Each split may be given in any form :func:`~droprune.data.adapter.as_labelled` takes (a
    ``TensorDataset``, arrays ``(x, y)``, a map-style dataset); it is converted on creation
    (named and marked as its split), ``val`` and ``test`` with the number of classes of
    ``train``.
    """

    train: LabelledDataset
    val: LabelledDataset
    test: LabelledDataset

    def __init__(self, train: Any, val: Any, test: Any) -> None:
        # Any: every form as_labelled takes; the fields hold LabelledDatasets once converted
        object.__setattr__(self, "train", train)
        object.__setattr__(self, "val", val)
        object.__setattr__(self, "test", test)
        self.__post_init__()

    def __post_init__(self) -> None:
        from .adapter import as_labelled

        for split in ("train", "val", "test"):
            value = getattr(self, split)
            if not isinstance(value, LabelledDataset):
                k = None if split == "train" else self.train.num_classes
                converted = as_labelled(value, num_classes=k, name=split)
                object.__setattr__(self, split, replace(converted, split=split))


def iter_batches(dataset: LabelledDataset, batch_size: int, *, indices: np.ndarray | None = None,
                 device: torch.device | str = "cpu", num_workers: int = 0
                 ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y, index)`` batches on ``device`` in the order of ``indices`` (default all).

    ``x`` is still raw (uint8 or float, unnormalised: call ``dataset.to_float``). In-memory
    datasets are sliced directly (no per-item Python); lazy ones go through a DataLoader with
    ``num_workers`` processes.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
    device = torch.device(device)
    labels = torch.from_numpy(dataset.labels)
    if dataset.in_memory:
        order_t = torch.from_numpy(order)
        for start in range(0, order.size, batch_size):
            idx = order_t[start:start + batch_size]
            yield (dataset.inputs[idx].to(device, non_blocking=True),
                   labels[idx].to(device, non_blocking=True), idx.to(device))
        return
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, order.tolist()), batch_size=batch_size, shuffle=False,
        num_workers=num_workers, pin_memory=device.type == "cuda",
        persistent_workers=False)
    for x, y, idx in loader:
        yield (x.to(device, non_blocking=True), y.to(device, non_blocking=True),
               idx.to(device))
