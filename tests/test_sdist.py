"""The sdist holds what its own test suite reads: every file of the checkout (tests and their data,
docs, README, benchmarks, scripts, conftest.py, configs) but git's and CI's own dot-files, and no
caches. Built here by setuptools (``MANIFEST.in``) from a copy of the checkout's files, without
running the suite. The suite itself runs from an unpacked sdist (minutes: not part of it)::

    python -m build --sdist --no-isolation --skip-dependency-check --outdir /tmp/sd
    cd /tmp/sd && tar xzf droprune-*.tar.gz && cd droprune-*/
    PYTHONPATH=$PWD/src python -m pytest -n 2 -q
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="lists the checkout's files with git (an unpacked sdist has no .git)")


def checkout_files() -> list[str]:
    """The files of the checkout: tracked ones, and new ones git does not ignore."""
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                           "--exclude-standard"], capture_output=True, check=True, timeout=60)
    names = sorted({n for n in done.stdout.decode().split("\0") if n})
    return [n for n in names if (ROOT / n).is_file()]


def test_the_sdist_holds_every_file_but_dot_files_and_no_caches(tmp_path):
    project, dist = tmp_path / "project", tmp_path / "dist"
    files = checkout_files()
    for name in files:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    (project / "tests" / "__pycache__").mkdir(exist_ok=True)  # a cache must stay out
    (project / "tests" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    done = subprocess.run([sys.executable, "-c", "import sys\nfrom setuptools import build_meta"
                           "\nprint(build_meta.build_sdist(sys.argv[1]))", str(dist)],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    (archive,) = dist.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        top = archive.name[:-len(".tar.gz")] + "/"
        shipped = {m.name[len(top):] for m in tar.getmembers() if m.isfile()}
    left_out = sorted(set(files) - shipped)
    assert all(n.startswith(".") for n in left_out), left_out  # .ci/run, .gitignore
    assert {"conftest.py", "README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml"} <= shipped
    for folder in ("tests", "docs", "benchmarks", "scripts", "src/droprune"):
        assert any(n.startswith(folder + "/") for n in shipped), folder
    assert not [n for n in shipped if "__pycache__" in n or n.endswith((".pyc", ".tmp"))]
    extra = shipped - set(files)  # what setuptools adds: its metadata only
    assert all(n in ("PKG-INFO", "setup.cfg") or ".egg-info/" in n for n in extra), extra
