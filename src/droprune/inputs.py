"""Read the inputs of a pruning from files, exactly as written: training labels, per-class
validation recalls and per-sample scores.

These are the readers of ``droprune prune``, callable from Python. They import neither torch
nor anything above the numpy core (pandas and pyarrow only when a file needs them), and every
error is one line, a ``ValueError`` (or ``FileNotFoundError``) that starts with the file and
says how to fix it.

Row i is sample i
-----------------
A labels file gives one label per line (CSV), row (Parquet) or entry (``.npy``); nothing is
dropped, added or shifted:

* a CSV has a header row unless its first row is data: every cell a number, or a class name
  when class names are given (``np.savetxt`` writes no header, pandas' ``to_csv`` writes one).
  A header that is a number is read as data: ``pd.Series(labels).to_csv(index=False)`` writes
  the header ``0``; name the column (``pd.Series(labels, name="label")``) or save a ``.npy``;
* a blank line between data rows is an error naming the line (skipping it would hide a missing
  label, or shift every later index); blank lines after the last row (a trailing newline) are
  ignored;
* an empty cell is an error naming its line (row for Parquet).

Class identity is never guessed
-------------------------------
With ``class_names`` given (a dataset's class order, e.g. an image folder's folder names in
alphabetical order) a file's class ids are matched to the names as text: ``"cat"`` is the
class named ``cat``, ``3`` the class named ``"3"``. Integer ids that are not class names are
refused unless ``class_ids="index"`` says that id ``k`` is the k-th class of that order
(``droprune prune --class-ids index``). Without class names, integers are the class indices.

Score files
-----------
A droprune score file is a Parquet table (``index``, ``label``, one float64 column per score,
row i = sample i) whose schema metadata holds a JSON object under :data:`METADATA_KEY`;
:func:`load_scores` reads it (``droprune.scoring.save_scores`` writes it).

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> labels_csv = os.path.join(folder, "labels.csv")
>>> np.savetxt(labels_csv, [0, 1, 1, 2])            # no header: '0.000000000000000000e+00' ...
>>> read_labels(labels_csv)
array([0, 1, 1, 2])
>>> recalls_csv = os.path.join(folder, "recalls.csv")
>>> _ = open(recalls_csv, "w").write("class,recall,count\\nfox,0.5,4\\ncat,0.9,4\\ndog,0.8,4\\n")
>>> recalls, counts, names = read_recalls(recalls_csv, class_names=["cat", "dog", "fox"])
>>> recalls, counts
(array([0.9, 0.8, 0.5]), array([4, 4, 4]))
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from ._checks import (
    as_class_names,
    as_labels,
    as_per_class_counts,
    as_recalls,
    as_scores,
    check_num_classes,
)
from ._columns import (
    NUMBER,
    Column,
    as_floats,
    as_numbers,
    as_text,
    check_suffix,
    csv_columns,
    csv_rows,
    existing_file,
    listed,
    read_npy,
    read_parquet,
    read_table,
)
from ._extras import require

__all__ = ["CLASS_IDS", "METADATA_KEY", "ORIENTATION", "SEED_SEP", "ClassRecalls",
           "load_scores", "read_labels", "read_recalls", "read_scores"]

#: how integer class ids in a file map to named classes: ``"name"`` (matched as text; other
#: integers refused) or ``"index"`` (id k is the k-th class)
CLASS_IDS = ("name", "index")
#: key of the JSON metadata in the Parquet schema metadata of a score file
METADATA_KEY = b"droprune"
#: the orientation every droprune score follows
ORIENTATION = "higher = harder = kept first"
#: separator of a query result's per-seed score columns: ``<score>@seed<k>``
SEED_SEP = "@seed"


class ClassRecalls(NamedTuple):
    """What :func:`read_recalls` returns.

    Attributes
    ----------
    recalls
        Per-class validation recall in [0, 1], float64 (K,), in class order (NaN: not measured).
    counts
        Validation samples of each class, int64 (K,), or None without a ``count`` column.
    class_names
        The class order's names: those given, else the file's when it names its classes
        (its row order is then the class order), else None.
    """

    recalls: np.ndarray
    counts: np.ndarray | None
    class_names: tuple[str, ...] | None


# -- public readers ------------------------------------------------------------------------------

def read_labels(path: str | Path, *, class_names: Sequence[str] | None = None,
                class_ids: str = "name", num_classes: int | None = None) -> np.ndarray:
    """Training labels from a ``.npy``, ``.csv`` or ``.parquet`` file, one per sample, in order.

    Parameters
    ----------
    path
        A ``.npy`` array (N,) of class ids or names; or a ``.csv`` / ``.parquet`` table whose
        ``label`` column (or only column) holds them. A CSV has a header row unless its first
        row is data (a number, or a class name of ``class_names``); a blank line between data
        rows is refused (it would shift every later index), blank lines at the end are ignored.
    class_names
        The class order (e.g. ``dataset.class_names``, or ``read_recalls(...).class_names``);
        needed when the file holds class names, whose position in it is the label.
    class_ids
        With ``class_names``: ``"name"`` (default) matches the file's values to the names as
        text and refuses integer ids that are not names; ``"index"`` takes integer id k as the
        k-th class.
    num_classes
        K, when known (e.g. the number of rows of the recalls file): a label outside 0..K-1 is
        refused naming its line (row). With ``class_names`` it must be their number.

    Returns
    -------
    numpy.ndarray
        int64 (N,), the label (class index) of every sample, row i = sample i.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        One line naming the file (and the line or row) and the fix: another suffix, no
        ``label`` column, no labels below the header, a blank line or empty cell, a negative,
        fractional or too large id, a name that is not a class, names without
        ``class_names``, integer ids against named classes.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.csv")
    >>> _ = open(path, "w").write("dog\\ncat\\ndog\\n")   # no header: 'dog' is a class name
    >>> read_labels(path, class_names=["cat", "dog"])
    array([1, 0, 1])
    >>> _ = open(path, "w").write("label\\n1\\n\\n0\\n")
    >>> read_labels(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../labels.csv: line 3 is blank: ...
    """
    path = existing_file(path)
    names = _names(class_names)
    _check_class_ids(class_ids)
    k = _num_classes(num_classes, names)
    column = _label_column(path, names)
    labels = _class_indices(column, path, names, class_ids, "label", k)
    if labels is None:
        raise ValueError(f"{path}: holds class names ({listed(as_text(column, path, 'label'))}) "
                         f"but no class order was given to turn them into indices: pass "
                         f"class_names (on the command line, name the classes in --recalls)")
    return labels


def read_recalls(path: str | Path, *, class_names: Sequence[str] | None = None,
                 num_classes: int | None = None, labels: Any = None,
                 class_ids: str = "name") -> ClassRecalls:
    """Per-class validation recalls (and validation counts) from a ``.csv`` or ``.parquet``.

    Parameters
    ----------
    path
        A table with a header row and columns ``class`` (class name or index), ``recall`` (a
        fraction in [0, 1], never a percentage) and optionally ``count`` (the validation
        samples of the class). Every class has exactly one row, in any order.
    class_names
        The class order (e.g. ``dataset.class_names``): rows are matched to it as in
        :func:`read_labels`. Without it, a file that names its classes sets the class order
        (its row order), and integer ids are class indices.
    num_classes
        K, when the classes are known but have no names (rows must then be 0..K-1); without
        it and without names, K is the largest id + 1.
    labels
        The training labels (int, as :func:`read_labels` returns them): every label must be a
        class of the file, and a class without training samples may have no recall (NaN).
        Integer labels against a file that names its classes (without ``class_names``) are
        refused unless ``class_ids="index"``. Without labels, NaN recalls are left for
        :func:`droprune.prune` to check.
    class_ids
        ``"name"`` (default) or ``"index"``, as in :func:`read_labels`.

    Returns
    -------
    ClassRecalls
        ``(recalls, counts, class_names)`` in class order.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        One line naming the file and the fix: no header row, a missing column, a class missing
        or repeated or unknown, a recall outside [0, 1] (percentages are named as such), a
        label outside the file's classes, integer ids against named classes.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "recalls.csv")
    >>> _ = open(path, "w").write("class,recall\\n1,0.8\\n0,0.9\\n")
    >>> read_recalls(path, labels=[0, 1, 1]).recalls
    array([0.9, 0.8])
    >>> read_recalls(path, class_names=["cat", "dog"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../recalls.csv: holds integer class ids (1, 0) but the classes have names ...
    """
    path = existing_file(path)
    names = _names(class_names)
    _check_class_ids(class_ids)
    num_classes = _num_classes(num_classes, names)
    table = read_table(path, ("csv", "parquet"), "a table")
    missing = [c for c in ("class", "recall") if c not in table]
    if missing:
        raise ValueError(f"{path}: needs columns 'class' (name or index) and 'recall' (optionally "
                         f"'count'); missing {', '.join(missing)}")
    lab = None if labels is None else as_labels(labels, name=f"{path}: labels")
    idx, names, k = _recall_classes(table["class"], path, names, num_classes, lab, class_ids)
    order = _class_order(idx, k, path, names)
    counts = None
    if "count" in table:  # (as_floats names the file itself)
        written = as_floats(table["count"], path, "count")[order]
        counts = _prefixed(lambda: as_per_class_counts(written, k, "count"), path)
    sizes = None if lab is None else np.bincount(lab, minlength=k)
    no_recall = np.ones(k, bool) if sizes is None else sizes == 0
    if counts is not None:
        no_recall |= counts == 0
    measured = as_floats(table["recall"], path, "recall")[order]
    recalls = _prefixed(lambda: as_recalls(measured, k, name="recall", allow_nan=no_recall), path)
    return ClassRecalls(recalls, counts, None if names is None else tuple(names))


def read_scores(path: str | Path, n: int, *, column: str | Sequence[str] | None = None,
                fingerprint: str | None = None, labels: Any = None) -> np.ndarray:
    """One score per training sample (higher = harder = kept first), in sample order.

    Parameters
    ----------
    path
        A droprune score file (``.parquet``, see :func:`load_scores`) or a ``.npy`` array (N,).
    n
        The number of training samples: the file must hold exactly that many.
    column
        The score column of a score file: a name, or several accepted names (the first present
        wins); matched case-insensitively. None: the file's only score column.
    fingerprint
        The dataset's fingerprint (``dataset.fingerprint()``): a score file of another dataset
        is refused. A ``.npy`` carries none; only its length is checked.
    labels
        The training labels: a score file's ``label`` column must equal them.

    Returns
    -------
    numpy.ndarray
        The scores (N,), finite numbers (float64 from a score file).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        One line naming the file and the fix: another suffix, another length, another
        dataset's fingerprint or labels, no such column, a non-finite score.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "el2n.npy")
    >>> np.save(path, np.array([0.3, 0.1, 0.2]))
    >>> read_scores(path, 3)
    array([0.3, 0.1, 0.2])
    """
    path = existing_file(path)
    suffix = check_suffix(path, ("npy", "parquet"), "a droprune score file (.parquet) or a .npy")
    if suffix == "npy":  # a bare array carries no fingerprint: only its length is checked
        values = read_npy(path)
    else:
        frame, _ = load_scores(path, expected_fingerprint=fingerprint)
        if len(frame) != n:
            raise ValueError(f"{path}: holds {len(frame)} samples but the training data has {n}: "
                             f"these scores belong to another dataset")
        if labels is not None and not np.array_equal(frame["label"].to_numpy(),
                                                     np.asarray(labels)):
            raise ValueError(f"{path}: its labels differ from the training labels: these scores "
                             f"belong to another dataset (or another order)")
        values = frame[_score_column(frame, column, path)].to_numpy()
    return as_scores(values, n, name=str(path))


def load_scores(path: str | Path, *, expected_fingerprint: str | None = None
                ) -> tuple[Any, dict[str, Any]]:
    """Read a score file (written by ``droprune.scoring.save_scores``).

    Parameters
    ----------
    path
        The Parquet file.
    expected_fingerprint
        If given, the file's ``dataset_fingerprint`` must equal it (e.g.
        ``dataset.fingerprint()``): scores are never applied to another dataset by mistake.

    Returns
    -------
    (frame, metadata)
        The table as a pandas DataFrame (``index``, ``label``, score columns; row i = sample
        i) and the metadata dict.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable droprune score file, or the fingerprint differs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: score file does not exist")
    require("parquet", "pyarrow", what=f"reading the score file {path}")
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read the score file: it is corrupt or not a Parquet "
                         f"file ({type(exc).__name__}: {exc}); recompute the scores") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path} is a Parquet file without droprune metadata: not a droprune "
                         f"score file")
    try:
        meta = json.loads(raw.decode())
    except ValueError as exc:
        raise ValueError(f"{path}: the droprune metadata is not valid JSON ({exc})") from None
    frame = table.to_pandas()
    if "index" not in frame or "label" not in frame or \
            not np.array_equal(frame["index"].to_numpy(), np.arange(len(frame))):
        raise ValueError(f"{path}: expected columns 'index' (0..N-1, in order) and 'label'; the "
                         f"file is damaged or not written by droprune")
    if expected_fingerprint is not None:
        found = meta.get("dataset_fingerprint")
        if found != expected_fingerprint:
            raise ValueError(f"{path} holds scores of dataset fingerprint {found!r}, not "
                             f"{expected_fingerprint!r}: these scores belong to another dataset "
                             f"(or another version of it); recompute them for this one")
    return frame, meta


