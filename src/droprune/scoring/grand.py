"""GraNd (Paul et al., NeurIPS 2021): the norm of each sample's own loss gradient, exact and fast.

``grand_i = || d CE(f(x_i), y_i) / d theta ||_2`` over every parameter of the model that
requires a gradient, with the model in eval mode: batch norm then normalises with its running
statistics, a fixed affine map per sample, so per-sample gradients are well defined and do not
depend on which other samples share the chunk. Higher = larger gradient = harder = kept first.

Methods (``method=``)
---------------------
``"ghost"``
    One batched forward and ONE batched backward of the summed loss per chunk. Forward hooks
    keep each layer's input ``a``; tensor hooks on its output receive ``g = dL/d(output)``
    during the backward, and each layer's per-sample squared gradient norm is computed from
    ``a`` and ``g`` alone. The backward requests only the output gradients of the lowest
    layers (graph edges), so it forms no weight gradient and no gradient of the input.
    Linear: ``||g||^2 ||a||^2`` (Goodfellow's trick; Gram matrices or per-sample gradients for
    sequences, whichever is cheaper). Convolution: either the "ghost norm" through Gram
    matrices of the unfolded input ``U`` and of ``g``, ``sum_{t,t'} (g g^T)_{tt'}
    (U U^T)_{tt'}`` (few output positions ``T``), or the per-sample weight gradients of a few
    samples at a time as the weight gradient of one grouped convolution whose groups are the
    samples (many positions), whichever costs fewer operations for that layer. Batch norm:
    per-channel sums from its own backward kernel with the samples folded into the channels.
    Exact; supports Linear, Conv1d, Conv2d (any stride, padding, dilation, groups) and
    BatchNorm with running statistics, each module called once per forward.
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

from typing import Any, Callable, cast

import numpy as np
import torch
import torch.nn.functional as F
import torch.nn.grad  # conv2d_weight; a submodule torch.nn does not re-export for type checkers
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
    "ghost": "per-layer norms from one batched forward+backward (Linear, Conv1d/2d, BN)",
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


def _grouped_chunk(channels_per_group: int, batch: int) -> int:
    """Samples per grouped weight-gradient call: about 512 input channels in all (oneDNN's
    grouped kernels slow down with many wide groups; measured on the CPU, see docs)."""
    return max(1, min(batch, 512 // max(1, channels_per_group)))


def _conv_sq_norm(m: nn.Conv1d | nn.Conv2d, a: torch.Tensor, g: torch.Tensor,
                  route: str | None = None) -> torch.Tensor:
    """Per-sample squared gradient norm of a convolution's weight (and bias) from its input
    ``a`` and output gradient ``g``. ``route``: ``"gram"`` or ``"grouped"`` (tests); default:
    whichever costs fewer operations for this layer."""
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
    cg = m.in_channels // groups
    o, i = m.out_channels // groups, cg * kernel[0] * kernel[1]
    if route is None:
        route = "gram" if t * (o + i) < o * i else "grouped"
    if route == "gram":  # few positions: Gram matrices (T x T) of the unfolded input and of g
        u = F.unfold(a, kernel, dilation=dilation, padding=padding, stride=stride)  # (B, CK, T)
        u = u.view(b, groups, -1, t).transpose(2, 3).reshape(b * groups, t, -1)
        g = g.reshape(b, groups, -1, t).transpose(2, 3).reshape(b * groups, t, -1)
        return sq + _weight_sq_norm(g, u).view(b, groups).sum(1)
    # Many positions: the per-sample weight gradients of a few samples at a time, as the weight
    # gradient of ONE grouped convolution whose groups are (sample, group) pairs: the same
    # kernel (and the same operation count) as the batched weight gradient of a backward pass.
    n = _grouped_chunk(cg, b)
    a = a.contiguous()
    g = g.contiguous()
    for s in range(0, b, n):
        k = min(n, b - s)
        gw = torch.nn.grad.conv2d_weight(
            a[s:s + k].reshape(1, k * m.in_channels, *a.shape[2:]),
            (k * m.out_channels, cg, *kernel),
            g[s:s + k].reshape(1, k * m.out_channels, *g.shape[2:]),
            stride=stride, padding=padding, dilation=dilation, groups=k * groups)
        sq[s:s + k] += gw.reshape(k, -1).pow(2).sum(1)
    return sq


def _bn_sq_norm(m: nn.modules.batchnorm._BatchNorm, a: torch.Tensor,
                g: torch.Tensor) -> torch.Tensor:
    """Eval-mode batch norm is ``w * (a - mean) / sqrt(var + eps) + b`` per channel, so per
    sample ``dL/dw_c = sum_t g_ct xhat_ct`` and ``dL/db_c = sum_t g_ct``. Both come from ONE
    call of batch norm's own backward kernel with the samples folded into the channels
    (``(1, B*C, ...)``, running statistics repeated): a single fused pass, no temporaries."""
    b, c = a.shape[0], a.shape[1]
    want_w = m.weight is not None and m.weight.requires_grad
    want_b = m.bias is not None and m.bias.requires_grad
    shape = (1, b * c, *a.shape[2:])
    # batch norm without running statistics is refused when the hooks are set
    assert m.running_mean is not None and m.running_var is not None
    _, gw, gb = torch.ops.aten.native_batch_norm_backward(
        g.reshape(shape), a.reshape(shape), None, m.running_mean.repeat(b),
        m.running_var.repeat(b), None, None, False, m.eps, [False, want_w, want_b])
    sq = torch.zeros(b, dtype=g.dtype, device=g.device)
    if want_w:
        sq += gw.view(b, c).pow(2).sum(1)
    if want_b:
        sq += gb.view(b, c).pow(2).sum(1)
    return sq


def _layer_sq_norm(m: nn.Module, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    if isinstance(m, nn.Linear):
        return _linear_sq_norm(m, a, g)
    if isinstance(m, _CONV):
        return _conv_sq_norm(m, a, g)
    return _bn_sq_norm(cast(nn.modules.batchnorm._BatchNorm, m), a, g)  # hooked: a _BN


_EDGES: list[bool] = []


def _edges_work() -> bool:
    """Whether this torch can stop a backward at graph edges taken before an in-place op
    (``torch.autograd.graph.get_gradient_edge`` as an ``inputs`` of ``autograd.grad``, with the
    tensor hooks of the edges' tensors run): probed once on a 2x2 graph. Without it (old
    torch) the backward asks for the input's gradient instead (exact too, slower)."""
    if not _EDGES:
        ok = False
        try:
            with torch.enable_grad():
                w = torch.ones(2, 2, requires_grad=True)
                h = torch.ones(1, 2) @ w
                seen: list[torch.Tensor] = []
                h.register_hook(seen.append)
                edge = torch.autograd.graph.get_gradient_edge(h)
                h.mul_(2.0)
                (grad,) = torch.autograd.grad(h.sum(), [edge])
            ok = (len(seen) == 1 and torch.equal(seen[0], grad)
                  and torch.equal(grad, torch.full((1, 2), 2.0)))
        except (AttributeError, TypeError, RuntimeError):
            ok = False
        _EDGES.append(ok)
    return _EDGES[0]


