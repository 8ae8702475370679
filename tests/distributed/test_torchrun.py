"""Two gloo ranks under torchrun against one process: training, recorders, post-hoc scores,
the query protocol, a sweep, the CLI, a killed rank, a stalled rank, and resume.

What must agree and how closely (the maths is the same; only the order of float sums in the
gradient all-reduce and in per-shard batches differs):

- bit-identical by construction: the two ranks' weights (DDP), run ids, the score file's
  layout (columns, dtypes, metadata keys), its index/label/random columns, selections that do
  not depend on scores (Full, Random), and a run resumed after a kill vs an uninterrupted one;
- float tolerance: weights and losses ``rtol=1e-4, atol=1e-5`` (observed <= 3e-7), continuous
  scores ``rtol=1e-4, atol=1e-6`` (observed <= 4e-6 on GraNd);
- discontinuous functions of those floats (accuracies, recalls, forgetting counts, k-center
  order, score-based selections and the final metrics) are compared exactly: they are equal
  here because no sample sits within 1e-6 of a decision boundary; a platform where one does
  would show it as a one-sample difference.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from . import dist_worker  # noqa: E402

from droprune.experiments.store import read_results  # noqa: E402
from droprune.scoring import load_scores  # noqa: E402
from droprune.training.distributed import TIMEOUT_ENV  # noqa: E402

pytestmark = pytest.mark.distributed

WEIGHTS = dict(rtol=1e-4, atol=1e-5)
SCORES = dict(rtol=1e-4, atol=1e-6)


def torchrun(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120,
             cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node=2 ARGS`` on gloo, one thread per rank."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1")
    full_env.update(env or {})
    # --standalone: a free local port, so tests running in parallel do not collide
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           *args]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def worker(mode: str, out: Path, *, exit_after: str | None = None,
           **kwargs) -> subprocess.CompletedProcess:
    """``dist_worker.py MODE OUT`` on 2 ranks; ``exit_after="RANK:EPOCH[:hang]"`` injects a
    fault through a training callback (dist_worker.StopRank)."""
    out.mkdir(parents=True, exist_ok=True)
    extra = [exit_after] if exit_after else []
    return torchrun([str(HERE / "dist_worker.py"), mode, str(out), *extra], **kwargs)


def single(mode: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    return dist_worker.run(mode, out)


def check_training(one: dict, ranks: list[dict]) -> None:
    a, b = one["train"], ranks[0]["train"]
    for key in a["state"]:
        assert torch.equal(b["state"][key], ranks[1]["train"]["state"][key]), key
        torch.testing.assert_close(b["state"][key], a["state"][key], **WEIGHTS)
    assert [h["epoch"] for h in b["history"]] == [0, 1, 2]
    for ha, hb in zip(a["history"], b["history"], strict=True):
        assert hb["train_loss"] == pytest.approx(ha["train_loss"], rel=1e-4)
        assert hb["train_accuracy"] == ha["train_accuracy"]
        assert hb["val_accuracy"] == ha["val_accuracy"]
        np.testing.assert_array_equal(hb["val_class_recall"], ha["val_class_recall"])
    assert b["best_epoch"] == a["best_epoch"]
    for name, score in a["scores"].items():
        assert b["scores"][name].shape == score.shape == (301,)
        np.testing.assert_array_equal(b["scores"][name], ranks[1]["train"]["scores"][name])
        if name == "forgetting":
            np.testing.assert_array_equal(b["scores"][name], score)
        else:
            np.testing.assert_allclose(b["scores"][name], score, **SCORES)


def check_query(one_path: Path, two_path: Path) -> None:
    fa, ma = load_scores(one_path)
    fb, mb = load_scores(two_path)
    assert list(fb.columns) == list(fa.columns) and fb.dtypes.equals(fa.dtypes)
    assert len(fb) == 301
    for col in ("index", "label", "random", "random@seed0", "random@seed1"):
        np.testing.assert_array_equal(fb[col].to_numpy(), fa[col].to_numpy())
    for col in fa.columns:
        if col.startswith(("forgetting", "kcenter")):
            np.testing.assert_array_equal(fb[col].to_numpy(), fa[col].to_numpy(), col)
        else:
            np.testing.assert_allclose(fb[col].to_numpy(), fa[col].to_numpy(), **SCORES,
                                       err_msg=col)
    assert set(mb) == set(ma)
    assert {k for k in ma if ma[k] != mb[k]} == {"created"}  # val_recall, per_seed included


def check_sweep(one_dir: Path, two_dir: Path, completed_one: list, ranks: list[dict]) -> None:
    assert ranks[0]["sweep"] == ranks[1]["sweep"] == completed_one
    a = read_results(one_dir).set_index("run_id").sort_index()
    b = read_results(two_dir).set_index("run_id").sort_index()
    assert list(b.index) == list(a.index) and len(a) == 7
    for run_id, row in a.iterrows():
        sa = np.load(one_dir / row["selection_file"])
        sb = np.load(two_dir / b.loc[run_id, "selection_file"])
        np.testing.assert_array_equal(sb, sa, err_msg=row["method"])
        for col in ("kept", "epochs", "accuracy", "worst_class_accuracy", "worst_class", "gap",
                    "class_counts", "class_recall", "val_recall", "config"):
            assert b.loc[run_id, col] == row[col], (row["method"], col)
    assert (one_dir / "config.json").read_text() == (two_dir / "config.json").read_text()
    assert not list((two_dir / "checkpoints").glob("*/checkpoint.pt"))


def test_two_ranks_match_one_process(tmp_path):
    result = worker("all", tmp_path / "two")
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [dist_worker.load(tmp_path / "two" / f"rank{r}.pt") for r in (0, 1)]
    assert [r["world"] for r in ranks] == [(0, 2), (1, 2)]
    one = single("all", tmp_path / "one")
    check_training(one, ranks)
    check_query(Path(one["query"]), Path(ranks[0]["query"]))
    check_sweep(tmp_path / "one" / "sweep", tmp_path / "two" / "sweep", one["sweep"], ranks)
    # only rank 0 wrote: one checkpoint, one score file, no stray temporary files
    files = sorted(p.name for p in (tmp_path / "two").rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith(".tmp")]


def test_killed_rank_fails_fast_then_restart_resumes_on_every_rank(tmp_path):
    out = tmp_path / "run"
    # a callback makes rank 1 call os._exit(1) once epoch 1 (of 0, 1, 2) is checkpointed
    killed = worker("train", out, exit_after="1:1", env={TIMEOUT_ENV: "60"}, timeout=90)
    text = killed.stdout + killed.stderr
    assert killed.returncode != 0
    assert "test callback: rank 1 stops after epoch 1" in text
    # torchrun's summary names the failed rank: exit code 1, or SIGABRT (-6) when one of Gloo's
    # threads is still running as os._exit tears the process down (it happened about once in
    # six loaded runs); either way rank 1 died and rank 0 stopped instead of waiting
    assert re.search(r"rank\s*: 1 \(local_rank: 1\)\s*exitcode\s*: (1|-6) ", text), text
    assert not (out / "rank0.pt").exists()
    saved = torch.load(out / "ckpt" / "checkpoint.pt", weights_only=True)
    assert saved["epochs_done"] == 2
    seconds = [h["seconds"] for h in saved["history"]]

    resumed = worker("train", out)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    ranks = [dist_worker.load(out / f"rank{r}.pt") for r in (0, 1)]
    for payload in ranks:  # every rank restored epochs 0 and 1 from the checkpoint
        assert [h["seconds"] for h in payload["train"]["history"][:2]] == seconds
        assert len(payload["train"]["history"]) == 3
    check_training(single("train", tmp_path / "one"), ranks)


def test_stalled_rank_hits_the_timeout_with_a_clear_error(tmp_path):
    # a callback makes rank 1 sleep forever after epoch 0; rank 0 waits 3 s in the next
    # all-reduce
    stalled = worker("train", tmp_path / "run", exit_after="1:0:hang", env={TIMEOUT_ENV: "3"},
                     timeout=90)
    text = stalled.stdout + stalled.stderr
    assert stalled.returncode != 0
    assert "droprune: rank 0 of 2: a collective operation failed" in text
    assert f"{TIMEOUT_ENV}=3 s" in text and "run the same command again to resume" in text


def test_cli_run_under_torchrun_matches_one_process(tmp_path, capsys):
    from droprune.cli import main

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(dist_worker.SWEEP_CONFIG))
    args = ["run", "--config", str(config), "--method", "EL2N+DRoP", "--density", "0.5",
            "--no-progress", "--out"]
    result = torchrun(["-m", "droprune", *args, str(tmp_path / "two")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("EL2N+DRoP d=0.5 seed=0: accuracy") == 1  # rank 0 prints
    assert main([*args, str(tmp_path / "one")]) == 0
    assert "EL2N+DRoP d=0.5 seed=0: accuracy" in capsys.readouterr().out
    a, b = read_results(tmp_path / "one"), read_results(tmp_path / "two")
    assert len(a) == len(b) == 1
    for col in ("run_id", "kept", "accuracy", "worst_class_accuracy", "class_counts",
                "val_recall"):
        assert b.loc[0, col] == a.loc[0, col], col
    np.testing.assert_array_equal(np.load(tmp_path / "two" / b.loc[0, "selection_file"]),
                                  np.load(tmp_path / "one" / a.loc[0, "selection_file"]))