# -- files -> columns ----------------------------------------------------------------------------

def _names(class_names: Sequence[str] | None) -> list[str] | None:
    if class_names is None:
        return None
    names = as_class_names(class_names, len(list(class_names)))  # (refuses a repeated name)
    assert names is not None  # None only for class_names=None
    return names


def _num_classes(num_classes: Any, names: list[str] | None) -> int | None:
    """``num_classes`` validated (before anything is allocated), and equal to the number of
    class names when both are given."""
    if num_classes is None:
        return None
    k = check_num_classes(num_classes)
    if names is not None and k != len(names):
        raise ValueError(f"num_classes={k} but class_names has {len(names)} entries")
    return k


def _check_class_ids(class_ids: str) -> None:
    if class_ids not in CLASS_IDS:
        raise ValueError(f"class_ids must be 'name' or 'index', got {class_ids!r}")


def _label_column(path: Path, names: list[str] | None) -> Column:
    """The labels of a .npy, or the label column of a CSV (header or not) / Parquet."""
    suffix = check_suffix(path, ("npy", "csv", "parquet"), "a .npy, .csv or .parquet file")
    if suffix != "csv":
        column = Column(read_npy(path)) if suffix == "npy" else _pick_label(read_parquet(path),
                                                                             path)
        if not column.values.size:
            raise ValueError(f"{path}: holds no labels: write one label per sample")
        return column
    rows = csv_rows(path)
    first = rows[0][1]
    known = set(names or ())
    if not all(NUMBER.fullmatch(c) or c in known for c in first):
        if len(rows) == 1:
            raise ValueError(f"{path}: holds a header ({','.join(first)}) but no labels: write "
                             f"one label per sample below it")
        return _pick_label(csv_columns(first, rows[1:]), path)
    if "label" in first:
        raise ValueError(f"{path}: its first line 'label' is both the column name and a class "
                         f"name: write the header row 'label' above the labels")
    if len(first) != 1:
        raise ValueError(f"{path}: has no header row (line {rows[0][0]} is data) and "
                         f"{len(first)} columns: write a header row naming the 'label' column")
    return csv_columns(["label"], rows)["label"]


