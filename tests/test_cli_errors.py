"""Every failure of the ``droprune`` command is one line on stderr with exit code 2 (or a quiet
141 when stdout's reader went away), never a traceback."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import droprune._io
from droprune.cli import main, os_error_message
from droprune.experiments.config import load_config
from droprune.experiments.store import ResultStore

from .experiments.run_records import make_record

SWEEP = ["sweep", "--preset", "mnist1d-cpu"]


def one_line_error(capsys, argv, command=None):
    """Run the command; assert exit 2 and one error line; return the line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"droprune {command or argv[0]}: error: "), err
    return err


# -- files and folders ---------------------------------------------------------------------------

def test_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "f"
    f.touch()
    err = one_line_error(capsys, SWEEP + ["--out", str(f)])
    assert "exists and is not a folder" in err


def test_a_full_disk_names_the_file_and_the_fix(tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(droprune._io.os, "fsync", full)
    out = tmp_path / "out"
    err = one_line_error(capsys, SWEEP + ["--out", str(out)])
    assert f"no space left on the device of {out / 'config.json'}: free space there" in err
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no temporary left


def test_a_folder_not_writable_names_the_file_and_the_fix(tmp_path, capsys, monkeypatch):
    def denied(path):
        tmp = path.parent / f".{path.name}.0123abcd.tmp"  # as os.open names it
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp))

    monkeypatch.setattr(droprune._io, "_create_temporary", denied)
    out = tmp_path / "out"
    err = one_line_error(capsys, SWEEP + ["--out", str(out)])
    assert f"permission denied: {out / 'config.json'}: make it (and its folder) readable and " \
           f"writable" in err


def test_a_path_too_long(tmp_path, capsys):
    out = tmp_path / ("x" * 300)
    err = one_line_error(capsys, SWEEP + ["--out", str(out)])
    assert "file name too long" in err and "give a shorter --out path" in err


