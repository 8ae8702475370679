"""Training checkpoints: the run fingerprint, atomic writes, safe loading, and what the
training loop saves (:func:`checkpoint_payload`), finds (:func:`resume_state`) and restores
(:func:`restore`).

A checkpoint is one file, ``checkpoint_dir/checkpoint.pt``, rewritten after every epoch by
writing a temporary file in the same directory and ``os.replace``-ing it over the old one, so a
crash leaves either the previous checkpoint or the new one, never a torn file. It holds only
tensors and plain Python values, and is read with ``torch.load(weights_only=True)``. A run with
``TrainConfig.amp="fp16"`` on CUDA also saves its gradient scaler's state (``"scaler"``).

A checkpoint is a zip file (``torch.save``'s format) with a CRC-32 per member; they are
verified before loading. A damaged checkpoint (flipped bits on disk) is never used: the run
warns, naming the file, and starts over from epoch 0 (:func:`resume_state`).

The fingerprint identifies the run a checkpoint belongs to: model (class, parameter count and
a hash of every state-dict name and shape), the training config (every field except
``num_workers``, which cannot change results), the training and validation datasets'
fingerprints, the seed and the recorders' names. Resuming with anything different is refused
with a message naming what differs.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from .._io import atomic_write
from ..data.base import LabelledDataset
from .config import TrainConfig
from .distributed import all_gather_object, barrier
from .hooks import Recorder
from .stats import EpochStats

__all__ = ["CHECKPOINT_NAME", "DamagedCheckpointError", "check_fingerprint", "checkpoint_payload", "load_checkpoint",
           "load_error", "restore", "resume_state", "run_fingerprint", "save_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"
#: version of the checkpoint layout
FORMAT = 1


def run_fingerprint(model: nn.Module, config: TrainConfig, train_set: LabelledDataset,
                    val_set: LabelledDataset | None, seed: int,
                    recorders: Sequence[Recorder]) -> dict[str, Any]:
    """Plain-dict description of a training run (see the module docstring)."""
    shapes = repr([(k, tuple(v.shape)) for k, v in model.state_dict().items()])
    config_fields = config.to_dict()
    config_fields.pop("num_workers")
    return {
        "model": {"class": type(model).__name__,
                  "parameters": sum(p.numel() for p in model.parameters()),
                  "shapes": hashlib.sha256(shapes.encode()).hexdigest()[:16]},
        "config": config_fields,
        "dataset": train_set.fingerprint(),
        "val_dataset": None if val_set is None else val_set.fingerprint(),
        "seed": int(seed),
        "recorders": [str(getattr(r, "name", type(r).__name__)) for r in recorders],
    }


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], path: Path) -> None:
    """Raise ``ValueError`` naming every difference between two run fingerprints."""
    diffs = []
    for key, now in current.items():
        then = saved.get(key)
        if then == now:
            continue
        if isinstance(now, dict) and isinstance(then, dict):
            # both sides' fields: a field left out at its default (amp, cdbw_loss) on one side
            for field in [*now, *(f for f in then if f not in now)]:
                if then.get(field) != now.get(field):
                    diffs.append(f"{key} {field}: {then.get(field)!r} in the checkpoint, "
                                 f"{now.get(field)!r} now")
        else:
            diffs.append(f"{key}: {then!r} in the checkpoint, {now!r} now")
    if diffs:
        raise ValueError(f"checkpoint {path} belongs to a different run ({'; '.join(diffs)}); "
                         f"delete it or pass another checkpoint_dir")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (``droprune._io.atomic_write``)."""
    return atomic_write(path, lambda fh: torch.save(payload, fh))


def load_error(exc: Exception) -> str:
    """A one-line reason why ``torch.load(weights_only=True)`` failed."""
    text = str(exc)
    if "Weights only load failed" in text:
        return "it is not a file of tensors and plain values that loads with weights_only=True"
    return (text.splitlines() or [type(exc).__name__])[0][:200]


