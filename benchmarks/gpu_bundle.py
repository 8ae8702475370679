"""Prepare a one-shot run on the GPU machine: the wheels its image lacks, the Fashion-MNIST
files and ``run.sh``, in a folder that git ignores and the ``run`` call carries.

The GPU image has python3, torch (CUDA), torchvision, numpy, scipy, pandas, pyarrow,
matplotlib and tqdm, but no pydantic and no registry to install it from; a run may carry
64 MiB in all, the working tree included. This script fills ``.gpu-bundle/`` with

- ``wheels/``: pydantic, pydantic-core (one manylinux x86_64 wheel per Python of
  :data:`PYTHONS`: the image's Python version is not known here), annotated-types,
  typing-inspection, typing-extensions, mnist1d and its pure-Python dependencies (requests,
  urllib3, idna, certifi, charset-normalizer), setuptools, wheel and packaging (to build
  droprune with ``pip install -e .``), each pinned to the version installed here where it is;
- ``fashion-mnist/``: the four gzipped idx files (30 MB) from the Debian package;
- ``run.sh``: ONE command for the GPU machine (see :data:`RUN_SH`): installs the wheels
  offline into a folder on ``PYTHONPATH`` (``pip install --no-index --find-links ...
  --target``, so the image's packages stay untouched), installs droprune (``pip install
  --no-deps -e .``, else ``PYTHONPATH=src``), runs ``benchmarks/gpu_check.py``, then the
  paper's comparison on full-size Fashion-MNIST on CUDA (:data:`SWEEP`) and its report, and
  copies at most 8 files into ``$OUT`` (:data:`OUT_FILES`), all within a time budget
  (``DROPRUNE_BUNDLE_BUDGET``, default 540 s: the sweep stops when its share runs out and
  the report covers the runs that finished);
- ``manifest.json``: what is in the bundle, what is missing, the sizes.

It refuses, in one line, a bundle that with the working tree (``git ls-files`` plus untracked
files git does not ignore) comes to more than 64 MiB.

``--dry-run`` builds the bundle WITHOUT downloading (wheels already in the bundle are kept,
missing ones are listed) and runs ``run.sh`` on the CPU with ``DROPRUNE_BUNDLE_TINY=1``: no
pip installs (this environment's packages), ``gpu_check.py --dry-run`` and the same sweep
on a 300-image subsample, 1 epoch, on the CPU, in a few tens of seconds
(``tests/test_gpu_bundle.py``).

Build:      python benchmarks/gpu_bundle.py                  (downloads the wheels, ~45 MiB)
Rehearse:   python benchmarks/gpu_bundle.py --dry-run
On the GPU: run(command="bash .gpu-bundle/run.sh", carry=[".gpu-bundle"], timeout_s=590)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / ".gpu-bundle"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DATA_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
#: what a ``run`` call may carry, the working tree included
LIMIT_BYTES = 64 * 2**20
#: Python versions that get a pydantic-core wheel (the GPU image's version is not known)
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
#: compiled packages: one wheel per Python of PYTHONS
BINARY = ("pydantic-core",)
#: pure-Python packages (py3-none-any wheels)
PURE = ("pydantic", "annotated-types", "typing-inspection", "typing-extensions", "mnist1d",
        "requests", "urllib3", "idna", "certifi", "charset-normalizer", "setuptools", "wheel",
        "packaging")
#: only build droprune (``pip install -e .``: pyproject's build requirements and wheel's own)
BUILD_ONLY = ("setuptools", "wheel", "packaging")
#: installed on the GPU machine from the wheels
INSTALL = tuple(n for n in BINARY + PURE if n not in BUILD_ONLY)
#: the files ``run.sh`` copies into $OUT (at most 8, no folders)
OUT_FILES = ("report.html", "table.csv", "results.csv", "summary.csv", "provenance.json",
             "gpu_check.json", "run.log", "timings.json")
#: the sweep on the GPU: the paper's comparison, full-size Fashion-MNIST, one seed
SWEEP = ("--preset fashion-mnist-mlp --set device=cuda "
         "--set methods=Full,Random,Random+DRoP,EL2N,EL2N+DRoP --set densities=0.3,0.5,0.7 "
         "--set seeds=0")
#: DROPRUNE_BUNDLE_TINY=1: the same sweep on the CPU, 30 training images per class, 1 epoch
TINY = ("--set device=cpu --set 'data.options={\"train_per_class\": 30, \"test_per_class\": 20}' "
        "--set train.epochs=1 --set 'train.drop_epochs=[]' --set query.seeds=1")


@dataclass(frozen=True)
class Wheel:
    """One wheel the bundle needs: a package, its pinned version (None: the newest) and, for
    compiled packages, the Python version it is built for."""

    name: str
    version: str | None
    python: str | None = None

    @property
    def label(self) -> str:
        pin = f"=={self.version}" if self.version else ""
        return f"{self.name}{pin}" + (f" (cp{self.python.replace('.', '')})" if self.python
                                      else "")

    def matches(self, filename: str) -> bool:
        """Whether ``filename`` is a wheel of this package, version and Python."""
        parts = filename[:-len(".whl")].split("-") if filename.endswith(".whl") else []
        if len(parts) < 5 or _norm(parts[0]) != _norm(self.name):
            return False
        if self.version is not None and parts[1] != self.version:
            return False
        python, abi, platform = parts[-3:]
        if self.python is None:
            return abi == "none" and platform == "any"
        return f"cp{self.python.replace('.', '')}" in python.split(".") and \
            "x86_64" in platform and "manylinux" in platform

    def download_command(self, dest: Path) -> list[str]:
        pin = f"{self.name}=={self.version}" if self.version else self.name
        common = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                  "--dest", str(dest), "--quiet"]
        if self.python is not None:
            return [*common, "--platform", "manylinux2014_x86_64", "--python-version",
                    self.python, pin]
        return [*common, "--platform", "any", "--python-version", PYTHONS[0],
                "--implementation", "py", "--abi", "none", pin]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wanted_wheels() -> list[Wheel]:
    """Every wheel of the bundle, pinned to the versions installed here (the ones droprune's
    tests pass with); a package not installed here is taken at its newest version."""
    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    out = [Wheel(n, version(n), py) for n in BINARY for py in PYTHONS]
    return out + [Wheel(n, version(n)) for n in PURE]


# -- sizes -----------------------------------------------------------------------------------

def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files below ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def tree_bytes(repo: Path, exclude: Path | None = None) -> int:
    """Bytes of the working tree that a ``run`` call copies: the files git tracks and the
    untracked ones it does not ignore (``git ls-files --cached --others --exclude-standard``),
    as they are on disk; files under ``exclude`` (the bundle, counted on its own) are left
    out."""
    listing = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
    exclude = None if exclude is None else exclude.resolve()
    total = 0
    for name in {n for n in listing.decode().split("\0") if n}:
        path = repo / name
        if not path.is_file() or path.is_symlink():
            continue  # deleted in the working tree, or a link
        if exclude is not None and path.resolve().is_relative_to(exclude):
            continue
        total += path.stat().st_size
    return total


def check_size(bundle_bytes: int, working_tree_bytes: int, limit: int = LIMIT_BYTES) -> int:
    """The total; ``SystemExit`` with one line when it is over ``limit``."""
    total = bundle_bytes + working_tree_bytes
    if total > limit:
        raise SystemExit(f"gpu_bundle: the bundle ({bundle_bytes / 2**20:.1f} MiB) and the "
                         f"working tree ({working_tree_bytes / 2**20:.1f} MiB) come to "
                         f"{total / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB a run may "
                         f"carry: leave something out")
    return total


def _check_ignored(bundle: Path, repo: Path) -> None:
    """A bundle inside the repository must be ignored by git (it travels through ``carry``,
    not with the working tree)."""
    try:
        bundle.resolve().relative_to(repo.resolve())
    except ValueError:
        return
    probe = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q",
                            str(bundle.resolve() / "run.sh")])
    if probe.returncode != 0:
        raise SystemExit(f"gpu_bundle: {bundle} is not ignored by git: add it to .gitignore "
                         f"(it travels through the run call's carry)")


# -- the bundle ------------------------------------------------------------------------------

def build(bundle: Path, data: Path, *, download: bool) -> dict:
    """Fill ``bundle`` (wheels, data, run.sh, manifest.json); the manifest as a dict.

    With ``download=False`` nothing is fetched: wheels already in ``bundle/wheels`` are kept
    and the others are listed under ``"missing"``.
    """
    missing_data = [f for f in DATA_FILES if not (data / f).is_file()]
    if missing_data:
        raise SystemExit(f"gpu_bundle: Fashion-MNIST files missing from {data}: "
                         f"{', '.join(missing_data)} (apt-get install dataset-fashion-mnist)")
    wheels_dir = bundle / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    wanted = wanted_wheels()
    present, missing = [], []
    for wheel in wanted:
        found = [p.name for p in wheels_dir.glob("*.whl") if wheel.matches(p.name)]
        if not found and download:
            result = subprocess.run(wheel.download_command(wheels_dir), capture_output=True,
                                    text=True)
            if result.returncode != 0:
                tail = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
                raise SystemExit(f"gpu_bundle: could not download {wheel.label}: {tail}")
            found = [p.name for p in wheels_dir.glob("*.whl") if wheel.matches(p.name)]
        (present if found else missing).append(found[0] if found else wheel.label)
    for stale in wheels_dir.glob("*.whl"):  # other versions left by an earlier build
        if stale.name not in present:
            stale.unlink()
    data_dir = bundle / "fashion-mnist"
    data_dir.mkdir(exist_ok=True)
    for name in DATA_FILES:
        source, target = data / name, data_dir / name
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            shutil.copyfile(source, target)
    run_sh = bundle / "run.sh"
    run_sh.write_text(RUN_SH)
    run_sh.chmod(0o755)
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pythons": list(PYTHONS),
                "wheels": sorted(present), "missing": missing, "install": list(INSTALL),
                "data": [f"fashion-mnist/{n}" for n in DATA_FILES], "sweep": SWEEP}
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["bundle_bytes"] = folder_bytes(bundle)
    return manifest


def out_problems(out: Path) -> list[str]:
    """What is wrong with the files ``run.sh`` left in ``out`` for the run call to bring back:
    more than 8 files, a folder deeper than 2 levels."""
    files = [p for p in out.rglob("*") if p.is_file()]
    problems = []
    if len(files) > 8:
        problems.append(f"{len(files)} files (at most 8)")
    problems += [f"{p.relative_to(out)} is too deep" for p in files
                 if len(p.relative_to(out).parts) > 3]
    return problems


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=BUNDLE,
                        help="the bundle folder (default: .gpu-bundle in the repository)")
    parser.add_argument("--data", type=Path, default=FASHION_MNIST,
                        help="the Fashion-MNIST folder (default: the Debian package's)")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the working tree that travels with the bundle")
    parser.add_argument("--dry-run", action="store_true",
                        help="build without downloading, then run run.sh tiny on the CPU")
    parser.add_argument("--out", type=Path, default=None,
                        help="with --dry-run: the $OUT folder (default: a temporary one)")
    args = parser.parse_args(argv)
    _check_ignored(args.bundle, args.repo)
    t0 = time.perf_counter()
    manifest = build(args.bundle, args.data, download=not args.dry_run)
    tree = tree_bytes(args.repo, exclude=args.bundle)
    total = check_size(manifest["bundle_bytes"], tree)
    print(f"bundle {args.bundle}: {manifest['bundle_bytes'] / 2**20:.1f} MiB "
          f"({len(manifest['wheels'])} wheels, Fashion-MNIST), working tree "
          f"{tree / 2**20:.1f} MiB, {total / 2**20:.1f} of {LIMIT_BYTES / 2**20:.0f} MiB; built "
          f"in {time.perf_counter() - t0:.1f} s")
    if manifest["missing"]:
        print(f"not in the bundle ({'dry run: not downloaded' if args.dry_run else 'missing'}): "
              f"{', '.join(manifest['missing'])}")
    if not args.dry_run:
        print(f'on the GPU machine: run(command="bash {_rel(args.bundle, args.repo)}/run.sh", '
              f'carry=["{_rel(args.bundle, args.repo)}"], timeout_s=590)')
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out if args.out is not None else Path(tmp) / "out"
        out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DROPRUNE_BUNDLE_TINY": "1", "OUT": str(out),
               "PYTHON": sys.executable, "DROPRUNE_REPO": str(args.repo.resolve())}
        t1 = time.perf_counter()
        code = subprocess.run(["bash", str(args.bundle / "run.sh")], env=env).returncode
        files = sorted(p.name for p in out.iterdir())
        problems = out_problems(out)
        print(f"dry run: run.sh exited {code} in {time.perf_counter() - t1:.1f} s; $OUT holds "
              f"{', '.join(files)}" + (f"; PROBLEMS: {'; '.join(problems)}" if problems else ""))
    return 1 if code or problems else 0


def _rel(path: Path, repo: Path) -> str:
    try:
        return str(path.resolve().relative_to(repo.resolve()))
    except ValueError:
        return str(path)


RUN_SH = r"""#!/usr/bin/env bash
# One-shot GPU run of droprune, written by benchmarks/gpu_bundle.py (rebuild, do not edit).
#   on the GPU machine:  bash .gpu-bundle/run.sh [extra --set overrides of the sweep]
#   CPU rehearsal:       DROPRUNE_BUNDLE_TINY=1 OUT=/tmp/out bash .gpu-bundle/run.sh
# Writes at most 8 files into $OUT: __OUT_FILES__.
# Environment: OUT (default: BUNDLE/out), PYTHON (python3), DROPRUNE_BUNDLE_BUDGET (seconds for
# everything, default 540), DROPRUNE_BUNDLE_TINY=1 (no installs, tiny sweep on the CPU),
# DROPRUNE_REPO (the working tree, default: the bundle's parent folder).
set -uo pipefail
BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${DROPRUNE_REPO:-$(cd "$BUNDLE/.." && pwd)}"
OUT="${OUT:-$BUNDLE/out}"
PY="${PYTHON:-python3}"
BUDGET="${DROPRUNE_BUNDLE_BUDGET:-540}"
TINY="${DROPRUNE_BUNDLE_TINY:-0}"
WORK="$(mktemp -d)"
START=$(date +%s)
mkdir -p "$OUT"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
STAGES=()
stage() {  # stage NAME SECONDS STATUS
    STAGES+=("{\"stage\": \"$1\", \"seconds\": $2, \"status\": \"$3\"}")
    echo "== $1: $3 in $2 s ($(left) s of the budget left)"
}
timed() {  # timed NAME LIMIT_SECONDS COMMAND...: run under a timeout, record the stage
    local name="$1" limit="$2" t0=$(date +%s) rc
    shift 2
    if [ "$limit" -lt 10 ]; then stage "$name" 0 "skipped: no time left"; return 1; fi
    timeout --kill-after=10 "$limit" "$@"
    rc=$?
    local status=ok
    [ $rc -eq 124 ] && status="stopped at its time limit ($limit s)"
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && status="failed (exit $rc)"
    stage "$name" $(( $(date +%s) - t0 )) "$status"
    return $rc
}

