"""Progress and logging: bars only on a terminal (one log line per finished stage elsewhere),
``$TQDM_DISABLE`` honoured, the ``droprune`` logger shown by the command line on stderr
(``--quiet`` / ``--verbose``), results on stdout, and no ``\\r`` in a log file."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys

import pytest

import droprune._progress as progress
from droprune._progress import bars_enabled, progress_bar
from droprune.cli import log_to_stderr, main


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bars_only_on_a_terminal_and_without_tqdm_disable(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert bars_enabled(Terminal()) and not bars_enabled(io.StringIO())
    for value in ("1", "True", "yes"):
        monkeypatch.setenv("TQDM_DISABLE", value)
        assert not bars_enabled(Terminal())
    for value in ("0", "false", ""):
        monkeypatch.setenv("TQDM_DISABLE", value)
        assert bars_enabled(Terminal())
    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed: lines, never a crash
    assert not bars_enabled(Terminal())


def test_one_line_per_finished_stage_off_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="droprune")
    with progress_bar(4, "train MLP (seed 1, 2 epochs)", unit="batch") as bar:
        bar.update(2)
        bar.update(2)
        bar.set_postfix_str("loss 0.1")
        assert not caplog.records  # nothing while it runs
    (record,) = caplog.records
    assert record.name == "droprune._progress" and record.levelno == logging.INFO
    assert record.getMessage().startswith("train MLP (seed 1, 2 epochs): 4/4 batch in ")
    assert record.getMessage().endswith(" s; loss 0.1")
    bar.close()  # closing twice says nothing more
    assert len(caplog.records) == 1
    with progress_bar(3, "quiet", enabled=False) as bar:
        bar.update(3)
    assert len(caplog.records) == 1


def test_a_bar_on_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "bars_enabled", lambda stream=None: True)
    bar = progress_bar(2, "sweep demo", unit="run", initial=1)
    try:
        assert type(bar).__module__.startswith("tqdm") and bar.n == 1 and bar.desc == "sweep demo"
    finally:
        bar.close()


def test_quiet_draws_no_bar_even_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(progress, "bars_enabled", lambda stream=None: True)
    with log_to_stderr(-1):
        with progress_bar(2, "train MLP (seed 0, 1 epoch)") as bar:
            bar.update(2)
    assert type(bar).__module__ == "droprune._progress" and capsys.readouterr().err == ""
    bar = progress_bar(2, "after --quiet")  # a bar again
    bar.close()
    assert type(bar).__module__.startswith("tqdm")


def test_the_command_line_logs_to_stderr_at_the_chosen_level(capsys):
    log = logging.getLogger("droprune.experiments.sweep")
    for verbosity, shown in ((-1, ["warning: w"]), (0, ["i", "warning: w"]),
                             (1, ["d", "i", "warning: w"])):
        with log_to_stderr(verbosity):
            log.debug("d")
            log.info("i")
            log.warning("w")
        assert capsys.readouterr().err.splitlines() == shown
    log.info("after the command: not shown")  # the handler is removed again
    assert capsys.readouterr().err == ""
    assert logging.getLogger("droprune").handlers == []


@pytest.mark.parametrize("flags", [["-q"], ["--quiet"], ["-v"], ["--verbose"], []])
def test_quiet_and_verbose_go_before_or_after_the_command(flags, capsys):
    argv = ["quotas", "--sizes", "50,50", "--recalls", "0.9,0.8", "--density", "0.5"]
    assert main(flags + argv) == 0
    first = capsys.readouterr().out
    assert main(argv + flags) == 0
    assert capsys.readouterr().out == first and "class" in first  # results stay on stdout


def test_a_training_command_writes_no_carriage_returns_into_a_log_file(tmp_path):
    """stderr redirected to a file: no bar updates, one line per finished training naming the
    model, seed and epochs; --quiet leaves only warnings."""
    argv = [sys.executable, "-m", "droprune", "prune", "--data", "gaussian-mixture",
            "--option", "class_sizes=[100,100]", "--option", "test_sizes=[50,50]",
            "--model", "mlp", "--set", "train.batch_size=32", "--density", "0.5"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("TQDM_DISABLE", None)
    with open(tmp_path / "err.log", "w") as err:
        done = subprocess.run(argv + ["--out", str(tmp_path / "a")], stdout=subprocess.PIPE,
                              stderr=err, text=True, env=env, timeout=300)
    log = (tmp_path / "err.log").read_text()
    assert done.returncode == 0, log
    assert "\r" not in log
    trained = [line for line in log.splitlines() if line.startswith("train MLP (seed ")]
    assert trained and all(" epochs): " in line and " batch in " in line for line in trained)
    assert "kept list:" in done.stdout and "train MLP" not in done.stdout
    quiet = subprocess.run(argv + ["--out", str(tmp_path / "b"), "--quiet"], capture_output=True,
                           text=True, env=env, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert all(line.startswith("warning: ") for line in quiet.stderr.splitlines())
