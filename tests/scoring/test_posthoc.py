"""Post-hoc scorers: EL2N, last-layer GraNd (closed form vs autograd), prototypes, k-center,
random — values on hand-made cases, orientation, eval mode, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from droprune import select_global
from droprune.scoring import (
    el2n_from_logits,
    grand_last_layer_from_outputs,
    kcenter_order_scores,
    posthoc_scores,
    prototype_distances,
)
from droprune.training.inference import model_outputs
from droprune.scoring.geometry import kcenter_selection
from droprune.scoring.posthoc import random_scores
from .scoring_nets import TinyCNN, TinyMLP, image_dataset, randomize_bn, signal_dataset


def score(name, model, data, **kwargs):
    """One post-hoc score of a model, through the registry (the one way to score a model)."""
    options = kwargs.pop("options", None)
    return posthoc_scores([name], model, data, options=options, **kwargs)[name]


# -- EL2N ------------------------------------------------------------------------------------
def test_el2n_hand_values_and_orientation():
    logits = np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    s = el2n_from_logits(logits, [0, 0, 0])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = np.linalg.norm(p - np.array([1.0, 0.0, 0.0]), axis=1)
    np.testing.assert_allclose(s, expected, rtol=1e-12)
    assert s[1] > s[2] > s[0]  # wrong > unsure > right
    assert s.dtype == np.float64


def test_el2n_scores_uses_eval_mode_and_restores_flags():
    data = image_dataset()
    model = randomize_bn(TinyCNN())
    model.train()
    model.body[1].eval()  # a mixed state must come back as it was
    with torch.no_grad():
        model.eval()
        expected = el2n_from_logits(model(data.to_float(data.inputs)), data.labels)
        model.train()
        model.body[1].eval()
    np.testing.assert_allclose(score("el2n", model, data, batch_size=5), expected, rtol=1e-5)
    assert model.training and not model.body[1].training


def test_el2n_errors():
    with pytest.raises(ValueError, match=r"logits must be a float \(N, K\)"):
        el2n_from_logits([1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="rows"):
        el2n_from_logits(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="labels must be in"):
        el2n_from_logits(np.zeros((2, 2)), [0, 2])


# -- loss ------------------------------------------------------------------------------------
def test_loss_is_the_eval_mode_cross_entropy():
    data = image_dataset()
    model = randomize_bn(TinyCNN())
    model.train()
    with torch.no_grad():
        model.eval()
        logits = model(data.to_float(data.inputs))
        model.train()
    expected = F.cross_entropy(logits.double(), torch.from_numpy(data.labels),
                               reduction="none").numpy()
    got = score("loss", model, data, batch_size=5)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert model.training
    other = score("loss", TinyMLP(in_features=10), signal_dataset(4, length=10))
    assert other.dtype == np.float64 and other.shape == (4,) and (other > 0).all()


def test_loss_orientation():
    from types import SimpleNamespace

    from droprune.scoring.posthoc import score_loss

    inputs = SimpleNamespace(logits=torch.tensor([[5.0, 0.0], [0.0, 0.0], [0.0, 5.0]]),
                             labels=np.array([0, 0, 0]))
    s = score_loss(inputs)
    assert s[2] > s[1] > s[0]  # wrong > unsure > right


# -- last-layer GraNd ------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_grand_last_layer_equals_autograd(bias):
    data = signal_dataset(12, length=10)
    torch.manual_seed(0)
    model = TinyMLP(in_features=10, num_classes=3)
    if not bias:
        model.classifier = torch.nn.Linear(16, 3, bias=False)
    scores = score("grand_last_layer", model, data, batch_size=5)
    x = data.to_float(data.inputs)
    expected = []
    for i in range(len(data)):
        h = model.features(x[i:i + 1]).detach()
        loss = F.cross_entropy(model.classifier(h), torch.tensor(data.labels[i:i + 1]))
        grads = torch.autograd.grad(loss, list(model.classifier.parameters()))
        expected.append(math.sqrt(sum(float(g.pow(2).sum()) for g in grads)))
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_grand_last_layer_hand_value():
    # p = (1/2, 1/2), y = class 0: ||p - y|| = 1/sqrt(2); h = (1, 2): sqrt(1 + 4 + 1)
    s = grand_last_layer_from_outputs([[1.0, 2.0]], [[0.0, 0.0]], [0])
    assert s[0] == pytest.approx(math.sqrt(6) / math.sqrt(2))
    s = grand_last_layer_from_outputs([[1.0, 2.0]], [[0.0, 0.0]], [0], bias=False)
    assert s[0] == pytest.approx(math.sqrt(5) / math.sqrt(2))


# -- model outputs ---------------------------------------------------------------------------
def test_model_outputs_shapes_and_subset():
    data = signal_dataset(9, length=10)
    model = TinyMLP(in_features=10)
    emb, logits = model_outputs(model, data, batch_size=4)
    assert emb.shape == (9, 16) and logits.shape == (9, 3)
    emb2, _ = model_outputs(model, data, indices=np.array([8, 0]))
    torch.testing.assert_close(emb2, emb[[8, 0]])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model_outputs(model, data, batch_size=0)
    # any module: the input of its last nn.Linear must be (batch, D), else embed= is needed
    with pytest.raises(ValueError, match=r"has shape \(9, 1, 10\), not \(batch, D\): pass embed="):
        model_outputs(torch.nn.Linear(10, 3), data)
    with pytest.raises(ValueError, match="Flatten has no nn.Linear layer .*: pass embed="):
        model_outputs(torch.nn.Flatten(), data)


# -- prototypes ------------------------------------------------------------------------------
def test_prototype_distances_euclidean_hand_made():
    emb = [[0.0, 0.0], [2.0, 0.0], [1.0, 3.0], [10.0, 10.0], [12.0, 10.0]]
    d = prototype_distances(emb, [0, 0, 0, 1, 1])
    # class 0 mean (1, 1): distances sqrt(2), sqrt(2), 2; class 1 mean (11, 10): 1, 1
    np.testing.assert_allclose(d, [math.sqrt(2), math.sqrt(2), 2.0, 1.0, 1.0])
    assert d[2] > d[0]  # the atypical sample is harder (kept first)


def test_prototype_distances_cosine():
    emb = [[1.0, 0.0], [0.0, 1.0], [5.0, 0.0]]
    d = prototype_distances(emb, [0, 0, 1], metric="cosine")
    # class 0 mean direction (1, 1)/sqrt(2): cosine 1/sqrt(2) for both
    np.testing.assert_allclose(d, [1 - 1 / math.sqrt(2), 1 - 1 / math.sqrt(2), 0.0], atol=1e-12)


def test_prototype_scores_with_a_model():
    data = signal_dataset(12, length=10)
    model = TinyMLP(in_features=10)
    emb, _ = model_outputs(model, data)
    np.testing.assert_allclose(score("ssp", model, data),
                               prototype_distances(emb, data.labels), rtol=1e-12)
    np.testing.assert_allclose(score("ssp", model, data, options={"ssp": {"metric": "cosine"}}),
                               prototype_distances(emb, data.labels, metric="cosine"),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="metric must be one of"):
        score("ssp", model, data, options={"ssp": {"metric": "manhattan"}})


def test_prototype_errors():
    with pytest.raises(ValueError, match="rows"):
        prototype_distances(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="NaN or infinite"):
        prototype_distances([[np.nan, 0.0]], [0])


# -- k-center --------------------------------------------------------------------------------
def brute_force_kcenter(x: np.ndarray, k: int, first: int) -> list[int]:
    chosen = [first]
    while len(chosen) < k:
        d = np.min(np.linalg.norm(x[:, None, :] - x[chosen][None], axis=2), axis=1)
        d[chosen] = -1
        chosen.append(int(np.argmax(d)))
    return chosen


def test_kcenter_picks_the_far_point_after_the_start():
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [0.05, 0.05]])
    order = kcenter_selection(x, 2, seed=0)
    first = int(np.random.default_rng(0).integers(5))
    assert order[0] == first
    assert order[1] == (3 if first != 3 else 1)


def test_kcenter_matches_brute_force_and_is_deterministic():
    x = np.random.default_rng(1).normal(size=(40, 3))
    order = kcenter_selection(x, 40, seed=5)
    assert sorted(order.tolist()) == list(range(40))
    first = int(np.random.default_rng(5).integers(40))
    assert order.tolist() == brute_force_kcenter(x, 40, first)
    np.testing.assert_array_equal(order, kcenter_selection(x, 40, seed=5))


def test_kcenter_duplicates_never_picked_twice():
    x = np.zeros((6, 2))
    x[3] = [1.0, 1.0]
    order = kcenter_selection(x, 6, seed=0)
    assert sorted(order.tolist()) == list(range(6))


def test_kcenter_scores_top_k_is_the_greedy_solution():
    x = np.random.default_rng(2).normal(size=(30, 4))
    scores = kcenter_order_scores(x, seed=3)
    assert sorted(scores.tolist()) == list(range(1, 31))
    for k in (1, 5, 17):
        kept = select_global(scores, k / 30)
        np.testing.assert_array_equal(kept, np.sort(kcenter_selection(x, k, seed=3)))


def test_kcenter_scores_with_budget_rank_the_rest_by_distance():
    x = np.array([[0.0], [1.0], [2.0], [7.0], [9.0]])
    scores = kcenter_order_scores(x, budget=2, seed=0)
    order = kcenter_selection(x, 2, seed=0)
    assert scores[order[0]] == 5 and scores[order[1]] == 4
    rest = [i for i in range(5) if i not in order]
    dist = np.min(np.abs(x[rest] - x[order].T), axis=1)
    assert [scores[i] for i in np.array(rest)[np.argsort(-dist, kind="stable")]] == [3, 2, 1]
    np.testing.assert_array_equal(kcenter_order_scores(x, budget=0.4, seed=0), scores)


def test_kcenter_scores_with_a_model():
    data = signal_dataset(10, length=10)
    model = TinyMLP(in_features=10)
    emb, _ = model_outputs(model, data)
    np.testing.assert_array_equal(score("kcenter", model, data, seed=1),
                                  kcenter_order_scores(emb, seed=1))
    np.testing.assert_array_equal(
        score("kcenter", model, data, seed=1, options={"kcenter": {"budget": 3}}),
        kcenter_order_scores(emb, seed=1, budget=3))


def test_kcenter_errors():
    with pytest.raises(ValueError, match="k must be an integer in"):
        kcenter_selection(np.zeros((3, 2)), 4)
    with pytest.raises(ValueError, match="budget must be"):
        kcenter_order_scores(np.zeros((3, 2)), budget=1.5)
    assert kcenter_selection(np.zeros((3, 2)), 0).size == 0


# -- random ----------------------------------------------------------------------------------
def test_random_scores():
    a, b = random_scores(100, seed=4), random_scores(100, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, random_scores(100, seed=5))
    assert a.dtype == np.float64 and ((a >= 0) & (a < 1)).all()
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        random_scores(-1)
    data = signal_dataset(7, length=10)
    np.testing.assert_array_equal(score("random", TinyMLP(in_features=10), data, seed=4),
                                  random_scores(7, seed=4))
