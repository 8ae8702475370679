"""What the trainer needs to know about distributed runs, kept in one place.

Without ``torch.distributed`` initialised every function here behaves as a single process of
rank 0 (world size 1). The sample order of an epoch follows ``DistributedSampler``'s
semantics: one permutation shared by all ranks (it depends only on the seed and the epoch),
padded to a multiple of the world size by repeating its beginning, each rank taking every
``world_size``-th position; the padding duplicates are flagged so that they are not passed to
recorders.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["all_reduce_sum", "derived_generator", "epoch_order", "is_distributed", "world"]

#: stream tags of :func:`derived_generator`
ORDER_STREAM = 0
AUGMENT_STREAM = 1


def is_distributed() -> bool:
    """True when a ``torch.distributed`` process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` outside a distributed run."""
    if is_distributed():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_reduce_sum(tensor: torch.Tensor) -> None:
    """Sum ``tensor`` over all ranks, in place (nothing to do outside a distributed run)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)


def derived_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``(seed, *keys)`` through ``numpy.SeedSequence``.

    Independent streams for different keys (e.g. (stream, epoch, rank)); the same keys always
    give the same generator, so nothing about it needs to be checkpointed.

    Examples
    --------
    >>> a = torch.rand(2, generator=derived_generator(0, 1, 5))
    >>> b = torch.rand(2, generator=derived_generator(0, 1, 5))
    >>> bool((a == b).all())
    True
    """
    state = np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def epoch_order(num_samples: int, *, seed: int, epoch: int, rank: int = 0,
                world_size: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """This rank's sample order for ``epoch``.

    Returns
    -------
    indices
        int64 CPU tensor of dataset indices, ``ceil(num_samples / world_size)`` of them.
    real
        None when there is no padding; otherwise a bool tensor aligned with ``indices`` that
        is False at the padding duplicates.

    Examples
    --------
    >>> idx, real = epoch_order(5, seed=0, epoch=0, rank=1, world_size=2)
    >>> idx.shape, real.tolist()
    (torch.Size([3]), [True, True, False])
    """
    if rank < 0 or world_size < 1 or rank >= world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank {rank}, "
                         f"world_size {world_size}")
    perm = torch.randperm(num_samples, generator=derived_generator(seed, ORDER_STREAM, epoch))
    if world_size == 1:
        return perm, None
    total = -(-num_samples // world_size) * world_size
    extra = total - num_samples
    if extra:
        perm = torch.cat([perm, perm.repeat(-(-extra // max(num_samples, 1)))[:extra]])
    real = torch.arange(total) < num_samples
    return perm[rank::world_size], (real[rank::world_size] if extra else None)