def _lowest_nodes(root: Any, hooked: set[Any]) -> set[Any]:
    """The nodes of ``hooked`` reachable from ``root`` (a loss's ``grad_fn``) below which no
    other node of ``hooked`` lies: requesting gradients at these alone makes the backward run
    every other hooked node, and nothing below them."""
    below: dict[Any, bool] = {}  # node -> some hooked node lies strictly below it
    stack = [root]
    while stack:  # iterative post-order walk (deep nets exceed the recursion limit)
        node = stack[-1]
        if node in below:
            stack.pop()
            continue
        children = [c for c, _ in node.next_functions if c is not None]
        pending = [c for c in children if c not in below]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        below[node] = any(below[c] or c in hooked for c in children)
    return {n for n in hooked if n in below and not below[n]}


def _ghost_sq_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    layers = [m for m in model.modules()
              if any(p.requires_grad for p in m.parameters(recurse=False))]
    sq = torch.zeros(x.shape[0], dtype=torch.float32, device=x.device)
    calls: dict[nn.Module, int] = {}
    edges: list[Any] = []
    edges_work = _edges_work()

    def forward_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        calls[module] = calls.get(module, 0) + 1
        a = inputs[0].detach()
        version = a._version

        def on_grad(g: torch.Tensor) -> None:
            if a._version != version:
                raise RuntimeError(f"the input of {type(module).__name__} was modified in place "
                                   f"after the layer ran; use method='vmap'")
            sq.add_(_layer_sq_norm(module, a, g.detach()))

        if output.grad_fn is not None:
            output.register_hook(on_grad)
            if edges_work:  # the edge as it is now, before any in-place op on the output
                edges.append(torch.autograd.graph.get_gradient_edge(output))

    handles = [m.register_forward_hook(forward_hook) for m in layers]
    try:
        x = x.detach()
        if not edges_work:
            x.requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="sum")
        repeated = [type(m).__name__ for m, c in calls.items() if c > 1]
        if repeated:
            raise RuntimeError(f"method='ghost' needs each layer called once per forward; "
                               f"{repeated} ran more often. Use method='vmap'.")
    finally:
        for h in handles:
            h.remove()
    if loss.grad_fn is None:  # no parameter reaches the loss
        return sq
    # The hooks see every layer's output gradient during ONE backward of the summed loss. It
    # asks for no weight gradient (nothing is formed or accumulated into .grad) and stops at
    # the lowest layers: the gradients requested are those of their outputs (graph edges,
    # taken before any in-place op), not of the input, and only these few are kept.
    if edges_work:
        lowest = _lowest_nodes(loss.grad_fn, {e.node for e in edges})
        wanted = [e for e in edges if e.node in lowest]
        if wanted:
            torch.autograd.grad(loss, wanted)
    else:
        torch.autograd.grad(loss, x)
    return sq
