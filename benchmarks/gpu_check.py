"""GPU readiness: does droprune run, and how fast, on this CUDA machine?

Checks and times, each on random data (no dataset needed):

1. ``step``: SGD steps of the paper models (VGG-16-BN, ResNet-18) at full width, plain and,
   as options, with channels-last memory format and bf16/fp16 autocast (``--channels-last``,
   ``--amp``; both on by default on CUDA): images/s.
2. ``train``: :func:`droprune.training.train` on in-memory tensors with every recorder scorer
   attached (Forgetting, DynUnc, AUM, EL2N trace) and validation each epoch: images/s, and the
   recorders' scores are finite and index-aligned; then ResNet-18 once more with
   ``TrainConfig.amp`` (``fp16`` with its gradient scaler on CUDA, ``bf16`` on the CPU),
   unless ``--no-amp``.
3. ``grand``: exact GraNd with each method (ghost, vmap, loop) on the same model and samples:
   samples/s, and the methods agree (max relative difference).
4. ``nccl``: a 1-process NCCL process group (gloo on the CPU): all-reduce and
   :func:`droprune.training.distributed.gather_by_index`.
5. ``jpeg``: a folder of JPEGs (written first) read by ``load_imagefolder`` and trained on
   with DataLoader worker processes (``--workers``): images/s of the whole data path.

With ``--dry-run``, or automatically without CUDA, the same code paths run on the CPU at tiny
sizes (width 1/16, 16x16 images, a few steps), so CI catches rot in a few seconds
(tests/test_gpu_check.py). Exit status 1 when a check fails; ``--json PATH`` writes every
result.

Run on the GPU machine:  python benchmarks/gpu_check.py [--json gpu_check.json]
CPU smoke test:          python benchmarks/gpu_check.py --dry-run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Sizes:
    """How big each check is (full on CUDA, tiny in a dry run)."""

    width: float
    image: int
    batch: int
    steps: int
    train_samples: int
    epochs: int
    grand_samples: int
    jpegs: int
    jpeg_size: int


FULL = Sizes(width=1.0, image=32, batch=128, steps=30, train_samples=8192, epochs=2,
             grand_samples=256, jpegs=2048, jpeg_size=64)
DRY = Sizes(width=1 / 16, image=16, batch=4, steps=2, train_samples=32, epochs=2,
            grand_samples=6, jpegs=12, jpeg_size=16)
MODELS = ("vgg16_bn", "resnet18")
NUM_CLASSES = 10


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _model(name: str, sizes: Sizes, device: torch.device, channels: int = 3):
    from droprune.models import build_model

    torch.manual_seed(0)
    return build_model(name, num_classes=NUM_CLASSES, in_channels=channels,
                       input_size=(sizes.image, sizes.image), width=sizes.width).to(device)


def _dataset(n: int, sizes: Sizes, seed: int = 0):
    from droprune.data.base import LabelledDataset

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, sizes.image, sizes.image), dtype=torch.uint8, generator=g)
    y = np.arange(n) % NUM_CLASSES
    return LabelledDataset(x, y, num_classes=NUM_CLASSES, name="random")


# -- the checks ---------------------------------------------------------------------------------

def check_step(name: str, sizes: Sizes, device: torch.device, *, channels_last: bool,
               amp: bool) -> dict[str, Any]:
    """Plain forward/backward/SGD steps on random tensors: images/s."""
    model = _model(name, sizes, device)
    memory = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(sizes.batch, 3, sizes.image, sizes.image, device=device)
    x = x.contiguous(memory_format=memory)
    y = torch.randint(0, NUM_CLASSES, (sizes.batch,), device=device)
    dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() \
        else torch.float16
    autocast = torch.autocast(device.type, dtype=dtype) if amp else contextlib.nullcontext()
    scaler = torch.amp.GradScaler(device.type, enabled=amp and dtype == torch.float16)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return float(loss.detach())

    step()  # warm-up (cuDNN autotuning, lazy init)
    _sync(device)
    t0 = time.perf_counter()
    losses = [step() for _ in range(sizes.steps)]
    _sync(device)
    seconds = time.perf_counter() - t0
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError(f"non-finite loss {losses}")
    return {"images_per_s": sizes.batch * sizes.steps / seconds, "seconds": seconds,
            "peak_gib": _peak_gib(device)}


def check_train(name: str, sizes: Sizes, device: torch.device,
                amp: str | None = None) -> dict[str, Any]:
    """droprune's trainer with every recorder on in-memory tensors (batched augmentation on
    the device, validation each epoch), optionally with mixed precision (``amp``)."""
    from droprune.scoring import SCORERS
    from droprune.scoring.registry import make_recorders
    from droprune.training import TrainConfig, train

    data = _dataset(sizes.train_samples, sizes)
    val = _dataset(max(NUM_CLASSES, sizes.train_samples // 8), sizes, seed=1)
    recorders = make_recorders([n for n, s in SCORERS.items() if s.kind == "recorder"],
                               {"dynunc": {"window": 2}})
    config = TrainConfig(epochs=sizes.epochs, batch_size=sizes.batch, lr=0.01,
                         augment_pad=4, augment_flip=True, num_workers=0, amp=amp)
    t0 = time.perf_counter()
    result = train(_model(name, sizes, device), data, config, val_set=val, recorders=recorders,
                   device=device, progress=False)
    seconds = time.perf_counter() - t0
    epoch_s = [h.seconds for h in result.history]
    for rec in recorders:
        scores = rec.scores()
        if scores.shape != (len(data),) or not np.all(np.isfinite(scores)):
            raise ValueError(f"recorder {rec.name}: scores {scores.shape}, finite: "
                             f"{np.isfinite(scores).all()}")
    return {"images_per_s": len(data) / min(epoch_s), "seconds": seconds,
            "recorders": [r.name for r in recorders], "peak_gib": _peak_gib(device)}


def check_grand(name: str, sizes: Sizes, device: torch.device) -> dict[str, Any]:
    """Exact GraNd by each method on the same model and samples; they must agree."""
    from droprune.scoring import posthoc_scores

    data = _dataset(sizes.grand_samples, sizes, seed=2)
    model = _model(name, sizes, device)
    out: dict[str, Any] = {}
    scores = {}
    for method in ("ghost", "vmap", "loop"):
        t0 = time.perf_counter()
        try:
            scores[method] = posthoc_scores(["grand"], model, data, device=device, options={
                "grand": {"method": method, "chunk_size": min(64, sizes.grand_samples)}})["grand"]
        except ValueError as exc:  # e.g. ghost on an unsupported layer: say so, not a failure
            out[method] = f"unsupported: {exc}"
            continue
        _sync(device)
        out[f"{method}_samples_per_s"] = len(data) / (time.perf_counter() - t0)
    ref = scores.get("loop")
    if ref is not None:
        for method, s in scores.items():
            diff = float(np.max(np.abs(s - ref) / np.maximum(np.abs(ref), 1e-12)))
            out[f"{method}_max_rel_diff"] = diff
            if diff > 1e-2:
                raise ValueError(f"GraNd {method} differs from loop by {diff:.3g} (relative)")
    return out


def check_process_group(device: torch.device) -> dict[str, Any]:
    """A one-process group (NCCL on CUDA, gloo on the CPU): all-reduce and gather by index."""
    import torch.distributed as dist

    from droprune.training.distributed import all_reduce_sum, gather_by_index

    backend = "nccl" if device.type == "cuda" else "gloo"
    if dist.is_initialized():
        raise RuntimeError("a process group already exists in this process")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=0,
                            world_size=1)
    try:
        t = torch.arange(4, dtype=torch.float32, device=device)
        all_reduce_sum(t)
        got = gather_by_index(torch.tensor([2, 0, 1], device=device),
                              torch.tensor([20.0, 0.0, 10.0], device=device), 3)
        if t.tolist() != [0.0, 1.0, 2.0, 3.0] or got.cpu().tolist() != [0.0, 10.0, 20.0]:
            raise ValueError(f"collectives returned {t.tolist()} and {got.tolist()}")
        _sync(device)
    finally:
        dist.destroy_process_group()
    return {"backend": backend, "seconds": time.perf_counter() - t0}


def check_jpeg(sizes: Sizes, device: torch.device, workers: int) -> dict[str, Any]:
    """Write a folder of JPEGs, read it lazily with worker processes, train on it."""
    from PIL import Image

    from droprune.data.imagefolder import load_imagefolder
    from droprune.training import TrainConfig, train

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        for split, n in (("train", sizes.jpegs), ("test", max(2 * NUM_CLASSES,
                                                               sizes.jpegs // 8))):
            for i in range(n):
                folder = root / split / f"class{i % NUM_CLASSES}"
                folder.mkdir(parents=True, exist_ok=True)
                pixels = rng.integers(0, 256, (sizes.jpeg_size, sizes.jpeg_size, 3), np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg", quality=90)
        write_s = time.perf_counter() - t0
        train_set, _ = load_imagefolder(root, image_size=sizes.image,
                                        resize_size=sizes.image + sizes.image // 8)
        config = TrainConfig(epochs=1, batch_size=sizes.batch, lr=0.01, num_workers=workers)
        t0 = time.perf_counter()
        result = train(_model("resnet18", sizes, device), train_set, config, device=device,
                       progress=False)
        seconds = time.perf_counter() - t0
    return {"images_per_s": len(train_set) / result.history[-1].seconds, "seconds": seconds,
            "workers": workers, "write_seconds": write_s}


def _peak_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**30


# -- driver -------------------------------------------------------------------------------------

def plan(sizes: Sizes, device: torch.device, *, channels_last: bool, amp: bool,
         workers: int) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """Every check as (label, thunk), in the order they run."""
    variants = [(False, False)]
    if channels_last or amp:
        variants.append((channels_last, amp))
    checks: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    for name in MODELS:
        for cl, mp in variants:
            label = f"step {name}" + (" channels-last" if cl else "") + (" amp" if mp else "")
            checks.append((label, lambda n=name, c=cl, m=mp: check_step(
                n, sizes, device, channels_last=c, amp=m)))
    for name in MODELS:
        checks.append((f"train {name} + recorders",
                       lambda n=name: check_train(n, sizes, device)))
    if amp:  # droprune's own mixed precision: fp16 + GradScaler on CUDA (bf16 on the CPU)
        mode = "fp16" if device.type == "cuda" else "bf16"
        checks.append((f"train resnet18 + recorders amp={mode}",
                       lambda: check_train("resnet18", sizes, device, amp=mode)))
    checks.append(("grand resnet18", lambda: check_grand("resnet18", sizes, device)))
    checks.append(("process group", lambda: check_process_group(device)))
    checks.append((f"jpeg folder, {workers} workers", lambda: check_jpeg(sizes, device,
                                                                         workers)))
    return checks


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny sizes on the CPU (automatic without CUDA)")
    parser.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                        help="skip the channels-last variant of the step check")
    parser.add_argument("--no-amp", dest="amp", action="store_false",
                        help="skip the mixed-precision variant of the step check")
    parser.add_argument("--workers", type=int, default=None,
                        help="DataLoader workers of the JPEG check (default 8, dry run 2)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    dry = args.dry_run or not torch.cuda.is_available()
    device = torch.device("cpu" if dry else "cuda")
    sizes = DRY if dry else FULL
    workers = args.workers if args.workers is not None else (2 if dry else 8)
    if workers < 0:
        parser.error("--workers must be >= 0")
    if not dry:
        torch.backends.cudnn.benchmark = True
    header = {"device": torch.cuda.get_device_name(0) if not dry else "cpu (dry run)",
              "torch": torch.__version__, "sizes": sizes.__dict__}
    print(json.dumps(header))
    results: dict[str, Any] = {"header": header, "checks": {}}
    failed = 0
    for label, thunk in plan(sizes, device, channels_last=args.channels_last, amp=args.amp,
                             workers=workers):
        t0 = time.perf_counter()
        try:
            out = {"ok": True, **thunk()}
        except Exception as exc:  # noqa: BLE001 - every failure is reported, the others run
            failed += 1
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc(limit=4)}
        out["wall_s"] = time.perf_counter() - t0
        results["checks"][label] = out
        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()
                 if k != "traceback"}
        print(f"{'ok  ' if out['ok'] else 'FAIL'} {label}: {json.dumps(shown)}", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"{len(results['checks']) - failed} of {len(results['checks'])} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(run())
