"""The work of the distributed tests: run under ``torchrun`` (2 gloo ranks), or called in the
test process itself for the single-process reference.

``python dist_worker.py MODE OUT [RANK:EPOCH[:hang]]``: MODE ``all`` trains (with recorders
and a checkpoint), runs the query protocol (every scorer, 2 seeds) and a tiny sweep; MODE
``train`` only trains. Each rank saves what it computed to ``OUT/rank<r>.pt``. The optional
third argument injects a fault through a training callback (:class:`StopRank`): that rank
calls ``os._exit(1)`` once EPOCH (0-based) is finished and checkpointed, or sleeps forever
with ``:hang`` (the other ranks then hit the collective timeout).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from droprune.data.base import DatasetSplits, LabelledDataset
from droprune.experiments.config import config_from_dict
from droprune.experiments.sweep import run_sweep
from droprune.models import build_model
from droprune.scoring import SCORERS, make_recorders, run_query
from droprune.scoring.store import save_query_result
from droprune.training import Callback, TrainConfig, train
from droprune.training.distributed import distributed_session, run_on_main, world

#: 301 training samples: odd, so the last global batch holds a padding duplicate on 2 ranks
TRAIN_CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.05, augment_pad=1)
QUERY_CONFIG = TrainConfig(epochs=2, batch_size=32, lr=0.05)
RECORDERS = ["forgetting", "dynunc", "aum", "el2n_trace"]
OPTIONS = {"dynunc": {"window": 2}}

#: a tiny sweep: Gaussian mixture (301 training samples, 3 overlapping classes), MLP 16-16
SWEEP_CONFIG: dict[str, Any] = {
    "name": "dist-tiny",
    "data": {"name": "gaussian-mixture", "options": {
        "class_sizes": [120, 100, 81], "means": [-0.6, 0.0, 0.6], "stds": [1.0, 1.0, 1.0],
        "dim": 8}},
    "model": {"name": "mlp", "width": 0.0625},
    "train": {"epochs": 4, "batch_size": 32, "lr": 0.1, "drop_epochs": []},
    "query": {"seeds": 2, "epochs_fraction": 0.34, "long_runs": 1,
              "scorer_options": {"dynunc": {"window": 2}}},
    # Random+DRoP+CDBW: the raw CDB-W loss (sum w l / sum w over the global batch, padding
    # excluded) of the default protocol
    "methods": ["Full", "Random", "Random+DRoP", "EL2N", "EL2N+DRoP", "Forgetting+DRoP",
                "Random+DRoP+CDBW"],
    "densities": [0.5],
    "seeds": [0],
}


def splits() -> DatasetSplits:
    """3 overlapping Gaussian blobs in (1, 8): 301 train, 61 val, 60 test."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 1, 8, generator=g)

    def make(n: int, name: str) -> LabelledDataset:
        y = torch.arange(n) % 3
        x = centers[y] + 0.8 * torch.randn(n, 1, 8, generator=g)
        return LabelledDataset(x, y.numpy(), num_classes=3, name=name)

    return DatasetSplits(make(301, "dist-train"), make(61, "dist-val"), make(60, "dist-test"))


class StopRank(Callback):
    """Fault injection: rank ``rank`` stops dead (``os._exit(1)``, no cleanup) once ``epoch``
    is finished and checkpointed, or sleeps forever when ``hang``."""

    def __init__(self, spec: str) -> None:
        parts = spec.split(":")
        self.rank, self.epoch, self.hang = int(parts[0]), int(parts[1]), parts[2:] == ["hang"]

    def on_epoch_end(self, epoch: int, stats: Any) -> None:
        if world()[0] != self.rank or epoch != self.epoch:
            return
        print(f"test callback: rank {self.rank} stops after epoch {epoch}", file=sys.stderr,
              flush=True)
        if self.hang:
            while True:
                time.sleep(60)
        os._exit(1)


def train_run(checkpoint_dir: Path | None, exit_after: str | None = None) -> dict[str, Any]:
    """Train the MLP with every recorder; weights, history and recorder scores."""
    sp = splits()
    torch.manual_seed(0)
    model = build_model("mlp", num_classes=3, in_channels=1, input_size=(8,), hidden=(16,))
    recorders = make_recorders(RECORDERS, OPTIONS)
    result = train(model, sp.train, TRAIN_CONFIG, seed=0, val_set=sp.val, recorders=recorders,
                   checkpoint_dir=checkpoint_dir, progress=False,
                   callbacks=[StopRank(exit_after)] if exit_after else [])
    return {"state": {k: v.clone() for k, v in result.model.state_dict().items()},
            "history": [h.to_dict() for h in result.history],
            "scores": {r.name: r.scores() for r in recorders},
            "best_epoch": result.best_epoch}


def query_run(work_dir: Path) -> Path:
    """The query protocol with every scorer; rank 0 writes the score file."""
    result = run_query(splits(), model="mlp", model_kwargs={"hidden": (16,)},
                       config=QUERY_CONFIG, seeds=[0, 1], scorers=list(SCORERS),
                       work_dir=work_dir, progress=False, scorer_options=OPTIONS)
    path = work_dir / "scores.parquet"
    run_on_main(save_query_result, path, result)
    return path


def sweep_run(out: Path) -> list[str]:
    summary = run_sweep(config_from_dict(json.loads(json.dumps(SWEEP_CONFIG))), out,
                        progress=False, log=lambda *_: None)
    return summary.completed


def run(mode: str, out: Path, exit_after: str | None = None) -> dict[str, Any]:
    """What MODE computes, in this process (distributed or not)."""
    if mode == "train":
        return {"train": train_run(out / "ckpt", exit_after)}
    if mode == "all":
        return {"train": train_run(out / "ckpt"), "query": str(query_run(out / "query")),
                "sweep": sweep_run(out / "sweep")}
    raise SystemExit(f"unknown mode {mode!r}")


def main(mode: str, out: str, exit_after: str | None = None) -> None:
    torch.set_num_threads(1)
    with distributed_session():
        rank, world_size = world()
        payload = run(mode, Path(out), exit_after)
        payload["world"] = (rank, world_size)
        torch.save(payload, Path(out) / f"rank{rank}.pt")


def load(path: Path) -> dict[str, Any]:
    return torch.load(path, weights_only=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