def _pick_label(table: dict[str, Column], path: Path) -> Column:
    if "label" in table:
        return table["label"]
    if len(table) == 1:
        return next(iter(table.values()))
    raise ValueError(f"{path}: needs a 'label' column (found {', '.join(table) or 'none'})")


# -- columns -> values ---------------------------------------------------------------------------

def _integers(numbers: np.ndarray, column: Column, path: Path, what: str) -> np.ndarray:
    """The class ids of a numeric column as int64, each checked (in the file's own type, before
    any cast) to be an integer in [0, 2**63)."""
    if numbers.dtype.kind == "b":
        raise ValueError(f"{path}: holds booleans, not class ids: write class indices or names")
    if numbers.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(numbers) | (numbers != np.round(numbers)))
        if bad.size:
            i = int(bad[0])
            value = "empty" if np.isnan(numbers[i]) else f"{numbers[i]:g}, not an integer"
            raise ValueError(f"{path}: {what} at {column.where(i)} is {value}: write a class "
                             f"index (0..K-1) or name in every row")
    negative = np.flatnonzero(numbers < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(f"{path}: {what} {_written(numbers, column, i)} at {column.where(i)} "
                         f"is negative: class indices are 0..K-1")
    huge = np.flatnonzero(numbers >= 2**63) if numbers.dtype.kind in "fu" else negative
    if huge.size:
        i = int(huge[0])
        raise ValueError(f"{path}: {what} {_written(numbers, column, i)} at {column.where(i)} "
                         f"is not a class index (beyond 2**63): class indices are 0..K-1")
    return numbers.astype(np.int64)


def _written(numbers: np.ndarray, column: Column, i: int) -> str:
    """Entry ``i`` as the file writes it (a CSV's text), else as a number."""
    text = column.values[i]
    if isinstance(text, str):
        return text
    return f"{numbers[i]:g}" if numbers.dtype.kind == "f" else str(numbers[i])


def _below(ids: np.ndarray, k: int, column: Column, path: Path, what: str, why: str) -> None:
    """Refuse an id outside 0..k-1, naming its line (row) and value, then ``why``."""
    outside = np.flatnonzero(ids >= k)
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"{path}: {what} {ids[i]} at {column.where(i)} {why}")


