"""Batched data augmentation on the device: random translation and random horizontal flip.

Both work on a whole raw batch (uint8 or float, before normalisation) with tensor ops: no
per-sample Python, no PIL. The random draws (offsets, flip flags) are made on the CPU from a
``torch.Generator`` and moved to the batch's device, so the augmentation of a batch depends
only on the generator's state, never on the global RNG or on the device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["augment_batch", "flip", "translate"]


def translate(x: torch.Tensor, offsets: torch.Tensor, pad: int) -> torch.Tensor:
    """Shift every sample of ``x`` (B, C, *spatial) by its own offset, filling with zeros.

    Equivalent to zero-padding each spatial axis by ``pad`` on both sides and cropping the
    original size at position ``offsets[b]`` of the padded sample: the content moves by
    ``pad - offsets[b, a]`` along axis ``a`` (so ``offsets == pad`` leaves a sample unchanged).

    Parameters
    ----------
    x
        Batch (B, C, *spatial) with at least one spatial axis, any dtype.
    offsets
        Integer crop positions (B, number of spatial axes), each in ``[0, 2 * pad]``.
    pad
        Maximum shift.

    Examples
    --------
    >>> x = torch.tensor([[[1, 2, 3, 4]]])
    >>> translate(x, torch.tensor([[0]]), 1)  # content moves right by 1
    tensor([[[0, 1, 2, 3]]])
    """
    b, c, *spatial = x.shape
    nd = len(spatial)
    if nd == 0:
        raise ValueError(f"translate needs spatial axes (B, C, L...) but x has shape "
                         f"{tuple(x.shape)}")
    if tuple(offsets.shape) != (b, nd):
        raise ValueError(f"offsets must have shape {(b, nd)}, got {tuple(offsets.shape)}")
    if pad == 0:
        return x
    padded = F.pad(x, [pad] * (2 * nd))
    offsets = offsets.to(device=x.device, dtype=torch.long)
    ones = [1] * nd
    index = [torch.arange(b, device=x.device).view(b, 1, *ones),
             torch.arange(c, device=x.device).view(1, c, *ones)]
    for axis, size in enumerate(spatial):
        shape = [b, 1] + ones
        shape[2 + axis] = size
        pos = offsets[:, axis:axis + 1] + torch.arange(size, device=x.device).view(1, size)
        index.append(pos.view(shape))
    return padded[tuple(index)]


def flip(x: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Reverse the last axis of the samples whose ``flags`` (bool, (B,)) are set.

    Examples
    --------
    >>> flip(torch.tensor([[[1, 2]], [[3, 4]]]), torch.tensor([True, False]))
    tensor([[[2, 1]],
    <BLANKLINE>
            [[3, 4]]])
    """
    if flags.shape != x.shape[:1]:
        raise ValueError(f"flags must have shape ({x.shape[0]},), got {tuple(flags.shape)}")
    mask = flags.to(device=x.device, dtype=torch.bool).view(-1, *([1] * (x.dim() - 1)))
    return torch.where(mask, x.flip(-1), x)


def augment_batch(x: torch.Tensor, *, pad: int, hflip: bool, generator: torch.Generator,
                  positions: torch.Tensor | None = None,
                  num_draws: int | None = None,
                  affine_translate: float = 0.0) -> torch.Tensor:
    """Random translation (if ``pad > 0``), then random flip (if ``hflip``), of a raw batch.

    With ``affine_translate = t > 0`` (and ``pad = 0``) the translation is instead that of
    torchvision's ``RandomAffine(degrees=0, translate=(t, t))`` (the DRoP reference code's
    CIFAR augmentation): each spatial axis of size ``S`` is shifted by
    ``round(U(-t S, t S))`` pixels (halves to even), filling with zeros.

    The draws are made for ``num_draws`` samples (default: the batch size) from
    ``generator`` (a CPU generator): all translation offsets (uniform in ``[0, 2 * pad]`` per
    sample and spatial axis), then all flip flags (probability 1/2). Sample ``i`` of ``x``
    takes the draws at ``positions[i]`` (default: ``i``), so a batch's augmentation is a
    function of the generator state alone. The trainer draws for a whole GLOBAL batch and
    passes each rank's positions in it, so a sample's augmentation does not depend on the
    number of ranks.

    Parameters
    ----------
    x
        Raw batch (B, C, *spatial), any dtype.
    pad
        Maximum translation (0: none).
    hflip
        Random horizontal flip (last axis).
    generator
        Source of the draws.
    positions
        int64 (B,) positions in ``[0, num_draws)``; default ``arange(B)``.
    num_draws
        Number of samples to draw for; default B.

    Examples
    --------
    >>> x = torch.arange(4).view(1, 1, 4)
    >>> augment_batch(x, pad=1, hflip=False, generator=torch.Generator().manual_seed(0))
    tensor([[[1, 2, 3, 0]]])
    """
    n = x.shape[0] if num_draws is None else num_draws
    if affine_translate > 0:
        if pad > 0:
            raise ValueError("give pad or affine_translate, not both")
        sizes = torch.tensor(x.shape[2:], dtype=torch.float64)
        limit = affine_translate * sizes
        shifts = torch.round((torch.rand((n, x.dim() - 2), generator=generator,
                                         dtype=torch.float64) * 2 - 1) * limit).long()
        reach = int(torch.ceil(limit.max()).item())
        offsets = reach - shifts  # content moves by reach - offset
        x = translate(x, offsets if positions is None else offsets[positions], reach)
    if pad > 0:
        offsets = torch.randint(0, 2 * pad + 1, (n, x.dim() - 2), generator=generator)
        x = translate(x, offsets if positions is None else offsets[positions], pad)
    if hflip:
        flags = torch.rand(n, generator=generator) < 0.5
        x = flip(x, flags if positions is None else flags[positions])
    return x
