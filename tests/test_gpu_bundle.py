"""benchmarks/gpu_bundle.py: the bundle for a one-shot GPU run, its size accounting, and its
dry run (the bundle built without downloading, run.sh rehearsed on the CPU at tiny sizes)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from droprune.data.idx import DEBIAN_FASHION_MNIST

from .benchmark_scripts import load_benchmark
from .data.test_real_fashion_mnist import require_files

REPO = Path(__file__).resolve().parents[1]
MiB = 2**20
gb = load_benchmark("gpu_bundle")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
# an unpacked sdist has no .git: git cannot list or check-ignore the files of REPO there
needs_checkout = pytest.mark.skipif(not (REPO / ".git").exists(), reason="reads the git "
                                    "working tree of the repository (not in an sdist)")


@pytest.mark.slow
@needs_git
@needs_checkout
def test_dry_run_builds_the_bundle_and_rehearses_run_sh(tmp_path, capsys):
    require_files(DEBIAN_FASHION_MNIST)
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    assert gb.run(["--dry-run", "--bundle", str(bundle), "--repo", str(REPO),
                   "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dry run: run.sh exited 0" in printed and "not downloaded" in printed
    # the bundle: data, run.sh, manifest; no download in a dry run (every wheel listed missing)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["wheels"] == [] and len(manifest["missing"]) == len(gb.wanted_wheels())
    assert {w.python for w in gb.wanted_wheels() if w.name == "pydantic-core"} == \
        {"3.10", "3.11", "3.12", "3.13", "3.14"}
    for name in gb.DATA_FILES:
        assert (bundle / "fashion-mnist" / name).stat().st_size == \
            (DEBIAN_FASHION_MNIST / name).stat().st_size
    assert "pip install --no-index --find-links" in (bundle / "run.sh").read_text()
    # sizes: the data and the working tree leave room for the wheels (12.8 MiB measured)
    used = gb.folder_bytes(bundle) + gb.tree_bytes(REPO, exclude=REPO / ".gpu-bundle")
    assert used + 16 * MiB < gb.LIMIT_BYTES
    # what $OUT receives: at most 8 flat files
    assert sorted(p.name for p in out.iterdir()) == sorted(gb.OUT_FILES)
    assert all(p.is_file() for p in out.iterdir()) and gb.out_problems(out) == []
    timings = json.loads((out / "timings.json").read_text())
    assert timings["tiny"] == 1
    assert [(s["stage"], s["status"]) for s in timings["stages"]] == [
        ("gpu_check", "ok"), ("sweep", "ok"), ("report", "ok")]
    checks = json.loads((out / "gpu_check.json").read_text())["checks"]
    assert all(c["ok"] for c in checks.values())
    with open(out / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["method"] for r in rows} == {"Random", "Random+DRoP", "EL2N", "EL2N+DRoP"}
    assert {"worst@0.3", "worst@0.5", "worst@0.7"} <= set(rows[0])
    log = (out / "run.log").read_text()
    assert "tiny: pip installs skipped" in log and "every stage ok" in log
    assert f"data.root={bundle.resolve()}/fashion-mnist" in log  # the bundled copy is read


def test_check_size_refuses_over_the_limit_in_one_line():
    assert gb.check_size(3 * MiB, 2 * MiB) == 5 * MiB
    with pytest.raises(SystemExit) as err:
        gb.check_size(60 * MiB, 5 * MiB)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("gpu_bundle: the bundle (60.0 MiB) and the working tree (5.0 MiB) "
                              "come to 65.0 MiB, over the 64 MiB a run may carry")


@needs_git
def test_tree_bytes_counts_what_the_run_call_copies(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("ignored/\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_bytes(b"x" * 100)  # untracked, not ignored: travels
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "big").write_bytes(b"x" * 10_000)  # ignored: stays
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "w.whl").write_bytes(b"x" * 1000)  # the bundle: counted apart
    assert gb.tree_bytes(tmp_path, exclude=tmp_path / "bundle") == 100 + len("ignored/\n")
    assert gb.tree_bytes(tmp_path) == 1100 + len("ignored/\n")
    assert gb.folder_bytes(tmp_path / "ignored") == 10_000


@needs_git
@needs_checkout
def test_a_bundle_inside_the_repository_must_be_ignored():
    gb._check_ignored(REPO / ".gpu-bundle", REPO)  # .gitignore names it
    with pytest.raises(SystemExit, match=r"^gpu_bundle: .*not-ignored-bundle is not ignored by "
                                         r"git: add it to \.gitignore"):
        gb._check_ignored(REPO / "not-ignored-bundle", REPO)


def test_wheels_match_package_version_and_python():
    core = gb.Wheel("pydantic-core", "2.50.5", "3.12")
    name = "pydantic_core-2.50.5-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
    assert core.matches(name)
    assert not core.matches(name.replace("cp312", "cp311"))
    assert not core.matches(name.replace("2.50.5", "2.50.4"))
    assert not core.matches(name.replace("x86_64", "aarch64"))
    pure = gb.Wheel("typing-extensions", "4.16.0")
    assert pure.matches("typing_extensions-4.16.0-py3-none-any.whl")
    assert not pure.matches("typing_extensions-4.15.0-py3-none-any.whl")
    assert not gb.Wheel("pydantic", "2.50.5").matches(name)  # names compared whole
    assert gb.Wheel("wheel", None).matches("wheel-0.48.0-py3-none-any.whl")
    command = core.download_command(Path("/tmp/w"))
    assert command[1:4] == ["-m", "pip", "download"]
    for flag in ("--no-deps", "--only-binary=:all:"):
        assert flag in command
    assert command[command.index("--platform") + 1] == "manylinux2014_x86_64"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[-1] == "pydantic-core==2.50.5"
    assert "--platform" in pure.download_command(Path("/tmp/w"))


def test_out_problems_name_too_many_files_and_deep_folders(tmp_path):
    for i in range(9):
        (tmp_path / f"f{i}.txt").write_text("x")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")
    problems = gb.out_problems(tmp_path)
    assert problems[0] == "10 files (at most 8)"
    assert problems[1] == "a/b/c/x.txt is too deep"
    assert gb.out_problems(deep) == []
