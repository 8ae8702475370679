"""``pip install droprune`` alone: in a fresh venv (no system site-packages) with the project
installed ``--no-deps`` beside only its required dependencies (numpy, pandas and what they
need), the numpy core works (``droprune.prune``, ``droprune quotas``, ``droprune prune`` on
files) and every command that needs an extra says which one, with exit code 2, writing
nothing.

Slow (a venv and a pip install, ~20 s here): runs only with ``DROPRUNE_TEST_CORE_VENV=1``
(``.ci/run`` sets it). pip installs from its configured index (this machine's local one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.core_venv,
    pytest.mark.skipif(os.environ.get("DROPRUNE_TEST_CORE_VENV") != "1",
                       reason="builds a venv with only the core dependencies (~20 s, pip "
                              "reaches a package index): set DROPRUNE_TEST_CORE_VENV=1"),
]

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "scipy", "matplotlib", "pyarrow", "pydantic", "tqdm", "mnist1d", "PIL")


def core_requirements() -> list[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the backport (the test extra brings it)
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("core-venv")
    project = base / "project"  # a clean copy: the build writes nothing into the checkout
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    env = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    subprocess.run(pip + core_requirements(), check=True, timeout=600)
    subprocess.run(pip + ["--no-deps", str(project)], check=True, timeout=600)
    return env


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / "droprune"), *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def test_only_the_core_is_installed(venv):
    done = subprocess.run([str(venv / "bin" / "python"), "-c", (
        "import importlib.util as u\n"
        f"print([m for m in {OPTIONAL!r} if u.find_spec(m)])")], capture_output=True,
        text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_core_works(venv, tmp_path):
    code = ("import sys, numpy as np, droprune\n"
            "labels = np.repeat([0, 1, 2], 50)\n"
            "r = droprune.prune(labels, 0.5, recalls=[0.9, 0.7, 0.5], min_density=0)\n"
            "assert r.table['kept'].tolist() == [8, 25, 42], r.table\n"
            "r.summary()\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(" + repr(OPTIONAL) + ")))")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
    done = run(venv, "quotas", "--sizes", "500,500,100", "--recalls", "0.9,0.8,0.7",
               "--density", "0.5", cwd=tmp_path)
    assert done.returncode == 0 and "class" in done.stdout, done.stderr
    assert run(venv, "--help", cwd=tmp_path).returncode == 0


def test_prune_on_files_writes_everything_but_the_figure(venv, tmp_path):
    np.save(tmp_path / "labels.npy", np.repeat([0, 1, 2], 40))
    (tmp_path / "recalls.csv").write_text("class,recall,count\n0,0.9,20\n1,0.7,20\n2,0.5,20\n")
    done = run(venv, "prune", "--recalls", "recalls.csv", "--labels", "labels.npy",
               "--density", "0.5", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip() == ('warning: class_densities.png not drawn: matplotlib is not '
                                   'installed (pip install "droprune[report]"); the other files '
                                   'are written')
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(["kept.csv", "kept.npy", "classes.csv", "summary.html",
                              "warnings.txt", "manifest.json"])
    assert "kept list:" in done.stdout


def test_scorers_list_without_torch_and_prune_prints_json(venv, tmp_path):
    """The scorer registry imports no torch (its options, read from the scoring code, are left
    out); `droprune presets` and `droprune data list` need the torch extra (below): presets
    are pydantic configs, and the dataset entries are registered with their torch readers."""
    import json

    done = run(venv, "scorers", "--json", cwd=tmp_path)
    assert done.returncode == 0 and "pip install \"droprune[torch]\"" in done.stderr, done.stderr
    entries = json.loads(done.stdout)
    assert "el2n" in [e["name"] for e in entries] and all(e["options"] is None for e in entries)
    np.save(tmp_path / "labels.npy", np.repeat([0, 1], 20))
    (tmp_path / "recalls.csv").write_text("class,recall\n0,0.9\n1,0.5\n")
    done = run(venv, "prune", "--recalls", "recalls.csv", "--labels", "labels.npy",
               "--density", "0.5", "--out", "out", "--json", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["kept"] == 20 and "out/class_densities.png" not in report["files"]
    assert report["logged_warnings"] == [done.stderr.strip()[len("warning: "):]]
    assert "matplotlib is not installed" in done.stderr


@pytest.mark.parametrize("argv, extra", [
    (["sweep", "--preset", "mnist1d-cpu", "--out", "out"], "torch"),
    (["run", "--preset", "mnist1d-cpu", "--method", "Random", "--density", "0.5", "--out",
      "out"], "torch"),
    (["demo", "--out", "out"], "torch"),
    (["presets"], "torch"),
    (["data", "list"], "torch"),
    (["report", "out"], "report"),
    (["theory"], "theory"),
    (["prune", "--data", "mnist1d", "--density", "0.5", "--out", "out"], "torch"),
    (["prune", "--labels", "labels.parquet", "--recalls", "recalls.csv", "--density", "0.5",
      "--out", "out"], "parquet"),
])
def test_every_command_that_needs_an_extra_names_it(venv, tmp_path, argv, extra):
    import pandas as pd

    pd.DataFrame({"label": [0, 1, 1, 0]}).to_parquet(tmp_path / "labels.parquet")
    (tmp_path / "recalls.csv").write_text("class,recall\n0,0.9\n1,0.5\n")
    done = run(venv, *argv, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"droprune {argv[0]}: error: ")
    assert done.stderr.rstrip().endswith(f'not installed: pip install "droprune[{extra}]"')
    assert not (tmp_path / "out").exists()


def test_python_imports_say_which_extra(venv, tmp_path):
    code = ("import droprune.theory as t\n"
            "for name in ('droprune.training', 'droprune.data', 'droprune.experiments.sweep'):\n"
            "    try:\n        __import__(name)\n"
            "    except ImportError as exc:\n        print(exc)\n"
            "try:\n    t.t_star(t.TwoGaussians())\n"
            "except ImportError as exc:\n    print(exc)\n")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and all(line.endswith('pip install "droprune[torch]"')
                                   for line in lines[:3]), lines
    assert lines[3].endswith('pip install "droprune[theory]"')
