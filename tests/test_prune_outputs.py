"""``droprune prune``'s output folder and query models, issue 22: who owns ``--out``, outputs
that survive a kill at any point, query models reused only when what made them is unchanged,
a failed training that does not bind the folder, a manifest of what actually ran, and the line
that says what will be trained."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import droprune
import droprune.prune_output as prune_output
from droprune.prune_output import EXTRA_OUTPUTS, OUTPUTS, STAGING, write_prune_outputs

from .test_cli_prune import files, image_args, photos, run  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")


def said(capsys):
    """What the command printed, stdout and stderr together (its information lines may go to
    either, depending on the logging set-up)."""
    captured = capsys.readouterr()
    return captured.out + captured.err


def error_line(capsys):
    """The one error line of a refused command (other lines it logged are allowed)."""
    lines = [ln for ln in said(capsys).splitlines() if ln.startswith("droprune prune: error: ")]
    assert len(lines) == 1, lines
    return lines[0]


def args_at(files, density, *extra):  # noqa: F811
    return ["--recalls", files / "recalls.csv", "--labels", files / "labels.csv",
            "--density", density, "--out", files / "out", *extra]


def outputs(folder):
    """The bytes of every output but the manifest (which holds a time), with summary.html's
    "How this was made" table (the run's duration and command line) cut out."""
    def content(p):
        data = p.read_bytes()
        if p.name == "summary.html":
            data = re.sub(rb"<h2>How this was made</h2>\n<table>.*?</table>", b"", data,
                          flags=re.S)
        return data

    return {p.name: content(p) for p in folder.iterdir()
            if p.name in OUTPUTS + EXTRA_OUTPUTS and p.name != "manifest.json"}


def complete(out):
    """The density of a complete, consistent output folder (asserted)."""
    manifest = json.loads((out / "manifest.json").read_text())
    kept = np.load(out / "kept.npy")
    assert kept.size == manifest["kept"] == len(pd.read_csv(out / "kept.csv"))
    assert pd.read_csv(out / "classes.csv")["kept"].sum() == kept.size
    assert sorted(manifest["outputs"]) == sorted(p.name for p in out.iterdir()
                                                 if p.name in OUTPUTS + EXTRA_OUTPUTS)
    assert not (out / STAGING).exists()
    return manifest["density"]


@pytest.fixture
def references(files, capsys):  # noqa: F811
    """The outputs of clean runs at densities 0.3 and 0.5, by density."""
    refs = {}
    for d in (0.3, 0.5):
        assert run(*args_at(files, d)[:-1], files / f"ref-{d}") == 0
        refs[d] = outputs(files / f"ref-{d}")
    capsys.readouterr()
    return refs


# -- 1. who owns --out -------------------------------------------------------------------------

def test_another_runs_output_is_refused_unless_overwrite(files, references, capsys):  # noqa: F811
    out = files / "out"
    assert run(*args_at(files, 0.3)) == 0
    before = outputs(out)
    assert run(*args_at(files, 0.5)) == 2
    err = error_line(capsys)
    assert f"--out {out} holds the kept list of another run (Random+DRoP at density 0.3" in err
    assert "give another --out, or add --overwrite to replace it" in err
    assert outputs(out) == before and complete(out) == 0.3
    # the same command again is the same run: resumed and rewritten (not refused)
    assert run(*args_at(files, 0.3)) == 0 and outputs(out) == references[0.3]
    assert run(*args_at(files, 0.5, "--overwrite")) == 0
    assert "its outputs are replaced once this run's are ready" in said(capsys)
    assert complete(out) == 0.5 and outputs(out) == references[0.5]
    # --overwrite is not part of the run: without it, this is the same run again
    assert run(*args_at(files, 0.5)) == 0


def test_files_droprune_did_not_write_are_refused_unless_overwrite(files, capsys):  # noqa: F811
    out = files / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert run(*args_at(files, 0.5)) == 2
    assert f"--out {out} holds files droprune prune did not write (notes.txt)" in \
        error_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert run(*args_at(files, 0.5, "--overwrite")) == 0
    assert complete(out) == 0.5 and (out / "notes.txt").read_text() == "mine"
    # outputs without a manifest (an older droprune killed mid-write, or files of yours)
    other = files / "other"
    other.mkdir()
    (other / "kept.csv").write_text("index\n0\n")
    assert run(*args_at(files, 0.5)[:-1], other) == 2
    assert "holds kept.csv but no manifest.json" in error_line(capsys)
    # a file is not a folder
    assert run(*args_at(files, 0.5)[:-1], files / "labels.npy") == 2
    assert "is a file: give a folder" in error_line(capsys)


def test_outputs_an_earlier_run_had_and_this_one_lacks_are_removed(tmp_path):
    result = droprune.prune([0] * 20 + [1] * 20, 0.5, recalls=[0.9, 0.6])
    write_prune_outputs(result, tmp_path, extra=[("compare.csv", lambda p: p.write_text("x"))])
    assert (tmp_path / "compare.csv").exists()
    assert "compare.csv" in json.loads((tmp_path / "manifest.json").read_text())["outputs"]
    write_prune_outputs(result, tmp_path)
    assert not (tmp_path / "compare.csv").exists() and complete(tmp_path) == 0.5


def test_two_writers_of_one_folder_take_turns(tmp_path, monkeypatch):
    """A second writer of the folder (another process running the same command) that starts
    while the first is staging waits for it, instead of removing its staging folder."""
    import threading

    result = droprune.prune([0] * 20 + [1] * 20, 0.5, recalls=[0.9, 0.6])
    real, seen, errors = prune_output._write_file, [], []

    def second_writer():
        try:
            write_prune_outputs(result, tmp_path)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    second = threading.Thread(target=second_writer)

    def first_file_then_a_second_writer(path, write):
        real(path, write)
        if threading.current_thread() is threading.main_thread() and not seen:
            seen.append(path.name)
            second.start()
            second.join(timeout=1.0)  # held at the folder's lock: it cannot finish meanwhile
            seen.append(second.is_alive())

    monkeypatch.setattr(prune_output, "_write_file", first_file_then_a_second_writer)
    write_prune_outputs(result, tmp_path)
    second.join()
    assert seen == ["kept.csv", True] and errors == []
    assert complete(tmp_path) == 0.5 and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for n in OUTPUTS)