def _by_name(text: list[str], column: Column, path: Path, names: list[str],
             what: str) -> np.ndarray:
    where = {n: k for k, n in enumerate(names)}
    for i, t in enumerate(text):
        if t not in where:
            raise ValueError(f"{path}: {what} {t!r} is not a class of the training data "
                             f"({column.where(i)}; classes: {listed(names)})")
    return np.array([where[t] for t in text], dtype=np.int64)


def _class_indices(column: Column, path: Path, names: list[str] | None, class_ids: str,
                   what: str, num_classes: int | None = None) -> np.ndarray | None:
    """Class indices of a column of ids or names (the rules of the module docstring); None
    when it holds names and no class order is given. With ``num_classes`` (and no names)
    integer ids must be below it."""
    numbers = as_numbers(column)
    if numbers is None:
        text = as_text(column, path, what)
        return None if names is None else _by_name(text, column, path, names, what)
    ids = _integers(numbers, column, path, what)
    if names is None:
        if num_classes is not None:
            _below(ids, num_classes, column, path, what, f"has no class: there are {num_classes} "
                   f"classes, 0..{num_classes - 1} (on the command line, the rows of --recalls):"
                   f" fix the label, or give its class a recall")
        return ids
    if class_ids == "name":
        text = [str(v) for v in ids.tolist()]
        if set(text) <= set(names):
            return _by_name(text, column, path, names, what)
        raise ValueError(f"{path}: holds integer class ids ({listed(text)}) but the classes "
                         f"have names ({listed(names)}): write the class names in the file, or "
                         f"pass class_ids='index' (on the command line --class-ids index) if "
                         f"id k is the k-th class of that order")
    _below(ids, len(names), column, path, what, f"is not a class index: there are "
           f"{len(names)} classes (0..{len(names) - 1})")
    return ids


