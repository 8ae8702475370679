"""GraNd (Paul et al., NeurIPS 2021): the norm of each sample's own loss gradient, exact and fast.

``grand_i = || d CE(f(x_i), y_i) / d theta ||_2`` over every parameter of the model that
requires a gradient, with the model in eval mode: batch norm then normalises with its running
statistics, a fixed affine map per sample, so per-sample gradients are well defined and do not
depend on which other samples share the chunk. Higher = larger gradient = harder = kept first.

Methods (``method=``)
---------------------
``"ghost"``
    One batched forward and one batched backward per chunk. Forward hooks keep each layer's
    input ``a``; tensor hooks on its output receive ``g = dL/d(output)`` during the backward
    (which asks only for the gradient of the input, so no weight gradient is ever formed), and
    each layer's per-sample squared gradient norm is computed from ``a`` and ``g`` alone:
    linear ``||g||^2 ||a||^2`` (Goodfellow's trick); convolution either through Gram matrices
    of the unfolded input ``U`` and of ``g``, ``sum_{t,t'} (g g^T)_{tt'} (U U^T)_{tt'}``
    ("ghost norm", cheap when the layer has few output positions ``T``), or by forming all
    per-sample weight gradients of the chunk as one grouped convolution of the input with
    ``g`` (cheap when ``T`` is large), whichever costs fewer operations for that layer; batch
    norm from the normalised input. Exact; supports Linear,
    Conv1d, Conv2d (any stride, padding, dilation, groups) and BatchNorm with running
    statistics, each module called once per forward.
``"vmap"``
    ``torch.func``: ``vmap(grad(loss))`` over the chunk with ``functional_call``. Works for any
    architecture; materialises ``chunk_size x (number of parameters)`` gradient values.
``"loop"``
    One backward pass per sample (what the paper's code does, minus its per-sample data
    loader). The reference the others are tested against; slow.
``"auto"`` (default)
    ``"ghost"`` when every parameterised module is supported (every droprune model: MLP, CNNs,
    VGG, ResNets), else ``"vmap"``. See :func:`grand_auto_method`.

Memory is bounded by ``chunk_size`` (activations and unfolded inputs of one chunk for ghost,
per-sample gradients of one chunk for vmap), never by ``N x parameters``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.adapter import as_labelled
from ..data.base import iter_batches
from ..training.distributed import gather_by_index
from ..training.inference import (
    check_batch_size,
    distributed_shard,
    eval_mode,
    model_device,
)
from .inputs import PosthocInputs

__all__ = ["GRAND_METHODS", "ghost_unsupported", "grand_auto_method", "grand_scores",
           "score_grand"]

#: method name -> one-line description
GRAND_METHODS: dict[str, str] = {
    "auto": "ghost when the model only has supported layers, else vmap",
    "ghost": "per-layer norm tricks from one batched forward+backward (Linear, Conv1d/2d, BN)",
    "vmap": "torch.func vmap(grad) per chunk (any architecture)",
    "loop": "one backward pass per sample (reference; slow)",
}

_BN = nn.modules.batchnorm._BatchNorm
_CONV = (nn.Conv1d, nn.Conv2d)


def ghost_unsupported(model: nn.Module) -> list[str]:
    """Why ``method="ghost"`` cannot handle ``model``: one line per offending module or
    parameter (empty list: supported).

    Supported: ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and batch norm layers that track
    running statistics, owning only ``weight``/``bias``, no parameter shared between modules.
    """
    problems: list[str] = []
    owner: dict[int, str] = {}
    for name, module in model.named_modules():
        own = [(pn, p) for pn, p in module.named_parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        label = name or "<root>"
        for pn, p in own:
            if id(p) in owner:
                problems.append(f"{label}.{pn} is shared with {owner[id(p)]}")
            owner[id(p)] = f"{label}.{pn}"
        if not isinstance(module, (nn.Linear, *_CONV, _BN)):
            problems.append(f"{label} ({type(module).__name__}) is not a supported layer")
        elif isinstance(module, _BN) and module.running_mean is None:
            problems.append(f"{label} ({type(module).__name__}) has no running statistics")
        elif any(pn not in ("weight", "bias") for pn, _ in own):
            problems.append(f"{label} has parameters other than weight/bias")
    return problems


def grand_auto_method(model: nn.Module) -> str:
    """The method ``method="auto"`` uses for ``model``: ``"ghost"`` or ``"vmap"``."""
    return "vmap" if ghost_unsupported(model) else "ghost"


def grand_scores(model: nn.Module, dataset: Any, *, method: str = "auto",
                 chunk_size: int = 128, device: torch.device | str | None = None,
                 indices: np.ndarray | None = None, distributed: bool = False) -> np.ndarray:
    """Full-network GraNd of every sample: the L2 norm of the per-sample gradient of the
    cross-entropy loss over all parameters that require a gradient, batch norm in eval mode.

    Parameters
    ----------
    model
        Any ``nn.Module`` mapping a normalised batch to logits (a droprune ``Classifier`` or
        your own).
        Its per-module training flags are restored afterwards; its ``.grad`` fields are not
        touched.
    dataset
        The samples (anything :func:`droprune.data.as_labelled` takes); batches are
        normalised with ``dataset.to_float``.
    method
        ``"auto"``, ``"ghost"``, ``"vmap"`` or ``"loop"`` (see the module docstring and
        :data:`GRAND_METHODS`).
    chunk_size
        Samples per batched pass; bounds the memory.
    device
        Where to compute; default: the model's device.
    indices
        Score only these samples (in this order), in this process; default all.
    distributed
        With ``indices=None`` in a distributed run: shard the samples over the ranks and
        gather every score on every rank (a collective: call it on every rank). Default: this
        process scores every sample alone.

    Returns
    -------
    numpy.ndarray
        float64 (len(indices) or N,), higher = harder = kept first.

    """
    if method not in GRAND_METHODS:
        raise ValueError(f"method must be one of {sorted(GRAND_METHODS)}, got {method!r}")
    chunk_size = check_batch_size(chunk_size, "chunk_size")
    dataset = as_labelled(dataset, name="dataset")
    if method == "auto":
        method = grand_auto_method(model)
    elif method == "ghost":
        problems = ghost_unsupported(model)
        if problems:
            raise ValueError("method='ghost' does not support this model: "
                             + "; ".join(problems) + ". Use method='vmap' (or 'auto').")
    if indices is not None:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or (indices.size and (indices.min() < 0
                                                   or indices.max() >= len(dataset))):
            raise ValueError(f"indices must be a 1-D array of sample indices in "
                             f"[0, {len(dataset)})")
    shard = distributed_shard(len(dataset), indices) if distributed else None
    if shard is not None:
        mine = grand_scores(model, dataset, method=method, chunk_size=chunk_size, device=device,
                            indices=shard)
        return gather_by_index(shard, torch.from_numpy(mine), len(dataset)).numpy()
    dev = model_device(model, device)
    model.to(dev)
    chunk_norms: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] = {
        "ghost": _ghost_sq_norms, "vmap": _vmap_sq_norms, "loop": _loop_sq_norms}[method]
    out = []
    with eval_mode(model), torch.enable_grad():
        for x, y, _ in iter_batches(dataset, chunk_size, indices=indices, device=dev):
            sq = chunk_norms(model, dataset.to_float(x), y)
            out.append(sq.detach().to("cpu", torch.float64))
    if not out:
        return np.zeros(0)
    return torch.cat(out).clamp_min_(0.0).sqrt_().numpy()


def score_grand(inputs: PosthocInputs, *, method: str = "auto",
                chunk_size: int = 128) -> np.ndarray:
    """The registry's ``grand``: :func:`grand_scores` of the trained model on the samples of
    ``inputs`` (its own batched passes; ``chunk_size`` bounds the memory)."""
    return grand_scores(inputs.model, inputs.dataset, method=method, chunk_size=chunk_size,
                        device=inputs.device, distributed=inputs.distributed)


# -- reference: one backward per sample -------------------------------------------------------
def _loop_sq_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    sq = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    for i in range(x.shape[0]):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        sq[i] = sum(g.double().pow(2).sum() for g in grads if g is not None)
    return sq


# -- torch.func -------------------------------------------------------------------------------
def _vmap_sq_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    from torch.func import functional_call, grad, vmap

    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    fixed = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    fixed.update(dict(model.named_buffers()))

    def sample_loss(p: dict[str, torch.Tensor], xi: torch.Tensor,
                    yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, {**p, **fixed}, (xi.unsqueeze(0),))
        return F.cross_entropy(logits, yi.unsqueeze(0))

    grads = vmap(grad(sample_loss), in_dims=(None, 0, 0))(params, x, y)
    sq = torch.zeros(x.shape[0], dtype=torch.float32, device=x.device)
    for g in grads.values():
        sq += g.reshape(g.shape[0], -1).pow(2).sum(1)
    return sq


# -- ghost norms: per-layer tricks from one batched backward ----------------------------------
def _weight_sq_norm(g: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``||sum_t g_t u_t^T||_F^2`` per sample for ``g`` (B, T, O) and ``u`` (B, T, I)."""
    t, o, i = g.shape[1], g.shape[2], u.shape[2]
    if t == 1:
        return g.pow(2).sum((1, 2)) * u.pow(2).sum((1, 2))
    if t * (o + i) < o * i:  # Gram matrices (T x T) are cheaper than the (O x I) gradient
        return (torch.bmm(g, g.transpose(1, 2)) * torch.bmm(u, u.transpose(1, 2))).sum((1, 2))
    return torch.bmm(g.transpose(1, 2), u).pow(2).sum((1, 2))


