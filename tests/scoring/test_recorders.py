"""Training-dynamics recorders: hand-computed values, orientation, conventions, missing
presentations, resume through state_dict, distributed sums, and the real trainer."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from droprune.data.base import LabelledDataset
from droprune.models import build_model
from droprune.scoring import (
    AUMRecorder,
    DynamicUncertaintyRecorder,
    EL2NTraceRecorder,
    ForgettingRecorder,
)
from droprune.scoring.recorders import batch_correct, batch_el2n, batch_margin
from droprune.training import Recorder, TrainConfig, train


def logits_for(correct: list[bool], num_classes: int = 2) -> torch.Tensor:
    """Logits predicting class 0 where ``correct`` (labels are all 0), class 1 elsewhere."""
    z = torch.zeros(len(correct), num_classes)
    for i, c in enumerate(correct):
        z[i, 0 if c else 1] = 3.0
    return z


def feed(rec: Recorder, epochs: list[list[bool]], indices: list[list[int]] | None = None,
         n: int | None = None) -> Recorder:
    """Run ``rec`` through epochs of correctness patterns (labels 0)."""
    n = n or len(epochs[0])
    rec.on_train_begin(n, 2, len(epochs), "cpu")
    for e, pattern in enumerate(epochs):
        idx = list(range(len(pattern))) if indices is None else indices[e]
        rec.on_batch(e, torch.tensor(idx), logits_for(pattern), torch.zeros(len(idx),
                                                                             dtype=torch.long))
        rec.on_epoch_end(e)
    return rec


# -- forgetting ------------------------------------------------------------------------------
def test_forgetting_counts_correct_to_wrong_transitions():
    # sample 0: C W C W -> 2 events; sample 1: C C C C -> 0; sample 2: W C W W -> 1
    # sample 3: W W W W -> never learned
    pattern = [[True, True, False, False], [False, True, True, False],
               [True, True, False, False], [False, True, False, False]]
    rec = feed(ForgettingRecorder(), pattern)
    assert rec.counts.tolist() == [2, 0, 1, 0]
    assert rec.never_learned_mask.tolist() == [False, False, False, True]
    scores = rec.scores()
    assert scores.dtype == np.float64
    # default "max": one more than the most forgotten learned sample -> kept first
    assert scores.tolist() == [2.0, 0.0, 1.0, 3.0]


@pytest.mark.parametrize("convention, expected", [("max", 3.0), ("epochs", 4.0), ("zero", 0.0)])
def test_forgetting_never_learned_conventions(convention, expected):
    pattern = [[True, False], [False, False], [True, False], [False, False]]
    rec = feed(ForgettingRecorder(never_learned=convention),
               [[p[0], p[1], True] for p in pattern])
    # sample 0 forgotten twice; sample 2 always correct
    assert rec.scores()[0] == 2.0 and rec.scores()[2] == 0.0
    assert rec.scores()[1] == expected


def test_forgetting_all_never_learned_max_is_one():
    rec = feed(ForgettingRecorder(), [[False, False]] * 3)
    assert rec.scores().tolist() == [1.0, 1.0]


def test_forgetting_compares_consecutive_presentations_across_missing_epochs():
    # sample 0 correct at epoch 0, absent at epoch 1, wrong at epoch 2 -> one event
    # sample 1 never presented -> NaN
    rec = feed(ForgettingRecorder(), [[True], [True], [False]],
               indices=[[0], [2], [0]], n=3)
    scores = rec.scores()
    assert scores[0] == 1.0
    assert math.isnan(scores[1])
    assert scores[2] == 0.0


def test_forgetting_bad_convention():
    with pytest.raises(ValueError, match="never_learned must be one of"):
        ForgettingRecorder(never_learned="inf")


# -- dynamic uncertainty --------------------------------------------------------------------
def prob_logits(p: list[float]) -> torch.Tensor:
    """Two-class logits whose softmax gives class 0 probability ``p``."""
    pt = torch.tensor(p, dtype=torch.float64)
    return torch.stack([pt.log(), (1 - pt).log()], 1).float()


def feed_probs(rec: Recorder, probs: np.ndarray) -> Recorder:
    """probs: (E, N) true-class (class 0) probabilities."""
    e_count, n = probs.shape
    rec.on_train_begin(n, 2, e_count, "cpu")
    for e in range(e_count):
        rec.on_batch(e, torch.arange(n), prob_logits(list(probs[e])),
                     torch.zeros(n, dtype=torch.long))
        rec.on_epoch_end(e)
    return rec


def test_dynunc_hand_computed_window_two():
    # J = 2: windows (0.2, 0.6) std = 0.4/sqrt(2); (0.6, 0.6) std 0; (0.6, 1.0) 0.4/sqrt(2)
    probs = np.array([[0.2], [0.6], [0.6], [0.9]])
    rec = feed_probs(DynamicUncertaintyRecorder(window=2), probs)
    expected = (0.4 / math.sqrt(2) + 0.0 + 0.3 / math.sqrt(2)) / 3
    assert rec.scores()[0] == pytest.approx(expected, rel=1e-5)


def test_dynunc_matches_direct_formula_and_orientation():
    rng = np.random.default_rng(0)
    probs = np.clip(rng.random((7, 5)), 0.05, 0.95)
    probs[:, 0] = 0.5  # constant prediction: no uncertainty
    j = 3
    rec = feed_probs(DynamicUncertaintyRecorder(window=j), probs)
    expected = np.mean([probs[k:k + j].std(axis=0, ddof=1) for k in range(7 - j + 1)], axis=0)
    np.testing.assert_allclose(rec.scores(), expected, rtol=1e-5, atol=1e-7)
    assert rec.scores()[0] == pytest.approx(0.0, abs=1e-6)
    assert rec.scores()[1:].min() > rec.scores()[0]


def test_dynunc_fewer_epochs_than_window_uses_one_short_window():
    probs = np.array([[0.1, 0.5], [0.5, 0.5], [0.3, 0.5]])
    rec = feed_probs(DynamicUncertaintyRecorder(window=10), probs)
    np.testing.assert_allclose(rec.scores(), [np.std([0.1, 0.5, 0.3], ddof=1), 0.0],
                               rtol=1e-5, atol=1e-7)


def test_dynunc_single_presentation_zero_never_presented_nan():
    rec = DynamicUncertaintyRecorder(window=2)
    rec.on_train_begin(3, 2, 1, "cpu")
    rec.on_batch(0, torch.tensor([0]), prob_logits([0.3]), torch.tensor([0]))
    rec.on_epoch_end(0)
    scores = rec.scores()
    assert scores[0] == 0.0
    assert np.isnan(scores[1:]).all()


def test_dynunc_window_slides_over_the_samples_own_presentations():
    # sample 0 presented at epochs 0, 2, 3 (absent at 1): windows over (0.2, 0.8), (0.8, 0.8)
    rec = DynamicUncertaintyRecorder(window=2)
    rec.on_train_begin(1, 2, 4, "cpu")
    for e, p in enumerate([0.2, None, 0.8, 0.8]):
        if p is not None:
            rec.on_batch(e, torch.tensor([0]), prob_logits([p]), torch.tensor([0]))
        rec.on_epoch_end(e)
    assert rec.scores()[0] == pytest.approx((0.6 / math.sqrt(2) + 0.0) / 2, rel=1e-5)


@pytest.mark.parametrize("window", [1, 0, 2.5, True])
def test_dynunc_bad_window(window):
    with pytest.raises(ValueError, match="window must be an integer >= 2"):
        DynamicUncertaintyRecorder(window=window)


# -- traces ----------------------------------------------------------------------------------
def test_el2n_trace_values_mean_last_and_missing():
    logits = [torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 0.0], [5.0, 0.0]])]
    labels = torch.tensor([0, 0])
    rec, last = EL2NTraceRecorder(), EL2NTraceRecorder(reduce="last")
    for r in (rec, last):
        r.on_train_begin(3, 2, 2, "cpu")
        for e, z in enumerate(logits):
            r.on_batch(e, torch.tensor([0, 1]), z, labels)
            r.on_epoch_end(e)
    p = torch.softmax(torch.stack(logits), dim=2)  # (E, N, K)
    expected = torch.linalg.vector_norm(p - torch.tensor([1.0, 0.0]), dim=2).numpy()
    trace = rec.trace
    assert trace.shape == (2, 3)
    np.testing.assert_allclose(trace[:, :2], expected, rtol=1e-6)
    assert np.isnan(trace[:, 2]).all()
    np.testing.assert_allclose(rec.scores()[:2], expected.mean(0), rtol=1e-6)
    np.testing.assert_allclose(last.scores()[:2], expected[1], rtol=1e-6)
    assert np.isnan(rec.scores()[2]) and np.isnan(last.scores()[2])
    # a wrongly classified sample scores higher than a confidently right one
    assert trace[0, 1] > trace[0, 0] and trace[1, 0] > trace[1, 1]


def test_el2n_trace_last_takes_the_last_presentation():
    rec = EL2NTraceRecorder(reduce="last")
    rec.on_train_begin(1, 2, 3, "cpu")
    for e, z in enumerate([[0.0, 3.0], [1.0, 0.0], None]):
        if z is not None:
            rec.on_batch(e, torch.tensor([0]), torch.tensor([z]), torch.tensor([0]))
        rec.on_epoch_end(e)
    assert rec.scores()[0] == pytest.approx(float(batch_el2n(torch.tensor([[1.0, 0.0]]),
                                                             torch.tensor([0]))[0]))


def test_trace_grows_beyond_announced_epochs():
    rec = EL2NTraceRecorder()
    rec.on_train_begin(2, 2, 1, "cpu")
    for e in range(3):
        rec.on_batch(e, torch.tensor([0, 1]), torch.zeros(2, 2), torch.tensor([0, 1]))
        rec.on_epoch_end(e)
    assert rec.trace.shape == (3, 2)


def test_aum_sign_and_values():
    # sample 0 confidently right (margin +3, +1): AUM 2 -> score -2
    # sample 1 wrong (margin -2, -4): AUM -3 -> score +3 (harder, kept first)
    logits = [torch.tensor([[3.0, 0.0, -1.0], [0.0, 2.0, 0.0]]),
              torch.tensor([[1.0, 0.0, 0.0], [-1.0, 3.0, 0.0]])]
    rec = AUMRecorder()
    rec.on_train_begin(2, 3, 2, "cpu")
    for e, z in enumerate(logits):
        rec.on_batch(e, torch.tensor([0, 1]), z, torch.tensor([0, 0]))
        rec.on_epoch_end(e)
    np.testing.assert_allclose(rec.trace, [[3.0, -2.0], [1.0, -4.0]])
    np.testing.assert_allclose(rec.scores(), [-2.0, 3.0])
    assert rec.scores()[1] > rec.scores()[0]


def test_correct_means_strictly_largest_true_logit():
    z = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, 2.0]])
    assert batch_correct(z, torch.tensor([0, 0, 0])).tolist() == [0.0, 1.0, 0.0]


def test_flushing_every_batch_or_once_gives_the_same_values():
    run = random_run()
    bulk = play(all_recorders(), run)
    eager = all_recorders()
    for r in eager:
        r.flush_elements = 1
    play(eager, run)
    for a, b in zip(bulk, eager):
        np.testing.assert_array_equal(a.scores(), b.scores())


def test_batch_margin_uses_largest_other_logit():
    z = torch.tensor([[1.0, 5.0, 2.0]])
    assert batch_margin(z, torch.tensor([2])).tolist() == [-3.0]
    assert batch_margin(z, torch.tensor([1])).tolist() == [3.0]


def test_repeated_presentation_in_an_epoch_is_averaged():
    rec = AUMRecorder()
    rec.on_train_begin(1, 2, 1, "cpu")
    rec.on_batch(0, torch.tensor([0, 0]), torch.tensor([[2.0, 0.0], [0.0, 0.0]]),
                 torch.tensor([0, 0]))
    rec.on_epoch_end(0)
    assert rec.trace[0, 0] == pytest.approx(1.0)


# -- state, resume, distributed -------------------------------------------------------------
def all_recorders() -> list[Recorder]:
    return [ForgettingRecorder(), DynamicUncertaintyRecorder(window=3), EL2NTraceRecorder(),
            AUMRecorder()]


def random_run(n: int = 30, k: int = 4, epochs: int = 6, seed: int = 0):
    """Epochs of shuffled batches with random logits: list of (epoch, [(idx, logits, y)])."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    run = []
    for e in range(epochs):
        order = torch.randperm(n, generator=g)
        batches = [(idx, torch.randn(idx.numel(), k, generator=g) * 2, y[idx])
                   for idx in order.split(7)]
        run.append((e, batches))
    return run


