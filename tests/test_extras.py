"""Optional dependencies (droprune._extras): a missing extra is one line naming the
``pip install "droprune[EXTRA]"`` that brings it: an ImportError in Python, exit code 2 in the
command line, said before anything is written. Modules are hidden here by
``sys.modules[name] = None`` (``import name`` then fails as if it were not installed); the
real thing, a venv with the core dependencies only, is tests/test_core_venv.py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from droprune._extras import (
    EXTRAS,
    MODULE_EXTRAS,
    MissingExtraError,
    available,
    install_hint,
    missing_extra,
    require,
)
from droprune.cli import main


def hidden(*modules: str) -> str:
    """Python code that makes ``modules`` (and their submodules) unimportable."""
    return (f"import sys\nfor m in {modules!r}:\n    sys.modules[m] = None\n")


def run_hidden(modules, code, tmp_path):
    """Run ``code`` in a fresh interpreter where ``modules`` cannot be imported."""
    return subprocess.run([sys.executable, "-c", hidden(*modules) + code], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)


def cli(modules, argv, tmp_path):
    return run_hidden(modules, f"from droprune.cli import main\nsys.exit(main({argv!r}))",
                      tmp_path)


# -- the helper ----------------------------------------------------------------------------------

def test_require_names_the_extra_and_the_modules(monkeypatch):
    require("torch", "numpy")  # installed: nothing
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ImportError) as info:
        require("theory", what="droprune theory")
    exc = info.value
    assert isinstance(exc, MissingExtraError) and exc.extra == "theory" and exc.name == "scipy"
    assert str(exc) == ('droprune theory needs scipy, which is not installed: '
                        'pip install "droprune[theory]"')
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtraError, match=r"needs matplotlib, pyarrow, which are not "):
        require("report", what="x")
    with pytest.raises(ValueError, match="unknown extra 'tourch'; the extras: torch, report"):
        require("tourch", "torch")


def test_every_optional_module_maps_to_an_extra_the_project_declares():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    # "docs" builds the API reference (scripts/docs); no droprune module needs it at run time
    assert set(EXTRAS) | {"all", "test", "docs"} == set(extras)
    assert set(MODULE_EXTRAS.values()) <= set(EXTRAS)
    assert extras["all"] == ["droprune[torch,report,theory,parquet,outofcore]"]
    assert extras["test"][0] == "droprune[all]"
    # the core is numpy and pandas; every optional module's distribution is in its extra
    assert [d.split(">")[0] for d in meta["dependencies"]] == ["numpy", "pandas"]
    dist = {"PIL": "pillow", "pydantic_core": "pydantic"}
    for module, extra in MODULE_EXTRAS.items():
        names = [d.split(">")[0].split(";")[0].strip() for d in extras[extra]]
        assert dist.get(module, module) in names, (module, extra)
    assert install_hint("report") == 'pip install "droprune[report]"'


def test_missing_extra_only_for_optional_modules_that_are_missing(monkeypatch):
    err = ModuleNotFoundError("No module named 'matplotlib.figure'", name="matplotlib.figure")
    assert missing_extra(err) is None  # installed: a genuine error inside matplotlib
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    found = missing_extra(err, "droprune report")
    assert str(found) == ('droprune report needs matplotlib, which is not installed: '
                          'pip install "droprune[report]"')
    assert missing_extra(ModuleNotFoundError("x", name="some_other_package")) is None
    assert missing_extra(ValueError("no")) is None
    assert not available("matplotlib") and available("numpy")


# -- Python: ImportError with the hint ----------------------------------------------------------

@pytest.mark.parametrize("module, extra", [
    ("droprune.training", "torch"), ("droprune.data", "torch"), ("droprune.models", "torch"),
    ("droprune.scoring", "torch"), ("droprune.experiments.config", "torch")])
def test_torch_subpackages_say_which_extra(tmp_path, module, extra):
    done = run_hidden(["torch"], f"import {module}", tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("droprune._extras.MissingExtraError: ") and last.endswith(
        f'needs torch, which is not installed: pip install "droprune[{extra}]"'), done.stderr


def test_theory_imports_without_scipy_and_says_so_when_used(tmp_path):
    done = run_hidden(["scipy"], "import droprune.theory as t\n"
                      "t.t_hat(t.TwoGaussians())  # closed form: no scipy\n"
                      "try:\n    t.t_star(t.TwoGaussians())\n"
                      "except ImportError as exc:\n    print(exc)\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ('droprune.theory needs scipy, which is not installed: '
                                   'pip install "droprune[theory]"')


def test_parquet_files_without_pyarrow(tmp_path):
    import pandas as pd

    pd.DataFrame({"label": [0, 1, 1]}).to_parquet(tmp_path / "labels.parquet")
    done = run_hidden(["pyarrow"], "import droprune\n"
                      "try:\n    droprune.read_labels('labels.parquet')\n"
                      "except ImportError as exc:\n    print(exc)\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == ('reading labels.parquet needs pyarrow, which is not '
                                           'installed: pip install "droprune[parquet]"')


# -- the command line: exit 2, one line, nothing written ----------------------------------------

@pytest.mark.parametrize("argv, hidden_modules, extra", [
    (["sweep", "--preset", "mnist1d-cpu", "--out", "out"], ["torch"], "torch"),
    (["run", "--preset", "mnist1d-cpu", "--method", "Random", "--density", "0.5", "--out",
      "out"], ["pydantic"], "torch"),
    (["demo", "--out", "out"], ["matplotlib"], "report"),
    (["presets"], ["torch"], "torch"),
    (["data", "list"], ["torch"], "torch"),
    (["report", "out"], ["matplotlib"], "report"),
    (["theory", "--sweep", "0"], ["scipy"], "theory"),
    (["theory", "--sweep", "0", "--plot", "out"], ["matplotlib"], "report"),
    (["prune", "--labels", "labels.parquet", "--recalls", "recalls.csv", "--density", "0.5",
      "--out", "out"], ["pyarrow"], "parquet"),
    (["prune", "--data", "gaussian-mixture", "--model", "mlp", "--density", "0.5", "--out",
      "out"], ["torch"], "torch"),
])
def test_a_missing_extra_is_one_line_and_exit_2(tmp_path, argv, hidden_modules, extra):
    import pandas as pd

    pd.DataFrame({"label": [0, 1, 1, 0]}).to_parquet(tmp_path / "labels.parquet")
    (tmp_path / "recalls.csv").write_text("class,recall\n0,0.9\n1,0.5\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = cli(hidden_modules, argv, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    command = argv[0] if argv[0] != "data" else "data"
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"droprune {command}: error: ")
    assert done.stderr.rstrip().endswith(f'not installed: pip install "droprune[{extra}]"')
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_help_and_quotas_import_nothing_heavy(tmp_path):
    code = ("import runpy\nsys.argv = ['droprune', 'quotas', '--sizes', '5,5', '--recalls', "
            "'0.5,0.9', '--density', '0.5', '--json']\n"
            "try:\n    runpy.run_module('droprune', run_name='__main__')\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "heavy = {'torch', 'scipy', 'matplotlib', 'pandas', 'pyarrow', 'pydantic', 'tqdm'}\n"
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}), file=sys.stderr)\n")
    done = run_hidden([], code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    counts = [int(c) for c in __import__("json").loads(done.stdout)["counts"]]
    assert sum(counts) == 5


def test_prune_without_matplotlib_writes_all_but_the_figure(tmp_path):
    np.save(tmp_path / "labels.npy", np.repeat([0, 1], 20))
    (tmp_path / "recalls.csv").write_text("class,recall\n0,0.9\n1,0.5\n")
    done = cli(["matplotlib"], ["prune", "--labels", "labels.npy", "--recalls", "recalls.csv",
                                "--density", "0.5", "--out", "out"], tmp_path)
    assert done.returncode == 0, done.stderr
    from droprune.prune_output import OUTPUTS

    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        set(OUTPUTS) - {"class_densities.png"})
    assert done.stderr.strip() == ('warning: class_densities.png not drawn: matplotlib is not '
                                   'installed (pip install "droprune[report]"); the other files '
                                   'are written')
    assert "matplotlib is not installed" in (tmp_path / "out" / "summary.html").read_text()
    assert "kept list:" in done.stdout


def test_the_cli_maps_an_unexpected_missing_module_to_its_extra(monkeypatch, capsys):
    """A module imported deep inside a command, without a require() of its own, still ends in
    the one line (the safety net of droprune.cli)."""
    import droprune.cli.scorers as scorers

    def handler(args):
        raise ModuleNotFoundError("No module named 'mnist1d'", name="mnist1d")

    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setattr(scorers, "_scorers", handler)
    assert main(["scorers"]) == 2
    assert capsys.readouterr().err == ('droprune scorers: error: droprune scorers needs mnist1d, '
                                       'which is not installed: pip install "droprune[torch]"\n')