# -- 2. a kill at any point leaves the old output, or a marked one the next command repairs ----

class Killed(BaseException):
    """A kill: nothing after it runs (no ``except Exception`` catches it)."""


#: six files and the manifest staged, then the old manifest removed and seven moves
KILL_POINTS = range(14)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_while_writing_over_an_earlier_run(files, references, capsys,  # noqa: F811
                                                  monkeypatch, point):
    out = files / "out"
    assert run(*args_at(files, 0.3)) == 0
    calls = []

    def counted(real):
        def step(*args):
            if len(calls) == point:
                raise Killed
            calls.append(args)
            return real(*args)
        return step

    with monkeypatch.context() as m:
        m.setattr(prune_output, "_write_file", counted(prune_output._write_file))
        m.setattr(prune_output, "_move", counted(prune_output._move))
        with pytest.raises(Killed):
            run(*args_at(files, 0.5, "--overwrite"))
    if (out / "manifest.json").exists():  # killed while staging: the old output, whole
        assert point < 7
        assert json.loads((out / "manifest.json").read_text())["density"] == 0.3
        assert outputs(out) == references[0.3]
    else:  # killed while swapping: marked incomplete (no manifest), the new one staged whole
        assert point >= 7 and (out / STAGING / "manifest.json").is_file()
    capsys.readouterr()
    # the next command repairs first: the old run resumes, or the finished swap refuses it
    code = run(*args_at(files, 0.3))
    density = complete(out)
    assert (code, density) == ((0, 0.3) if point < 7 else (2, 0.5))
    assert outputs(out) == references[density]
    assert run(*args_at(files, 0.5, "--overwrite")) == 0
    assert complete(out) == 0.5 and outputs(out) == references[0.5]


KILL_SCRIPT = textwrap.dedent("""
    import os, sys
    import droprune.prune_output as po
    from droprune.cli import main
    stage, after = sys.argv[1], int(sys.argv[2])
    real, calls = getattr(po, stage), []
    def killed(*args):
        if len(calls) == after:
            os._exit(137)  # no cleanup of any kind, as SIGKILL
        calls.append(args)
        return real(*args)
    setattr(po, stage, killed)
    sys.exit(main(["prune", *sys.argv[3:]]))
""")