def play(recorders, run, epochs=None, begin=True, n=30, k=4):
    if begin:
        for r in recorders:
            r.on_train_begin(n, k, len(run), "cpu")
    for e, batches in run[:epochs]:
        for idx, z, y in batches:
            for r in recorders:
                r.on_batch(e, idx, z, y)
        for r in recorders:
            r.on_epoch_end(e)
    return recorders


def roundtrip(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_resume_from_state_dict_gives_identical_scores():
    run = random_run()
    straight = play(all_recorders(), run)
    first = play(all_recorders(), run[:4])
    states = [roundtrip(r.state_dict()) for r in first]
    resumed = all_recorders()
    for r, s in zip(resumed, states):
        r.on_train_begin(30, 4, 6, "cpu")
        r.load_state_dict(s)
    play(resumed, run[4:], begin=False)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.scores(), b.scores())
    np.testing.assert_array_equal(straight[2].trace, resumed[2].trace)


def test_state_dict_in_the_middle_of_an_epoch_includes_pending_batches():
    run = random_run(epochs=2)
    straight = play(all_recorders(), run)
    first = all_recorders()
    for r in first:
        r.on_train_begin(30, 4, 2, "cpu")
    e, batches = run[0]
    for idx, z, y in batches[:2]:
        for r in first:
            r.on_batch(e, idx, z, y)
    states = [roundtrip(r.state_dict()) for r in first]
    resumed = all_recorders()
    for r, s in zip(resumed, states):
        r.on_train_begin(30, 4, 2, "cpu")
        r.load_state_dict(s)
    for idx, z, y in batches[2:]:
        for r in resumed:
            r.on_batch(e, idx, z, y)
    for r in resumed:
        r.on_epoch_end(e)
    play(resumed, run[1:], begin=False)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.scores(), b.scores())


