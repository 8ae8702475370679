"""Everything droprune knows about distributed runs (``torch.distributed``), in one place.

Without a process group every function here behaves as a single process of rank 0 (world
size 1): collectives are no-ops, :func:`gather_by_index` just places values by index,
:func:`run_on_main` just calls its function.

Launch. ``torchrun`` starts one process per GPU (or per CPU rank) and sets ``WORLD_SIZE``,
``RANK``, ``LOCAL_RANK`` and the rendezvous address; :func:`distributed_session` turns that
environment into a process group (NCCL when CUDA is available, else gloo; ``LOCAL_RANK``
picks the CUDA device; a collective timeout from ``DROPRUNE_DIST_TIMEOUT``) and destroys it on
exit. The ``droprune`` command opens one around every subcommand; a Python script launched by
``torchrun`` wraps its work in ``with distributed_session():``.

Sharding. The epoch's sample order follows ``DistributedSampler``'s semantics: one
permutation shared by all ranks (it depends only on the seed and the epoch), padded to a
multiple of the world size by repeating its beginning, each rank taking every
``world_size``-th position; the padding duplicates are flagged so that the trainer neither
counts them nor passes them to recorders. Evaluation and post-hoc scoring shard a dataset as
``rank, rank + world_size, ...`` (:func:`shard_indices`) and assemble the full result on every
rank by sample index (:func:`gather_by_index`).

Writing. Only rank 0 writes files; :func:`run_on_main` runs a writer on rank 0 and hands its
result (or its exception) to every rank, so the others wait for the write to be complete and
fail alongside rank 0 instead of waiting for a collective that never comes.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import math
import os
import pickle
from typing import Any, Callable, Iterator, TypeVar

import numpy as np
import torch
import torch.distributed as dist

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "TIMEOUT_ENV",
    "all_gather_object",
    "all_reduce_sum",
    "barrier",
    "broadcast_object",
    "derived_generator",
    "distributed_session",
    "epoch_order",
    "gather_by_index",
    "is_distributed",
    "is_main",
    "launched_world_size",
    "run_on_main",
    "shard_indices",
    "timeout_seconds",
    "world",
]

T = TypeVar("T")

#: stream tags of :func:`derived_generator`
ORDER_STREAM = 0
AUGMENT_STREAM = 1

#: environment variable: collective timeout in seconds
TIMEOUT_ENV = "DROPRUNE_DIST_TIMEOUT"
#: environment variable: force the backend ("gloo" or "nccl")
BACKEND_ENV = "DROPRUNE_DIST_BACKEND"
#: default collective timeout (seconds): PyTorch's own default for gloo
DEFAULT_TIMEOUT_S = 1800.0
#: elements per rank in one message of :func:`gather_by_index` (bounds the device memory)
GATHER_ELEMENTS = 1 << 24


# -- who am I ----------------------------------------------------------------------------------

def is_distributed() -> bool:
    """True when a ``torch.distributed`` process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` outside a distributed run."""
    if is_distributed():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """True on rank 0 (and in a single process): the one process that writes files."""
    return world()[0] == 0


def launched_world_size() -> int:
    """``WORLD_SIZE`` set by the launcher (``torchrun``), 1 when unset."""
    text = os.environ.get("WORLD_SIZE", "").strip()
    try:
        return int(text) if text else 1
    except ValueError:
        raise ValueError(f"environment variable WORLD_SIZE must be an integer, got "
                         f"{text!r}") from None


def shard_indices(num_samples: int) -> np.ndarray:
    """This rank's share of ``range(num_samples)`` for evaluation and scoring:
    ``rank, rank + world_size, ...`` (int64; everything outside a distributed run).

    Examples
    --------
    >>> shard_indices(5)
    array([0, 1, 2, 3, 4])
    """
    rank, world_size = world()
    return np.arange(rank, int(num_samples), world_size, dtype=np.int64)


def _comm_device() -> torch.device:
    """Where tensors must live for this backend's collectives (CUDA for NCCL)."""
    if is_distributed() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# -- collectives -------------------------------------------------------------------------------

def all_reduce_sum(tensor: torch.Tensor) -> None:
    """Sum ``tensor`` over all ranks, in place (nothing to do outside a distributed run).

    The tensor must live where the backend communicates (any device for gloo, CUDA for NCCL).
    """
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)


def barrier() -> None:
    """Wait until every rank gets here (nothing to do outside a distributed run)."""
    if is_distributed():
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def broadcast_object(obj: T, src: int = 0) -> T:
    """``obj`` from rank ``src`` on every rank (pickled; the others' argument is ignored)."""
    if not is_distributed():
        return obj
    box: list[Any] = [obj if dist.get_rank() == src else None]
    dist.broadcast_object_list(box, src=src, device=_comm_device())
    return box[0]


def all_gather_object(obj: T) -> list[T]:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` in a single process)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def _picklable_error(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"rank 0 failed: {type(exc).__name__}: {exc}")