@pytest.mark.parametrize("stage, after", [("_write_file", 3), ("_move", 3)])
def test_a_real_kill_mid_write(files, references, stage, after):  # noqa: F811
    out = files / "out"
    assert run(*args_at(files, 0.3)) == 0
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, stage, str(after),
                           *map(str, args_at(files, 0.5, "--overwrite"))], capture_output=True)
    assert proc.returncode == 137, proc.stderr
    if stage == "_write_file":  # the old output whole, a partial staging folder beside it
        assert outputs(out) == references[0.3] and (out / STAGING).is_dir()
        assert json.loads((out / "manifest.json").read_text())["density"] == 0.3
    else:
        assert not (out / "manifest.json").exists()
        assert (out / STAGING / "manifest.json").is_file()
    assert run(*args_at(files, 0.5, "--overwrite")) == 0
    assert complete(out) == 0.5 and outputs(out) == references[0.5]


# -- 3. query models reused only when what made them is unchanged -------------------------------

NET = """
import torch


def make(seed):
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(108, 8), torch.nn.ReLU(),
                               {extra}torch.nn.Linear(8, 3))
"""


def write_net(folder, name, extra=""):
    (folder / f"{name}.py").write_text(NET.format(extra=extra))
    sys.modules.pop(name, None)  # as a new process would: the edited module is imported anew


def query_runs(out):
    return json.loads((out / "manifest.json").read_text())["query"]["runs"]


def test_an_edited_model_factory_retrains_the_query_models(photos, tmp_path, capsys,  # noqa: F811
                                                           monkeypatch):
    name = "droprune_test_nets_cli"
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    write_net(tmp_path, name)
    out = tmp_path / "out"
    assert run(*image_args(photos, out, model=f"{name}:make")) == 0
    first = query_runs(out)
    assert first[0]["trained_seeds"] == [800]
    key = json.loads(next((out / "query").rglob("query.json")).read_text())
    assert key["model_source"] and key["model_shapes"]
    assert run(*image_args(photos, out, model=f"{name}:make")) == 0
    assert query_runs(out)[0]["trained_seeds"] == []  # unchanged: reused
    capsys.readouterr()
    write_net(tmp_path, name, extra="torch.nn.Linear(8, 8), torch.nn.ReLU(), ")  # a layer more
    assert run(*image_args(photos, out, model=f"{name}:make")) == 0
    assert "made with another setup (the factory's source file; the model's parameter shapes)" \
           ": retraining" in said(capsys)
    assert query_runs(out)[0]["trained_seeds"] == [800]
    # the source alone (a comment: same shapes) is enough to retrain
    (tmp_path / f"{name}.py").write_text((tmp_path / f"{name}.py").read_text() + "# edited\n")
    sys.modules.pop(name, None)
    assert run(*image_args(photos, out, model=f"{name}:make")) == 0
    assert query_runs(out)[0]["trained_seeds"] == [800]
    assert "(the factory's source file): retraining" in said(capsys)


def test_run_query_retrains_after_the_factory_changed(tmp_path, monkeypatch):
    import torch

    from droprune.data.base import DatasetSplits, LabelledDataset
    from droprune.scoring import run_query
    from droprune.training import TrainConfig

    name = "droprune_test_nets_api"
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    write_net(tmp_path, name)
    g = torch.Generator().manual_seed(0)
    data = LabelledDataset(torch.randn(30, 3, 6, 6, generator=g), np.arange(30) % 3,
                           num_classes=3)
    splits = DatasetSplits(data, data, data)
    kwargs = dict(model=f"{name}:make", config=TrainConfig(epochs=1, batch_size=10), seeds=[0],
                  scorers=["el2n"], work_dir=tmp_path / "q", progress=False)
    assert run_query(splits, **kwargs).metadata["trained_seeds"] == [0]
    assert run_query(splits, **kwargs).metadata["trained_seeds"] == []
    write_net(tmp_path, name, extra="torch.nn.Linear(8, 8), ")
    told = []
    again = run_query(splits, log=told.append, **kwargs)
    assert again.metadata["trained_seeds"] == [0] and "retraining" in told[0]
    with pytest.raises(ValueError, match="another query run .*factory's source file"):
        write_net(tmp_path, name)
        run_query(splits, on_change="refuse", **kwargs)


# -- 4. a failed training does not poison --out ---------------------------------------------------

