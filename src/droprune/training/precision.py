"""Mixed precision of the training step (``TrainConfig.amp``): autocast and the gradient scaler.

``amp="bf16"`` runs the training forward pass and the loss under ``torch.autocast`` with
bfloat16, on CUDA or on the CPU (so the CPU tests run the same code path); ``amp="fp16"``
uses float16 with a :class:`torch.amp.GradScaler` and needs CUDA. Validation, prediction and
scoring stay float32, and recorders see float32 logits.

Examples
--------
>>> import torch
>>> with autocast(torch.device("cpu"), "bf16"):
...     y = torch.nn.Linear(4, 2)(torch.randn(3, 4))
>>> y.dtype
torch.bfloat16
>>> grad_scaler(torch.device("cpu"), "bf16") is None
True
>>> check_amp("fp16", torch.device("cpu"))
Traceback (most recent call last):
...
ValueError: amp='fp16' needs a CUDA device (training on cpu): use amp='bf16' or amp=None
"""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

__all__ = ["autocast", "check_amp", "grad_scaler"]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(amp: str | None, device: torch.device) -> None:
    """Refuse a mixed-precision mode the training device cannot run (one-line ValueError)."""
    if amp is None:
        return
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"amp={amp!r} is supported on CUDA and the CPU, not on {device.type}: "
                         f"use amp=None")
    if amp == "fp16" and device.type != "cuda":
        raise ValueError(f"amp='fp16' needs a CUDA device (training on {device.type}): use "
                         f"amp='bf16' or amp=None")
    if amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"amp='bf16' needs a GPU with bfloat16 support "
                         f"({torch.cuda.get_device_name(device)} has none): use amp='fp16'")


def autocast(device: torch.device, amp: str | None) -> ContextManager[object]:
    """``torch.autocast`` for ``amp`` on ``device``; a no-op context when ``amp`` is None."""
    if amp is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[amp])


def grad_scaler(device: torch.device, amp: str | None) -> torch.amp.GradScaler | None:
    """The gradient scaler that float16 training needs (``amp="fp16"`` on CUDA), else None."""
    if amp == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