main() {
    local failed=0
    echo "droprune GPU bundle: $(date -u +%FT%TZ), budget $BUDGET s, tiny=$TINY"
    "$PY" -c "import sys, torch; c = torch.cuda.is_available(); print('python', \
        sys.version.split()[0], '| torch', torch.__version__, '| cuda', c, \
        torch.cuda.get_device_name(0) if c else '')"
    command -v nvidia-smi >/dev/null && nvidia-smi -L
    if [ "$TINY" = 1 ]; then
        echo "tiny: pip installs skipped (this environment's packages)"
    else
        # the image's packages stay untouched: the wheels go to a folder on PYTHONPATH
        timed install 120 "$PY" -m pip install --no-index --find-links "$BUNDLE/wheels" \
            --no-deps --target "$WORK/site" --quiet __INSTALL__ || failed=1
        export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
        timed install-droprune 120 "$PY" -m pip install --no-index \
            --find-links "$BUNDLE/wheels" --no-deps --quiet -e "$REPO" \
            || echo "note: pip install -e failed; droprune runs from PYTHONPATH=$REPO/src"
    fi
    export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"

    local check_args=(--json "$OUT/gpu_check.json")
    local check_limit=240
    if [ "$TINY" = 1 ]; then check_args+=(--dry-run --workers 1); check_limit=120; fi
    timed gpu_check "$check_limit" "$PY" "$REPO/benchmarks/gpu_check.py" "${check_args[@]}" \
        || failed=1

    local sweep_args=(__SWEEP__ --set "data.root=$BUNDLE/fashion-mnist")
    if [ "$TINY" = 1 ]; then sweep_args+=(__TINY__); fi
    echo "sweep: droprune sweep ${sweep_args[*]} $*"
    timed sweep $(( $(left) - 45 )) "$PY" -m droprune sweep "${sweep_args[@]}" "$@" \
        --out "$WORK/sweep" --no-progress || failed=1
    if [ -f "$WORK/sweep/results.sqlite" ]; then
        timed report 60 "$PY" -m droprune report "$WORK/sweep" --out "$WORK/report" || failed=1
        for f in report.html table.csv results.csv summary.csv provenance.json; do
            [ -f "$WORK/report/$f" ] && cp "$WORK/report/$f" "$OUT/$f"
        done
        [ -f "$OUT/table.csv" ] && cat "$OUT/table.csv"
    else
        stage report 0 "skipped: the sweep stored no result"
        failed=1
    fi
    local IFS=, total=$(( $(date +%s) - START )) verdict="every stage ok"
    [ $failed = 0 ] || verdict="SOME STAGE FAILED"
    echo "{\"budget_s\": $BUDGET, \"tiny\": $TINY, \"total_s\": $total," \
        "\"stages\": [${STAGES[*]}]}" > "$OUT/timings.json"
    echo "== done in $total s, $verdict"
    return $failed
}

main "$@" 2>&1 | tee "$OUT/run.log"
rc=${PIPESTATUS[0]}
rm -rf "$WORK"
exit $rc
"""
RUN_SH = (RUN_SH.replace("__OUT_FILES__", ", ".join(OUT_FILES))
          .replace("__INSTALL__", " ".join(INSTALL)).replace("__SWEEP__", SWEEP)
          .replace("__TINY__", TINY))


if __name__ == "__main__":
    sys.exit(run())