def test_a_failed_query_training_does_not_bind_the_folder(photos, tmp_path, capsys,  # noqa: F811
                                                          monkeypatch):
    import droprune.training.loop as loop

    real = loop._run_epoch

    def diverge_in_epoch_1(run_, epoch):  # after epoch 0 is checkpointed, as a real divergence
        if epoch == 1:
            raise FloatingPointError("training diverged: the loss of epoch 1, batch 0 is nan; "
                                     "lower the learning rate or check the inputs for NaN/inf")
        return real(run_, epoch)

    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(loop, "_run_epoch", diverge_in_epoch_1)
        assert run(*image_args(photos, out)) == 2
    err = error_line(capsys)
    assert "on the command line: --set train.lr=0.01 (now 0.1)" in err
    assert "checkpoint_dir" not in err and not (out / "manifest.json").exists()
    assert list((out / "query").rglob("checkpoint.pt"))  # epoch 0 was saved
    # other settings: the stale checkpoint is replaced, not refused
    assert run(*image_args(photos, out, "--set", "train.lr=0.01")) == 0
    text = said(capsys)
    assert "an unfinished run's folder" in text and "config.lr (0.1 then, 0.01 now)" in text
    assert complete(out) == 0.6 and query_runs(out)[0]["epochs_trained"] == [2]


# -- 5. the manifest records what ran; options that do nothing are refused -----------------------

@pytest.mark.parametrize("extra, match", [
    (["--set", "query.seeds=3"], r"--set query.seeds=3: does nothing here \(Random\+DRoP's "
                                 r"recalls come from one query model of "
                                 r"protocol_options.fixed_query_epochs=2 epochs"),
    (["--set", "train.epochs=30"], "fixed_query_epochs"),
    (["--set", "densities=0.3"], "--density chooses the density"),
    (["--set", "quotas.min_per_class=5"], "--min-per-class"),
    (["--set", "stretch=false"], "no final model is trained"),
])
def test_options_that_do_nothing_are_refused(photos, tmp_path, capsys, extra, match):  # noqa: F811
    out = tmp_path / "out"
    assert run(*image_args(photos, out, *extra)) == 2
    assert re.search(match, error_line(capsys))
    assert not out.exists()


def test_options_that_apply_to_the_method_are_accepted(photos):  # noqa: F811
    from droprune.experiments.config import ExperimentConfig
    from droprune.experiments.prune_query import check_query_options, prune_query_config
    from droprune.methods import parse_method

    def config(method, overrides):
        m = parse_method(method)
        cfg = prune_query_config(ExperimentConfig().to_dict(), data="imagefolder", root=photos,
                                 method=m, density=0.5, seed=0, overrides=overrides,
                                 scores=m.reads_scores)
        check_query_options(cfg, overrides, method=m, trains=True)

    short = ["query.seeds=3", "train.epochs=30", "query.epochs_fraction=0.2", "train.lr=0.01"]
    config("EL2N+DRoP", short)  # EL2N and its recalls: the short models
    config("Random+DRoP", ["protocol_options.recall_source=short", *short])
    config("Random+DRoP", ["protocol_options.fixed_query_epochs=30", "train.lr=0.01",
                           "data.split_seed=3", "model.width=0.5"])
    with pytest.raises(ValueError, match="query.long_runs=2: does nothing here"):
        config("EL2N+DRoP", ["query.long_runs=2"])


@pytest.mark.parametrize("device, match", [
    ("bogus", "--device must be a torch device such as 'cpu'"),
    pytest.param("cuda", "--device cuda: CUDA is not available here; use --device cpu",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(),
                                          reason="CUDA is there")),
])
def test_a_device_that_cannot_train_is_refused_first(photos, tmp_path, capsys, device,  # noqa: F811
                                                     match):
    assert run(*image_args(photos, tmp_path / "out", "--device", device)) == 2
    assert match in error_line(capsys) and not (tmp_path / "out").exists()


def test_a_model_with_nothing_to_train_is_refused(photos, tmp_path, capsys):  # noqa: F811
    pd.DataFrame({"class": ["cat", "dog", "fox"], "recall": [0.9, 0.7, 0.5]}).to_csv(
        tmp_path / "r.csv", index=False)
    assert run("--data", "imagefolder", "--root", photos, "--recalls", tmp_path / "r.csv",
               "--model", "mlp", "--density", 0.5, "--out", tmp_path / "out") == 2
    assert "--model mlp: nothing is trained" in error_line(capsys)


# -- 6. one line before training; images at their native size; memory --------------------------