def test_load_state_dict_refuses_another_recorder_or_size():
    forgetting = play([ForgettingRecorder()], random_run(epochs=1))[0]
    other = AUMRecorder()
    other.on_train_begin(30, 4, 1, "cpu")
    with pytest.raises(ValueError, match="state does not match"):
        other.load_state_dict(forgetting.state_dict())
    small = ForgettingRecorder()
    small.on_train_begin(10, 4, 1, "cpu")
    with pytest.raises(ValueError, match="does not fit"):
        small.load_state_dict(forgetting.state_dict())
    wide = DynamicUncertaintyRecorder(window=4)
    wide.on_train_begin(30, 4, 1, "cpu")
    narrow = play([DynamicUncertaintyRecorder(window=3)], random_run(epochs=1))[0]
    with pytest.raises(ValueError, match="does not fit"):
        wide.load_state_dict(narrow.state_dict())


def test_distributed_sum_of_two_ranks_equals_one_process():
    run = random_run(epochs=5)
    single = play(all_recorders(), run)
    ranks = [all_recorders(), all_recorders()]
    for rs in ranks:
        for r in rs:
            r.on_train_begin(30, 4, 5, "cpu")
    for e, batches in run:
        for b, (idx, z, y) in enumerate(batches):  # batches alternate between two ranks
            for r in ranks[b % 2]:
                r.on_batch(e, idx, z, y)
        for r0, r1 in zip(*ranks):
            summed = [a + b for a, b in zip(r0.epoch_buffers(), r1.epoch_buffers())]
            for r in (r0, r1):
                it = iter(summed)
                r.synchronize(lambda buf: buf.copy_(next(it)))
                r.on_epoch_end(e)
    for a, r0, r1 in zip(single, *ranks):
        np.testing.assert_array_equal(a.scores(), r0.scores())
        np.testing.assert_array_equal(a.scores(), r1.scores())


