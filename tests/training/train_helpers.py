"""Tiny datasets, models and recorders for the trainer tests."""

from __future__ import annotations

import numpy as np
import torch

from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.training import Recorder


def blobs(n: int = 96, k: int = 3, shape: tuple[int, ...] = (1, 8), seed: int = 0,
          name: str = "blobs") -> LabelledDataset:
    """Well separated Gaussian blobs (float signals), classes in turn 0, 1, ..., k-1, 0, ..."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    centers = 3 * torch.randn(k, *shape, generator=torch.Generator().manual_seed(1234))
    x = centers[y] + 0.3 * torch.randn(n, *shape, generator=g)
    return LabelledDataset(x, y.numpy(), num_classes=k, name=name)


def tiny_images(n: int = 40, k: int = 2, size: int = 8, seed: int = 0) -> LabelledDataset:
    """uint8 images (n, 1, size, size): class 1 has a bright left half, class 0 a bright right
    half, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    x = torch.randint(0, 60, (n, 1, size, size), generator=g)
    half = size // 2
    x[y == 1, :, :, :half] += 150
    x[y == 0, :, :, half:] += 150
    return LabelledDataset(x.to(torch.uint8), y.numpy(), num_classes=k, name="tiny_images",
                           mean=(0.4,), std=(0.3,))


def mlp(ds: LabelledDataset, hidden=(16,), seed: int = 0, width: float = 1.0):
    torch.manual_seed(seed)
    return build_model("mlp", num_classes=ds.num_classes, in_channels=ds.in_channels,
                       input_size=ds.sample_shape[1:], hidden=hidden, width=width)


def small_cnn(ds: LabelledDataset, seed: int = 0, width: float = 0.25):
    torch.manual_seed(seed)
    return build_model("cnn2d", num_classes=ds.num_classes, in_channels=ds.in_channels,
                       input_size=ds.sample_shape[1:], width=width)


def same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def history_without_time(history) -> list[tuple]:
    return [(h.epoch, h.lr, h.train_loss, h.train_accuracy, h.val_accuracy,
             None if h.val_class_recall is None else tuple(h.val_class_recall.tolist()))
            for h in history]


class SimulatedCrash(RuntimeError):
    """Raised by :class:`LogRecorder` to interrupt a run in the middle of an epoch."""


class LogRecorder(Recorder):
    """Logs every call; its resumable state is the running sum of true-class logits."""

    name = "log"

    def __init__(self, crash_at_epoch: int | None = None) -> None:
        self.crash_at_epoch = crash_at_epoch

    def on_train_begin(self, num_samples, num_classes, epochs, device):
        self.begin = (num_samples, num_classes, epochs, device)
        self.calls: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.ends: list[int] = []
        self.total = torch.zeros(num_samples, dtype=torch.float64, device=device)

    def on_batch(self, epoch, indices, logits, labels):
        if epoch == self.crash_at_epoch:
            raise SimulatedCrash(f"simulated crash in epoch {epoch}")
        self.calls.append((epoch, indices.clone(), logits.clone(), labels.clone()))
        true = logits[torch.arange(labels.numel()), labels].double()
        self.total.index_add_(0, indices, true)

    def on_epoch_end(self, epoch):
        self.ends.append(epoch)

    def state_dict(self):
        return {"total": self.total.clone()}

    def load_state_dict(self, state):
        self.total.copy_(state["total"])

    def scores(self) -> np.ndarray:
        return self.total.cpu().numpy().copy()
