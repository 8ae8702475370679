"""The distributed helpers in one process: single-process behaviour, every error path, the
per-rank batch plan and augmentation (pure functions of rank and world size), and the
collective code paths on a one-rank gloo group."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributed as dist

import droprune.training.batching as B
import droprune.training.distributed as D
import droprune.training.inference as I
from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.training import TrainConfig, evaluate, predict_logits, train
from droprune.training.augment import augment_batch
from droprune.training.batching import batch_bounds
from droprune.training.loop import _batch_loss

pytestmark = pytest.mark.distributed


@pytest.fixture
def one_rank_group(tmp_path):
    """A real gloo process group of world size 1 (collective code paths, no subprocess)."""
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def tiny_set(n=20, k=2) -> LabelledDataset:
    x = torch.randn(n, 1, 4, generator=torch.Generator().manual_seed(0))
    return LabelledDataset(x, (np.arange(n) % k).astype(np.int64), num_classes=k, name="tiny")


# -- single process ----------------------------------------------------------------------------

def test_single_process_defaults():
    assert not D.is_distributed() and D.world() == (0, 1) and D.is_main()
    np.testing.assert_array_equal(D.shard_indices(4), [0, 1, 2, 3])
    assert D.broadcast_object({"a": 1}) == {"a": 1}
    assert D.all_gather_object(3) == [3]
    t = torch.ones(2)
    D.all_reduce_sum(t)
    D.barrier()
    assert t.tolist() == [1.0, 1.0]
    with D.distributed_session() as distributed:
        assert distributed is False and not D.is_distributed()


def test_gather_by_index_places_rows_and_refuses_bad_covers():
    out = D.gather_by_index(np.array([2, 0, 1]), torch.tensor([[2.0, 2.5], [0.0, 0.5],
                                                               [1.0, 1.5]]), 3)
    assert out.tolist() == [[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]]
    assert out.dtype == torch.float32
    with pytest.raises(ValueError, match=r"cover range\(3\) exactly once \(1 missing, 0 rep"):
        D.gather_by_index([0, 1], torch.zeros(2), 3)
    with pytest.raises(ValueError, match=r"\(1 missing, 1 repeated\)"):
        D.gather_by_index([0, 0, 1], torch.zeros(3), 3)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 2\)"):
        D.gather_by_index([0, 2], torch.zeros(2), 2)
    with pytest.raises(ValueError, match="one row per index"):
        D.gather_by_index([0, 1], torch.zeros(3), 2)


def test_run_on_main_returns_and_raises():
    assert D.run_on_main(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(KeyError):
        D.run_on_main(lambda: {}["missing"])


def test_timeout_and_backend_from_the_environment(monkeypatch):
    monkeypatch.delenv(D.TIMEOUT_ENV, raising=False)
    assert D.timeout_seconds() == D.DEFAULT_TIMEOUT_S == 1800.0
    monkeypatch.setenv(D.TIMEOUT_ENV, "12.5")
    assert D.timeout_seconds() == 12.5
    for bad in ("0", "-3", "soon", "inf"):
        monkeypatch.setenv(D.TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match="DROPRUNE_DIST_TIMEOUT must be a number"):
            D.timeout_seconds()
    monkeypatch.setenv(D.BACKEND_ENV, "mpi")
    with pytest.raises(ValueError, match="DROPRUNE_DIST_BACKEND must be 'gloo' or 'nccl'"):
        D._backend()
    monkeypatch.setenv(D.BACKEND_ENV, "gloo")
    assert D._backend() == "gloo"
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer"):
        D.launched_world_size()


def test_collective_failures_are_told_from_other_errors():
    assert D._collective_failure(RuntimeError("[gloo/pair.cc] Connection reset by peer"))
    assert D._collective_failure(RuntimeError("Timed out waiting 3000ms for recv"))
    assert not D._collective_failure(RuntimeError("shape mismatch"))
    assert not D._collective_failure(ValueError("gloo"))


def test_train_refuses_a_torchrun_launch_without_a_group(monkeypatch):
    ds = tiny_set()
    monkeypatch.setenv("WORLD_SIZE", "2")
    model = build_model("mlp", num_classes=2, in_channels=1, input_size=(4,), hidden=(4,))
    with pytest.raises(ValueError, match="WORLD_SIZE=2.*distributed_session"):
        train(model, ds, TrainConfig(epochs=1, batch_size=4), progress=False)


def test_train_refuses_a_global_batch_the_ranks_cannot_split(monkeypatch):
    monkeypatch.setattr(B, "world", lambda: (0, 3))
    with pytest.raises(ValueError, match=r"batch_size 128 is the global batch, split evenly "
                                         r"over 3 ranks: make it a multiple of 3 \(e\.g\. 126 "
                                         r"or 129\)"):
        B.check_world(TrainConfig(epochs=1, batch_size=128))
    assert B.check_world(TrainConfig(epochs=1, batch_size=129)) == (0, 3)


# -- the per-rank batch plan --------------------------------------------------------------------

@pytest.mark.parametrize("n, batch, world", [(300, 32, 2), (301, 32, 2), (34, 32, 2),
                                            (33, 32, 2), (100, 12, 3), (7, 6, 3), (1, 2, 2),
                                            (50, 8, 4)])
def test_rank_batches_make_up_the_single_process_batches(n, batch, world):
    one = B.epoch_plan(n, batch, seed=3, epoch=1, rank=0, world_size=1)
    plans = [B.epoch_plan(n, batch, seed=3, epoch=1, rank=r, world_size=world)
             for r in range(world)]
    assert one.bounds == batch_bounds(n, batch)
    for b, (start, stop) in enumerate(one.bounds):
        parts = []
        for plan in plans:
            assert plan.global_sizes[b] == stop - start
            s, e = plan.bounds[b]
            keep = slice(None) if plan.real is None else plan.real[s:e]
            parts.append(plan.order[s:e][keep])
            padded = plan.real is not None and not bool(plan.real[s:e].all())
            assert not padded or plan.padded[b]  # padding is always flagged
        together = torch.cat(parts)
        assert sorted(together.tolist()) == sorted(one.order[start:stop].tolist())
        sizes = {plan.bounds[b][1] - plan.bounds[b][0] for plan in plans}
        assert len(sizes) == 1  # every rank takes part in every step with the same size
    assert sum(one.global_sizes) == n


def test_augmentation_of_a_rank_is_its_part_of_the_single_process_batch():
    x = torch.randint(0, 255, (10, 1, 6, 6), generator=torch.Generator().manual_seed(1),
                      dtype=torch.uint8)

    def aug(part, positions, num_draws):
        return augment_batch(part, pad=2, hflip=True, generator=D.derived_generator(0, 1, 0, 0),
                             positions=positions, num_draws=num_draws)

    whole = aug(x, None, None)
    assert torch.equal(aug(x, torch.arange(10), 10), whole)
    for rank in (0, 1):  # a global batch of 10 on 2 ranks (one batch: bounds [(0, 5)])
        plan = B.epoch_plan(10, 10, seed=0, epoch=0, rank=rank, world_size=2)
        assert plan.draw_positions(0).tolist() == list(range(rank, 10, 2))
        assert torch.equal(aug(x[rank::2], plan.draw_positions(0), 10), whole[rank::2])
    # 9 real samples: rank 1's last sample is a padding duplicate, it borrows the last draw
    plan = B.epoch_plan(9, 10, seed=0, epoch=0, rank=1, world_size=2)
    assert plan.draw_positions(0).tolist() == [1, 3, 5, 7, 8]
    assert aug(x[1::2], plan.draw_positions(0), 9).shape == (5, 1, 6, 6)
    assert B.epoch_plan(9, 10, seed=0, epoch=0, rank=0, world_size=1).draw_positions(0) is None


def test_padded_batch_loss_is_the_share_of_the_global_mean():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 0])
    keep = torch.tensor([True, True, False])
    per = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    # a global batch of 5 real samples on 2 ranks: this rank's 2 real ones count 2 / 2.5
    loss = _batch_loss(logits, y, None, keep, 2.5)
    torch.testing.assert_close(loss, per[:2].sum() / 2.5)
    w = torch.tensor([2.0, 0.5])
    torch.testing.assert_close(_batch_loss(logits, y, w, keep, 2.5),
                               (per * w[y])[:2].sum() / 2.5)
    torch.testing.assert_close(_batch_loss(logits, y, None, None, 1.5), per.mean())


# -- collectives on a one-rank gloo group ------------------------------------------------------

def test_collectives_on_one_rank(one_rank_group, monkeypatch):
    assert D.is_distributed() and D.world() == (0, 1)
    monkeypatch.setattr(D, "GATHER_ELEMENTS", 6)  # several messages of 3 rows of 2
    values = torch.arange(14, dtype=torch.float64).view(7, 2)
    order = np.array([6, 0, 5, 1, 4, 2, 3])
    out = D.gather_by_index(order, values, 7)
    assert torch.equal(out[order], values)
    with pytest.raises(ValueError, match=r"1 missing"):
        D.gather_by_index(order[:-1], values[:-1], 7)
    assert D.broadcast_object([1, "a"]) == [1, "a"]
    assert D.all_gather_object("x") == ["x"]
    assert D.run_on_main(len, "abc") == 3
    with pytest.raises(ZeroDivisionError):
        D.run_on_main(lambda: 1 / 0)


def test_distributed_predictions_and_training_equal_local_ones(one_rank_group, tmp_path):
    ds = tiny_set(23, 3)
    torch.manual_seed(0)
    model = build_model("mlp", num_classes=3, in_channels=1, input_size=(4,), hidden=(5,))
    np.testing.assert_array_equal(predict_logits(model, ds, batch_size=4),
                                  predict_logits(model, ds, batch_size=4, distributed=True))
    result = train(model, ds, TrainConfig(epochs=2, batch_size=4), val_set=ds, progress=False,
                   checkpoint_dir=tmp_path)
    assert len(result.history) == 2 and (tmp_path / "checkpoint.pt").exists()


def test_inference_is_local_unless_asked_even_in_a_distributed_run(one_rank_group,
                                                                     monkeypatch):
    """``if rank == 0: evaluate(...)`` must not wait for the other ranks: by default no
    collective is made; ``distributed=True`` gathers (here: a one-rank group)."""
    ds = tiny_set(9, 3)
    model = build_model("mlp", num_classes=3, in_channels=1, input_size=(4,), hidden=(5,))
    gathered = []
    real_gather = I.gather_by_index

    def counting_gather(indices, values, n):
        gathered.append(n)
        return real_gather(indices, values, n)

    monkeypatch.setattr(I, "gather_by_index", counting_gather)
    logits = predict_logits(model, ds)
    evaluate(model, ds)
    I.model_outputs(model, ds)
    assert gathered == []
    np.testing.assert_array_equal(predict_logits(model, ds, distributed=True), logits)
    evaluate(model, ds, distributed=True)
    I.model_outputs(model, ds, distributed=True)
    assert gathered == [9, 9, 9, 9]  # predict, evaluate, embeddings + logits
