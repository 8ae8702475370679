"""The choices of issue #21 where droprune differed from the DRoP reference code: score ties, the
kept total, the number of fixed query models, CIFAR's translation, and the reference stretch on
ImageNet. ``protocol = "reference"`` takes the reference code's value, the option alone
switches it, and the ``paper`` and ``legacy`` profiles (and so their run ids) are unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune import select, select_global
from droprune.experiments.config import PROTOCOLS, ExperimentConfig
from droprune.experiments.methods import parse_method
from droprune.experiments.pipeline import (QueryOutputs, final_train_config, kept_density,
                                           plan_runs, query_train_config, reference_kept,
                                           select_indices)
from droprune.experiments.presets import PRESETS
from droprune.experiments.sweep import query_seeds
from droprune.training import TrainConfig
from droprune.training.augment import augment_batch

NEW = {"score_ties": ("random", "highest_index"), "kept_total": ("round", "reference"),
       "fixed_query_models": (1, 5), "cifar_augment": ("crop", "affine")}

# the profiles before these choices existed (commit of issue #21)
PAPER_BEFORE = {
    "drop_mode": "density", "quota_rounding": "largest_remainder", "stretch_rounding": "exact",
    "query_augment": False, "recall_source": "scorer", "ssp_query": "fixed",
    "fixed_query_epochs": 16, "val_split": "first", "init": "kaiming", "vgg_bn_momentum": 0.01,
    "resnet50": "v1", "cdbw_loss": "raw", "forgetting.never_learned": "zero",
    "dynunc.window_mode": "paper", "kcenter.start": "mean", "coreset_scores": "binary"}
LEGACY_BEFORE = {
    "drop_mode": "density", "quota_rounding": "largest_remainder", "stretch_rounding": "exact",
    "query_augment": True, "recall_source": "short", "ssp_query": "long",
    "fixed_query_epochs": 16, "val_split": "random", "init": "kaiming", "vgg_bn_momentum": 0.1,
    "resnet50": "v1.5", "cdbw_loss": "mean1", "forgetting.never_learned": "max",
    "dynunc.window_mode": "paper", "kcenter.start": "random", "coreset_scores": "order"}

# final fingerprint and the first run id of each preset, computed at the commit before
RUN_IDS = {
    "cifar10-vgg16/legacy": ("3b42c560b3bb2bfa", "3aaa69936cb845458ad0"),
    "cifar10-vgg16/paper": ("738b44b77c364d4e", "4f3c1c58ef3d6762e8a1"),
    "cifar100-vgg19/legacy": ("fc35571a260c55c5", "2512f8f3043ef46799b4"),
    "cifar100-vgg19/paper": ("f19f636749316692", "1994d1485ccbeae48fa2"),
    "fashion-mnist-lenet5/legacy": ("a13bb691c5ef720c", "4add9e81b6b842f74c97"),
    "fashion-mnist-lenet5/paper": ("f9d65b5d686aa19c", "0bef838c00d5fb9780c1"),
    "fashion-mnist-mlp/legacy": ("ec408e678c14a337", "4806b7ee9c8a69016bc1"),
    "fashion-mnist-mlp/paper": ("12d9c6e0feeac3f8", "e318551ff6121dc8b2d5"),
    "imagenet-resnet50/legacy": ("d25eec29589a0327", "7bc62bc84159e05a5596"),
    "imagenet-resnet50/paper": ("d0d1806603303699", "9eed9ccb135a065438b5"),
    "mnist1d-cpu/legacy": ("7d0df87004482692", "0e7476db521fd21316d4"),
    "mnist1d-cpu/paper": ("a30fd705cc124c21", "5653bb52c705389179d6"),
    "tinyimagenet-resnet18/legacy": ("c17d6745f505cce0", "711defb2cd0cd1fbbc1e"),
    "tinyimagenet-resnet18/paper": ("754a84c8dd6041fd", "399f5f889e1bbbdcd89b"),
    "waterbirds-resnet50/legacy": ("25c3af7d8c0f9f00", "827ea075fdae3e8b9c0b"),
    "waterbirds-resnet50/paper": ("a0e181fc21d9571e", "566a4ca409d8cfd8747f"),
}

IMAGENET_N = 1281167  # ImageNet-1k's training images


def _preset(name: str, protocol: str, **options) -> ExperimentConfig:
    cfg = PRESETS[name].model_copy(update={"protocol": protocol})
    if options:
        cfg = ExperimentConfig.model_validate({**cfg.to_dict(), "protocol_options": options})
    return cfg


def test_paper_and_legacy_profiles_are_unchanged():
    for profile, before in (("paper", PAPER_BEFORE), ("legacy", LEGACY_BEFORE)):
        now = PROTOCOLS[profile]
        assert {k: now[k] for k in before} == before
        assert {k: now[k] for k in NEW} == {k: v[0] for k, v in NEW.items()}
    assert {k: PROTOCOLS["reference"][k] for k in NEW} == {k: v[1] for k, v in NEW.items()}


@pytest.mark.parametrize("key", sorted(RUN_IDS))
def test_preset_run_ids_are_unchanged(key):
    name, profile = key.split("/")
    cfg = _preset(name, profile)
    assert (cfg.final_fingerprint(), plan_runs(cfg)[0].run_id(cfg)) == RUN_IDS[key]


def test_new_choices_change_the_reference_fingerprint_only_when_they_apply():
    base = _preset("cifar10-vgg16", "paper")
    for key, (_, ref) in NEW.items():
        assert _preset("cifar10-vgg16", "paper", **{key: ref}).final_fingerprint() \
            != base.final_fingerprint(), key
    # fashion-mnist is not augmented by translation: cifar_augment cannot matter there
    fm = _preset("fashion-mnist-mlp", "paper")
    assert _preset("fashion-mnist-mlp", "paper", cifar_augment="affine").final_fingerprint() \
        == fm.final_fingerprint()


# -- ties -------------------------------------------------------------------------------------

def test_ties_highest_index_like_the_reference_sort():
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.5, 2.0])
    # the reference: sorted(range(N), key=score) ascending (stable), keep the last k
    ref = sorted(sorted(range(6), key=lambda i: scores[i])[-3:])
    assert select_global(scores, 0.5, ties="highest_index").tolist() == ref == [2, 3, 5]
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert select(labels, [1, 1], scores=scores, ties="highest_index").tolist() == [2, 5]
    with pytest.raises(ValueError, match="ties"):
        select_global(scores, 0.5, ties="lowest")


def test_ties_random_is_the_default_and_seeded():
    scores = np.zeros(200)
    a = select_global(scores, 0.5, seed=3)
    assert a.tolist() == select_global(scores, 0.5, seed=3, ties="random").tolist()
    assert a.tolist() != list(range(100, 200))
    # without scores (Random) ties do not apply: the same random draw
    assert select_global(None, 0.3, n=50, seed=1, ties="highest_index").tolist() == \
        select_global(None, 0.3, n=50, seed=1).tolist()


def test_score_ties_choice_reaches_the_selection():
    labels = np.repeat([0, 1], 10)
    q = QueryOutputs(scores={"forgetting": np.zeros(20)}, val_recall=None)
    m = parse_method("Forgetting", strategies=("Forgetting",))
    kept = select_indices(m, 0.3, 0, labels, 2, q, ties="highest_index")
    assert kept.tolist() == [14, 15, 16, 17, 18, 19]
    assert _preset("mnist1d-cpu", "reference").choice("score_ties") == "highest_index"
    assert _preset("mnist1d-cpu", "paper", score_ties="highest_index").choice("score_ties") \
        == "highest_index"


# -- the kept total ---------------------------------------------------------------------------

def test_reference_kept_total_is_one_fewer_at_some_densities():
    for d, ref, rounded in ((0.1, 128116, 128117), (0.3, 384350, 384350),
                            (0.5, 640583, 640584), (0.7, 896816, 896817),
                            (0.9, 1153050, 1153050)):
        assert reference_kept(d, IMAGENET_N) == int(IMAGENET_N * (1 - (1 - d))) == ref
        assert round(d * IMAGENET_N) == rounded


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_kept_total_choice_sets_the_selection_size():
    labels = np.repeat(np.arange(10), 10)
    q = QueryOutputs(scores={}, val_recall=np.linspace(0.5, 0.9, 10))
    for name in ("Random", "Random+DRoP"):
        m = parse_method(name, strategies=())
        for d in (0.1, 0.3, 0.7, 0.9):
            ref = _preset("mnist1d-cpu", "reference")
            paper = _preset("mnist1d-cpu", "paper")
            n_ref = select_indices(m, kept_density(ref, d, 100), 0, labels, 10, q).size
            n_paper = select_indices(m, kept_density(paper, d, 100), 0, labels, 10, q).size
            assert n_ref == int(100 * (1 - (1 - d))), (name, d)
            assert n_paper == round(d * 100), (name, d)
    assert kept_density(_preset("mnist1d-cpu", "paper", kept_total="reference"), 0.1, 100) \
        == 0.09  # int(100 * (1 - 0.9)) = int(9.999999999999998)
    assert kept_density(_preset("mnist1d-cpu", "paper"), 0.1, 100) == 0.1


# -- the fixed query run: 5 models under reference ---------------------------------------------

def test_reference_trains_five_fixed_query_models_for_random_drop():
    ref = _preset("mnist1d-cpu", "reference").model_copy(update={"methods": ["Random+DRoP"]})
    assert ref.choice("recall_source") == "scorer"
    assert query_seeds(ref, 2)["fixed"] == [2800, 2801, 2802, 2803, 2804]
    paper = _preset("mnist1d-cpu", "paper")
    assert query_seeds(paper, 2)["fixed"] == [2800]  # as before: the same model
    assert query_seeds(_preset("mnist1d-cpu", "paper", fixed_query_models=3), 0)["fixed"] \
        == [800, 801, 802]
    with pytest.raises(ValueError):
        _preset("mnist1d-cpu", "paper", fixed_query_models=0)


# -- CIFAR's translation ----------------------------------------------------------------------

def test_cifar_affine_under_reference():
    ref = _preset("cifar10-vgg16", "reference")
    tc = final_train_config(ref, 1.0, cdbw=False)
    assert (tc.augment_pad, tc.augment_affine, tc.augment_flip) == (0, 0.15, True)
    paper = final_train_config(_preset("cifar10-vgg16", "paper"), 1.0, cdbw=False)
    assert (paper.augment_pad, paper.augment_affine) == (4, 0.0)
    # the query runs stay unaugmented without query_augment; TinyImageNet keeps its crop
    assert query_train_config(ref, kind="long").augment_affine == 0.0
    tiny = final_train_config(_preset("tinyimagenet-resnet18", "reference"), 1.0, cdbw=False)
    assert (tiny.augment_pad, tiny.augment_affine) == (4, 0.0)
    assert "augment_affine" not in paper.to_dict()


def test_affine_translation_matches_random_affine_shifts():
    x = torch.zeros(4000, 1, 32, 32)
    x[:, :, 16, 16] = 1  # one lit pixel: its new place gives the shift
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, pad=0, hflip=False, generator=g, affine_translate=0.15)
    flat = out.view(4000, -1).argmax(dim=1)
    dy, dx = flat // 32 - 16, flat % 32 - 16
    assert out.view(4000, -1).sum(dim=1).eq(1).all()
    # RandomAffine: round(U(-4.8, 4.8)): shifts -5..5, the ends half as likely as the others
    for d in (dy, dx):
        counts = torch.bincount(d + 5, minlength=11).double() / 4000
        assert d.min() == -5 and d.max() == 5
        assert abs(counts[0] - 0.3 / 9.6) < 0.015 and abs(counts[5] - 1 / 9.6) < 0.03
    with pytest.raises(ValueError):
        TrainConfig(epochs=1, augment_pad=4, augment_affine=0.15)


# -- the stretched schedule on ImageNet ---------------------------------------------------------

def _reference_epochs_correction(epochs, drops, kept, total):
    """The reference code's ``epochs_correction``, written out from its text."""
    coefficient = 0.5 + (1 - 0.5) * kept / total
    e = int(coefficient * (epochs * total / kept))
    return e, tuple(int(x * (e / epochs)) for x in drops)


@pytest.mark.parametrize("d", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_imagenet_reference_stretch_equals_the_reference_arithmetic(d):
    cfg = _preset("imagenet-resnet50", "reference")
    tc = final_train_config(cfg, d, cdbw=False, num_samples=IMAGENET_N)
    kept = int(IMAGENET_N * (1.0 - abs(d - 1.0)))  # the reference scheduler's select size
    expected = _reference_epochs_correction(cfg.train.epochs, cfg.train.drop_epochs, kept,
                                            IMAGENET_N)
    assert (tc.epochs, tc.drop_epochs) == expected


def test_imagenet_stretch_no_longer_one_epoch_short():
    cfg = _preset("imagenet-resnet50", "reference")
    for d in (0.1, 0.5):
        old = _reference_epochs_correction(90, (30, 60, 80), round(d * IMAGENET_N), IMAGENET_N)
        tc = final_train_config(cfg, d, cdbw=False, num_samples=IMAGENET_N)
        assert tc.epochs == old[0] + 1
