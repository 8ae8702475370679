"""`droprune quotas` and the top-level command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from droprune.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_output(capsys):
    code, out, _ = run(capsys, "quotas", "--sizes", "500,500,100", "--recalls", "0.9,0.8,0.7",
                       "--density", "0.5")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[2:5]]
    assert [r[3] for r in rows] == ["153", "305", "92"]
    assert "kept 550 of 1100 samples" in out


def test_json_output_count_mode(capsys):
    code, out, _ = run(capsys, "quotas", "--sizes", "500,500,100", "--recalls", "0.9,0.8,0.7",
                       "--density", "0.5", "--mode", "count", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["counts"] == [150, 300, 100]
    assert data["densities"] == [0.3, 0.6, 1.0]
    assert data["total"] == 550 and data["mode"] == "count"


def test_csv_input_with_names(tmp_path, capsys):
    path = tmp_path / "classes.csv"
    path.write_text("name,size,recall\ncat,500,0.9\ndog,500,0.8\neel,100,0.7\n")
    code, out, _ = run(capsys, "quotas", "--csv", str(path), "--density", "0.5", "--json")
    data = json.loads(out)
    assert code == 0 and data["names"] == ["cat", "dog", "eel"] and data["counts"] == [153, 305, 92]


def test_other_rules(capsys):
    code, out, _ = run(capsys, "quotas", "--sizes", "500,500,100", "--density", "0.5",
                       "--rule", "balanced", "--json")
    assert code == 0 and json.loads(out)["counts"] == [225, 225, 100]


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "10,10", "--recalls", "90,80", "--density", "0.5"], "percentages"),
    (["--sizes", "10,10", "--recalls", "0.9,0.8", "--density", "1.5"], "density must be in"),
    (["--sizes", "10,x", "--recalls", "0.9,0.8", "--density", "0.5"], "--sizes must be"),
    (["--sizes", "10,10", "--density", "0.5"], "needs --recalls"),
    (["--density", "0.5"], "give --sizes"),
    (["--csv", "/nonexistent.csv", "--density", "0.5"], "no such file"),
    (["--sizes", "10,10,10", "--recalls", "0.9,0.8", "--density", "0.5"], "3 classes"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, argv, message):
    code, _, err = run(capsys, "quotas", *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_bad_csv(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("count,recall\n1,0.5\n")
    code, _, err = run(capsys, "quotas", "--csv", str(path), "--density", "0.5")
    assert code == 2 and "'size' column" in err


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "droprune", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "quotas" in out


@pytest.mark.parametrize("sizes", ["10,inf", "10,2.5", "10,nan"])
def test_sizes_must_be_whole_numbers(capsys, sizes):
    code, _, err = run(capsys, "quotas", "--sizes", sizes, "--rule", "balanced",
                       "--density", "0.5")
    assert code == 2 and "--sizes must be comma-separated integers" in err


def test_csv_sizes_must_be_whole_numbers(tmp_path, capsys):
    path = tmp_path / "classes.csv"
    path.write_text("size\n10\n2.5\n")
    code, _, err = run(capsys, "quotas", "--csv", str(path), "--rule", "balanced",
                       "--density", "0.5")
    assert code == 2 and "row 2: size must be an integer, got '2.5'" in err
    path.write_text("size\n10.0\n4\n")
    code, out, _ = run(capsys, "quotas", "--csv", str(path), "--rule", "balanced",
                       "--density", "0.5", "--json")
    assert code == 0 and json.loads(out)["counts"] == [4, 3]


def test_starved_classes_are_printed_and_listed(capsys):
    code = main(["quotas", "--sizes", "500,500,100", "--recalls", "1.0,0.8,0.7", "--density",
                 "0.3", "--json"])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["starved"] == [0]
    assert "warning: drop quotas starve 1 of 3 non-empty classes" in captured.err
    assert "class 0 keeps 0 of 500" in captured.err


def test_safeguards_match_the_library(capsys):
    from droprune import drop_quotas

    code = main(["quotas", "--sizes", "500,500,100", "--recalls", "1.0,0.8,0.7", "--density",
                 "0.3", "--error-estimate", "beta", "--val-counts", "25,25,10", "--prior",
                 "1,1", "--min-per-class", "30", "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    expected = drop_quotas([500, 500, 100], [1.0, 0.8, 0.7], 0.3, val_counts=[25, 25, 10],
                           error_estimate="beta", prior=(1, 1), min_per_class=30)
    assert code == 0 and out["counts"] == expected.tolist() and out["starved"] == []
    assert out["counts"][0] >= 30 and captured.err == ""
    assert out["error_estimate"] == "beta" and out["val_counts"] == [25, 25, 10]


def test_validation_counts_from_the_csv(tmp_path, capsys):
    from droprune import drop_quotas

    path = tmp_path / "classes.csv"
    path.write_text("size,recall,count\n500,1.0,25\n500,0.8,25\n100,0.7,10\n")
    code = main(["quotas", "--csv", str(path), "--density", "0.3", "--error-estimate", "beta",
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["counts"] == drop_quotas(
        [500, 500, 100], [1.0, 0.8, 0.7], 0.3, val_counts=[25, 25, 10],
        error_estimate="beta").tolist()


@pytest.mark.parametrize("argv, message", [
    (["--error-estimate", "beta"], "--error-estimate='beta' needs --val-counts"),
    (["--val-counts", "25,25"], "--val-counts has 2 entries but there are 3 classes"),
    (["--min-per-class", "200"], "--min-per-class=200 needs"),
    (["--min-density", "1.5"], "--min-density must be in"),
    (["--prior", "0,1"], "prior must be a pair"),
])
def test_bad_safeguards(capsys, argv, message):
    code = main(["quotas", "--sizes", "500,500,100", "--recalls", "1.0,0.8,0.7", "--density",
                 "0.3", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("recall, message", [
    ("nan", "recall contains NaN at class 0: every class with samples needs a recall in [0, 1]"),
    ("85", "recall must be in [0, 1], got values in [0.8, 85]. They look like percentages"),
])
def test_a_bad_value_of_the_csv_names_the_file(tmp_path, capsys, recall, message):
    path = tmp_path / "q.csv"
    path.write_text(f"size,recall\n500,{recall}\n500,0.8\n")
    code, out, err = run(capsys, "quotas", "--csv", str(path), "--density", "0.5")
    assert code == 2 and out == ""
    assert err.startswith(f"droprune quotas: error: --csv {path}: {message}"), err
    assert err.count("\n") == 1


def test_an_empty_class_may_have_no_recall_in_the_csv(tmp_path, capsys):
    path = tmp_path / "q.csv"
    path.write_text("size,recall\n0,nan\n500,0.8\n")
    code, out, _ = run(capsys, "quotas", "--csv", str(path), "--density", "0.5", "--json")
    assert code == 0 and json.loads(out)["counts"] == [0, 250]
