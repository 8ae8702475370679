"""The batches of an epoch: the single-process batch plan (:func:`batch_bounds`), this rank's
part of it in a distributed run (:func:`epoch_plan`) and the iterator over its raw batches
(:func:`train_batches`).

Examples
--------
>>> plan = epoch_plan(5, 2, seed=0, epoch=0, rank=0, world_size=1)
>>> plan.bounds, plan.global_sizes
([(0, 2), (2, 5)], [2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from ..data.base import LabelledDataset
from .config import TrainConfig
from .distributed import epoch_order, is_distributed, launched_world_size, world

__all__ = ["EpochPlan", "batch_bounds", "check_world", "epoch_plan", "train_batches"]


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch of an epoch of ``n`` samples.

    Every sample is in exactly one batch. When ``batch_size > 1``, a last batch of a single
    sample is merged into the one before (batch norm cannot train on one sample when the
    feature map is 1x1).

    Examples
    --------
    >>> batch_bounds(5, 2)
    [(0, 2), (2, 5)]
    >>> batch_bounds(4, 2)
    [(0, 2), (2, 4)]
    """
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if batch_size > 1 and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def check_world(config: TrainConfig) -> tuple[int, int]:
    """``(rank, world_size)``, after refusing a torchrun launch without a process group and a
    global batch size that the ranks cannot split evenly."""
    launched = launched_world_size()
    if launched > 1 and not is_distributed():
        raise ValueError(f"this process is one of {launched} launched together (WORLD_SIZE="
                         f"{launched}) but torch.distributed is not initialised: run the work "
                         f"inside `with droprune.training.distributed.distributed_session():` "
                         f"(the droprune command does this itself)")
    rank, world_size = world()
    if config.batch_size % world_size:
        lower = max(world_size, config.batch_size // world_size * world_size)
        raise ValueError(f"batch_size {config.batch_size} is the global batch, split evenly "
                         f"over {world_size} ranks: make it a multiple of {world_size} (e.g. "
                         f"{lower} or {lower + world_size})")
    return rank, world_size


@dataclass(frozen=True)
class EpochPlan:
    """This rank's part of an epoch.

    The GLOBAL batches are those of a single process (:func:`batch_bounds` over the shared
    permutation); with the permutation dealt out as in ``DistributedSampler`` (rank r takes
    positions r, r + W, ...) and a global batch size divisible by W, the positions
    [s, e) of global batch b are, on rank r, the local positions [s / W, e / W): every rank
    holds batch_size / W samples of it, the last batch also holding the padding duplicates.
    """

    order: torch.Tensor  # this rank's dataset indices (CPU, int64)
    real: torch.Tensor | None  # False at padding duplicates (None: no padding)
    bounds: list[tuple[int, int]]  # local (start, stop) of each batch
    global_sizes: list[int]  # real samples in each global batch
    padded: list[bool]  # whether the global batch holds padding duplicates (on any rank)
    rank: int = 0
    world_size: int = 1

    def draw_positions(self, b: int) -> torch.Tensor | None:
        """Positions in global batch ``b`` of this rank's samples of it (None in a single
        process: position i is sample i). Padding duplicates take the last real position.

        Examples
        --------
        >>> plan = epoch_plan(5, 2, seed=0, epoch=0, rank=1, world_size=2)
        >>> plan.draw_positions(0).tolist(), plan.draw_positions(1).tolist()
        ([1], [1, 2])
        """
        if self.world_size == 1:
            return None
        start, stop = self.bounds[b]
        pos = torch.arange(stop - start) * self.world_size + self.rank
        return pos.clamp_(max=max(self.global_sizes[b] - 1, 0))


def epoch_plan(n: int, batch_size: int, *, seed: int, epoch: int, rank: int,
               world_size: int) -> EpochPlan:
    """The :class:`EpochPlan` of ``rank`` for ``epoch`` of ``n`` samples."""
    order, real = epoch_order(n, seed=seed, epoch=epoch, rank=rank, world_size=world_size)
    global_bounds = batch_bounds(n, batch_size)
    bounds = global_bounds
    if world_size > 1:
        bounds = [(s // world_size, e // world_size) for s, e in global_bounds]
        bounds[-1] = (bounds[-1][0], order.numel())
    sizes = [e - s for s, e in global_bounds]
    # the global batch holds padding (on some rank) when its real samples do not fill W parts
    padded = [(e - s) * world_size != size for (s, e), size in zip(bounds, sizes)]
    return EpochPlan(order, real, bounds, sizes, padded, rank, world_size)


def train_batches(dataset: LabelledDataset, plan: EpochPlan, labels: torch.Tensor,
                  device: torch.device, num_workers: int
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Raw ``(x, y, index)`` batches of ``plan`` on ``device``.

    In-memory inputs are sliced (no per-item Python); lazy ones go through a DataLoader whose
    batches are exactly ``plan.bounds`` (as :func:`droprune.data.base.iter_batches` does it,
    with the batch plan of :func:`batch_bounds`).
    """
    order = plan.order
    if dataset.in_memory:
        for start, stop in plan.bounds:
            idx = order[start:stop]
            yield (dataset.inputs[idx].to(device, non_blocking=True),
                   labels[idx].to(device, non_blocking=True), idx.to(device))
        return
    sampler = [order[start:stop].tolist() for start, stop in plan.bounds]
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                                         pin_memory=device.type == "cuda")
    for x, y, idx in loader:
        yield (x.to(device, non_blocking=True), y.to(device, non_blocking=True),
               idx.to(device))