def _prefixed(check: Callable[[], np.ndarray], path: Path) -> np.ndarray:
    """``check()``, its ValueError prefixed with the file."""
    try:
        return check()
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


# -- recalls: classes ----------------------------------------------------------------------------

def _recall_classes(column: Column, path: Path, names: list[str] | None,
                    num_classes: int | None, labels: np.ndarray | None, class_ids: str
                    ) -> tuple[np.ndarray, list[str] | None, int]:
    """(class index of each row, class names, K)."""
    idx = _class_indices(column, path, names, class_ids, "class")
    if idx is None:  # the file names its classes: its row order is the class order
        _refuse_mixed(column, path)
        if num_classes is not None:
            raise ValueError(f"{path}: names its classes but the classes have no names (indices "
                             f"0..{num_classes - 1}): write class indices in its class column")
        if labels is not None and class_ids != "index":
            raise ValueError(f"{path}: names its classes but the labels are integer ids: give "
                             f"the labels as class names, or pass class_ids='index' (on the "
                             f"command line --class-ids index) if label k is this file's k-th row")
        names = as_text(column, path, "class")
        repeated = [(n, c) for n, c in Counter(names).items() if c > 1]
        if repeated:
            raise ValueError(f"{path}: class {repeated[0][0]!r} appears {repeated[0][1]} times: "
                             f"give every class one row")
        idx = np.arange(len(names), dtype=np.int64)
    k = len(names) if names is not None else num_classes
    if k is None:
        _refuse_beyond_rows(idx, column, path)
        k = int(idx.max()) + 1 if idx.size else 1
    elif idx.size and idx.max() >= k:
        raise ValueError(f"{path}: class {int(idx.max())} is not a class of the training data "
                         f"(indices 0..{k - 1})")
    if labels is not None and labels.size and labels.max() >= k:
        raise ValueError(f"{path}: the training labels include label {int(labels.max())}, "
                         f"outside [0, {k}) (the classes of this file): give every class a row")
    return idx, names, k


