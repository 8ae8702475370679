"""No work thrown away: a run's checkpoint outlives it until its row is committed; a folder's
config problems say what to do; killed writes' temporaries are cleared on start."""

from __future__ import annotations

import json
import os

import pytest

import droprune.experiments.sweep as sweep
import droprune.training.loop as loop
from droprune.experiments import load_config, plan_runs, run_sweep
from droprune.experiments.pipeline import checkpoint_dir
from droprune.experiments.store import ResultStore
from droprune.experiments.sweep import bind_config

from .test_sweep_integration import TINY, cache  # noqa: F401 - the cache fixture

ONE_RUN = TINY + ["methods=Random"]


def test_the_checkpoint_is_kept_until_the_row_is_committed(cache, tmp_path, monkeypatch):
    cfg = load_config("mnist1d-cpu", ONE_RUN)
    out = tmp_path / "out"
    stale = out / "selections" / ".old.npy.0123abcd.tmp"  # a write killed long ago
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))

    def store_dies(store, record):
        raise RuntimeError("killed before the row was committed")

    monkeypatch.setattr(sweep, "_add_row", store_dies)
    with pytest.raises(RuntimeError, match="killed before"):
        run_sweep(cfg, out, progress=False, log=lambda *_: None)
    assert not stale.exists()
    (spec,) = plan_runs(cfg)
    ckpt = checkpoint_dir(out, spec.run_id(cfg)) / "checkpoint.pt"
    assert ckpt.is_file()  # the trained model survives
    monkeypatch.undo()
    saved = []
    monkeypatch.setattr(loop, "save_checkpoint", lambda *args: saved.append(args))
    summary = run_sweep(cfg, out, progress=False, log=lambda *_: None)
    assert summary.completed == [spec.run_id(cfg)]
    assert saved == []  # resumed from the finished checkpoint: no epoch trained again
    assert not ckpt.parent.exists()  # removed once stored
    assert len(ResultStore(out / "results.sqlite")) == 1


def test_a_damaged_config_says_deleting_it_keeps_the_results(tmp_path):
    cfg = load_config("mnist1d-cpu", ONE_RUN)
    (tmp_path / "config.json").write_text('{"train": ')
    with pytest.raises(ValueError, match=r"config.json is not a readable droprune config "
                                         r"\(.*\); delete it and run the same command again: "
                                         r"it is written anew and every result of the folder "
                                         r"is kept"):
        bind_config(tmp_path, cfg)
    (tmp_path / "config.json").unlink()
    bind_config(tmp_path, cfg)
    bind_config(tmp_path, cfg)  # the same experiment is accepted


def test_another_experiment_names_the_keys_that_differ(tmp_path):
    cfg = load_config("mnist1d-cpu", ONE_RUN)
    bind_config(tmp_path, cfg)
    before = (tmp_path / "config.json").read_bytes()
    other = load_config("mnist1d-cpu", ONE_RUN + ["train.lr=0.25", "model.width=0.5"])
    lr = cfg.train.lr
    with pytest.raises(ValueError, match=rf"holds an experiment with a different model, train "
                                         rf"\(model.width: 0.25 in the folder, 0.5 now; "
                                         rf"train.lr: {lr!r} in the folder, 0.25 now\); use a "
                                         rf"new --out folder"):
        bind_config(tmp_path, other)
    assert (tmp_path / "config.json").read_bytes() == before
    assert json.loads(before)["train"]["lr"] == lr