def _linear_sq_norm(m: nn.Linear, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    b = a.shape[0]
    a3, g3 = a.reshape(b, -1, a.shape[-1]), g.reshape(b, -1, g.shape[-1])
    sq = torch.zeros(b, dtype=g.dtype, device=g.device)
    if m.weight.requires_grad:
        sq += _weight_sq_norm(g3, a3)
    if m.bias is not None and m.bias.requires_grad:
        sq += g3.sum(1).pow(2).sum(1)
    return sq


def _prefer_gram(t: int, o: int, i: int) -> bool:
    """Whether the Gram route is expected to beat per-sample gradients as a grouped convolution
    for a layer with ``t`` output positions, ``o`` outputs and ``i`` inputs per group.

    Operation counts are ``t^2 (o + i)`` (Gram) and ``o i t`` (grouped convolution); the rates
    are rough measurements with oneDNN on the CPU: the Gram products (batched matrix
    multiplications) run about 1.5x the rate of a grouped convolution with a large kernel, and
    the grouped convolution slows down as its kernel (the ``t`` positions) shrinks, about as
    ``(t / 256) ** 0.7`` below 256 positions. Both routes are exact; this only picks the faster.
    """
    gram = t * t * (o + i) / 1.5
    grouped = o * i * t / min(1.0, t / 256) ** 0.7
    return gram < grouped


def _conv_sq_norm(m: nn.Conv1d | nn.Conv2d, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    b = a.shape[0]
    sq = torch.zeros(b, dtype=g.dtype, device=g.device)
    if m.bias is not None and m.bias.requires_grad:
        sq += g.flatten(2).sum(2).pow(2).sum(1)
    if not m.weight.requires_grad:
        return sq
    padding = m.padding
    if isinstance(padding, str) or m.padding_mode != "zeros":
        mode = "constant" if m.padding_mode == "zeros" else m.padding_mode
        a = F.pad(a, m._reversed_padding_repeated_twice, mode=mode)
        padding = (0,) * (a.dim() - 2)
    kernel, dilation, stride = m.kernel_size, m.dilation, m.stride
    if isinstance(m, nn.Conv1d):  # as a 2-D convolution of height 1
        a, g = a.unsqueeze(2), g.unsqueeze(2)
        kernel, dilation, padding, stride = ((1, kernel[0]), (1, dilation[0]),
                                             (0, padding[0]), (1, stride[0]))
    groups = m.groups
    t = g.shape[2] * g.shape[3]
    o, i = m.out_channels // groups, m.in_channels // groups * kernel[0] * kernel[1]
    if _prefer_gram(t, o, i):  # few positions: Gram matrices of the unfolded input
        u = F.unfold(a, kernel, dilation=dilation, padding=padding, stride=stride)  # (B, CK, T)
        u = u.view(b, groups, -1, t).transpose(2, 3).reshape(b * groups, t, -1)
        g = g.reshape(b, groups, -1, t).transpose(2, 3).reshape(b * groups, t, -1)
        return sq + _weight_sq_norm(g, u).view(b, groups).sum(1)
    # Many positions: every per-sample weight gradient at once, as one convolution of the
    # input with the output gradient (batch x groups as convolution groups; stride and
    # dilation swap roles), without unfolding the input.
    x = a.reshape(b * groups, -1, *a.shape[2:]).transpose(0, 1)  # (C/G, B*G, H, W)
    k = g.reshape(b * m.out_channels, 1, *g.shape[2:])  # (B*O, 1, Ho, Wo)
    per_sample = F.conv2d(x, k, stride=dilation, padding=padding, dilation=stride,
                          groups=b * groups)[:, :, : kernel[0], : kernel[1]]
    return sq + per_sample.pow(2).sum((0, 2, 3)).view(b, -1).sum(1)


def _bn_sq_norm(m: nn.modules.batchnorm._BatchNorm, a: torch.Tensor,
                g: torch.Tensor) -> torch.Tensor:
    shape = (1, -1) + (1,) * (a.dim() - 2)
    dims = tuple(range(2, a.dim()))
    sq = torch.zeros(a.shape[0], dtype=g.dtype, device=g.device)
    if m.weight is not None and m.weight.requires_grad:
        xhat = (a - m.running_mean.view(shape)) * torch.rsqrt(m.running_var.view(shape) + m.eps)
        gw = g * xhat
        sq += (gw.sum(dims) if dims else gw).pow(2).sum(1)
    if m.bias is not None and m.bias.requires_grad:
        sq += (g.sum(dims) if dims else g).pow(2).sum(1)
    return sq


def _layer_sq_norm(m: nn.Module, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    if isinstance(m, nn.Linear):
        return _linear_sq_norm(m, a, g)
    if isinstance(m, _CONV):
        return _conv_sq_norm(m, a, g)
    return _bn_sq_norm(m, a, g)


def _ghost_sq_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    layers = [m for m in model.modules()
              if any(p.requires_grad for p in m.parameters(recurse=False))]
    sq = torch.zeros(x.shape[0], dtype=torch.float32, device=x.device)
    calls: dict[nn.Module, int] = {}

    def forward_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        calls[module] = calls.get(module, 0) + 1
        a = inputs[0].detach()
        version = a._version

        def on_grad(g: torch.Tensor) -> None:
            if a._version != version:
                raise RuntimeError(f"the input of {type(module).__name__} was modified in place "
                                   f"after the layer ran; use method='vmap'")
            sq.add_(_layer_sq_norm(module, a, g.detach()))

        output.register_hook(on_grad)

    handles = [m.register_forward_hook(forward_hook) for m in layers]
    try:
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="sum")
        repeated = [type(m).__name__ for m, c in calls.items() if c > 1]
        if repeated:
            raise RuntimeError(f"method='ghost' needs each layer called once per forward; "
                               f"{repeated} ran more often. Use method='vmap'.")
        # Only the input gradient is requested: the hooks see every layer's output gradient
        # and no weight gradient is computed or accumulated into .grad.
        torch.autograd.grad(loss, x)
    finally:
        for h in handles:
            h.remove()
    return sq
