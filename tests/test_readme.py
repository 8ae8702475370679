"""README.md's examples run as written.

Every ```python block runs in a fresh interpreter. Every line of a ```bash block that starts
with ``droprune `` runs as the command's arguments, the lines of one block in order, in one
folder (so ``droprune report runs/m1d`` reads what the sweep line above it wrote) and in one
fresh interpreter through :func:`droprune.cli.main` (one torch import for the block instead of
one per line); each line must give exit code 0. Lines of other programs (``scripts/demo``,
``torchrun ...``) are not run. Everything runs with one torch thread, in a temporary folder,
with a temporary dataset cache.

A ``droprune`` line is skipped only when it contains a marker of ``SKIP`` (each with its
reason; ``test_every_skip_marker_is_used`` keeps that list honest). Lines that train for
minutes as written run with ``SHRINK``'s overrides appended (a later ``--set`` wins), so the
command, its preset and its options are still exercised as written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# marker in a bash line -> why that line is not run here
SKIP = {
    "--root": "reads a dataset from a folder the reader has and we do not",
}

# command prefix -> overrides appended to its line: the same experiment, seconds instead of minutes
TINY = ['data.options={"num_samples": 1200}', "model.width=0.25", "train.epochs=2",
        "train.drop_epochs=[]", "query.seeds=1", "query.epochs_fraction=0.5",
        "query.scorer_options.dynunc.window=2", "seeds=0", "densities=0.5"]
SHRINK = {("sweep",): TINY, ("run",): TINY, ("demo",): TINY}
# a preset on other data gets overrides of its own (the real Fashion-MNIST files, 20 images
# per class, a few seconds)
PRESET_SHRINK = {"fashion-mnist-mlp": [
    'data.options={"train_per_class": 20, "test_per_class": 20}', "model.width=0.25",
    "train.epochs=2", "train.drop_epochs=[]", "query.seeds=1", "query.epochs_fraction=0.5",
    "query.scorer_options.dynunc.window=2", "protocol_options.fixed_query_epochs=2",
    "seeds=0", "densities=0.5", "methods=Full,Random,Random+DRoP,EL2N+DRoP"]}

# files that lines read, as a reader of the README would have them
FILES = {"classes.csv": "size,recall,name\n500,0.9,cat\n500,0.8,dog\n100,0.7,fox\n",
         "recalls.csv": "class,recall,count\ncat,0.9,50\ndog,0.8,50\nfox,0.7,10\n",
         "labels.csv": "label\n" + "cat\n" * 50 + "dog\n" * 50 + "fox\n" * 10}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.M | re.S)


def _commands(block: str) -> list[str]:
    """The block's lines (``\\`` continuations joined) that start with ``droprune ``."""
    lines = block.replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip().startswith("droprune ")]


def _skip_reason(line: str) -> str | None:
    return next((why for marker, why in SKIP.items() if marker in line), None)


def _env(tmp_path: Path) -> dict[str, str]:
    src = str(README.parent / "src")
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, OMP_NUM_THREADS="1", DROPRUNE_CACHE=str(tmp_path / "cache"),
                PYTHONPATH=src if not path else f"{src}{os.pathsep}{path}", MPLBACKEND="Agg")


# runs each argument list of argv[1] (JSON) through droprune.cli.main; stops at the first failure
DRIVER = """
import json, shlex, sys
from droprune.cli import main
for args in json.loads(sys.argv[1]):
    print("$ droprune", shlex.join(args), flush=True)
    try:
        code = main(args)
    except SystemExit as stop:  # --help
        code = stop.code or 0
    if code:
        sys.exit(f"exit code {code}: droprune {shlex.join(args)}")
"""


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (f"{shlex.join(argv)} exited with {done.returncode}\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


PYTHON = _blocks("python")
BASH = [b for b in _blocks("bash") if _commands(b)]


def test_readme_has_examples():
    assert len(PYTHON) >= 2 and len(BASH) >= 1


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code, tmp_path):
    _run([sys.executable, "-c", code], tmp_path, _env(tmp_path))


@pytest.mark.parametrize("block", BASH, ids=[f"bash-{i}" for i in range(len(BASH))])
def test_bash_block_runs(block, tmp_path):
    env = _env(tmp_path)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    commands = []
    for line in _commands(block):
        if _skip_reason(line):
            continue
        args = shlex.split(line, comments=True)[1:]
        extra = next((o for prefix, o in SHRINK.items() if tuple(args[:len(prefix)]) == prefix),
                     [])
        extra = next((o for preset, o in PRESET_SHRINK.items() if preset in args), extra)
        commands.append(args + [a for o in extra for a in ("--set", o)])
    # lines on the real Fashion-MNIST files run last, and only where the Debian package is
    # (a skip with its reason on a bare machine; a failure when CI requires the files)
    fashion = [c for c in commands if any(preset in c for preset in PRESET_SHRINK)]
    others = [c for c in commands if c not in fashion]
    if others:
        _run([sys.executable, "-c", DRIVER, json.dumps(others)], tmp_path, env)
    if fashion:
        from droprune.data.idx import DEBIAN_FASHION_MNIST

        from .data.test_real_fashion_mnist import require_files

        require_files(DEBIAN_FASHION_MNIST)
        _run([sys.executable, "-c", DRIVER, json.dumps(fashion)], tmp_path, env)


def test_every_skip_marker_is_used():
    lines = [line for b in _blocks("bash") for line in _commands(b)]
    for marker in SKIP:
        assert any(marker in line for line in lines), f"SKIP marker {marker!r} matches no line"
    assert any(line.startswith("droprune demo") and not _skip_reason(line) for line in lines)
