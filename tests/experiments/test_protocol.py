"""The protocol profiles: ``protocol="reference"`` switches every choice of docs/fidelity.md to
the DRoP reference code's, each choice can be set alone, and the fingerprints follow the
choices that matter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from droprune.data.splits import stratified_split
from droprune.experiments.config import PROTOCOLS, ExperimentConfig, load_config
from droprune.experiments.pipeline import (
    QueryOutputs,
    build_final_model,
    final_train_config,
    query_run_of,
    query_train_config,
    select_indices,
)
from droprune.experiments.methods import parse_method
from droprune.experiments.presets import PRESETS
from droprune.experiments.sweep import load_splits, query_plan
from droprune.quotas import drop_quotas
from droprune.scoring.recorders import DynamicUncertaintyRecorder, ForgettingRecorder
from droprune.scoring.store import load_query_result
from droprune.selection import select
from droprune.training.loop import _batch_loss

GAUSS = ['data.name=gaussian-mixture', 'data.options={"class_sizes": [6, 4], "dim": 3}']


def cfg_of(protocol, *overrides, source="mnist1d-cpu"):
    return load_config(source, [f"protocol={protocol}", *overrides])


def test_every_choice_has_a_value_in_every_profile():
    assert set(PROTOCOLS) == {"paper", "reference", "legacy"}
    keys = set(PROTOCOLS["legacy"])
    assert all(set(p) == keys for p in PROTOCOLS.values())
    # the reference profile differs from droprune's former behaviour in every row but two:
    # the fixed run's length, which did not exist before, and the reported epoch (the
    # reference code picks none: the last, as droprune)
    differ = {k for k in keys if PROTOCOLS["reference"][k] != PROTOCOLS["legacy"][k]}
    assert differ == keys - {"fixed_query_epochs", "report_epoch"}
    # the paper profile departs from the reference where the paper's text decides, and in
    # the five choices of issue #21 it keeps droprune's behaviour (and so its run ids)
    assert {k for k in keys if PROTOCOLS["paper"][k] != PROTOCOLS["reference"][k]} == {
        "drop_mode", "quota_rounding", "stretch_rounding", "init", "dynunc.window_mode",
        "score_ties", "kept_total", "fixed_query_models", "cifar_augment",
        "imagenet_transforms"}


def test_an_option_overrides_its_profile_alone():
    cfg = cfg_of("reference", "protocol_options.val_split=random")
    assert cfg.choice("val_split") == "random"
    assert cfg.choice("init") == "xavier"  # the others keep the profile's
    assert cfg_of("legacy", "protocol_options.init=xavier").choice("init") == "xavier"


@pytest.mark.parametrize("overrides, message", [
    (["protocol=nope"], "config: protocol: must be 'paper', 'reference' or 'legacy'"),
    (["protocol_options.nope=1"], "config: protocol_options.nope: unknown key; valid keys: "
                                  "query_augment, recall_source"),
    (["protocol_options.recall_source=long"], "config: protocol_options.recall_source: must "
                                              "be 'short' or 'scorer'"),
    (["protocol_options.fixed_query_epochs=0"], "config: protocol_options.fixed_query_epochs: "
                                                "must be an integer in [1, 100000]"),
    (["protocol_options.vgg_bn_momentum=0"], "config: protocol_options.vgg_bn_momentum: must "
                                             "be in (0, 1], got 0"),
    (["protocol_options.query_augment=1"], "config: protocol_options.query_augment: must be "
                                           "true or false"),
    (["protocol=reference", "query.scorer_options.dynunc.window=2"],
     "config: query.scorer_options: window must be an integer >= 3 with "
     "window_mode='reference'"),
    (["train.epochs=3", "train.cdbw_loss=raw"],
     "config: train.cdbw_loss: CDB-W's loss is a protocol choice"),
])
def test_bad_protocol_values_fail_in_one_line(overrides, message):
    with pytest.raises(ValueError) as exc:
        load_config(None, overrides)
    assert str(exc.value).startswith(message), str(exc.value)
    assert "\n" not in str(exc.value)


# -- one test per choice ------------------------------------------------------------------------

def test_query_augment():
    paper = PRESETS["cifar10-vgg16"]
    ref = ExperimentConfig(**{**dict(paper), "protocol": "reference"})
    legacy = ExperimentConfig(**{**dict(paper), "protocol": "legacy"})
    for kind in ("short", "long", "fixed"):
        tc = query_train_config(ref, kind=kind)
        assert (tc.augment_pad, tc.augment_flip) == (0, False)
        tc = query_train_config(legacy, kind=kind)
        assert (tc.augment_pad, tc.augment_flip) == (4, True)
    # the final runs keep their augmentation (the reference's CIFAR translation: issue #21)
    assert final_train_config(ref, 0.5, cdbw=False).augment_affine == 0.15
    # the choice counts in the fingerprint only where there is augmentation to switch off
    assert "query_augment" in ref._effective_protocol()
    assert "query_augment" not in cfg_of("reference")._effective_protocol()
    assert cfg_of("legacy", "protocol_options.query_augment=false").final_fingerprint() == \
        cfg_of("legacy").final_fingerprint()  # mnist1d-cpu trains without augmentation


def test_recall_source():
    methods = "methods=Random+DRoP,EL2N+DRoP,Forgetting+DRoP,DynUnc,Random+Balanced"
    runs, recalls = query_plan(cfg_of("reference", methods))
    assert runs == {"short": ["el2n"], "long": ["forgetting", "dynunc"], "fixed": []}
    assert recalls == {"Random": "fixed", "EL2N": "short", "Forgetting": "long"}
    runs, recalls = query_plan(cfg_of("legacy", methods))
    assert recalls == {"Random": "short", "EL2N": "short", "Forgetting": "short"}
    # the quotas read the recall of the method's own run
    labels = np.repeat([0, 1, 2], [10, 20, 30])
    r_short, r_fixed = np.array([0.9, 0.5, 0.2]), np.array([0.2, 0.5, 0.9])
    q = QueryOutputs(scores={}, val_recall=r_short, strategy_recalls={"Random": r_fixed})
    got = select_indices(parse_method("Random+DRoP"), 0.5, 3, labels, 3, q)
    want = select(labels, drop_quotas([10, 20, 30], r_fixed, 0.5), seed=3)
    np.testing.assert_array_equal(got, want)
    assert q.recall_for(parse_method("EL2N+DRoP")) is r_short


def test_ssp_query_and_the_fixed_run():
    ref = cfg_of("reference", "methods=SSP+DRoP", "protocol_options.fixed_query_epochs=4")
    assert query_run_of(ref, "ssp") == "fixed" and query_run_of(ref, None) == "fixed"
    assert query_plan(ref) == ({"short": [], "long": [], "fixed": ["ssp"]}, {"SSP": "fixed"})
    tc = query_train_config(ref, kind="fixed")
    assert (tc.epochs, tc.drop_epochs, tc.lr) == (4, (), ref.train.lr)  # constant lr
    legacy = cfg_of("legacy", "methods=SSP+DRoP")
    assert query_run_of(legacy, "ssp") == "long"
    assert query_plan(legacy) == ({"short": [], "long": ["ssp"], "fixed": []}, {"SSP": "short"})


def test_forgetting_never_learned():
    assert cfg_of("reference").scorer_options()["forgetting"] == {"never_learned": "zero"}
    assert "forgetting" not in cfg_of("legacy").scorer_options()
    given = cfg_of("reference", "query.scorer_options.forgetting.never_learned=epochs")
    assert given.choice("forgetting.never_learned") == "epochs"
    rec = ForgettingRecorder(**cfg_of("reference").scorer_options()["forgetting"])
    rec.on_train_begin(2, 2, 2, "cpu")
    for _ in range(2):  # sample 0 always right, sample 1 never learned
        rec.on_batch(0, torch.tensor([0, 1]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]),
                     torch.tensor([0, 1]))
        rec.on_epoch_end(0)
    np.testing.assert_array_equal(rec.scores(), [0.0, 0.0])


def test_dynunc_window_mode():
    cfg = cfg_of("reference", "query.scorer_options.dynunc.window=3")
    opts = cfg.scorer_options()["dynunc"]
    assert opts == {"window": 3, "window_mode": "reference"}
    probs = [0.5, 0.9, 0.5, 0.7, 0.2]

    def score(**kw):
        rec = DynamicUncertaintyRecorder(**kw)
        rec.on_train_begin(1, 2, len(probs), "cpu")
        for p in probs:
            rec.on_batch(0, torch.tensor([0]), torch.tensor([[p, 1 - p]]).log(),
                         torch.tensor([0]))
            rec.on_epoch_end(0)
        return float(rec.scores()[0])

    x = np.array(probs)
    # reference: windows of J - 1 = 2 presentations over the first 4 (the last is unused)
    assert score(**opts) == pytest.approx(np.mean([np.std(x[i:i + 2], ddof=1)
                                                   for i in range(3)]), abs=1e-6)
    # paper: windows of J = 3 over all 5
    assert score(window=3) == pytest.approx(np.mean([np.std(x[i:i + 3], ddof=1)
                                                     for i in range(3)]), abs=1e-6)
    with pytest.raises(ValueError, match="window must be an integer >= 3"):
        DynamicUncertaintyRecorder(window=2, window_mode="reference")


def test_coreset_start():
    assert cfg_of("reference").scorer_options()["kcenter"] == {"start": "mean"}
    assert "kcenter" not in cfg_of("legacy").scorer_options()
    from droprune.scoring.geometry import kcenter_order_scores, kcenter_selection

    emb = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 1.0], [-3.0, 0.5], [0.0, -2.0]])
    # the mean is (0.4, -0.1): sample 0 is the nearest; then the farthest from it, and so on
    assert kcenter_selection(emb, 3, start="mean").tolist() == [0, 1, 3]
    scores = kcenter_order_scores(emb, start="mean")
    assert int(np.argmax(scores)) == 0 and sorted(scores.tolist()) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="start must be one of"):
        kcenter_selection(emb, 1, start="median")
    with pytest.raises(ValueError, match="config: query.scorer_options: kcenter start must"):
        cfg_of("reference", "query.scorer_options.kcenter.start=median")


@pytest.mark.filterwarnings("ignore::droprune.quotas.QuotaWarning")  # 2 of 4 per class
def test_coreset_scores():
    assert cfg_of("reference").choice("coreset_scores") == "binary"
    assert cfg_of("legacy").choice("coreset_scores") == "order"
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    ranks = np.array([5, 0, 6, 7, 4, 1, 2, 3])  # greedy order: 1, 5, 6, 7 | 4, 0, 2, 3
    q = QueryOutputs(scores={"kcenter": (8 - ranks).astype(float)}, val_recall=None)
    method = parse_method("CoreSet+Balanced")
    # the greedy order inside each class
    assert select_indices(method, 0.5, 0, labels, 2, q).tolist() == [0, 1, 5, 6]
    # the reference: the 4 chosen (1, 5, 6, 7) first, then the others, highest index first
    assert select_indices(method, 0.5, 0, labels, 2, q, coreset_scores="binary").tolist() == [
        1, 3, 6, 7]
    # without quotas both keep the greedy's first round(d N)
    alone = parse_method("CoreSet")
    assert select_indices(alone, 0.5, 0, labels, 2, q, coreset_scores="binary").tolist() == \
        select_indices(alone, 0.5, 0, labels, 2, q).tolist() == [1, 5, 6, 7]


def test_val_split():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    val, test = stratified_split(labels, 0.5, seed=5, order="first")
    assert val.tolist() == [0, 1, 2, 3] and test.tolist() == [4, 5, 6, 7]
    ref = load_splits(cfg_of("reference", *GAUSS))
    legacy = load_splits(cfg_of("legacy", *GAUSS))
    # the reference code's validation half: the first of each class of the held-out set
    for split in (ref, legacy):
        assert len(split.val) == 5
    first = [np.flatnonzero(ref.val.source_indices == i).size for i in range(10)]
    assert ref.val.source_indices.tolist() == sorted(ref.val.source_indices.tolist())
    held = np.sort(np.concatenate([ref.val.source_indices, ref.test.source_indices]))
    assert held.tolist() == list(range(10)) and sum(first) == 5
    assert not np.array_equal(ref.val.source_indices, legacy.val.source_indices)


def test_init():
    splits = load_splits(cfg_of("legacy", *GAUSS))
    ref = build_final_model(cfg_of("reference", *GAUSS), splits.train, seed=0)
    legacy = build_final_model(cfg_of("legacy", *GAUSS), splits.train, seed=0)
    w_ref, w_old = ref.classifier.weight, legacy.classifier.weight
    fan_in, fan_out = w_ref.shape[1], w_ref.shape[0]
    # Xavier normal with gain sqrt(2): std = sqrt(2) * sqrt(2 / (fan_in + fan_out))
    assert float(w_ref.detach().std()) == pytest.approx(2 / np.sqrt(fan_in + fan_out), rel=0.1)
    assert float(w_old.detach().std()) == pytest.approx(0.01, rel=0.1)  # droprune's classifier init
    assert cfg_of("paper").choice("init") == "kaiming"  # the paper's text


def _bn_momenta(model):
    return {m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)}


def test_vgg_bn_momentum():
    for protocol, want in (("reference", 0.01), ("legacy", 0.1)):
        cfg = load_config("cifar10-vgg16", [f"protocol={protocol}", "model.width=0.0625"])
        assert _bn_momenta(build_final_model(cfg, _images(4), seed=0)) == {want}
    # other models keep PyTorch's momentum
    cnn = load_config(None, ["protocol=reference", "model.name=cnn2d"])
    assert _bn_momenta(build_final_model(cnn, _images(4), seed=0)) == {0.1}


def _images(n, size=32):
    from droprune.data.base import LabelledDataset

    return LabelledDataset(torch.zeros(n, 3, size, size), np.arange(n) % 2, num_classes=2)


def test_resnet50_variant():
    for protocol, strides in (("reference", ((2, 2), (1, 1))), ("legacy", ((1, 1), (2, 2)))):
        cfg = load_config("imagenet-resnet50", [f"protocol={protocol}", "model.width=0.125"])
        model = build_final_model(cfg, _images(2, 64), seed=0)
        block = model.layer2[0]
        assert (block.conv1.stride, block.conv2.stride) == strides
    # Waterbirds loads torchvision's (v1.5) weights: its preset keeps v1.5 in every profile
    water = ExperimentConfig(**{**dict(PRESETS["waterbirds-resnet50"]), "protocol": "reference"})
    assert water.choice("resnet50") == "v1.5" and "variant" not in water.model_kwargs()


def test_cdbw_loss():
    ref = cfg_of("reference", "methods=Random+DRoP+CDBW")
    assert final_train_config(ref, 0.5, cdbw=True).cdbw_loss == "raw"
    assert final_train_config(cfg_of("legacy"), 0.5, cdbw=True).cdbw_loss == "mean1"
    assert final_train_config(ref, 0.5, cdbw=False).cdbw_loss == "mean1"  # no CDB-W: moot
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    w = torch.tensor([0.5, 1.5])
    losses = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    raw = _batch_loss(logits, y, w, None, 3.0, raw=True)
    assert float(raw) == pytest.approx(float((losses * w[y]).sum() / w[y].sum()))
    # the reference's own formula: PyTorch's weighted cross-entropy
    assert float(raw) == pytest.approx(float(torch.nn.functional.cross_entropy(
        logits, y, weight=w)))
    mean1 = _batch_loss(logits, y, w, None, 3.0)
    assert float(mean1) == pytest.approx(float((losses * w[y]).mean()))
    # padded batch (distributed plan): the padding duplicates weigh nothing
    keep = torch.tensor([True, True, False])
    padded = _batch_loss(logits, y, w, keep, 2.0, raw=True)
    assert float(padded) == pytest.approx(float((losses * w[y])[:2].sum() / w[y][:2].sum()))
    # all weights 0: the plain mean, not the reference's NaN
    zero = _batch_loss(logits, y, torch.zeros(2), None, 3.0, raw=True)
    assert float(zero) == pytest.approx(float(losses.mean()))


def test_drop_mode():
    assert cfg_of("paper").choice("drop_mode") == "density"  # Algorithm 1
    assert cfg_of("reference").choice("drop_mode") == "count"
    assert cfg_of("reference", "drop_mode=density").choice("drop_mode") == "density"
    # legacy configs that spelled the former default keep their run ids
    assert cfg_of("legacy", "drop_mode=density").final_fingerprint() == \
        cfg_of("legacy").final_fingerprint()


def test_quota_rounding():
    labels = np.repeat([0, 1, 2], [70, 70, 70])
    recalls = np.array([0.5, 0.3, 0.3])  # count mode: c_k = 105 e_k / 1.9 = 27.6, 38.7, 38.7
    q = QueryOutputs(scores={}, val_recall=recalls)
    method = parse_method("Random+DRoP")
    exact = select_indices(method, 0.5, 3, labels, 3, q, "count")
    assert np.bincount(labels[exact]).tolist() == drop_quotas([70] * 3, recalls, 0.5,
                                                               mode="count").tolist()
    ref = cfg_of("reference")
    assert ref.choice("quota_rounding") == "floor_topup"
    kept = select_indices(method, 0.5, 3, labels, 3, q, "count", rounding="floor_topup")
    counts = np.bincount(labels[kept], minlength=3)
    assert kept.size == 105 and np.all(np.diff(kept) > 0)  # round(0.5 * 210), sorted
    assert np.all(counts >= [27, 38, 38])  # the floors, plus two drawn from any class
    again = select_indices(method, 0.5, 3, labels, 3, q, "count", rounding="floor_topup")
    np.testing.assert_array_equal(kept, again)  # seeded
    with pytest.raises(ValueError, match="rounding must be one of"):
        select_indices(method, 0.5, 3, labels, 3, q, rounding="ceil")


def test_stretch_rounding():
    cifar = ["train.epochs=160", "train.drop_epochs=[80,120]"]
    ref, paper = cfg_of("reference", *cifar), cfg_of("paper", *cifar)
    # d = 0.3 of N = 50000: kept fraction exactly 0.3; the reference's float chain
    # int((0.5 + 0.5 * 15000 / 50000) * (160 * 50000 / 15000)) = int(346.66...) = 346, and
    # its drops int(80 * 346 / 160) = 173, int(120 * 346 / 160) = 259
    tc = final_train_config(ref, 0.3, cdbw=False, num_samples=50_000)
    assert (tc.epochs, tc.drop_epochs) == (346, (173, 259))
    # the paper's formula on the decimal density: int(0.65 / 0.3 * e) for E and each drop
    tc = final_train_config(paper, 0.3, cdbw=False, num_samples=50_000)
    assert (tc.epochs, tc.drop_epochs) == (346, (173, 260))
    # without N (or with stretch off) the exact formula / no stretch
    assert final_train_config(ref, 0.3, cdbw=False).drop_epochs == (173, 260)
    off = cfg_of("reference", *cifar, "stretch=false")
    assert final_train_config(off, 0.3, cdbw=False, num_samples=50_000).epochs == 160


def test_tinyimagenet_batch_size_is_the_reference_codes():
    assert PRESETS["tinyimagenet-resnet18"].train.batch_size == 256


def test_fingerprints_follow_the_choices_that_matter():
    base = cfg_of("legacy")
    # a choice that changes nothing for this config changes no run id
    assert cfg_of("legacy", "protocol_options.vgg_bn_momentum=0.01").final_fingerprint() == \
        base.final_fingerprint()
    # one that can, does, whatever the grid
    assert cfg_of("legacy", "protocol_options.recall_source=scorer", "methods=Random"
                  ).final_fingerprint() != cfg_of("legacy", "methods=Random").final_fingerprint()
    for option in ("val_split=first", "init=xavier", "recall_source=scorer"):
        assert cfg_of("legacy", f"protocol_options.{option}").final_fingerprint() != \
            base.final_fingerprint()
    # a profile is its choices: the same choices give the same ids
    spelled = [f"protocol_options.{k}={v}" for k, v in PROTOCOLS["paper"].items()
               if "." not in k and isinstance(v, str) and k != "drop_mode"] + [
        "protocol_options.query_augment=false", "protocol_options.vgg_bn_momentum=0.01",
        "query.scorer_options.forgetting.never_learned=zero",
        "query.scorer_options.kcenter.start=mean"]
    assert cfg_of("legacy", *spelled).final_fingerprint() == cfg_of("paper").final_fingerprint()


def test_a_sweep_folder_written_before_the_profiles_is_read_as_legacy(tmp_path):
    """Its config.json has no protocol key: it holds legacy results, which the default profile
    must not mix with; the legacy profile resumes it."""
    import json

    from droprune.experiments.sweep import bind_config

    old = cfg_of("legacy", *GAUSS).to_dict()
    del old["protocol"], old["protocol_options"]
    old["drop_mode"] = "density"
    (tmp_path / "config.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="different .*protocol"):
        bind_config(tmp_path, cfg_of("paper", *GAUSS))
    bind_config(tmp_path, cfg_of("legacy", *GAUSS))  # the same experiment: accepted


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::droprune.quotas.QuotaWarning")  # a few samples per class
def test_a_tiny_sweep_under_the_reference_profile(tmp_path):
    """Every reference choice at once, end to end: count quotas with the random top-up, the
    fixed run for Random and SSP, CoreSet from the mean, Xavier init, CDB-W's raw loss."""
    from droprune.experiments import read_results, run_sweep

    cfg = load_config(None, [
        "protocol=reference", "data.name=gaussian-mixture",
        'data.options={"class_sizes": [60, 40, 30], "means": [0, 1, 2], '
        '"stds": [1, 1, 1], "dim": 4}',
        "model.width=0.125",
        "train.epochs=3", "train.drop_epochs=[]", "query.seeds=2", "query.epochs_fraction=0.4",
        "query.scorer_options.dynunc.window=3", "protocol_options.fixed_query_epochs=2",
        "methods=Full,Random+DRoP,SSP+DRoP,CoreSet+DRoP,DynUnc+DRoP,Random+DRoP+CDBW",
        "densities=0.5", "seeds=0", "device=cpu"])
    assert cfg.choice("drop_mode") == "count" and cfg.choice("quota_rounding") == "floor_topup"
    summary = run_sweep(cfg, tmp_path, progress=False, log=lambda *_: None)
    assert len(summary.completed) == 6
    df = read_results(tmp_path).set_index("method")
    n = int(df.loc["Full", "kept"])
    assert (df.drop("Full")["kept"] == int(n * (1 - (1 - 0.5)))).all()  # kept_total
    query = tmp_path / "query" / "seed-0"
    assert sorted(p.name for p in query.iterdir()) == ["fixed", "long"]  # no short scorer
    # the reference README's Random+DRoP command averages 5 query models (--num_inits 5)
    fixed_files = sorted((query / "fixed").glob("seed*.parquet"))
    assert len(fixed_files) == 5
    fixed_runs = [load_query_result(f) for f in fixed_files]
    fixed = fixed_runs[0]
    assert set(fixed.scores) == {"ssp"}
    long = load_query_result(next((query / "long").glob("seed*.parquet")))
    assert set(long.scores) == {"kcenter", "dynunc"}
    assert long.metadata["scorer_options"]["kcenter"] == {"start": "mean"}
    assert long.metadata["model_kwargs"] == {"width": 0.125, "init": "xavier"}
    np.testing.assert_allclose(df.loc["SSP+DRoP", "val_recall"],
                               np.mean([r.val_recall for r in fixed_runs], axis=0))
    np.testing.assert_allclose(df.loc["Random+DRoP", "val_recall"],
                               np.mean([r.val_recall for r in fixed_runs], axis=0))
    np.testing.assert_allclose(df.loc["DynUnc+DRoP", "val_recall"], long.val_recall)
