"""The query protocol on a tiny dataset: one run per seed feeds every scorer, averages over
seeds, validation recall at the best epoch, resume from work_dir, refusal of another run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import droprune.scoring.query as query_module
from droprune.data.base import DatasetSplits, LabelledDataset
from droprune.scoring import SCORERS, load_query_result, run_query
from droprune.scoring.store import save_query_result
from droprune.training import TrainConfig


def splits() -> DatasetSplits:
    g = torch.Generator().manual_seed(0)

    def make(n, name):
        x = torch.randn(n, 1, 12, generator=g)
        y = (x[:, 0, :6].sum(1) > 0).long().numpy() + 2 * (x[:, 0, 6:].sum(1) > 0).long().numpy()
        return LabelledDataset(x, y, 4, name=name)

    return DatasetSplits(make(40, "q-train"), make(24, "q-val"), make(24, "q-test"))


CONFIG = TrainConfig(epochs=2, batch_size=16, lr=0.05)
ARGS = dict(model="mlp", model_kwargs={"hidden": (8,)}, config=CONFIG, progress=False)


def test_two_seeds_all_scorers_average_and_resume(tmp_path, monkeypatch):
    sp = splits()
    names = list(SCORERS)
    result = run_query(sp, seeds=[0, 1], scorers=names, work_dir=tmp_path, **ARGS)
    assert list(result.scores) == names
    assert [s.seed for s in result.per_seed] == [0, 1]
    for name in names:
        per = [s.scores[name] for s in result.per_seed]
        assert per[0].shape == (40,) and np.isfinite(per[0]).all()
        np.testing.assert_allclose(result.scores[name], (per[0] + per[1]) / 2)
    assert not np.array_equal(result.per_seed[0].scores["random"],
                              result.per_seed[1].scores["random"])
    for s in result.per_seed:
        assert s.best_epoch == int(np.argmax(s.val_accuracy))
        assert s.val_recall.shape == (4,)
    np.testing.assert_allclose(result.val_recall,
                               (result.per_seed[0].val_recall + result.per_seed[1].val_recall) / 2)
    assert result.metadata["dataset_fingerprint"] == sp.train.fingerprint()
    assert result.metadata["seeds"] == [0, 1] and result.metadata["epochs"] == 2
    # the recalls come with the number of validation samples each was measured on
    np.testing.assert_array_equal(result.val_counts, np.bincount(sp.val.labels, minlength=4))
    assert (tmp_path / "seed0.parquet").exists() and (tmp_path / "seed1.parquet").exists()

    # a rerun loads the finished seeds: no training at all
    def no_training(*args, **kwargs):
        raise AssertionError("a finished seed was trained again")

    monkeypatch.setattr(query_module, "train", no_training)
    again = run_query(sp, seeds=[0, 1], scorers=names, work_dir=tmp_path, **ARGS)
    for name in names:
        np.testing.assert_array_equal(again.scores[name], result.scores[name])
    np.testing.assert_array_equal(again.val_recall, result.val_recall)

    # and the combined result saves and loads
    path = save_query_result(tmp_path / "query.parquet", result)
    back = load_query_result(path, expected_fingerprint=sp.train.fingerprint())
    np.testing.assert_array_equal(back.scores["grand"], result.scores["grand"])
    np.testing.assert_array_equal(back.val_counts, result.val_counts)
    assert back.val_counts.dtype == np.int64


def test_same_seed_gives_same_scores_without_work_dir():
    sp = splits()
    a = run_query(sp, seeds=[5], scorers=["el2n", "forgetting"], **ARGS)
    b = run_query(sp, seeds=[5], scorers=["el2n", "forgetting"], **ARGS)
    np.testing.assert_array_equal(a.scores["el2n"], b.scores["el2n"])
    np.testing.assert_array_equal(a.scores["forgetting"], b.scores["forgetting"])


def test_interrupted_seed_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    sp = splits()
    straight = run_query(sp, seeds=[2], scorers=["aum", "el2n"], **ARGS)
    real_train = query_module.train

    class Stop(Exception):
        pass

    def crash_in_epoch_one(*args, **kwargs):
        recorders = list(kwargs["recorders"])
        original = recorders[0].on_batch

        def on_batch(epoch, *a):
            if epoch == 1:
                raise Stop
            original(epoch, *a)

        recorders[0].on_batch = on_batch
        return real_train(*args, **kwargs)

    monkeypatch.setattr(query_module, "train", crash_in_epoch_one)
    with pytest.raises(Stop):
        run_query(sp, seeds=[2], scorers=["aum", "el2n"], work_dir=tmp_path, **ARGS)
    assert (tmp_path / "seed2" / "checkpoint.pt").exists()
    assert not (tmp_path / "seed2.parquet").exists()
    monkeypatch.setattr(query_module, "train", real_train)
    resumed = run_query(sp, seeds=[2], scorers=["aum", "el2n"], work_dir=tmp_path, **ARGS)
    np.testing.assert_array_equal(resumed.scores["aum"], straight.scores["aum"])
    np.testing.assert_array_equal(resumed.scores["el2n"], straight.scores["el2n"])


def test_work_dir_of_another_run_is_retrained_or_refused(tmp_path):
    """Query models of another setup are never reused: retrained, saying what changed (the
    default), or refused (``on_change="refuse"``, what a sweep asks)."""
    sp = splits()
    run_query(sp, seeds=[0], scorers=["el2n"], work_dir=tmp_path, **ARGS)
    with pytest.raises(ValueError, match="another query run.*query_scorers"):
        run_query(sp, seeds=[0], scorers=["el2n", "aum"], work_dir=tmp_path,
                  on_change="refuse", **ARGS)
    said = []
    result = run_query(sp, seeds=[0], scorers=["el2n", "aum"], work_dir=tmp_path,
                       log=said.append, **ARGS)
    assert result.metadata["trained_seeds"] == [0] and "aum" in result.scores
    assert len(said) == 1 and "(query_scorers (['el2n'] then, ['el2n', 'aum'] now)): " \
                              "retraining" in said[0]
    again = run_query(sp, seeds=[0], scorers=["el2n", "aum"], work_dir=tmp_path, **ARGS)
    assert again.metadata["trained_seeds"] == []  # now reused
    with pytest.warns(RuntimeWarning, match="config.lr"):  # the default log: a warning
        run_query(sp, seeds=[0], scorers=["el2n", "aum"], work_dir=tmp_path,
                  **dict(ARGS, config=dataclasses.replace(ARGS["config"], lr=0.01)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(seeds=[], scorers=["el2n"]), "seeds is empty"),
    (dict(seeds=[1, 1], scorers=["el2n"]), "distinct"),
    (dict(seeds=[-1], scorers=["el2n"]), "integers >= 0"),
    (dict(seeds=[0], scorers=["el2n", "bogus"]), "unknown scorer 'bogus'"),
    (dict(seeds=[0], scorers=["el2n"], scorer_options={"el2n": {"x": 1}}), "has no option"),
    (dict(seeds=[0], scorers=["grand"], scorer_options={"grand": {"method": "x"}}),
     "grand method must be"),
    (dict(seeds=[0], scorers=["grand"], scorer_options={"grand": {"chunk_size": 0}}),
     "chunk_size must be"),
    (dict(seeds=[0], scorers=["ssp"], scorer_options={"ssp": {"metric": "l1"}}),
     "ssp metric must be"),
    (dict(seeds=[0], scorers=["kcenter"], scorer_options={"kcenter": {"budget": 2.5}}),
     "budget must be"),
    (dict(seeds=[0], scorers=["dynunc"], scorer_options={"dynunc": {"window": 1}}),
     "window must be"),
    (dict(seeds=[0], scorers=["forgetting"],
          scorer_options={"forgetting": {"never_learned": "inf"}}), "never_learned must be"),
    (dict(seeds=[0], scorers=["el2n"], model_kwargs={"hidden": object()}),
     "cannot be stored as JSON"),
])
def test_errors_before_training(kwargs, match, monkeypatch):
    monkeypatch.setattr(query_module, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=match):
        run_query(splits(), **{**ARGS, **kwargs})


def test_no_scorers_gives_recalls_only_and_resumes(tmp_path, monkeypatch):
    """Random+DRoP needs only the query models' validation recalls."""
    sp = splits()
    result = run_query(sp, seeds=[0, 1], scorers=[], work_dir=tmp_path, **ARGS)
    assert result.scores == {}
    assert result.val_recall.shape == (4,)
    assert np.all((result.val_recall >= 0) & (result.val_recall <= 1))
    with_scores = run_query(sp, seeds=[0, 1], scorers=["el2n"], **ARGS)
    np.testing.assert_allclose(result.val_recall, with_scores.val_recall)  # same models
    monkeypatch.setattr(query_module, "train", lambda *a, **k: pytest.fail("retrained"))
    again = run_query(sp, seeds=[0, 1], scorers=[], work_dir=tmp_path, **ARGS)
    np.testing.assert_array_equal(again.val_recall, result.val_recall)