def test_misuse_errors():
    rec = ForgettingRecorder()
    with pytest.raises(RuntimeError, match="before on_train_begin"):
        rec.on_batch(0, torch.tensor([0]), torch.zeros(1, 2), torch.tensor([0]))
    rec.on_train_begin(2, 2, 1, "cpu")
    with pytest.raises(RuntimeError, match="no epoch recorded"):
        rec.scores()
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        AUMRecorder().on_train_begin(0, 2, 1, "cpu")
    with pytest.raises(ValueError, match="reduce must be"):
        EL2NTraceRecorder(reduce="max")


# -- with the real trainer ------------------------------------------------------------------
class Interrupt(Recorder):
    """Raises in the given epoch while armed (simulates a killed run)."""

    name = "interrupt"

    def __init__(self, epoch: int | None) -> None:
        self.epoch = epoch

    def on_batch(self, epoch, indices, logits, labels):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def signal_set(n: int = 48, seed: int = 0) -> LabelledDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 12, generator=g)
    y = (x[:, 0, :6].sum(1) > 0).long().numpy() + 2 * (x[:, 0, 6:].sum(1) > 0).long().numpy()
    return LabelledDataset(x, y, 4, name="rec-signals")


def test_trainer_feeds_all_recorders_and_resume_is_identical(tmp_path):
    data = signal_set()
    config = TrainConfig(epochs=4, batch_size=16, lr=0.05)

    def run(interrupt_at, ckpt):
        torch.manual_seed(0)
        model = build_model("mlp", num_classes=4, in_channels=1, input_size=(12,), hidden=(16,))
        recs = all_recorders() + [Interrupt(interrupt_at)]
        train(model, data, config, seed=3, recorders=recs, checkpoint_dir=ckpt, progress=False)
        return recs

    straight = run(None, tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(2, tmp_path / "b")
    resumed = run(None, tmp_path / "b")
    for a, b in zip(straight[:4], resumed[:4]):
        np.testing.assert_array_equal(a.scores(), b.scores())
    assert straight[2].trace.shape == (4, 48)
    assert np.isfinite(straight[2].trace).all()
    assert all(np.isfinite(r.scores()).all() for r in straight[:4])
