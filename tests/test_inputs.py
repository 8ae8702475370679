"""droprune.inputs: labels, recalls and scores read exactly from .npy / .csv / .parquet files
(row i is sample i, class identity never guessed), every bad input one line naming the file, and
no torch needed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import droprune
import droprune.prune_output
from droprune.inputs import METADATA_KEY, ClassRecalls, read_labels, read_recalls, read_scores

LABELS = np.array([2, 0, 1, 1, 0, 2, 2, 0])
NAMES = ["cat", "dog", "fox"]


def write(path, text: str):
    path.write_bytes(text.encode())
    return path


def one_line_error(exc_info, path) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


def score_file(path, columns: dict, labels, metadata: dict | None = None):
    """A droprune score file written with pyarrow alone (what save_scores writes)."""
    table = pa.table({"index": np.arange(len(labels)), "label": np.asarray(labels), **columns})
    meta = json.dumps(metadata or {}).encode()
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: meta}), path)
    return path


# -- labels: every spelling of the same labels reads the same ------------------------------------

def label_files(tmp_path) -> dict[str, object]:
    np.save(tmp_path / "ints.npy", LABELS)
    np.savetxt(tmp_path / "savetxt.csv", LABELS)  # no header, '2.000000000000000000e+00'
    np.savetxt(tmp_path / "savetxt_int.csv", LABELS, fmt="%d")
    pd.DataFrame({"label": LABELS}).to_csv(tmp_path / "pandas.csv", index=False)
    pd.DataFrame({"label": LABELS}).to_csv(tmp_path / "with_index.csv")  # ',label' header
    pd.DataFrame({"label": LABELS}).to_parquet(tmp_path / "ints.parquet")
    body = "".join(f"{y}\n" for y in LABELS)
    return {
        "npy": tmp_path / "ints.npy",
        "np.savetxt (no header)": tmp_path / "savetxt.csv",
        "np.savetxt fmt=%d": tmp_path / "savetxt_int.csv",
        "pandas to_csv": tmp_path / "pandas.csv",
        "pandas with index": tmp_path / "with_index.csv",
        "parquet": tmp_path / "ints.parquet",
        "no trailing newline": write(tmp_path / "a.csv", body.rstrip("\n")),
        "blank lines at the end": write(tmp_path / "b.csv", "label\n" + body + "\n\n"),
        "CRLF and spaces": write(tmp_path / "c.csv", "".join(f" {y} \r\n" for y in LABELS)),
        "other header name": write(tmp_path / "d.csv", "y\n" + body),
        "byte order mark": write(tmp_path / "e.csv", "\ufefflabel\n" + body),
    }


@pytest.mark.parametrize("kind", [
    "npy", "np.savetxt (no header)", "np.savetxt fmt=%d", "pandas to_csv", "pandas with index",
    "parquet", "no trailing newline", "blank lines at the end", "CRLF and spaces",
    "other header name", "byte order mark"])
def test_the_same_labels_however_they_are_written(tmp_path, kind):
    labels = read_labels(label_files(tmp_path)[kind])
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, LABELS)


def test_class_names_in_labels_files(tmp_path):
    names = np.array(NAMES)[LABELS]
    np.save(tmp_path / "names.npy", names)
    pd.DataFrame({"label": names}).to_parquet(tmp_path / "names.parquet")
    write(tmp_path / "header.csv", "label\n" + "".join(f"{n}\n" for n in names))
    write(tmp_path / "headerless.csv", "".join(f"{n}\n" for n in names))  # 'fox' is a class
    for f in ("names.npy", "names.parquet", "header.csv", "headerless.csv"):
        np.testing.assert_array_equal(read_labels(tmp_path / f, class_names=NAMES), LABELS)
    # the class order is the one given, not the order of appearance nor alphabetical
    np.testing.assert_array_equal(read_labels(tmp_path / "header.csv",
                                              class_names=["fox", "cat", "dog"]), (LABELS + 1) % 3)


def test_integer_ids_against_named_classes(tmp_path):
    path = tmp_path / "ints.npy"
    np.save(path, LABELS)
    with pytest.raises(ValueError) as e:
        read_labels(path, class_names=NAMES)
    assert "class_ids='index'" in one_line_error(e, path) and "--class-ids index" in str(e.value)
    np.testing.assert_array_equal(read_labels(path, class_names=NAMES, class_ids="index"), LABELS)
    with pytest.raises(ValueError, match="label 2 at row 0 is not a class index: there are 2"):
        read_labels(path, class_names=NAMES[:2], class_ids="index")
    # names that are the ids' text (mnist1d's "0".."9") match by name: nothing to guess
    np.testing.assert_array_equal(read_labels(path, class_names=["0", "1", "2"]), LABELS)
    np.testing.assert_array_equal(read_labels(path, class_names=["2", "0", "1"]),
                                  [0, 1, 2, 2, 1, 0, 0, 1])


def bad_label_files(tmp_path):
    np.save(tmp_path / "matrix.npy", LABELS.reshape(2, 4))
    np.save(tmp_path / "bools.npy", LABELS > 0)
    pd.DataFrame({"label": [0.0, None, 1.0]}).to_parquet(tmp_path / "null.parquet")
    pd.DataFrame({"a": [0, 1], "b": [1, 0]}).to_parquet(tmp_path / "two.parquet")
    np.save(tmp_path / "none.npy", np.array([], dtype=np.int64))
    pd.DataFrame({"label": np.array([], dtype=np.int64)}).to_parquet(tmp_path / "none.parquet")
    np.save(tmp_path / "u64.npy", np.array([0, 2**63, 1], dtype=np.uint64))
    np.save(tmp_path / "f64.npy", np.array([0.0, 1.0, -3e20]))
    return {
        "blank line inside": (write(tmp_path / "a.csv", "label\n0\n1\n\n2\n"),
                              r"line 4 is blank: a blank line inside the data would shift"),
        "blank line first": (write(tmp_path / "b.csv", "\n0\n1\n"), "line 1 is blank"),
        "empty cell": (write(tmp_path / "c.csv", "id,label\n0,1\n1,\n"),
                       "label at line 3 is empty"),
        "ragged rows": (write(tmp_path / "d.csv", "id,label\n0,1\n1\n"),
                        "line 3 has 1 fields but line 1 has 2"),
        "no header, two columns": (write(tmp_path / "e.csv", "0,1\n1,0\n"),
                                   "has no header row .* and 2 columns"),
        "no label column": (write(tmp_path / "f.csv", "a,b\n0,1\n"),
                            r"needs a 'label' column \(found a, b\)"),
        "fraction": (write(tmp_path / "g.csv", "label\n0\n2.5\n"),
                     "label at line 3 is 2.5, not an integer"),
        "negative": (write(tmp_path / "h.csv", "-1\n0\n"), "label -1 at line 1 is negative"),
        "empty file": (write(tmp_path / "i.csv", "\n\n"), "is empty"),
        "names without an order": (write(tmp_path / "j.csv", "label\ncat\ndog\n"),
                                   r"holds class names \(cat, dog\) but no class order"),
        "2-D npy": (tmp_path / "matrix.npy", r"shape \(2, 4\): save one entry per sample"),
        "booleans": (tmp_path / "bools.npy", "holds booleans"),
        "null in parquet": (tmp_path / "null.parquet", "label at row 1 is empty"),
        "two parquet columns": (tmp_path / "two.parquet", "needs a 'label' column"),
        "suffix": (write(tmp_path / "k.txt", "0\n"), r"use a .npy, .csv or .parquet file"),
        "not npy": (write(tmp_path / "l.npy", "0\n1\n"), "not a plain .npy array"),
        "not parquet": (write(tmp_path / "m.parquet", "0\n"), "cannot read it as Parquet"),
        "header only": (write(tmp_path / "n.csv", "label\n\n"),
                        r"n.csv: holds a header \(label\) but no labels: write one label per "
                        r"sample below it$"),
        "no entries (npy)": (tmp_path / "none.npy", "holds no labels: write one label per sample$"),
        "no rows (parquet)": (tmp_path / "none.parquet", "holds no labels"),
        # the range is checked before any cast to int64 (which would wrap), the value as written
        "beyond int64 (csv)": (write(tmp_path / "o.csv", "label\n0\n1\n1e30\n"),
                               r"o.csv: label 1e30 at line 4 is not a class index \(beyond "
                               r"2\*\*63\): class indices are 0..K-1$"),
        "beyond int64, negative": (write(tmp_path / "p.csv", "label\n0\n-1E30\n"),
                                   r"p.csv: label -1E30 at line 3 is negative: class indices "
                                   r"are 0..K-1$"),
        "beyond int64 (uint64)": (tmp_path / "u64.npy",
                                  r"label 9223372036854775808 at row 1 is not a class index"),
        "negative float (npy)": (tmp_path / "f64.npy", r"label -3e\+20 at row 2 is negative"),
    }


@pytest.mark.parametrize("case", [
    "blank line inside", "blank line first", "empty cell", "ragged rows",
    "no header, two columns", "no label column", "fraction", "negative", "empty file",
    "names without an order", "2-D npy", "booleans", "null in parquet", "two parquet columns",
    "suffix", "not npy", "not parquet", "header only", "no entries (npy)", "no rows (parquet)",
    "beyond int64 (csv)", "beyond int64, negative", "beyond int64 (uint64)",
    "negative float (npy)"])
def test_bad_labels_files_are_refused_in_one_line(tmp_path, case):
    path, match = bad_label_files(tmp_path)[case]
    with pytest.raises(ValueError, match=match) as e:
        read_labels(path)
    one_line_error(e, path)


def test_unknown_names_missing_files_and_bad_options(tmp_path):
    path = write(tmp_path / "l.csv", "label\ncat\nowl\n")
    with pytest.raises(ValueError, match=r"label 'owl' is not a class of the training data "
                                         r"\(line 3; classes: cat, dog, fox\)"):
        read_labels(path, class_names=NAMES)
    with pytest.raises(FileNotFoundError, match="nope.csv: no such file"):
        read_labels(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="is a folder, not a file"):
        read_labels(tmp_path)
    with pytest.raises(ValueError, match="class_ids must be 'name' or 'index', got 'position'"):
        read_labels(path, class_names=NAMES, class_ids="position")
    with pytest.raises(ValueError, match="class_names repeats the name 'cat'"):
        read_labels(path, class_names=["cat", "cat"])
    # a headerless file whose first row is the class 'label': refused, never guessed
    with pytest.raises(ValueError, match="both the column name and a class name"):
        read_labels(write(tmp_path / "m.csv", "label\ncat\n"), class_names=["label", "cat"])


# -- recalls -------------------------------------------------------------------------------------

def test_labels_outside_a_known_number_of_classes_name_their_line(tmp_path):
    csv = write(tmp_path / "labels.csv", "label\n0\n2\n1000000000\n1\n")
    with pytest.raises(ValueError) as e:
        read_labels(csv, num_classes=3)
    assert one_line_error(e, csv) == (
        f"{csv}: label 1000000000 at line 4 has no class: there are 3 classes, 0..2 (on the "
        f"command line, the rows of --recalls): fix the label, or give its class a recall")
    npy = tmp_path / "labels.npy"
    np.save(npy, np.array([0, 2**62, 1]))
    with pytest.raises(ValueError, match=r"label 4611686018427387904 at row 1 has no class: "
                                         r"there are 3 classes, 0..2 "):
        read_labels(npy, num_classes=3)
    small = write(tmp_path / "small.csv", "label\n0\n2\n")
    np.testing.assert_array_equal(read_labels(small, num_classes=3), [0, 2])
    with pytest.raises(ValueError, match=r"^num_classes must be an integer in \[1, 10000000\]"):
        read_labels(csv, num_classes=10**10)
    with pytest.raises(ValueError, match=r"^num_classes=2 but class_names has 3 entries$"):
        read_labels(csv, class_names=NAMES, num_classes=2)


def test_absurd_and_mixed_recall_ids_are_refused_by_name(tmp_path):
    huge = write(tmp_path / "huge.csv", "class,recall\n0,0.9\n1,0.6\n2,0.3\n1000000000,0.5\n")
    message = (f"{huge}: class 1000000000 at line 5 is not a class index: it would make "
               f"1000000001 classes, and this file has rows for 4 of them: give every class one "
               f"row, its index 0..K-1")
    for labels in (None, [0, 1, 2]):  # refused before any array of its size is allocated
        with pytest.raises(ValueError) as e:
            read_recalls(huge, labels=labels)
        assert one_line_error(e, huge) == message
    # a forgotten row is still reported as such
    gap = write(tmp_path / "gap.csv", "class,recall\n0,0.9\n1,0.6\n3,0.5\n")
    with pytest.raises(ValueError, match=r"missing 1 of 4 classes \(2\): give every class a row"):
        read_recalls(gap)
    mixed = write(tmp_path / "mixed.csv", "class,recall\n0,0.9\ndog,0.6\n2,0.3\n")
    for kwargs in ({}, {"labels": [0, 1, 2]}):
        with pytest.raises(ValueError) as e:
            read_recalls(mixed, **kwargs)
        assert one_line_error(e, mixed) == (
            f"{mixed}: its class column mixes integer ids (0, 2) and names (dog): write every "
            f"class as its index (0..K-1), or every class as its name")


def test_recalls_by_index_in_any_order(tmp_path):
    path = write(tmp_path / "r.csv", "class,recall,count\n2,0.5,10\n0,0.9,12\n1,0.7,11\n")
    got = read_recalls(path, labels=LABELS)
    assert isinstance(got, ClassRecalls) and got.class_names is None
    np.testing.assert_array_equal(got.recalls, [0.9, 0.7, 0.5])
    np.testing.assert_array_equal(got.counts, [12, 11, 10])
    pd.read_csv(path).to_parquet(tmp_path / "r.parquet")
    np.testing.assert_array_equal(read_recalls(tmp_path / "r.parquet").recalls, got.recalls)
    without = read_recalls(write(tmp_path / "s.csv", "class,recall\n0,0.9\n1,0.7\n2,0.5\n"))
    assert without.counts is None


def test_recalls_by_name(tmp_path):
    path = write(tmp_path / "r.csv", "class,recall\nfox,0.5\ncat,0.9\ndog,0.7\n")
    # without names the file's row order is the class order
    assert read_recalls(path).class_names == ("fox", "cat", "dog")
    got = read_recalls(path, class_names=NAMES)
    assert got.class_names == tuple(NAMES)
    np.testing.assert_array_equal(got.recalls, [0.9, 0.7, 0.5])
    labels = read_labels(write(tmp_path / "l.csv", "dog\ncat\n"), class_names=got.class_names)
    np.testing.assert_array_equal(read_recalls(path, class_names=NAMES, labels=labels).recalls,
                                  got.recalls)


def test_a_class_without_training_samples_may_have_no_recall(tmp_path):
    path = write(tmp_path / "r.csv", "class,recall\n0,0.9\n1,\n2,0.5\n")
    np.testing.assert_array_equal(read_recalls(path, labels=[0, 2, 2]).recalls,
                                  [0.9, np.nan, 0.5])
    with pytest.raises(ValueError, match="contains NaN at class 1"):
        read_recalls(path, labels=[0, 1, 2])


def bad_recall_files(tmp_path):
    return {
        "no header": (write(tmp_path / "a.csv", "0,0.9\n1,0.8\n"),
                      "has no header row .*: write the column names", {}),
        "missing column": (write(tmp_path / "b.csv", "class,acc\n0,0.9\n"),
                           "needs columns 'class' .* missing recall", {}),
        "missing class": (write(tmp_path / "c.csv", "class,recall\n0,0.9\n2,0.8\n"),
                          r"missing 1 of 3 classes \(1\): give every class a row", {}),
        "repeated class": (write(tmp_path / "d.csv", "class,recall\n0,0.9\n0,0.8\n"),
                           "class 0 appears 2 times", {}),
        "repeated name": (write(tmp_path / "e.csv", "class,recall\ncat,0.9\ncat,0.8\n"),
                          "class 'cat' appears 2 times", {}),
        "percentages": (write(tmp_path / "f.csv", "class,recall\n0,90\n1,80\n"),
                        "look like percentages", {}),
        "not a number": (write(tmp_path / "g.csv", "class,recall\n0,0.9\n1,high\n"),
                         r"^[^:]*g\.csv: the recall column must hold numbers, got 'high' at "
                         r"line 3$", {}),
        "labels outside": (write(tmp_path / "h.csv", "class,recall\n0,0.9\n1,0.8\n"),
                           r"the training labels include label 2, outside \[0, 2\)",
                           {"labels": LABELS}),
        "integer ids, named classes": (write(tmp_path / "i.csv", "class,recall\n0,0.9\n"),
                                       r"holds integer class ids \(0\) but the classes have "
                                       r"names", {"class_names": NAMES}),
        "names, integer labels": (write(tmp_path / "j.csv", "class,recall\ncat,0.9\n"),
                                  "names its classes but the labels are integer ids",
                                  {"labels": [0]}),
        "names, classes without names": (write(tmp_path / "k.csv", "class,recall\ncat,0.9\n"),
                                         "names its classes but the classes have no names",
                                         {"num_classes": 1}),
        "unknown class": (write(tmp_path / "l.csv", "class,recall\ncat,0.9\nowl,0.5\n"),
                          "class 'owl' is not a class of the training data",
                          {"class_names": NAMES}),
        "class index too large": (write(tmp_path / "m.csv", "class,recall\n0,0.9\n5,0.5\n"),
                                  r"class 5 is not a class of the training data \(indices 0..2\)",
                                  {"num_classes": 3}),
        "bad count": (write(tmp_path / "n.csv", "class,recall,count\n0,0.9,-3\n"),
                      "count must be >= 0", {}),
        "suffix": (write(tmp_path / "o.npy", ""), r"use a table \(.csv, .parquet\)", {}),
    }


@pytest.mark.parametrize("case", [
    "no header", "missing column", "missing class", "repeated class", "repeated name",
    "percentages", "not a number", "labels outside", "integer ids, named classes",
    "names, integer labels", "names, classes without names", "unknown class",
    "class index too large", "bad count", "suffix"])
def test_bad_recalls_files_are_refused_in_one_line(tmp_path, case):
    path, match, kwargs = bad_recall_files(tmp_path)[case]
    with pytest.raises(ValueError, match=match) as e:
        read_recalls(path, **kwargs)
    one_line_error(e, path)


def test_integer_recall_ids_as_positions_when_asked(tmp_path):
    path = write(tmp_path / "r.csv", "class,recall\n1,0.7\n0,0.9\n2,0.5\n")
    got = read_recalls(path, class_names=NAMES, class_ids="index")
    np.testing.assert_array_equal(got.recalls, [0.9, 0.7, 0.5])
    names = write(tmp_path / "n.csv", "class,recall\ncat,0.9\ndog,0.7\nfox,0.5\n")
    assert read_recalls(names, labels=[0, 2], class_ids="index").class_names == tuple(NAMES)


# -- scores --------------------------------------------------------------------------------------

def test_scores_from_npy_and_score_files(tmp_path):
    values = np.linspace(0, 1, LABELS.size)
    np.save(tmp_path / "s.npy", values)
    np.testing.assert_array_equal(read_scores(tmp_path / "s.npy", LABELS.size), values)
    path = score_file(tmp_path / "s.parquet", {"el2n": values, "forgetting": -values,
                                               "el2n@seed0": values}, LABELS,
                      {"dataset_fingerprint": "f00d"})
    got = read_scores(path, LABELS.size, column="EL2N", fingerprint="f00d", labels=LABELS)
    np.testing.assert_array_equal(got, values)
    np.testing.assert_array_equal(read_scores(path, LABELS.size, column=["Forget", "forgetting"]),
                                  -values)
    one = score_file(tmp_path / "one.parquet", {"aum": values}, LABELS)
    np.testing.assert_array_equal(read_scores(one, LABELS.size), values)  # the only column


def test_bad_scores_are_refused_in_one_line(tmp_path):
    n = LABELS.size
    np.save(tmp_path / "short.npy", np.zeros(n - 1))
    np.save(tmp_path / "nan.npy", np.array([0.0, np.nan] * (n // 2)))
    two = score_file(tmp_path / "two.parquet", {"a": np.zeros(n), "b": np.ones(n)}, LABELS,
                     {"dataset_fingerprint": "f00d"})
    cases = [
        (tmp_path / "short.npy", {}, f"has {n - 1} entries but there are {n} samples"),
        (tmp_path / "nan.npy", {}, "non-finite value"),
        (two, {}, r"holds 2 score columns \(a, b\)"),
        (two, {"column": "c"}, r"no score column 'c' \(columns: a, b\)"),
        (two, {"column": "a", "fingerprint": "beef"}, "belong to another dataset"),
        (two, {"column": "a", "labels": LABELS[::-1]}, "its labels differ"),
        (write(tmp_path / "s.csv", "0\n"), {}, "use a droprune score file"),
        (write(tmp_path / "bad.parquet", "PAR1 no"), {}, "corrupt or not a Parquet file"),
    ]
    for path, kwargs, match in cases:
        with pytest.raises(ValueError, match=match) as e:
            read_scores(path, n, **kwargs)
        one_line_error(e, path)
    with pytest.raises(ValueError, match=f"holds {n} samples but the training data has 3"):
        read_scores(two, 3, column="a")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_scores(tmp_path / "nope.npy", n)


def test_the_readers_are_droprunes_public_api():
    assert {"read_labels", "read_recalls", "read_scores", "ClassRecalls"} <= set(droprune.__all__)
    assert droprune.read_labels is read_labels


def test_score_files_of_save_scores(tmp_path):
    from droprune.scoring import save_scores

    values = np.arange(LABELS.size, dtype=float)
    path = save_scores(tmp_path / "s.parquet", {"el2n": values}, labels=LABELS,
                       metadata={"dataset_fingerprint": "abc"})
    np.testing.assert_array_equal(read_scores(path, LABELS.size, fingerprint="abc"), values)


def test_the_readers_work_with_torch_blocked(tmp_path):
    score_file(tmp_path / "s.parquet", {"el2n": np.arange(4.0)}, [0, 1, 1, 0])
    write(tmp_path / "labels.csv", "0\n1\n1\n0\n")
    write(tmp_path / "recalls.csv", "class,recall\n0,0.9\n1,0.6\n")
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any 'import torch' now raises ImportError\n"
        "from pathlib import Path\n"
        "import droprune, droprune.inputs, droprune.prune_output\n"
        f"d = Path({str(tmp_path)!r})\n"
        "labels = droprune.read_labels(d / 'labels.csv')\n"
        "recalls, counts, names = droprune.read_recalls(d / 'recalls.csv', labels=labels)\n"
        "scores = droprune.read_scores(d / 's.parquet', 4, column='el2n', labels=labels)\n"
        "r = droprune.prune(labels, 0.5, recalls=recalls, scores=scores, method='EL2N+DRoP')\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported before a plot'\n"
        "droprune.prune_output.write_prune_outputs(r, d / 'out')\n"
        "assert r.kept.tolist() == [2, 3], r.kept\n"
        "assert sys.modules['torch'] is None\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        droprune.prune_output.OUTPUTS)
