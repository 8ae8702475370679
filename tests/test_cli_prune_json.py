"""``droprune prune --json``: one JSON object on stdout and nothing else (manifest.json plus the
folder, the files, classes.csv's rows and the warnings), in every mode; the summary text on
stderr (none with --quiet); ``{"error": LINE}`` on stdout beside the one-line error."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import droprune.cli._json_output as json_output
import droprune.prune_output as prune_output

from .test_cli_compare import MIXTURE
from .test_cli_prune import LABELS, K, files, run  # noqa: F401 (files is a fixture)

ADDED = {"out", "files", "classes", "classes_csv", "warnings", "logged_warnings"}


def args(files, out, *extra):
    return ["--recalls", files / "recalls.csv", "--labels", files / "labels.npy",
            "--density", 0.5, "--out", out, "--min-density", 0, *extra]


def report_of(capsys) -> tuple[dict, str]:
    """The one JSON object printed on stdout (nothing else there), and stderr."""
    captured = capsys.readouterr()
    assert captured.out.startswith("{") and captured.out.endswith("}\n"), captured.out
    return json.loads(captured.out), captured.err


def check_against_the_folder(report: dict, out) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(report) == set(manifest) | ADDED and not set(manifest) & ADDED
    assert {k: report[k] for k in manifest} == manifest
    assert report["out"] == str(out) and report["classes_csv"] == str(out / "classes.csv")
    assert report["files"][:len(manifest["outputs"])] == [str(out / n)
                                                          for n in manifest["outputs"]]
    assert {p.name for p in out.iterdir() if p.is_file()} == set(manifest["outputs"])
    table = pd.read_csv(out / "classes.csv", dtype={"name": str})
    assert report["classes"] == table.astype(object).where(table.notna(), None).to_dict(
        "records")  # every cell, blank ones as null
    assert report["warnings"] == (out / "warnings.txt").read_text().splitlines()


def test_json_is_the_manifest_with_the_folder_files_classes_and_warnings(files, capsys):
    out = files / "out"
    assert run(*args(files, out, "--json")) == 0
    report, err = report_of(capsys)
    check_against_the_folder(report, out)
    assert report["method"] == "Random+DRoP" and report["density"] == 0.5
    assert report["kept"] == 75 and report["samples"] == LABELS.size == 150
    assert [c["kept"] for c in report["classes"]] == [18, 24, 30, 3]
    assert [c["class"] for c in report["classes"]] == list(range(K))
    assert report["classes"][0]["bound"] is None  # a blank cell of classes.csv
    assert report["starved"] == [3] and len(report["warnings"]) == 1
    assert "class 3 keeps 3 of 20" in report["warnings"][0]
    assert report["logged_warnings"] == []
    assert report["droprune_version"] == __import__("droprune").__version__
    # the text printed without --json is on stderr, line for line
    assert "kept list: " + str(out / "kept.csv") in err.splitlines()
    assert "Random+DRoP at density 0.5: kept 75 of 150" in err
    # --json changes what is printed, not the run: the same kept list, the same run key
    plain = files / "plain"
    assert run(*args(files, plain)) == 0
    assert "kept list:" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(plain / "kept.npy"), np.load(out / "kept.npy"))
    assert json.loads((plain / "manifest.json").read_text())["run_key"] == report["run_key"]
    assert run(*args(files, out)) == 0  # the same run: resumed, not refused


def test_quiet_leaves_stderr_empty_and_the_json_whole(files, capsys):
    out = files / "out"
    assert run(*args(files, out, "--json", "--quiet")) == 0
    report, err = report_of(capsys)
    assert err == ""
    check_against_the_folder(report, out)


def test_logged_warnings_and_many_classes(files, capsys, monkeypatch):
    monkeypatch.setattr(prune_output, "available", lambda module: module != "matplotlib")
    monkeypatch.setattr(json_output, "CLASSES_MAX", K - 1)
    out = files / "out"
    assert run(*args(files, out, "--json", "-q")) == 0
    report, err = report_of(capsys)
    line = ('class_densities.png not drawn: matplotlib is not installed (pip install '
            '"droprune[report]"); the other files are written')
    assert report["logged_warnings"] == [line] and err == f"warning: {line}\n"
    assert "class_densities.png" not in report["outputs"]
    assert report["classes"] is None and report["classes_csv"] == str(out / "classes.csv")
    assert len(report["warnings"]) == 1  # the quota rule's, from warnings.txt


def test_an_error_is_one_line_on_stderr_and_an_error_object_on_stdout(files, capsys):
    out = files / "out"
    assert run(*args(files, out, "--json", "--density", 1.5)) == 2
    captured = capsys.readouterr()
    prefix = "droprune prune: error: "
    assert captured.err.startswith(prefix) and captured.err.count("\n") == 1
    assert json.loads(captured.out) == {"error": captured.err[len(prefix):].rstrip("\n")}
    assert captured.out.count("\n") == 1 and "density" in captured.out
    assert not out.exists()
    # another run's folder: refused the same way (nothing written over it)
    assert run(*args(files, out, "--json")) == 0
    capsys.readouterr()
    assert run(*args(files, out, "--json", "--seed", 1)) == 2
    assert "holds the kept list of another run" in json.loads(capsys.readouterr().out)["error"]


def test_other_commands_with_json_print_the_error_object_too(capsys):
    from droprune.cli import main

    assert main(["quotas", "--sizes", "5,5", "--recalls", "0.5", "--density", "0.5",
                 "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] in captured.err and captured.err.count("\n") == 1
    assert main(["quotas", "--sizes", "5,5", "--recalls", "0.5", "--density", "0.5"]) == 2
    assert capsys.readouterr().out == ""  # without --json: stdout untouched


def test_json_with_emit_sql_alone_is_refused(files, capsys):
    assert run(*args(files, files / "out", "--json", "--emit-sql", files / "q.sql")) == 2
    captured = capsys.readouterr()
    assert "--emit-sql alone writes none: add --out-of-core" in captured.err
    assert "error" in json.loads(captured.out)
    assert not (files / "q.sql").exists() and not (files / "out").exists()


@pytest.mark.skipif(find_spec("duckdb") is None or find_spec("pyarrow") is None,
                    reason="the out-of-core path needs DuckDB: pip install duckdb")
def test_out_of_core_with_emit_sql(files, capsys):
    pd.DataFrame({"label": LABELS}).to_parquet(files / "m.parquet")
    out = files / "out"
    assert run("--labels", files / "m.parquet", "--recalls", files / "recalls.csv",
               "--density", 0.5, "--out", out, "--out-of-core", "--emit-sql", files / "q.sql",
               "--json") == 0
    report, err = report_of(capsys)
    check_against_the_folder(report, out)
    assert report["out_of_core"] is True and report["kept_list"] == str(out / "kept.parquet")
    assert report["files"][-1] == str(files / "q.sql") and (files / "q.sql").is_file()
    assert report["kept"] == len(pd.read_parquet(out / "kept.parquet")) == 75
    assert "kept list:" in err and "selection query (spark)" in err


def test_compare_prints_one_json_object_with_the_recommendation(tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a if a != "0,1" else "0" for a in MIXTURE]  # one seed: 14 proxy trainings
    assert run(*argv, "--compare", "--density", "0.3", "--out", out, "--json") == 0
    report, err = report_of(capsys)
    check_against_the_folder(report, out)
    table = pd.read_csv(out / "compare.csv")
    assert report["compare"]["recommended"] == table.loc[table["recommended"],
                                                         "candidate"].item()
    assert str(out / "compare.csv") in report["files"] and report["kept"] == 120
    assert "compare: " in err and "kept list (" in err


def test_query_models_log_to_stderr_and_the_json_records_them(tmp_path, capsys):
    out = tmp_path / "out"
    mixture = MIXTURE[:MIXTURE.index("--proxy-epochs")] + ["--no-progress"]
    assert run(*mixture, "--set", "protocol_options.fixed_query_epochs=2", "--density", 0.5,
               "--out", out, "--json") == 0
    report, err = report_of(capsys)
    check_against_the_folder(report, out)
    assert report["query"]["runs"][0]["epochs_trained"] == [2]
    assert report["dataset"]["name"] == "gaussian-mixture" and report["kept"] == 200
    assert "kept list:" in err


def test_the_example_of_the_docs_prints_what_it_says(tmp_path):
    """docs/prune.md's --json example, run by bash as written (``droprune`` and ``python``
    being this interpreter), prints its ``# prints:`` line; its error line is what the command
    prints."""
    if shutil.which("bash") is None:
        pytest.skip("runs the example with bash, which is not installed")
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "prune.md").read_text()
    section = text.split("### One JSON object for scripts: `--json`", 1)[1].split("\n## ")[0]
    example, error = re.findall(r"^```[a-z]*\n(.*?)^```", section, re.M | re.S)[:2]
    said = re.search(r"^# prints: (.*)$", example, re.M).group(1)
    python = shlex.quote(sys.executable)
    prelude = (f"set -e\ndroprune() {{ {python} -m droprune \"$@\"; }}\n"
               f"python() {{ {python} \"$@\"; }}\n")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(["bash", "-c", prelude + example], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == said + "\n", done.stdout + done.stderr
    command, printed = error.strip().splitlines()
    done = subprocess.run(["bash", "-c", prelude + command.removeprefix("$ ")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == printed + "\n", done.stdout + done.stderr
