"""Batched augmentation: translation is a real zero-filled shift by at most pad, flips flip
exactly the flagged samples, shapes and dtypes are kept, draws depend only on the generator,
and the one draw function (augment_batch) makes the draws the trainer made before it was the
only one (a frozen copy of the former trainer code below)."""

from __future__ import annotations

import itertools

import pytest
import torch

from droprune.training.augment import augment_batch, flip, translate
from droprune.training.batching import epoch_plan
from droprune.training.distributed import derived_generator


def shift_reference(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move the content of one (C, H, W) image by (dy, dx), zero-filling (slicing only)."""
    out = torch.zeros_like(img)
    _, h, w = img.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, yd, xd] = img[:, ys, xs]
    return out


def test_one_hot_pixel_moves_by_pad_minus_offset():
    pad, h, w = 2, 5, 6
    for (r, c), (oy, ox) in itertools.product([(0, 0), (2, 3), (4, 5)],
                                              itertools.product(range(2 * pad + 1), repeat=2)):
        x = torch.zeros(1, 1, h, w, dtype=torch.uint8)
        x[0, 0, r, c] = 255
        out = translate(x, torch.tensor([[oy, ox]]), pad)
        assert out.shape == x.shape and out.dtype == torch.uint8
        nr, nc = r + pad - oy, c + pad - ox
        if 0 <= nr < h and 0 <= nc < w:
            assert out.sum().item() == 255 and out[0, 0, nr, nc] == 255
        else:
            assert out.sum().item() == 0  # the pixel left the frame
        assert abs(nr - r) <= pad and abs(nc - c) <= pad


def test_translation_preserves_content_per_sample():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (6, 3, 8, 7), generator=g, dtype=torch.uint8)
    offsets = torch.tensor([[0, 0], [4, 4], [2, 2], [1, 3], [4, 0], [3, 1]])
    out = translate(x, offsets, 2)
    for b in range(6):
        dy, dx = 2 - offsets[b, 0].item(), 2 - offsets[b, 1].item()
        assert torch.equal(out[b], shift_reference(x[b], dy, dx))
    assert torch.equal(out[2], x[2])  # offset == pad: unchanged


def test_translation_of_1d_signals():
    x = torch.arange(1.0, 9.0).view(1, 1, 8).repeat(3, 2, 1)
    out = translate(x, torch.tensor([[0], [3], [6]]), 3)
    assert out.shape == (3, 2, 8) and out.dtype == torch.float32
    assert out[0, 0].tolist() == [0, 0, 0, 1, 2, 3, 4, 5]
    assert torch.equal(out[1], x[1])
    assert out[2, 1].tolist() == [4, 5, 6, 7, 8, 0, 0, 0]


def test_random_translation_shifts_by_at_most_pad_and_is_deterministic():
    x = torch.randint(1, 256, (32, 1, 9, 9), generator=torch.Generator().manual_seed(1),
                      dtype=torch.uint8)
    pad = 2
    a = augment_batch(x, pad=pad, hflip=False, generator=torch.Generator().manual_seed(5))
    b = augment_batch(x, pad=pad, hflip=False, generator=torch.Generator().manual_seed(5))
    c = augment_batch(x, pad=pad, hflip=False, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    seen = set()
    for i in range(32):
        shifts = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                  if torch.equal(a[i], shift_reference(x[i], dy, dx))]
        assert len(shifts) == 1
        seen.add(shifts[0])
    assert len(seen) > 5  # different samples get different shifts


def test_flip_flips_exactly_the_flagged_samples():
    x = torch.randn(5, 3, 4, 6)
    flags = torch.tensor([True, False, False, True, False])
    out = flip(x, flags)
    for i in range(5):
        expected = x[i].flip(-1) if flags[i] else x[i]
        assert torch.equal(out[i], expected)
    assert out[0, 0, 0, 0] == x[0, 0, 0, 5]


def test_random_flips_are_deterministic_and_about_half():
    x = torch.arange(2.0).view(1, 1, 1, 2).repeat(1000, 1, 1, 1)
    a = augment_batch(x, pad=0, hflip=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, augment_batch(x, pad=0, hflip=True,
                                        generator=torch.Generator().manual_seed(3)))
    flipped = int((a[:, 0, 0, 0] == 1).sum())
    assert 400 < flipped < 600
    assert torch.equal(a.sort(-1).values, x)  # only reordered along the last axis


def test_augment_batch_order_of_draws():
    x = torch.randint(0, 256, (4, 3, 6, 6), dtype=torch.uint8)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    out = augment_batch(x, pad=1, hflip=True, generator=g1)
    offsets = torch.randint(0, 3, (4, 2), generator=g2)
    flags = torch.rand(4, generator=g2) < 0.5
    assert torch.equal(out, flip(translate(x, offsets, 1), flags))
    assert augment_batch(x, pad=0, hflip=False, generator=g1) is x


def test_errors():
    with pytest.raises(ValueError, match="spatial axes"):
        translate(torch.zeros(2, 5), torch.zeros(2, 0, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="offsets must have shape"):
        translate(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="flags must have shape"):
        flip(torch.zeros(2, 1, 4, 4), torch.tensor([True]))


def former_trainer_augment(x, pad, hflip, generator, n_global, rank, world_size):
    """FROZEN copy of the trainer's own augmentation before augment_batch was the only one
    (droprune.training.trainer._augment); do not edit."""
    pos = (torch.arange(x.shape[0]) * world_size + rank).clamp_(max=max(n_global - 1, 0))
    if pad > 0:
        offsets = torch.randint(0, 2 * pad + 1, (n_global, x.dim() - 2), generator=generator)
        x = translate(x, offsets[pos], pad)
    if hflip:
        flags = torch.rand(n_global, generator=generator) < 0.5
        x = flip(x, flags[pos])
    return x


@pytest.mark.parametrize("pad, hflip", [(2, True), (0, True), (1, False), (3, True)])
def test_augment_batch_draws_what_the_trainer_drew(pad, hflip):
    x = torch.randint(0, 256, (13, 2, 5, 7), generator=torch.Generator().manual_seed(3),
                      dtype=torch.uint8)
    # one process: the whole batch takes draws 0..12, in two successive batches of a stream
    g_new, g_old = derived_generator(4, 1, 2, 0), derived_generator(4, 1, 2, 0)
    for part in (x, x[:6]):
        assert torch.equal(augment_batch(part, pad=pad, hflip=hflip, generator=g_new),
                           former_trainer_augment(part, pad, hflip, g_old, part.shape[0], 0, 1))
    # ranks of a distributed run: positions from the epoch plan, draws for the global batch
    for n, batch, world in [(13, 6, 2), (11, 6, 3), (20, 8, 4)]:
        for rank in range(world):
            plan = epoch_plan(n, batch, seed=0, epoch=0, rank=rank, world_size=world)
            g_new, g_old = derived_generator(0, 1, 0, 0), derived_generator(0, 1, 0, 0)
            for b, (start, stop) in enumerate(plan.bounds):
                part = x.repeat(2, 1, 1, 1)[plan.order[start:stop]]
                new = augment_batch(part, pad=pad, hflip=hflip, generator=g_new,
                                    positions=plan.draw_positions(b),
                                    num_draws=plan.global_sizes[b])
                old = former_trainer_augment(part, pad, hflip, g_old, plan.global_sizes[b],
                                             rank, world)
                assert torch.equal(new, old), (n, batch, world, rank, b)