def run_on_main(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` on rank 0 only; every rank returns its result.

    The other ranks wait (a broadcast) until rank 0 is done, so what rank 0 wrote is complete
    when they go on. An exception raised by ``fn`` on rank 0 is raised on every rank (the same
    exception when it can be pickled, else a ``RuntimeError`` naming it), so no rank waits for
    a collective that never comes. The result must be picklable.

    Examples
    --------
    >>> run_on_main(sum, [1, 2, 3])
    6
    """
    if not is_distributed():
        return fn(*args, **kwargs)
    error: BaseException | None = None
    result = None
    if is_main():
        try:
            result = fn(*args, **kwargs)
            pickle.dumps(result)
        except BaseException as exc:  # noqa: BLE001 -- handed to every rank, then re-raised
            error = exc
    payload: tuple[str, Any] = (("error", _picklable_error(error)) if error is not None
                                else ("ok", result))
    kind, value = broadcast_object(payload)
    if error is not None:
        raise error
    if kind == "error":
        raise value
    return value


def gather_by_index(indices: Any, values: Any, num_samples: int) -> torch.Tensor:
    """Assemble ``(num_samples, ...)`` from every rank's rows, on every rank, by sample index.

    Each rank passes the sample indices it computed and their values (rows aligned with the
    indices; the same trailing shape and dtype on every rank). Together the ranks must cover
    every index of ``range(num_samples)`` exactly once. The result is a CPU tensor whose row
    ``i`` is the value of sample ``i``: the layout of a single-process computation. Values are
    moved without arithmetic, so they are bit-identical to what their rank computed. Messages
    are cut into blocks of about 16M elements per rank, so device memory stays bounded.

    Examples
    --------
    >>> gather_by_index([2, 0, 1], torch.tensor([20.0, 0.0, 10.0]), 3)
    tensor([ 0., 10., 20.])
    >>> gather_by_index(torch.tensor([1, 0]), torch.tensor([5.0, 4.0]), 2)  # tensor indices
    tensor([4., 5.])
    """
    if isinstance(indices, torch.Tensor):  # on any device (a CUDA tensor cannot go to numpy)
        idx = indices.detach().to("cpu", torch.int64).reshape(-1)
    else:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64)).reshape(-1)
    vals = torch.as_tensor(values)
    if vals.dim() == 0 or vals.shape[0] != idx.numel():
        raise ValueError(f"values must have one row per index ({idx.numel()}), got shape "
                         f"{tuple(vals.shape)}")
    n = int(num_samples)
    feat = tuple(vals.shape[1:])
    row = math.prod(feat)
    if not is_distributed():
        _check_cover(idx, n)
        out = torch.empty((n, *feat), dtype=vals.dtype)
        out[idx] = vals.cpu()
        return out
    _, world_size = world()
    dev = _comm_device()
    meta = torch.tensor([idx.numel(), row], dtype=torch.int64, device=dev)
    metas = [torch.empty_like(meta) for _ in range(world_size)]
    dist.all_gather(metas, meta)
    sizes = [int(m[0]) for m in metas]
    if any(int(m[1]) != row for m in metas):
        raise ValueError(f"gather_by_index: ranks hold rows of different sizes "
                         f"{[int(m[1]) for m in metas]}; every rank must pass the same "
                         f"trailing shape")
    m_max = max(sizes)
    padded = torch.full((m_max,), -1, dtype=torch.int64, device=dev)
    padded[:idx.numel()] = idx.to(dev)
    parts = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(parts, padded)
    all_idx = torch.stack(parts).cpu()  # (W, m_max), -1 = padding
    _check_cover(all_idx[all_idx >= 0], n)
    out = torch.empty((n, *feat), dtype=vals.dtype)
    step = max(1, GATHER_ELEMENTS // max(row, 1))
    for start in range(0, max(m_max, 1), step):
        stop = min(start + step, m_max)
        if stop <= start:
            break
        block = torch.zeros((stop - start, *feat), dtype=vals.dtype, device=dev)
        mine = vals[start:min(stop, idx.numel())]
        block[:mine.shape[0]] = mine.to(dev)
        got = [torch.empty_like(block) for _ in range(world_size)]
        dist.all_gather(got, block)
        for w, part in enumerate(got):
            ids = all_idx[w, start:stop]
            keep = ids >= 0
            out[ids[keep]] = part.cpu()[keep]
    return out


def _check_cover(idx: torch.Tensor, n: int) -> None:
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise ValueError(f"gather_by_index: indices must lie in [0, {n})")
    counts = torch.bincount(idx, minlength=n) if idx.numel() else torch.zeros(n, dtype=torch.long)
    if not bool((counts == 1).all()):
        missing, repeated = int((counts == 0).sum()), int((counts > 1).sum())
        raise ValueError(f"gather_by_index: the ranks' indices must cover range({n}) exactly "
                         f"once ({missing} missing, {repeated} repeated)")


# -- the launch ---------------------------------------------------------------------------------

def timeout_seconds() -> float:
    """The collective timeout: ``DROPRUNE_DIST_TIMEOUT`` seconds (> 0), default 1800."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"environment variable {TIMEOUT_ENV} must be a number of seconds > 0, "
                         f"got {text!r}")
    return value


def _backend() -> str:
    backend = os.environ.get(BACKEND_ENV, "").strip().lower()
    if not backend:
        return "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"environment variable {BACKEND_ENV} must be 'gloo' or 'nccl', got "
                         f"{backend!r}")
    if backend == "nccl" and not torch.cuda.is_available():
        raise ValueError(f"{BACKEND_ENV}=nccl needs CUDA, which is not available here; use gloo")
    return backend


def _collective_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says a collective failed (a peer died, a timeout), not a user error."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(s in text for s in (
        "gloo", "NCCL", "nccl", "Timed out", "timed out", "Connection reset",
        "Connection closed", "Connection refused", "Broken pipe"))


@contextlib.contextmanager
def distributed_session() -> Iterator[bool]:
    """Initialise ``torch.distributed`` from a ``torchrun`` environment for the block.

    With ``WORLD_SIZE`` > 1 and no process group yet: picks the backend (NCCL when CUDA is
    available, else gloo; ``DROPRUNE_DIST_BACKEND`` overrides), makes ``LOCAL_RANK`` the
    current CUDA device (NCCL), sets the collective timeout (:func:`timeout_seconds`),
    initialises the group from the environment and destroys it when the block ends. Otherwise
    (a single process, or a group the caller made) it does nothing. Yields whether the block
    runs distributed.

    A collective that fails inside the block (a peer died, or stalled longer than the timeout)
    becomes ``SystemExit`` with a one-line message naming this rank, the timeout and how to
    resume, instead of a backend traceback; torchrun's summary names the rank that failed
    first.

    Examples
    --------
    >>> with distributed_session() as distributed:   # not launched by torchrun here
    ...     distributed
    False
    """
    if launched_world_size() <= 1 or is_distributed():
        yield is_distributed()
        return
    timeout = timeout_seconds()
    backend = _backend()
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    rank, world_size = world()
    clean = False
    try:
        yield True
        clean = True
    except Exception as exc:
        if not _collective_failure(exc):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise SystemExit(
            f"droprune: rank {rank} of {world_size}: a collective operation failed ({first}). "
            f"Another rank probably died (torchrun's summary names the first failure) or "
            f"stalled for more than {TIMEOUT_ENV}={timeout:g} s. Finished epochs and runs are "
            f"saved: run the same command again to resume.") from exc
    finally:
        with contextlib.suppress(Exception):
            if clean:  # every rank done: no collective may still be in flight at teardown
                barrier()
            # drop objects holding Gloo work (DDP reducers) while the interpreter is alive:
            # left to interpreter shutdown, Gloo's threads can abort the process (SIGABRT,
            # "terminate called without an active exception") after the work is done
            gc.collect()
            dist.destroy_process_group()


# -- seeded streams and the epoch order ---------------------------------------------------------

def derived_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``(seed, *keys)`` through ``numpy.SeedSequence``.

    Independent streams for different keys (e.g. (stream, epoch)); the same keys always give
    the same generator, so nothing about it needs to be checkpointed.

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
        int64 CPU tensor of dataset indices, ``ceil(num_samples / world_size)`` of them:
        positions ``rank, rank + world_size, ...`` of the shared permutation padded to a
        multiple of ``world_size`` with its own beginning.
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