def test_what_will_be_trained_is_said_first_at_the_native_size(photos, tmp_path,  # noqa: F811
                                                               capsys):
    out = tmp_path / "out"
    argv = [a for a in image_args(photos, out) if a not in ("--option", "image_size=6")]
    assert run(*argv) == 0
    text = said(capsys)
    assert "images of 6x6 pixels: read at their native size (--option image_size=6), not " \
           "upscaled to 224" in text
    assert re.search(r"query model \(fixed run\): 1 x mlp, 2 epochs, batch 8, lr 0\.1, on 24 "
                     r"samples of 3x6x6, device cpu: about \d+ s, \d+ MB of memory", text)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["options"] == {"image_size": 6, "resize_size": 6}
    query = manifest["query"]
    assert query["input_shape"] == [3, 6, 6] and query["device"] == "cpu"
    assert query["model"] == "mlp" and query["model_source"] is None and query["seconds"] > 0
    assert manifest["created"] and manifest["seconds"] > 0 and manifest["run_key"]
    assert manifest["droprune_version"] == droprune.__version__ and manifest["torch_version"]
    # reused the second time: nothing said about training, nothing trained
    assert run(*argv) == 0
    assert "query model (" not in said(capsys)
    assert query_runs(out)[0]["trained_seeds"] == []


def test_a_training_that_cannot_fit_in_memory_is_refused_first(photos, tmp_path,  # noqa: F811
                                                               capsys, monkeypatch):
    import droprune.experiments.prune_query as prune_query

    monkeypatch.setattr(prune_query, "_available_memory", lambda device: 1000)
    out = tmp_path / "out"
    assert run(*image_args(photos, out)) == 2
    err = error_line(capsys)
    assert re.search(r"the query model mlp on inputs of 3x6x6 with batch 8 needs about \d+ MB "
                     r"of memory, 0 MB is free on cpu: lower --set train.batch_size or the input "
                     r"size \(--option image_size=N\)", err)
    assert not out.exists()


def test_how_a_run_is_shown_or_sped_up_is_not_part_of_it(files, capsys):  # noqa: F811
    assert run(*args_at(files, 0.5)) == 0
    assert run(*args_at(files, 0.5, "--no-progress")) == 0
    for extra in (["--threads", "2"], ["--device", "cpu"]):  # nothing trains: refused, not ignored
        assert run(*args_at(files, 0.5, *extra)) == 2, extra
        assert f"{extra[0]} describe(s) a dataset and its query training" in error_line(capsys)
    assert run(*args_at(files, 0.5, "--seed", "1")) == 2  # the seed is part of the run
    assert "holds the kept list of another run" in error_line(capsys)


# -- summary.html says why, and the figure stays cheap for many classes ---------------------------

def test_summary_html_explains_the_counts(tmp_path):
    import droprune
    from droprune.prune_output import write_prune_outputs

    labels = np.repeat([0, 1, 2], [100, 100, 20])
    with pytest.warns(droprune.QuotaWarning):
        droprune.prune(labels, 0.5, recalls=[1.0, 0.6, 0.2], min_density=0)  # the paper: 0
    result = droprune.prune(labels, 0.5, recalls=[1.0, 0.6, 0.2], class_names=["a", "b", "c"])
    write_prune_outputs(result, tmp_path / "out", manifest={
        "command": "droprune prune --labels l.npy", "seconds": 1.25,
        "query": {"model": "mlp", "device": "cpu", "seconds": 0.5,
                  "runs": [{"kind": "fixed", "seeds": [0], "epochs": 16}]}})
    page = (tmp_path / "out" / "summary.html").read_text()
    assert "<h2>Why these counts</h2>" in page
    assert "Held up by the floor: a (25 kept)" in page and "Kept whole: c" in page
    assert "<code>paper_kept</code>; 2 of 3 classes keep a different count here" in page
    assert "mlp on cpu (fixed: seeds [0], 16 epochs; 0.5 s)" in page and "1.2 s" in page
    assert "droprune prune --labels l.npy" in page
    assert "pd.read_csv(&quot;kept.csv&quot;)" in page and "torch.utils.data.Subset" in page


def test_the_figure_summarises_many_classes(tmp_path):
    import droprune
    from droprune.prune_output import PLOT_BARS, plot_class_densities

    rng = np.random.default_rng(0)
    k = 1000
    labels = rng.integers(0, k, 50_000)
    result = droprune.prune(labels, 0.3, recalls=rng.uniform(0.3, 1.0, k))
    assert k > PLOT_BARS
    path = plot_class_densities(result, tmp_path / "many.png")
    from PIL import Image

    width, height = Image.open(path).size
    assert width <= 1700 and height <= 700  # one readable figure, not 1,000 bars wide