def _refuse_mixed(column: Column, path: Path) -> None:
    """A class column of names with some integer ids among them is refused: which classes the
    ids are cannot be told."""
    text = as_text(column, path, "class")
    ids = [t for t in text if t.lstrip("+-").isdigit()]
    if ids:
        raise ValueError(f"{path}: its class column mixes integer ids ({listed(ids)}) and names "
                         f"({listed([t for t in text if t not in ids])}): write every class as "
                         f"its index (0..K-1), or every class as its name")


def _refuse_beyond_rows(idx: np.ndarray, column: Column, path: Path) -> None:
    """With no class count given, the largest id sets K = id + 1 and every class needs a row:
    an id that would leave more classes without a row than the file has rows is not a class
    index (an id, a hash); it is refused by name before anything of its size is allocated."""
    top = int(idx.max(initial=-1))
    if top + 1 > 2 * idx.size:
        i = int(np.argmax(idx))
        raise ValueError(f"{path}: class {top} at {column.where(i)} is not a class index: it "
                         f"would make {top + 1} classes, and this file has rows for {idx.size} "
                         f"of them: give every class one row, its index 0..K-1")


def _class_order(idx: np.ndarray, k: int, path: Path, names: list[str] | None) -> np.ndarray:
    """The row of each class, every class exactly once."""
    def name(c: int) -> str:
        return str(c) if names is None else f"{c} ({names[c]})"

    counts = np.bincount(idx, minlength=k)
    repeated = np.flatnonzero(counts > 1)
    if repeated.size:
        c = int(repeated[0])
        raise ValueError(f"{path}: class {name(c)} appears {int(counts[c])} times: give every "
                         f"class one row")
    absent = np.flatnonzero(counts == 0)
    if absent.size:
        raise ValueError(f"{path}: missing {absent.size} of {k} classes "
                         f"({listed([name(int(c)) for c in absent])}): give every class a row")
    return np.argsort(idx)


def _score_column(frame: Any, column: str | Sequence[str] | None, path: Path) -> str:
    columns = [str(c) for c in frame.columns if c not in ("index", "label")
               and SEED_SEP not in str(c)]
    if column is None:
        if len(columns) == 1:
            return columns[0]
        raise ValueError(f"{path}: holds {len(columns)} score columns ({listed(columns)}): "
                         f"say which one (column=, or name the method after it)")
    wanted = [column] if isinstance(column, str) else list(column)
    for w in wanted:
        for c in columns:
            if c.lower() == str(w).lower():
                return c
    raise ValueError(f"{path}: no score column {' or '.join(map(repr, wanted))} (columns: "
                     f"{listed(columns) or 'none'}): name the method after one of them")