class DamagedCheckpointError(ValueError):
    """A checkpoint whose bytes changed after it was written (a CRC-32 mismatch)."""


def _verify_crc(path: Path) -> None:
    """Raise :class:`DamagedCheckpointError` if a member of the zip at ``path`` fails its
    CRC-32 (files that are not zips are left to ``torch.load`` to judge)."""
    try:
        if not zipfile.is_zipfile(path):
            return
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        bad = f"its zip structure ({exc})"
    if bad is not None:
        raise DamagedCheckpointError(f"checkpoint {path} is damaged (CRC-32 mismatch in {bad})")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` onto the CPU, after verifying
    its CRC-32s (:class:`DamagedCheckpointError` if one fails)."""
    path = Path(path)
    _verify_crc(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"checkpoint {path} could not be read ({load_error(exc)}); delete it "
                         f"to start over") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path} is not a droprune checkpoint of format {FORMAT}; "
                         f"delete it to start over")
    return payload


def resume_state(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: start afresh), the same on every rank.

    A damaged checkpoint (see the module docstring) is warned about and not used: None.

    Every rank reads the file itself (after a barrier, so rank 0's last write is complete);
    the ranks then compare what they found, so a checkpoint folder that some ranks cannot see
    (not on a shared filesystem) or a file refused on one rank fails on all ranks at once.
    """
    barrier()
    state, problem = None, None
    try:
        if path.exists():
            state = load_checkpoint(path)
            check_fingerprint(state["fingerprint"], fingerprint, path)
    except DamagedCheckpointError as exc:
        warnings.warn(f"{exc}; the run starts over from epoch 0", RuntimeWarning, stacklevel=2)
    except ValueError as exc:
        problem = str(exc)
    views = all_gather_object((None if state is None else int(state["epochs_done"]), problem))
    problems = [(r, p) for r, (_, p) in enumerate(views) if p is not None]
    if problems:
        rank, text = problems[0]
        raise ValueError(text if len(views) == 1 else f"rank {rank}: {text}")
    if len({done for done, _ in views}) > 1:
        seen = ", ".join(f"rank {r}: {'none' if d is None else f'{d} epochs'}"
                         for r, (d, _) in enumerate(views))
        raise ValueError(f"the ranks see different checkpoints at {path} ({seen}): put "
                         f"checkpoint_dir on a filesystem that every node shares")
    return state


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def checkpoint_payload(fingerprint: dict[str, Any], model: nn.Module,
                       optimizer: torch.optim.Optimizer, history: list[EpochStats],
                       recorders: Sequence[Recorder], device: torch.device, *,
                       scaler: torch.amp.GradScaler | None = None) -> dict[str, Any]:
    """What a checkpoint holds after ``len(history)`` finished epochs (see the module
    docstring); the global RNG states are read now. With float16 mixed precision the gradient
    scaler's state (``scaler``) is saved too."""
    payload = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "epochs_done": len(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": _rng_state(device),
        "history": [h.to_dict() for h in history],
        "recorders": [rec.state_dict() for rec in recorders],
    }
    if scaler is not None:
        payload["scaler"] = scaler.state_dict()
    return payload


def restore(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
            recorders: Sequence[Recorder], device: torch.device, *,
            scaler: torch.amp.GradScaler | None = None) -> list[EpochStats]:
    """Load a checkpoint's model, optimizer, RNG, recorder (and gradient scaler) states;
    returns its history."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["cpu"])
    if device.type == "cuda" and "cuda" in state["rng"]:
        torch.cuda.set_rng_state(state["rng"]["cuda"], device)
    for rec, rec_state in zip(recorders, state["recorders"], strict=True):
        rec.load_state_dict({k: v.to(device) if isinstance(v, torch.Tensor) else v
                             for k, v in rec_state.items()})
    return [EpochStats.from_dict(h) for h in state["history"]]