def test_an_unreadable_csv(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "sizes.csv"
    folder.mkdir()
    err = one_line_error(capsys, ["quotas", "--csv", str(folder), "--density", "0.5"])
    assert f"--csv {folder}: no such file" in err

    csv = tmp_path / "locked.csv"
    csv.write_text("size,recall\n5,0.5\n")

    def locked(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", locked)
    err = one_line_error(capsys, ["quotas", "--csv", str(csv), "--density", "0.5"])
    assert f"permission denied: {csv}: make it" in err


def test_an_unreadable_config_file(tmp_path, capsys, monkeypatch):
    config = tmp_path / "c.json"
    config.write_text("{}")

    def locked(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", locked)
    err = one_line_error(capsys, ["sweep", "--config", str(config), "--out", str(tmp_path / "o")])
    assert f"permission denied: {config}: make it" in err


def report_folder(folder: Path) -> Path:
    store = ResultStore(folder / "results.sqlite")
    store.add(make_record("a", method="Full", density=1.0))
    store.add(make_record("b"))
    return folder


def test_report_into_an_unwritable_place(tmp_path, capsys):
    folder = report_folder(tmp_path)
    (tmp_path / "file").touch()
    err = one_line_error(capsys, ["report", str(folder), "--out", str(tmp_path / "file" / "r")])
    assert f"a part of {tmp_path / 'file' / 'r'} is a file, not a folder" in err


def test_report_corr_density_the_sweep_lacks(tmp_path, capsys):
    err = one_line_error(capsys, ["report", str(report_folder(tmp_path)), "--corr-density", "0.3"])
    assert "--corr-density 0.3 is not a density of these runs; valid: 0.5" in err
    assert not (tmp_path / "report").exists()


def test_a_sqlite_error_on_writing_is_one_line(tmp_path, capsys, monkeypatch):
    import sqlite3

    store = ResultStore(tmp_path / "results.sqlite")

    def full(self):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ResultStore, "_connect", full)
    with pytest.raises(ValueError, match=r"results.sqlite could not be used \(database or disk "
                                         r"is full\); check .* free space"):
        store.add(make_record("a"))


@pytest.mark.parametrize("error, text", [
    (OSError(errno.EROFS, "Read-only file system", "/ro/x"), "read-only file system: /ro/x"),
    (OSError(errno.ENOENT, "No such file or directory", "a/b"), "no such file or folder: a/b"),
    (OSError(errno.EIO, "Input/output error", "a/b"), "Input/output error: a/b: check the path"),
    (FileNotFoundError("no results store at x"), "no results store at x"),
])
def test_os_error_messages(error, text):
    assert os_error_message(error).startswith(text)


# -- bad input -----------------------------------------------------------------------------------

def test_divergence_is_one_line(tmp_path, capsys, monkeypatch):
    import droprune.experiments.sweep as sweep

    def diverge(*args, **kwargs):
        raise FloatingPointError("training diverged: the loss of epoch 0, batch 3 is nan; "
                                 "lower the learning rate or check the inputs for NaN/inf")

    monkeypatch.setattr(sweep, "run_sweep", diverge)
    err = one_line_error(capsys, SWEEP + ["--out", str(tmp_path / "out")])
    assert "training diverged" in err and "lower the learning rate" in err


def test_cuda_on_a_cpu_only_torch(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    err = one_line_error(capsys, SWEEP + ["--out", str(tmp_path / "out"), "--device", "cuda"])
    assert "CUDA is not available here; use --device cpu" in err
    assert not (tmp_path / "out").exists()


def test_infinite_numbers_and_a_config_that_is_not_an_object(tmp_path, capsys):
    assert "--sizes must be comma-separated integers" in one_line_error(
        capsys, ["quotas", "--sizes", "inf,5", "--recalls", "0.5,0.5", "--density", "0.5"])
    out = tmp_path / "out"
    assert "train.epochs: must be an integer, got inf" in one_line_error(
        capsys, SWEEP + ["--out", str(out), "--set", "train.epochs=Infinity"])
    config = tmp_path / "c.json"
    config.write_text("[1]\n")
    err = one_line_error(capsys, ["sweep", "--config", str(config), "--out", str(out)])
    assert f"config file {config}: the top level must be an object of settings" in err
    assert not out.exists()


def test_run_full_takes_density_1_only(tmp_path, capsys):
    out = tmp_path / "out"
    err = one_line_error(capsys, ["run", "--preset", "mnist1d-cpu", "--method", "Full",
                                  "--density", "0.5", "--out", str(out)])
    assert "--method Full keeps the whole training set: give --density 1, got 0.5" in err
    assert not out.exists()


# -- a damaged results store ---------------------------------------------------------------------

def damaged_store(folder: Path) -> Path:
    """A store of 30 rows whose last page is overwritten with garbage."""
    path = folder / "results.sqlite"
    store = ResultStore(path)
    for i in range(30):
        store.add(make_record(f"r{i}"))
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(size - 4096)
        fh.write(b"\xde\xad" * 2048)
    return path


def test_a_damaged_store_is_named_by_sweep_and_report(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(load_config("mnist1d-cpu").to_dict()))
    path = damaged_store(out)
    before = path.read_bytes()
    for argv in (SWEEP + ["--out", str(out)], ["report", str(out)]):
        err = one_line_error(capsys, argv)
        assert f"{path} is not a readable SQLite results store, it is damaged" in err
        assert "move it aside" in err and "every other file of the folder is kept" in err
    assert path.read_bytes() == before  # left as it was
    assert not (out / "report").exists()


# -- stdout closed early -------------------------------------------------------------------------

def run_into_closed_pipe(argv, *, read_first_line: bool):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "droprune", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    if read_first_line:
        assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    return proc.wait(), err.decode()


@pytest.mark.parametrize("argv", [["presets"], ["data", "list"], ["scorers"]])
def test_a_closed_stdout_ends_quietly_with_141(argv):
    # the reader is gone before the first write: deterministic EPIPE
    read, write = os.pipe()
    os.close(read)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-m", "droprune", *argv], stdout=write,
                          stderr=subprocess.PIPE, env=env)
    os.close(write)
    assert proc.returncode == 141 and proc.stderr == b""
    # `| head -1`: whether the rest still fit in the pipe decides 0 or 141, never a traceback
    code, err = run_into_closed_pipe(argv, read_first_line=True)
    assert code in (0, 141) and err == ""


def test_a_message_of_several_lines_is_joined_into_one(tmp_path, capsys, monkeypatch):
    import droprune.experiments.sweep as sweep

    def several(*args, **kwargs):
        raise ValueError("first problem\n  second problem\n")

    monkeypatch.setattr(sweep, "run_sweep", several)
    err = one_line_error(capsys, SWEEP + ["--out", str(tmp_path / "out")])
    assert err.endswith("error: first problem; second problem\n")


def test_under_torchrun_only_rank_zero_prints_the_error(capsys, monkeypatch):
    argv = ["quotas", "--sizes", "inf,5", "--recalls", "0.5,0.5", "--density", "0.5"]
    monkeypatch.setenv("RANK", "1")
    assert main(argv) == 2
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("droprune quotas: error: ")
