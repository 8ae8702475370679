"""CDB-W weights, the per-epoch sample order (DistributedSampler semantics) and batch plans."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune.training import cdbw_weights
from droprune.training.batching import batch_bounds
from droprune.training.cdbw import epoch_class_weights
from droprune.training.distributed import derived_generator, epoch_order, world


# -- CDB-W ------------------------------------------------------------------------------------

def test_cdbw_weights_exact_values():
    # raw 1 - r = [0.5, 0, 1, 0.5], mean 0.5
    np.testing.assert_array_equal(cdbw_weights([0.5, 1.0, 0.0, 0.5]), [1.0, 0.0, 2.0, 1.0])
    # raw [0.1, 0.3], mean 0.2
    np.testing.assert_allclose(cdbw_weights(np.array([0.9, 0.7])), [0.5, 1.5], rtol=1e-12)
    assert cdbw_weights([0.25, 0.5, 0.75]).mean() == pytest.approx(1.0)


def test_cdbw_all_perfect_is_uniform():
    np.testing.assert_array_equal(cdbw_weights([1.0, 1.0, 1.0]), [1.0, 1.0, 1.0])


def test_cdbw_class_without_validation_samples_is_neutral():
    # known raw [0.5, 0.1] -> mean 0.3 for the NaN class; [0.5, 0.3, 0.1] / 0.3
    np.testing.assert_allclose(cdbw_weights([0.5, np.nan, 0.9]), [5 / 3, 1.0, 1 / 3])
    np.testing.assert_array_equal(cdbw_weights([np.nan, np.nan]), [1.0, 1.0])


def test_epoch_class_weights_are_uniform_in_the_first_epoch():
    np.testing.assert_array_equal(epoch_class_weights(None, 3), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(epoch_class_weights(np.array([0.5, 1.0, 0.0, 0.5]), 4),
                                  [1.0, 0.0, 2.0, 1.0])


@pytest.mark.parametrize("recalls", [[0.5, 1.2], [-0.1, 0.5], [[0.5]], ["a", "b"]])
def test_cdbw_rejects_bad_recalls(recalls):
    with pytest.raises(ValueError, match="recalls"):
        cdbw_weights(recalls)


# -- sample order -----------------------------------------------------------------------------

def test_single_process_order_is_a_permutation_fixed_by_seed_and_epoch():
    assert world() == (0, 1)
    idx, real = epoch_order(50, seed=3, epoch=2)
    assert real is None and idx.dtype == torch.int64
    assert sorted(idx.tolist()) == list(range(50))
    assert torch.equal(idx, epoch_order(50, seed=3, epoch=2)[0])
    assert not torch.equal(idx, epoch_order(50, seed=3, epoch=1)[0])
    assert not torch.equal(idx, epoch_order(50, seed=4, epoch=2)[0])


@pytest.mark.parametrize("n,world_size", [(10, 3), (12, 4), (2, 5), (7, 2)])
def test_sharded_order_follows_distributed_sampler(n, world_size):
    full, _ = epoch_order(n, seed=0, epoch=1)
    total = -(-n // world_size) * world_size
    padded = [full[i % n].item() for i in range(total)]  # repeat from the start
    seen_real = []
    for rank in range(world_size):
        idx, real = epoch_order(n, seed=0, epoch=1, rank=rank, world_size=world_size)
        assert idx.tolist() == padded[rank::world_size]
        if total == n:
            assert real is None
            seen_real += idx.tolist()
        else:
            flags = [p < n for p in range(rank, total, world_size)]
            assert real.tolist() == flags
            seen_real += idx[real].tolist()
    assert sorted(seen_real) == list(range(n))  # every sample exactly once, no padding


def test_order_rejects_bad_rank():
    with pytest.raises(ValueError, match="rank"):
        epoch_order(5, seed=0, epoch=0, rank=2, world_size=2)


def test_derived_generators_are_independent_streams():
    a = torch.rand(4, generator=derived_generator(0, 1, 0))
    assert torch.equal(a, torch.rand(4, generator=derived_generator(0, 1, 0)))
    assert not torch.equal(a, torch.rand(4, generator=derived_generator(0, 1, 1)))
    assert not torch.equal(a, torch.rand(4, generator=derived_generator(0, 0, 0)))


# -- batch plan -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,bs,expected", [
    (10, 4, [(0, 4), (4, 8), (8, 10)]),
    (8, 4, [(0, 4), (4, 8)]),
    (9, 4, [(0, 4), (4, 9)]),      # a last batch of one is merged
    (1, 4, [(0, 1)]),
    (3, 1, [(0, 1), (1, 2), (2, 3)]),
])
def test_batch_bounds(n, bs, expected):
    assert batch_bounds(n, bs) == expected
