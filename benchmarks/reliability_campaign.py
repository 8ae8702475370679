"""Reliability campaign: bad inputs (and valid controls) on droprune's CLI and Python API.

Every case is one call of a public surface (``droprune prune`` / ``quotas`` / ``sweep`` /
``run`` / ``report`` as subprocesses; ``droprune.prune`` / ``select`` / ``quotas.*`` /
``compare`` / ``read_*`` in one worker subprocess) with a declared correct outcome: an error,
a specific result, or either (a clear error or the right result). Each outcome is classified
automatically:

- ``clear``: exit 2 (CLI) or a ValueError-type exception (API: ValueError, TypeError,
  LookupError-free OSError subclasses such as FileNotFoundError), one line, naming the
  offending input (one of the case's tokens: the flag, the argument or the path);
- ``weak``: an error, but several lines, another exit code, or not naming the input;
- ``traceback``: a Python traceback on stderr, a raw internal exception in the API
  (IndexError, KeyError, MemoryError, OverflowError, ...) or a death by signal;
- ``timeout``: no answer within the case's timeout (120 s unless stated);
- ``silent_wrong``: exit 0 / no exception, but the result is not the declared one (for a bad
  input declared "must be refused", any success);
- ``valid_refused``: a valid control (or a bad input whose right outcome is a result) refused;
- ``ok``: the declared result (a control that passed, or a bad input handled correctly).

A refused CLI command that created its (new) ``--out`` folder is flagged in ``out_touched``.
Expected results are computed independently (hand-computed counts for tiny inputs, a
bisection water-fill in this file, invariants such as "row i is sample i": every kept index's
label in ``kept.csv`` equals the true label of that sample).

Run (from the repository root, with the venv active)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/reliability_campaign.py --out results.csv
    # options: --work DIR (default /tmp/campaign/work-<time>), --only SUBSTRING (case ids),
    #          --surface cli|api, --timeout 120, --list

By default it runs 493 cases: 273 CLI subprocesses (sequential, ``OMP_NUM_THREADS=1``,
``nice -n 10``, each under a 4 GiB address-space limit so that an absurd allocation fails fast
as a MemoryError instead of swapping) and 220 API cases in one worker process (~3 s in all);
``--all`` adds 111 near-duplicate CLI cases (604 in all). Measured on the project's busy 2-core
machine: 413 s and 739 s for the default run (about 40 CLI cases train a 1-epoch query model on
a tiny Gaussian mixture, 3-6 s each; one case, an empty sweep config, runs a default sweep for
~100 s). ``--src DIR`` tests a snapshot (``git archive HEAD src | tar -x -C DIR``) instead of
the installed droprune, for a stable target while the working tree is edited. It prints a table of outcomes per category and writes one CSV row per
case: id, surface, category, kind, expect, outcome, reason, exit code (or exception type),
first stderr line (or exception message), stderr line count, out_touched, seconds, command.
"""

from __future__ import annotations

import argparse
import collections
import csv
import importlib.util
import json
import os
import queue
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

MEM_LIMIT = 4 * 1024 ** 3
#: --src: droprune's source folder to test instead of the installed one (e.g. a snapshot of a
#: commit: git archive HEAD src | tar -x -C /tmp/snap, then --src /tmp/snap/src)
SRC: list[str] = []
DEFAULT_TIMEOUT = 120.0

# ----------------------------------------------------------------------------------------------
# the base data: 20 training labels (shuffled), 3 classes of 8, 6, 6; recalls 0.9, 0.6, 0.3
# ----------------------------------------------------------------------------------------------
TRUTH = np.random.default_rng(1234).permutation(np.repeat([0, 1, 2], [8, 6, 6])).astype(np.int64)
SIZES = np.array([8, 6, 6])
RECALLS = np.array([0.9, 0.6, 0.3])
DENSITY = 0.5
NAMES = ["cat", "dog", "fox"]


# ----------------------------------------------------------------------------------------------
# independent reference computations
# ----------------------------------------------------------------------------------------------
def largest_remainder(exact: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(exact + 1e-9).astype(np.int64)
    rest = exact - base
    order = np.argsort(-rest, kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base


def ref_drop_counts(sizes, errors, density, lo=0.0):
    """DRoP in density mode: d_k = clip(lam * e_k, lo, 1), sum d_k N_k = round(d N)."""
    sizes = np.asarray(sizes, float)
    e = np.asarray(errors, float)
    total = int(np.floor(density * sizes.sum() + 0.5))
    f = lambda lam: float((np.clip(lam * e, lo, 1.0) * sizes).sum())  # noqa: E731
    a, b = 0.0, 1.0
    while f(b) < total - 1e-9 and b < 1e12:
        b *= 2
    for _ in range(200):
        m = (a + b) / 2
        a, b = (m, b) if f(m) < total else (a, m)
    exact = np.clip(b * e, lo, 1.0) * sizes
    return largest_remainder(exact, total)


def beta_errors(recalls, counts, a=0.5, b=0.5):
    r = np.nan_to_num(np.asarray(recalls, float))
    n = np.asarray(counts, float)
    return (n * (1 - r) + a) / (n + a + b)


BASE_COUNTS = ref_drop_counts(SIZES, 1 - RECALLS, DENSITY, lo=DENSITY / 2)  # [2, 3, 5]
assert BASE_COUNTS.tolist() == [2, 3, 5], BASE_COUNTS  # by hand: lam = 8/6.6, floor 2 on class 0
PAPER_COUNTS = ref_drop_counts(SIZES, 1 - RECALLS, DENSITY)  # [1, 3, 6]
assert PAPER_COUNTS.tolist() == [1, 3, 6], PAPER_COUNTS


def per_class(labels, kept, k=3):
    return np.bincount(np.asarray(labels)[np.asarray(kept, dtype=np.int64)], minlength=k).tolist()


def top_per_class(labels, scores, counts):
    keep = []
    for c, n in enumerate(counts):
        idx = np.flatnonzero(labels == c)
        keep += idx[np.argsort(-scores[idx], kind="stable")[:n]].tolist()
    return sorted(keep)


# ----------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    surface: str            # cli | api
    category: str
    kind: str               # bad | control
    expect: str             # error | ok | either
    argv: list[str] | None = None     # CLI: arguments after `droprune`
    fn: Callable[[], Any] | None = None  # API: the call
    check: Callable[..., str | None] | None = None  # None if the result is right, else why not
    names: tuple[str, ...] = ()       # tokens an error should contain (any one, case-insensitive)
    timeout: float = DEFAULT_TIMEOUT
    setup: Callable[[], None] | None = None
    out: str | None = None            # CLI --out (relative to the work folder)
    stdin: str | None = None
    json_out: bool = False            # --json: stdout must be one JSON object
    note: str = ""


CASES: list[Case] = []


def cli(id, category, kind, expect, argv, *, check=None, names=(), out=None, **kw):
    CASES.append(Case(id, "cli", category, kind, expect, argv=argv, check=check, names=names,
                      out=out, **kw))


def api(id, category, kind, expect, fn, *, check=None, names=(), **kw):
    CASES.append(Case(id, "api", category, kind, expect, fn=fn, check=check, names=names, **kw))


# ----- fixtures (written by the parent before the CLI cases) ---------------------------------
W: Path = Path(".")


def write(name: str, text: str | bytes) -> str:
    p = W / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        with open(p, "w", newline="") as f:
            f.write(text)
    return name


def lines(vals) -> str:
    return "".join(f"{v}\n" for v in vals)


FACTORIES = '''
import torch
from torch import nn
CONST = 3
def good(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 3))
def raises(seed):
    raise RuntimeError("boom in the user's factory")
def returns_none(seed):
    return None
def returns_str(seed):
    return "mlp"
def returns_class(seed):
    return nn.Linear
def wrong_classes(seed):
    return nn.Sequential(nn.Flatten(), nn.Linear(1, 2))
def wrong_input(seed):
    return nn.Sequential(nn.Flatten(), nn.Linear(5, 3))
def no_seed():
    return nn.Sequential(nn.Flatten(), nn.Linear(1, 3))
def two_args(seed, width):
    return nn.Sequential(nn.Flatten(), nn.Linear(1, 3))
class MyNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.fc = nn.Linear(1, num_classes)
    def forward(self, x):
        return self.fc(x.flatten(1))
class NanNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 3)
    def forward(self, x):
        return self.fc(x.flatten(1)) * float("nan")
def nan_out(seed):
    return NanNet()
def returns_tuple(seed):
    return (good(seed), 1)
class TupleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 3)
    def forward(self, x):
        y = self.fc(x.flatten(1))
        return y, y
def tuple_out(seed):
    return TupleNet()
'''


def make_fixtures(work: Path) -> None:
    global W
    W = work
    work.mkdir(parents=True, exist_ok=True)
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = TRUTH
    np.save(work / "labels.npy", t)
    np.save(work / "labels_i32.npy", t.astype(np.int32))
    np.save(work / "labels_u8.npy", t.astype(np.uint8))
    np.save(work / "labels_f64int.npy", t.astype(np.float64))
    np.save(work / "labels_frac.npy", t + 0.5)
    f = t.astype(float)
    f[4] = np.nan
    np.save(work / "labels_nan.npy", f)
    n = t.copy()
    n[4] = -1
    np.save(work / "labels_neg.npy", n)
    h = t.copy()
    h[4] = 10 ** 9
    np.save(work / "labels_huge.npy", h)
    h = t.copy()
    h[4] = 2 ** 62
    np.save(work / "labels_huge62.npy", h)
    np.save(work / "labels_2d.npy", np.stack([t, t], axis=1))
    np.save(work / "labels_col.npy", t.reshape(-1, 1))
    np.save(work / "labels_complex.npy", t.astype(complex) + 1j)
    np.save(work / "labels_bool.npy", t.astype(bool))
    np.save(work / "labels_empty.npy", np.array([], dtype=np.int64))
    np.save(work / "labels_str.npy", np.array(NAMES)[t])
    np.save(work / "labels_obj.npy", np.array(list(t), dtype=object), allow_pickle=True)
    np.save(work / "labels_scalar.npy", np.int64(3))
    write("labels_garbage.npy", b"\x93NUMPY garbage not an array" * 3)
    o = t.copy()
    o[4] = 3
    np.save(work / "labels_outside.npy", o)

    # CSV variants
    write("l_header.csv", "label\n" + lines(t))
    np.savetxt(work / "l_savetxt.csv", t, fmt="%d")
    np.savetxt(work / "l_savetxt_float.csv", t)  # 3.000000000000000000e+00
    write("l_trailing.csv", "label\n" + lines(t) + "\n\n\n")
    write("l_noheader_trailing.csv", lines(t) + "\n")
    write("l_crlf.csv", "label\r\n" + "".join(f"{v}\r\n" for v in t))
    write("l_crlf_noheader.csv", "".join(f"{v}\r\n" for v in t))
    write("l_bom.csv", "\ufefflabel\n" + lines(t))
    write("l_bom_noheader.csv", "\ufeff" + lines(t))
    write("l_spaces.csv", "label\n" + "".join(f"  {v} \n" for v in t))
    write("l_nofinalnl.csv", "label\n" + "\n".join(str(v) for v in t))
    write("l_twocol.csv", "index,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(t)))
    write("l_twocol_rev.csv", "label,weight\n" + "".join(f"{v},1.0\n" for v in t))
    write("l_names.csv", "label\n" + lines(np.array(NAMES)[t]))
    write("l_names_noheader.csv", lines(np.array(NAMES)[t]))
    write("l_quoted.csv", "\"label\"\n" + "".join(f"\"{v}\"\n" for v in t))
    write("l_pandas_unnamed.csv", "0\n" + lines(t))  # pd.Series(t).to_csv(index=False)
    write("l_plus.csv", "label\n" + "".join(f"+{v}\n" for v in t))
    # bad CSVs
    vals = [str(v) for v in t]
    def variant(name, i, value, header=True):
        v = list(vals)
        v[i] = value
        write(name, ("label\n" if header else "") + lines(v))
    write("l_blank_mid.csv", "label\n" + lines(t[:7]) + "\n" + lines(t[7:]))
    write("l_blank_mid_noheader.csv", lines(t[:7]) + "\n" + lines(t[7:]))
    write("l_ws_mid.csv", "label\n" + lines(t[:7]) + "   \n" + lines(t[7:]))
    write("l_blank_first.csv", "\n" + lines(t))
    variant("l_nan.csv", 4, "nan")
    variant("l_NaN_noheader.csv", 4, "NaN", header=False)
    variant("l_empty_cell.csv", 4, "")
    write("l_empty_cell_twocol.csv", "index,label\n" + "".join(
        f"{i},{'' if i == 4 else v}\n" for i, v in enumerate(t)))
    variant("l_neg.csv", 4, "-1")
    variant("l_neg_noheader.csv", 4, "-1", header=False)
    variant("l_frac.csv", 4, "1.5")
    variant("l_frac_noheader.csv", 4, "1.5", header=False)
    variant("l_huge.csv", 4, "1000000000")
    variant("l_huge_e.csv", 4, "1e30")
    variant("l_huge_digits.csv", 4, "9" * 40)
    variant("l_inf.csv", 4, "inf")
    variant("l_outside.csv", 4, "3")
    variant("l_text.csv", 4, "abc")
    variant("l_hex.csv", 4, "0x1")
    variant("l_comment.csv", 4, "# note")
    variant("l_unknown_name.csv", 4, "wolf")
    write("l_empty.csv", "")
    write("l_only_header.csv", "label\n")
    write("l_only_newlines.csv", "\n\n\n")
    write("l_twocol_noheader.csv", "".join(f"{i},{v}\n" for i, v in enumerate(t)))
    write("l_twocol_nolabel.csv", "a,b\n" + "".join(f"{i},{v}\n" for i, v in enumerate(t)))
    write("l_ragged.csv", "index,label\n" + "".join(
        (f"{i},{v},9\n" if i == 4 else f"{i},{v}\n") for i, v in enumerate(t)))
    write("l_semicolon.csv", "index;label\n" + "".join(f"{i};{v}\n" for i, v in enumerate(t)))
    write("l_binary.csv", b"\x00\x01\x02\xff\xfe" * 20)
    write("l_latin1.csv", "label\n".encode() + "\xe9\n".encode("latin-1") + lines(t).encode())
    write("labels.txt", lines(t))
    (work / "adir").mkdir(exist_ok=True)
    # parquet
    pq.write_table(pa.table({"label": t}), work / "l.parquet")
    pq.write_table(pa.table({"y": t}), work / "l_onecol.parquet")
    pq.write_table(pa.table({"a": t, "b": t}), work / "l_twocol_nolabel.parquet")
    pq.write_table(pa.table({"label": pa.array(list(f), type=pa.float64())}),
                   work / "l_nan.parquet")
    pq.write_table(pa.table({"label": pa.array([None if i == 4 else int(v) for i, v in
                                                enumerate(t)], type=pa.int64())}),
                   work / "l_null.parquet")
    pq.write_table(pa.table({"label": (t + 0.5)}), work / "l_frac.parquet")
    pq.write_table(pa.table({"label": n}), work / "l_neg.parquet")
    pq.write_table(pa.table({"label": h}), work / "l_huge.parquet")
    pq.write_table(pa.table({"label": np.array(NAMES)[t]}), work / "l_names.parquet")
    pq.write_table(pa.table({"label": pa.array([[int(v)] for v in t])}), work / "l_list.parquet")
    pd.DataFrame({"label": t}).to_parquet(work / "l_pandas.parquet")
    write("l_notparquet.parquet", "label\n" + lines(t))

    # recalls
    def rec(name, rows, header="class,recall"):
        write(name, (header + "\n" if header else "") + "".join(
            ",".join(str(x) for x in r) + "\n" for r in rows))
    base = [(0, 0.9), (1, 0.6), (2, 0.3)]
    rec("recalls.csv", base)
    rec("r_count.csv", [(0, 0.9, 10), (1, 0.6, 10), (2, 0.3, 10)], "class,recall,count")
    rec("r_shuffled.csv", [(2, 0.3), (0, 0.9), (1, 0.6)])
    rec("r_names.csv", [("cat", 0.9), ("dog", 0.6), ("fox", 0.3)])
    rec("r_names_shuffled.csv", [("fox", 0.3), ("cat", 0.9), ("dog", 0.6)])
    write("r_crlf.csv", "class,recall\r\n0,0.9\r\n1,0.6\r\n2,0.3\r\n")
    write("r_bom.csv", "\ufeffclass,recall\n0,0.9\n1,0.6\n2,0.3\n")
    write("r_spaces.csv", "class , recall\n 0 , 0.9\n 1 , 0.6 \n2,0.3\n")
    write("r_trailing.csv", "class,recall\n0,0.9\n1,0.6\n2,0.3\n\n\n")
    write("r_extracol.csv", "class,recall,note\n0,0.9,a\n1,0.6,b\n2,0.3,c\n")
    rec("r_pct.csv", [(0, 90), (1, 60), (2, 30)])
    rec("r_pctsign.csv", [(0, "90%"), (1, "60%"), (2, "30%")])
    rec("r_gt1.csv", [(0, 1.5), (1, 0.6), (2, 0.3)])
    rec("r_neg.csv", [(0, -0.1), (1, 0.6), (2, 0.3)])
    rec("r_nan.csv", [(0, "nan"), (1, 0.6), (2, 0.3)])
    rec("r_inf.csv", [(0, "inf"), (1, 0.6), (2, 0.3)])
    rec("r_empty_val.csv", [(0, ""), (1, 0.6), (2, 0.3)])
    rec("r_missing.csv", [(0, 0.9), (1, 0.6)])
    rec("r_dup.csv", [(0, 0.9), (1, 0.6), (1, 0.5), (2, 0.3)])
    rec("r_noheader.csv", base, header="")
    rec("r_wrongcols.csv", base, header="cls,rec")
    write("r_onecol.csv", "recall\n0.9\n0.6\n0.3\n")
    rec("r_extra_class.csv", [(0, 0.9), (1, 0.6), (2, 0.3), (3, 0.5)])
    rec("r_gap.csv", [(0, 0.9), (1, 0.6), (5, 0.3)])
    rec("r_negid.csv", [(-1, 0.9), (1, 0.6), (2, 0.3)])
    rec("r_fracid.csv", [(0.5, 0.9), (1, 0.6), (2, 0.3)])
    rec("r_hugeid.csv", [(0, 0.9), (1, 0.6), (2, 0.3), (10 ** 9, 0.5)])
    rec("r_text.csv", [(0, "high"), (1, 0.6), (2, 0.3)])
    rec("r_count_neg.csv", [(0, 0.9, -5), (1, 0.6, 10), (2, 0.3, 10)], "class,recall,count")
    rec("r_count_frac.csv", [(0, 0.9, 10.5), (1, 0.6, 10), (2, 0.3, 10)], "class,recall,count")
    rec("r_count_nan.csv", [(0, 0.9, "nan"), (1, 0.6, 10), (2, 0.3, 10)], "class,recall,count")
    rec("r_count_huge.csv", [(0, 0.9, 10 ** 30), (1, 0.6, 10), (2, 0.3, 10)],
        "class,recall,count")
    rec("r_mixed_ids.csv", [(0, 0.9), ("dog", 0.6), (2, 0.3)])
    write("r_empty.csv", "")
    write("r_only_header.csv", "class,recall\n")
    write("r_blank_mid.csv", "class,recall\n0,0.9\n\n1,0.6\n2,0.3\n")
    write("r.json", json.dumps({"0": 0.9, "1": 0.6, "2": 0.3}))
    pq.write_table(pa.table({"class": [0, 1, 2], "recall": [0.9, 0.6, 0.3]}), work / "r.parquet")
    pq.write_table(pa.table({"class": [0, 1, 2], "recall": [0.9, float("nan"), 0.3]}),
                   work / "r_nan.parquet")

    # scores
    s = np.arange(20, dtype=float)[::-1].copy()  # sample 0 hardest
    np.save(work / "scores.npy", s)
    np.save(work / "s_short.npy", s[:19])
    s2 = s.copy()
    s2[3] = np.nan
    np.save(work / "s_nan.npy", s2)
    s3 = s.copy()
    s3[3] = np.inf
    np.save(work / "s_inf.npy", s3)
    np.save(work / "s_2d.npy", np.stack([s, s], 1))
    np.save(work / "s_complex.npy", s.astype(complex) + 1j)
    np.save(work / "s_str.npy", s.astype(str))
    write("s.csv", "score\n" + lines(s))

    # user factories
    write("usermods/facs.py", FACTORIES)
    write("usermods/syntaxerr.py", "def f(seed:\n    return 1\n")
    write("usermods/importerr.py", "raise RuntimeError('module fails at import')\n")

    # configs
    good = GOOD_TOML
    write("good.toml", good)
    write("good.json", json.dumps(GOOD_DICT))
    write("c_syntax.toml", good + "\n[train\nepochs = 1\n")
    write("c_syntax.json", json.dumps(GOOD_DICT)[:-5])
    write("c_empty.toml", "")
    write("c_preset_list.toml", "preset = []\n")
    write("c_preset_bogus.toml", 'preset = "nosuch-preset"\n')
    write("c_preset_int.toml", "preset = 3\n")
    for key, value in CONFIG_MUTATIONS.items():
        write(f"c_{key}.json", json.dumps(mutate(GOOD_DICT, value)))
    write("c_yaml.yaml", "name: tiny\n")
    write("c_bom.toml", "\ufeff" + good)
    write("c_list.json", "[1, 2, 3]")
    write("c_null.json", "null")
    write("c_binary.toml", b"\x00\xff" * 40)

    # report folders
    (work / "rep_empty").mkdir(exist_ok=True)
    write("rep_garbage/results.sqlite", b"this is not a sqlite file" * 10)
    write("rep_configonly/config.json", json.dumps(GOOD_DICT))
    write("rep_file.txt", "x")

    # image folder
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 4)):
        for c, name in enumerate(["ant", "bee"]):
            d = work / "imgs" / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                arr = (rng.random((8, 8, 3)) * 80 + 120 * c).astype(np.uint8)
                Image.fromarray(arr).save(d / f"{i}.png")
    shutil.copytree(work / "imgs", work / "imgs_notest", dirs_exist_ok=True)
    shutil.rmtree(work / "imgs_notest" / "test")
    shutil.copytree(work / "imgs", work / "imgs_corrupt", dirs_exist_ok=True)
    write("imgs_corrupt/train/ant/bad.png", b"not a png at all")
    shutil.copytree(work / "imgs", work / "imgs_emptyclass", dirs_exist_ok=True)
    (work / "imgs_emptyclass" / "train" / "cow").mkdir(exist_ok=True)
    shutil.copytree(work / "imgs", work / "imgs_symlink", dirs_exist_ok=True)
    outside = work / "outside_secret"
    outside.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(outside / "leak.png")
    link = work / "imgs_symlink" / "train" / "ant" / "leak.png"
    if not link.exists():
        os.symlink(outside / "leak.png", link)
    shutil.copytree(work / "imgs", work / "imgs_txt", dirs_exist_ok=True)
    write("imgs_txt/train/ant/readme.txt", "not an image")
    # an existing run for --out ownership
    (work / "out_unrelated").mkdir(exist_ok=True)
    write("out_unrelated/notes.txt", "mine")
    write("out_isfile", "a file")


GOOD_DICT: dict[str, Any] = {
    "name": "tiny", "methods": ["Random", "Random+DRoP"], "densities": [0.5], "seeds": [0],
    "data": {"name": "gaussian-mixture", "options": {
        "class_sizes": [60, 40, 30], "test_sizes": [20, 20, 20], "means": [-2, 0, 2],
        "stds": [1, 1, 1]}},
    "model": {"name": "mlp"}, "train": {"epochs": 1, "drop_epochs": []}, "query": {"seeds": 1}}
GOOD_TOML = """name = "tiny"
methods = ["Random", "Random+DRoP"]
densities = [0.5]
seeds = [0]
[data]
name = "gaussian-mixture"
options = {class_sizes = [60, 40, 30], test_sizes = [20, 20, 20], means = [-2, 0, 2], stds = [1, 1, 1]}
[model]
name = "mlp"
[train]
epochs = 1
drop_epochs = []
[query]
seeds = 1
"""
# key -> (dotted path, value); "__del__" removes the key
CONFIG_MUTATIONS: dict[str, tuple[str, Any]] = {
    "unknown_top": ("bogus_key", 1),
    "unknown_train": ("train.bogus", 1),
    "epochs_huge": ("train.epochs", 10 ** 12),
    "epochs_1e20": ("train.epochs", 1e20),
    "epochs_neg": ("train.epochs", -1),
    "epochs_str": ("train.epochs", "ten"),
    "epochs_float": ("train.epochs", 1.5),
    "lr_nan": ("train.lr", "nan"),
    "lr_neg": ("train.lr", -0.1),
    "batch_zero": ("train.batch_size", 0),
    "methods_empty": ("methods", []),
    "methods_bogus": ("methods", ["Bogus+DRoP"]),
    "methods_str": ("methods", "Random"),
    "densities_out": ("densities", [1.5]),
    "densities_empty": ("densities", []),
    "densities_nan": ("densities", ["nan"]),
    "seeds_neg": ("seeds", [-1]),
    "seeds_str": ("seeds", "abc"),
    "data_bogus": ("data.name", "nosuch"),
    "data_option_bogus": ("data.options.bogus", 1),
    "data_sizes_neg": ("data.options.class_sizes", [-5, 40, 30]),
    "data_sizes_huge": ("data.options.class_sizes", [10 ** 12, 40, 30]),
    "model_bogus": ("model.name", "nosuchnet"),
    "model_width_neg": ("model.width", -1),
    "query_seeds_zero": ("query.seeds", 0),
    "fixed_epochs_huge": ("protocol_options.fixed_query_epochs", 10 ** 12),
    "drop_outside": ("train.drop_epochs", [50]),
    "val_fraction_2": ("data.val_fraction", 2),
    "protocol_bogus": ("protocol", "nosuch"),
    "model_factory_user": ("model.name", "facs:raises"),
}


def mutate(d: dict, change: tuple[str, Any]) -> dict:
    d = json.loads(json.dumps(d))
    path, value = change
    keys = path.split(".")
    cur = d
    for k in keys[:-1]:
        cur = cur.setdefault(k, {})
    cur[keys[-1]] = value
    return d


# ----- CLI checks -------------------------------------------------------------------------------
def read_kept(out: Path):
    import pandas as pd
    return pd.read_csv(out / "kept.csv")


def chk_kept(labels=TRUTH, counts=None, total=None, same_as_api=True, names=None, **api_kw):
    """kept.csv: row i's label is labels[i]; per-class counts; equal to droprune.prune's list."""
    def check(proc, out: Path):
        if not (out / "manifest.json").exists():
            return "no manifest.json"
        k = read_kept(out)
        idx = k["index"].to_numpy().astype(np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(labels)):
            return f"kept index out of range 0..{len(labels) - 1}"
        if names is None and not np.array_equal(k["label"].to_numpy(), labels[idx]):
            return "kept.csv label column differs from the true label of that index (shifted rows?)"
        if names is not None and list(k["class_name"]) != [names[c] for c in labels[idx]]:
            return "kept.csv class_name differs from the true class of that index"
        got = per_class(labels, idx, k=max(3, int(labels.max()) + 1))[:len(counts or [0, 0, 0])]
        if counts is not None and got != list(counts):
            return f"per-class kept {got}, expected {list(counts)}"
        if total is not None and len(idx) != total:
            return f"kept {len(idx)}, expected {total}"
        kept_npy = np.load(out / "kept.npy")
        if not np.array_equal(kept_npy, idx):
            return "kept.npy differs from kept.csv"
        if same_as_api:
            import droprune
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = droprune.prune(labels, api_kw.get("density", DENSITY),
                                     recalls=api_kw.get("recalls", RECALLS),
                                     **{k2: v for k2, v in api_kw.items()
                                        if k2 not in ("recalls", "density")})
            if not np.array_equal(ref.kept, idx):
                return "kept list differs from droprune.prune on the true labels"
        return None
    return check


def chk_quotas(counts):
    def check(proc, out):
        try:
            got = json.loads(proc.stdout)["counts"]
        except Exception as exc:  # noqa: BLE001
            return f"no JSON counts on stdout ({exc})"
        return None if list(got) == list(counts) else f"counts {got}, expected {list(counts)}"
    return check


def chk_manifest_only(proc, out: Path):
    return None if (out / "manifest.json").exists() else "no manifest.json"


def chk_imgs(proc, out: Path):
    if not (out / "manifest.json").exists():
        return "no manifest.json"
    k = read_kept(out)
    for _, row in k.iterrows():
        p = Path(str(row["path"]))
        if not p.exists() or p.parent.name != row["class_name"]:
            return f"kept path {p} missing or not in its class folder"
    if len(k) != 6:
        return f"kept {len(k)} of 12, expected 6"
    return None


def chk_sweep(proc, out: Path):
    return None if (out / "results.sqlite").exists() else "no results.sqlite"


def chk_report(proc, out: Path):
    return None if (W / "sw_ok" / "report" / "report.html").exists() else "no report.html"


def chk_symlink(proc, out: Path):
    """A symlink out of the root must be refused; a success that kept or read it is wrong."""
    return "symlink out of the dataset root was accepted (not refused)"


# ----- CLI cases --------------------------------------------------------------------------------
def build_cli_cases() -> None:
    P = ["prune", "--recalls", "recalls.csv", "--density", "0.5"]

    def prune_labels(id, file, kind, expect, check=None, extra=(), recalls="recalls.csv",
                     names=None, **kw):
        out = f"out/{id}"
        argv = ["prune", "--recalls", recalls, "--labels", file, "--density", "0.5",
                "--out", out, *extra]
        cli(id, "prune --labels", kind, expect, argv, out=out, check=check,
            names=names or ("--labels", file), **kw)

    # controls: every way to write the same 20 labels gives the same kept list
    ok = chk_kept(counts=BASE_COUNTS.tolist(), total=10)
    for f in ["labels.npy", "labels_i32.npy", "labels_u8.npy", "l_header.csv", "l_savetxt.csv",
              "l_savetxt_float.csv", "l_trailing.csv", "l_noheader_trailing.csv", "l_crlf.csv",
              "l_crlf_noheader.csv", "l_bom.csv", "l_bom_noheader.csv", "l_spaces.csv",
              "l_nofinalnl.csv", "l_twocol.csv", "l_twocol_rev.csv", "l_quoted.csv",
              "l.parquet", "l_onecol.parquet", "l_pandas.parquet"]:
        prune_labels(f"ctl-labels-{f}", f, "control", "ok", ok)
    prune_labels("ctl-labels-names-csv", "l_names.csv", "control", "ok",
                 chk_kept(counts=BASE_COUNTS.tolist(), names=NAMES, same_as_api=True),
                 recalls="r_names.csv")
    prune_labels("ctl-labels-names-noheader", "l_names_noheader.csv", "control", "ok",
                 chk_kept(counts=BASE_COUNTS.tolist(), names=NAMES), recalls="r_names.csv")
    prune_labels("ctl-labels-names-parquet", "l_names.parquet", "control", "ok",
                 chk_kept(counts=BASE_COUNTS.tolist(), names=NAMES), recalls="r_names.csv")
    prune_labels("ctl-labels-names-shuffled-recalls", "l_names.csv", "control", "ok",
                 chk_kept(counts=BASE_COUNTS.tolist(), names=NAMES, same_as_api=False),
                 recalls="r_names_shuffled.csv")
    # either: a clear refusal or the same kept list
    for f in ["labels_f64int.npy", "labels_col.npy", "l_plus.csv", "labels.txt", "labels_obj.npy"]:
        prune_labels(f"either-labels-{f}", f, "bad", "either", ok)
    prune_labels("doc-trap-pandas-unnamed-header", "l_pandas_unnamed.csv", "bad", "either", ok,
                 note="docs/prune.md documents that the header '0' is read as a label")
    # bad label files: must be refused in one line naming the file
    for f in ["l_blank_mid.csv", "l_blank_mid_noheader.csv", "l_ws_mid.csv", "l_blank_first.csv",
              "l_nan.csv", "l_NaN_noheader.csv", "l_empty_cell.csv", "l_empty_cell_twocol.csv",
              "l_neg.csv", "l_neg_noheader.csv", "l_frac.csv", "l_frac_noheader.csv",
              "l_huge.csv", "l_huge_e.csv", "l_huge_digits.csv", "l_inf.csv", "l_outside.csv",
              "l_text.csv", "l_hex.csv", "l_comment.csv", "l_empty.csv", "l_only_header.csv",
              "l_only_newlines.csv", "l_twocol_noheader.csv", "l_twocol_nolabel.csv",
              "l_ragged.csv", "l_semicolon.csv", "l_binary.csv", "l_latin1.csv",
              "labels_frac.npy", "labels_nan.npy", "labels_neg.npy", "labels_huge.npy",
              "labels_huge62.npy", "labels_2d.npy", "labels_complex.npy", "labels_bool.npy",
              "labels_empty.npy", "labels_str.npy", "labels_scalar.npy", "labels_garbage.npy",
              "labels_outside.npy", "l_nan.parquet", "l_null.parquet", "l_frac.parquet",
              "l_neg.parquet", "l_huge.parquet", "l_twocol_nolabel.parquet", "l_list.parquet",
              "l_notparquet.parquet", "nosuch.npy", "adir"]:
        prune_labels(f"bad-labels-{f}", f, "bad", "error")
    for f in ["l_outside.csv", "labels_outside.npy"]:  # the recalls file lacks class 3
        CASES[[c.id for c in CASES].index(f"bad-labels-{f}")].names = (
            "--labels", f, "training labels")
    prune_labels("bad-labels-unknown-name", "l_unknown_name.csv", "bad", "error",
                 recalls="r_names.csv")
    prune_labels("bad-labels-names-vs-int-recalls", "l_names.csv", "bad", "error")

    # --recalls
    def prune_recalls(id, file, kind, expect, check=None, extra=(), labels="labels.npy",
                      names=None, **kw):
        out = f"out/{id}"
        argv = ["prune", "--recalls", file, "--labels", labels, "--density", "0.5", "--out",
                out, *extra]
        cli(id, "prune --recalls", kind, expect, argv, out=out, check=check,
            names=names or ("--recalls", file), **kw)
    for f in ["r_count.csv", "r_shuffled.csv", "r_crlf.csv", "r_bom.csv", "r_spaces.csv",
              "r_trailing.csv", "r_extracol.csv", "r.parquet"]:
        prune_recalls(f"ctl-recalls-{f}", f, "control", "ok", ok)
    prune_recalls("either-recalls-extra-class", "r_extra_class.csv", "bad", "either",
                  chk_kept(counts=None, total=10, same_as_api=False))
    for f in ["r_pct.csv", "r_pctsign.csv", "r_gt1.csv", "r_neg.csv", "r_nan.csv", "r_inf.csv",
              "r_empty_val.csv", "r_missing.csv", "r_dup.csv", "r_noheader.csv",
              "r_wrongcols.csv", "r_onecol.csv", "r_gap.csv", "r_negid.csv", "r_fracid.csv",
              "r_hugeid.csv", "r_text.csv", "r_count_neg.csv", "r_count_frac.csv",
              "r_count_nan.csv", "r_count_huge.csv", "r_mixed_ids.csv", "r_empty.csv",
              "r_only_header.csv", "r_blank_mid.csv", "r.json", "r_nan.parquet", "nosuch.csv",
              "adir"]:
        prune_recalls(f"bad-recalls-{f}", f, "bad", "error")
    prune_recalls("bad-recalls-beta-no-count", "recalls.csv", "bad", "error",
                  extra=("--error-estimate", "beta"), names=("count", "--error-estimate"))
    prune_recalls("ctl-recalls-beta-count", "r_count.csv", "control", "ok",
                  chk_kept(counts=ref_drop_counts(SIZES, beta_errors(RECALLS, [10] * 3), 0.5,
                                                  lo=0.25).tolist(), total=10,
                           val_counts=[10, 10, 10], error_estimate="beta"),
                  extra=("--error-estimate", "beta"))

    # --class-ids
    prune_recalls("bad-classids-named-recalls-int-labels", "r_names.csv", "bad", "error",
                  names=("--class-ids", "class_ids"))
    prune_recalls("ctl-classids-index", "r_names.csv", "control", "ok", ok,
                  extra=("--class-ids", "index"))
    prune_recalls("ctl-classids-index-no-names", "recalls.csv", "control", "ok", ok,
                  extra=("--class-ids", "index"))
    prune_recalls("bad-classids-bogus", "recalls.csv", "bad", "error",
                  extra=("--class-ids", "bogus"), names=("--class-ids",))
    prune_labels("bad-classids-index-names-labels-int-recalls", "l_names.csv", "bad", "error",
                 extra=("--class-ids", "index"))

    # --density, --method, --seed, floors
    def prune_opt(id, cat, kind, expect, extra, check=None, names=(), files=None, **kw):
        out = f"out/{id}"
        argv = ["prune", *(files or ["--recalls", "recalls.csv", "--labels", "labels.npy"]),
                "--out", out, *extra]
        if "--density" not in extra:
            argv += ["--density", "0.5"]
        cli(id, cat, kind, expect, argv, out=out, check=check, names=names, **kw)
    for v in ["-0.1", "1.5", "50", "nan", "inf", "abc", "", "0.5%", "1e400", "-0"]:
        prune_opt(f"bad-density-{v or 'empty'}", "prune --density", "bad",
                  "either" if v == "-0" else "error", ["--density", v],
                  check=chk_kept(counts=[0, 0, 0], total=0, same_as_api=False),
                  names=("density",))
    prune_opt("ctl-density-1", "prune --density", "control", "ok", ["--density", "1"],
              check=chk_kept(counts=[8, 6, 6], total=20, density=1.0))
    prune_opt("either-density-0", "prune --density", "bad", "either", ["--density", "0"],
              check=chk_kept(counts=[0, 0, 0], total=0, same_as_api=False))
    for m in ["Bogus", "Full", "Random+CDBW", "EL2N+DRoP", "", "Random+DRoP+DRoP",
              "Random+Bogus"]:
        prune_opt(f"bad-method-{m or 'empty'}", "prune --method", "bad", "error",
                  ["--method", m], names=("--method", "method", m or "method"))
    prune_opt("ctl-method-Random", "prune --method", "control", "ok", ["--method", "Random"],
              check=chk_kept(total=10, method="Random"))
    prune_opt("ctl-method-Proportional", "prune --method", "control", "ok",
              ["--method", "Random+Proportional"],
              check=chk_kept(counts=[4, 3, 3], total=10, method="Random+Proportional"))
    prune_opt("ctl-method-lowercase", "prune --method", "control", "ok",
              ["--method", "random+drop"], check=ok)
    scores = np.arange(20, dtype=float)[::-1].copy()
    prune_opt("ctl-scores-X+DRoP", "prune --scores", "control", "ok",
              ["--scores", "scores.npy", "--method", "S+DRoP"],
              check=lambda proc, out: (None if (out / "kept.npy").exists() and
                                       np.load(out / "kept.npy").tolist() ==
                                       top_per_class(TRUTH, scores, BASE_COUNTS)
                                       else "kept is not the top scores within DRoP counts"))
    for f in ["s_short.npy", "s_nan.npy", "s_2d.npy", "s_complex.npy", "s_str.npy", "s.csv",
              "nosuch.npy"]:
        prune_opt(f"bad-scores-{f}", "prune --scores", "bad", "error",
                  ["--scores", f, "--method", "S+DRoP"], names=("--scores", f))
    prune_opt("either-scores-inf", "prune --scores", "bad", "either",
              ["--scores", "s_inf.npy", "--method", "S+DRoP"],
              check=lambda proc, out: (None if 3 in np.load(out / "kept.npy").tolist()
                                       else "inf score (hardest) not kept"),
              names=("--scores", "s_inf.npy"))
    prune_opt("either-scores-with-Random+DRoP", "prune --scores", "bad", "either",
              ["--scores", "scores.npy"], check=ok, names=("--scores",))
    for v in ["-1", "1.5", "abc", str(2 ** 70), "nan"]:
        prune_opt(f"bad-seed-{v}", "prune --seed", "bad",
                  "either" if v == str(2 ** 70) else "error", ["--seed", v],
                  check=chk_kept(counts=BASE_COUNTS.tolist(), total=10, same_as_api=False),
                  names=("--seed", "seed"))
    prune_opt("ctl-seed-7", "prune --seed", "control", "ok", ["--seed", "7"],
              check=chk_kept(counts=BASE_COUNTS.tolist(), total=10, seed=7))
    for v in ["-1", "1.5", "1e20", "nan", "abc", "inf"]:
        prune_opt(f"bad-min-per-class-{v}", "prune floors", "bad", "error",
                  ["--min-per-class", v], names=("--min-per-class", "min_per_class"))
    prune_opt("bad-min-per-class-100", "prune floors", "bad", "error",
              ["--min-per-class", "100"], names=("--min-per-class", "min_per_class"))
    prune_opt("ctl-min-per-class-3", "prune floors", "control", "ok", ["--min-per-class", "3"],
              check=chk_kept(counts=[3, 3, 4], total=10, min_per_class=3))
    for v in ["-0.1", "2", "nan", "0.9", "abc"]:
        prune_opt(f"bad-min-density-{v}", "prune floors", "bad", "error", ["--min-density", v],
                  names=("--min-density", "min_density"))
    prune_opt("ctl-min-density-0", "prune floors", "control", "ok", ["--min-density", "0"],
              check=chk_kept(counts=PAPER_COUNTS.tolist(), total=10, min_density=0.0))
    prune_opt("bad-error-estimate-bogus", "prune floors", "bad", "error",
              ["--error-estimate", "bogus"], names=("--error-estimate",))

    # --out ownership
    RL = ["--recalls", "recalls.csv", "--labels", "labels.npy", "--density", "0.5"]
    cli("bad-out-isfile", "prune --out", "bad", "error", ["prune", *RL, "--out", "out_isfile"],
        names=("--out", "out_isfile"))
    cli("bad-out-under-file", "prune --out", "bad", "error",
        ["prune", *RL, "--out", "out_isfile/sub"], names=("--out", "out_isfile"))
    cli("bad-out-unrelated", "prune --out", "bad", "error",
        ["prune", *RL, "--out", "out_unrelated"], out="out_unrelated",
        names=("--out", "out_unrelated"))
    own = ["--recalls", "recalls.csv", "--labels", "labels.npy", "--out", "out/owned"]
    cli("ctl-out-first", "prune --out", "control", "ok", ["prune", *own, "--density", "0.3"],
        out="out/owned", check=chk_kept(total=6, density=0.3))
    cli("ctl-out-same-run-again", "prune --out", "control", "ok",
        ["prune", *own, "--density", "0.3"], out="out/owned",
        check=chk_kept(total=6, density=0.3))
    cli("bad-out-other-run", "prune --out", "bad", "error", ["prune", *own, "--density", "0.5"],
        out="out/owned", names=("--out", "out/owned"),
        check=None)
    cli("ctl-out-after-refusal", "prune --out", "control", "ok",
        ["prune", *own, "--density", "0.3"], out="out/owned",
        check=chk_kept(total=6, density=0.3),
        note="after the refused d=0.5 run the d=0.3 output must still be there (rerun of it)")
    cli("ctl-out-overwrite", "prune --out", "control", "ok",
        ["prune", *own, "--density", "0.5", "--overwrite"], out="out/owned",
        check=chk_kept(total=10))
    cli("ctl-out-unrelated-overwrite", "prune --out", "control", "ok",
        ["prune", "--recalls", "recalls.csv", "--labels", "labels.npy", "--out",
         "out_unrelated", "--density", "0.5", "--overwrite"], out="out_unrelated",
        check=lambda proc, out: ok(proc, out) or (None if (out / "notes.txt").exists()
                                                  else "--overwrite removed the user's file"))
    cli("bad-out-json-error", "prune --json", "bad", "error",
        ["prune", "--recalls", "recalls.csv", "--labels", "labels.npy", "--density", "1.5",
         "--out", "out/json1", "--json"], out="out/json1", names=("density",), json_out=True)
    cli("bad-out-json-labels", "prune --json", "bad", "error",
        ["prune", "--recalls", "recalls.csv", "--labels", "l_blank_mid.csv", "--density", "0.5",
         "--out", "out/json2", "--json"], out="out/json2", names=("l_blank_mid.csv",),
        json_out=True)
    cli("ctl-json", "prune --json", "control", "ok",
        ["prune", "--recalls", "recalls.csv", "--labels", "labels.npy", "--density", "0.5",
         "--out", "out/json3", "--json", "--quiet"], out="out/json3",
        check=lambda proc, out: (None if json.loads(proc.stdout).get("kept") == 10 and
                                 [c["kept"] for c in json.loads(proc.stdout)["classes"]]
                                 == BASE_COUNTS.tolist() else "JSON kept/classes wrong"))
    cli("bad-model-without-data", "prune --model", "bad", "error",
        ["prune", "--recalls", "recalls.csv", "--labels", "labels.npy", "--density", "0.5",
         "--out", "out/modelnodata", "--model", "mlp"], out="out/modelnodata",
        names=("--model",))
    cli("either-device-without-data", "prune --device", "bad", "either",
        ["prune", "--recalls", "recalls.csv", "--labels", "labels.npy", "--density", "0.5",
         "--out", "out/devnodata", "--device", "bogus"], out="out/devnodata",
        names=("--device",), check=lambda p, o: "--device bogus accepted (nothing trained)")
    cli("bad-no-labels", "prune", "bad", "error",
        ["prune", "--recalls", "recalls.csv", "--density", "0.5", "--out", "out/nolabels"],
        out="out/nolabels", names=("--labels", "--data"))

    # with a dataset: gaussian mixture, 1-epoch query model
    GOPT = {"class_sizes": "[30,20,20]", "test_sizes": "[10,10,10]", "means": "[-2,0,2]",
            "stds": "[1,1,1]"}

    def gm_base(drop=()):
        a = ["--data", "gaussian-mixture"]
        for k, v in GOPT.items():
            if k not in drop:
                a += ["--option", f"{k}={v}"]
        return a + ["--set", "protocol_options.fixed_query_epochs=1", "--no-progress",
                    "--density", "0.5"]
    GM = gm_base()

    def gm(id, cat, kind, expect, extra, check=None, names=(), base=GM, **kw):
        out = f"out/{id}"
        cli(id, cat, kind, expect, ["prune", *base, "--out", out, *extra], out=out,
            check=check, names=names, **kw)

    gm("ctl-data-mlp", "prune --data", "control", "ok", [],
       check=lambda p, o: chk_manifest_only(p, o) or
       (None if len(read_kept(o)) == 35 else "kept != 35 of 70"))
    gm("ctl-model-factory", "prune --model", "control", "ok", ["--model", "facs:good"],
       check=lambda p, o: chk_manifest_only(p, o) or
       (None if len(read_kept(o)) == 35 else "kept != 35 of 70"))
    for f in ["raises", "returns_none", "returns_str", "returns_class", "wrong_classes",
              "wrong_input", "no_seed", "two_args", "MyNet", "CONST", "nosuch", "returns_tuple",
              "tuple_out"]:
        gm(f"bad-model-facs:{f}", "prune --model", "bad", "error", ["--model", f"facs:{f}"],
           names=("--model", f"facs:{f}", f))
    gm("bad-model-nan-output", "prune --model", "bad", "error", ["--model", "facs:nan_out"],
       names=("--model", "facs:nan_out", "train.lr", "nan"))
    for m in ["nosuchmod.sub:f", "syntaxerr:f", "importerr:f", "facs:", ":good", "facs",
              "nosuchnet", "facs:good:x"]:
        gm(f"bad-model-{m}", "prune --model", "bad", "error", ["--model", m],
           names=("--model", m))
    for d in ["bogus", "cuda", "cuda:0", "cpu:99", "mps", "", "meta"]:
        gm(f"bad-device-{d or 'empty'}", "prune --device", "bad", "error", ["--device", d],
           names=("--device", "device"))
    gm("ctl-device-cpu", "prune --device", "control", "ok", ["--device", "cpu"],
       check=chk_manifest_only)
    for t in ["0", "-1", "abc", "1000000"]:
        gm(f"bad-threads-{t}", "prune --threads", "bad", "either" if t == "1000000" else "error",
           ["--threads", t], names=("--threads",), check=chk_manifest_only)
    sets = {"nosuch.key=1": ("nosuch",), "train.nosuch=1": ("train.nosuch",),
            "train.lr=abc": ("train.lr",), "train.lr=nan": ("train.lr",),
            "train.lr=-1": ("train.lr",), "train.batch_size=0": ("batch_size",),
            "noequals": ("--set", "noequals"), "=1": ("--set",),
            "query.seeds=3": ("query.seeds",), "methods=Random": ("methods", "--method"),
            "train.epochs=1e20": ("train.epochs",),
            "protocol_options.fixed_query_epochs=1000000000000": ("fixed_query_epochs",),
            "protocol_options.fixed_query_epochs=1.5": ("fixed_query_epochs",),
            "protocol_options.fixed_query_epochs=0": ("fixed_query_epochs",),
            "protocol_options.fixed_query_epochs=-1": ("fixed_query_epochs",),
            "quotas.min_per_class=3": ("quotas", "--min-per-class"),
}
    gm("either-set-batch-huge", "prune --set", "bad", "either",
       ["--set", "train.batch_size=1000000000000"], names=("batch_size",),
       check=chk_manifest_only, note="one batch of 70 samples: harmless")
    for s_, nm in sets.items():
        timeout = 60 if "1000000000000" in s_ or "1e20" in s_ else DEFAULT_TIMEOUT
        gm(f"bad-set-{s_[:40]}", "prune --set", "bad", "error", ["--set", s_],
           names=("--set", *nm), timeout=timeout)
    for o in ["class_sizes=[-5,20,20]", "class_sizes=[1000000000,20,20]",
              "class_sizes=[1e20,20,20]", "test_sizes=[0,0,0]", "bogus=1", "class_sizes=abc",
              "image_size=28", "noequals", "class_sizes=[0,20,20]"]:
        gm(f"bad-option-{o}", "prune --option", "bad", "error", ["--option", o],
           names=("--option", o.split("=")[0]), base=gm_base(drop=(o.split("=")[0],)),
           check=None)
    gm("bad-data-bogus", "prune --data", "bad", "error", [],
       base=["--data", "nosuchdata", "--density", "0.5"], names=("--data", "nosuchdata"))
    IMG = ["--data", "imagefolder", "--set", "protocol_options.fixed_query_epochs=1",
           "--no-progress", "--density", "0.5"]
    gm("ctl-imagefolder", "prune imagefolder", "control", "ok", ["--root", "imgs"], base=IMG,
       check=chk_imgs)
    gm("bad-imagefolder-noroot", "prune imagefolder", "bad", "error", [], base=IMG,
       names=("--root",))
    gm("bad-imagefolder-missing-root", "prune imagefolder", "bad", "error",
       ["--root", "nosuchdir"], base=IMG, names=("--root", "nosuchdir"))
    gm("bad-imagefolder-notest", "prune imagefolder", "bad", "error",
       ["--root", "imgs_notest"], base=IMG, names=("imgs_notest", "test"))
    gm("bad-imagefolder-corrupt", "prune imagefolder", "bad", "error",
       ["--root", "imgs_corrupt"], base=IMG, names=("bad.png",))
    gm("bad-imagefolder-emptyclass", "prune imagefolder", "bad", "either",
       ["--root", "imgs_emptyclass"], base=IMG, names=("cow",), check=chk_manifest_only)
    gm("bad-imagefolder-symlink-out", "prune imagefolder", "bad", "error",
       ["--root", "imgs_symlink"], base=IMG, names=("leak.png", "symlink"))
    gm("either-imagefolder-txt", "prune imagefolder", "bad", "either",
       ["--root", "imgs_txt"], base=IMG, names=("readme.txt",), check=chk_imgs)
    gm("bad-imagefolder-root-is-file", "prune imagefolder", "bad", "error",
       ["--root", "out_isfile"], base=IMG, names=("--root", "out_isfile"))

    # droprune quotas
    Q = ["quotas", "--json"]
    cli("ctl-quotas-drop", "quotas", "control", "ok",
        [*Q, "--sizes", "500,500,100", "--recalls", "0.9,0.8,0.7", "--density", "0.5"],
        check=chk_quotas([153, 305, 92]))
    cli("ctl-quotas-floor", "quotas", "control", "ok",
        [*Q, "--sizes", "8,6,6", "--recalls", "0.9,0.6,0.3", "--density", "0.5", "--rule",
         "drop_floor"], check=chk_quotas(BASE_COUNTS.tolist()))
    cli("ctl-quotas-proportional", "quotas", "control", "ok",
        [*Q, "--sizes", "500,500,100", "--density", "0.5", "--rule", "proportional"],
        check=chk_quotas([250, 250, 50]))
    cli("ctl-quotas-balanced", "quotas", "control", "ok",
        [*Q, "--sizes", "500,500,100", "--density", "0.5", "--rule", "balanced"],
        check=chk_quotas([225, 225, 100]))
    cli("ctl-quotas-beta", "quotas", "control", "ok",
        [*Q, "--sizes", "500,500,100", "--recalls", "0.9,0.8,0.7", "--density", "0.5",
         "--error-estimate", "beta", "--val-counts", "10,10,10"],
        check=chk_quotas(ref_drop_counts([500, 500, 100],
                                         beta_errors([.9, .8, .7], [10] * 3), .5).tolist()))
    write_q = {"q_ok.csv": "size,recall\n500,0.9\n500,0.8\n100,0.7\n"}
    cli("ctl-quotas-csv", "quotas", "control", "ok", [*Q, "--csv", "q_ok.csv", "--density",
                                                      "0.5"], check=chk_quotas([153, 305, 92]),
        setup=lambda: [write(k, v) for k, v in write_q.items()])
    qbad = {
        "recalls-len": (["--sizes", "500,500,100", "--recalls", "0.9,0.8"], ("recalls",)),
        "recalls-gt1": (["--sizes", "500,500", "--recalls", "1.5,0.8"], ("recall",)),
        "recalls-pct": (["--sizes", "500,500", "--recalls", "90,80"], ("recall",)),
        "recalls-nan": (["--sizes", "500,500", "--recalls", "nan,0.8"], ("recall",)),
        "recalls-inf": (["--sizes", "500,500", "--recalls", "inf,0.8"], ("recall",)),
        "recalls-neg": (["--sizes", "500,500", "--recalls", "-0.1,0.8"], ("recall",)),
        "recalls-text": (["--sizes", "500,500", "--recalls", "a,b"], ("--recalls",)),
        "recalls-empty": (["--sizes", "500,500", "--recalls", ""], ("--recalls", "recall")),
        "recalls-commas": (["--sizes", "500,500", "--recalls", ",,"], ("--recalls", "recall")),
        "sizes-neg": (["--sizes", "-5,500", "--recalls", "0.9,0.8"], ("size",)),
        "sizes-frac": (["--sizes", "1.5,500", "--recalls", "0.9,0.8"], ("size",)),
        "sizes-huge": (["--sizes", "1e20,500", "--recalls", "0.9,0.8"], ("size",)),
        "sizes-nan": (["--sizes", "nan,500", "--recalls", "0.9,0.8"], ("size",)),
        "sizes-empty": (["--sizes", "", "--recalls", ""], ("size",)),
        "sizes-zero": (["--sizes", "0,0", "--recalls", "0.9,0.8"], ("size", "empty")),
        "no-sizes": (["--recalls", "0.9,0.8"], ("--sizes", "--csv")),
        "min-per-class-1e20": (["--sizes", "500,500", "--recalls", "0.9,0.8",
                                "--min-per-class", "1e20"], ("min-per-class", "min_per_class")),
        "min-per-class-neg": (["--sizes", "500,500", "--recalls", "0.9,0.8",
                               "--min-per-class", "-1"], ("min-per-class", "min_per_class")),
        "min-per-class-nan": (["--sizes", "500,500", "--recalls", "0.9,0.8",
                               "--min-per-class", "nan"], ("min-per-class", "min_per_class")),
        "min-per-class-infeasible": (["--sizes", "500,500", "--recalls", "0.9,0.8",
                                      "--min-per-class", "400"],
                                     ("min-per-class", "min_per_class")),
        "min-density-2": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--min-density", "2"],
                          ("min-density", "min_density")),
        "min-density-nan": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--min-density",
                             "nan"], ("min-density", "min_density")),
        "density-2": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--density", "2"],
                      ("density",)),
        "density-nan": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--density", "nan"],
                        ("density",)),
        "density-neg": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--density", "-0.5"],
                        ("density",)),
        "beta-no-counts": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--error-estimate",
                            "beta"], ("val-counts", "val_counts")),
        "val-counts-len": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--val-counts", "5"],
                           ("val-counts", "val_counts")),
        "val-counts-neg": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--val-counts",
                            "-5,5"], ("val-counts", "val_counts")),
        "prior-zero": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--error-estimate",
                        "beta", "--val-counts", "5,5", "--prior", "0,0"], ("prior",)),
        "prior-text": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--prior", "a,b"],
                       ("prior",)),
        "prior-one": (["--sizes", "500,500", "--recalls", "0.9,0.8", "--prior", "1"],
                      ("prior",)),
        "csv-missing": (["--csv", "nosuch.csv"], ("--csv", "nosuch.csv")),
        "csv-nocols": (["--csv", "recalls.csv"], ("recalls.csv", "size")),
        "csv-nan": (["--csv", "q_nan.csv"], ("q_nan.csv",)),
        "csv-empty": (["--csv", "l_empty.csv"], ("l_empty.csv",)),
        "csv-and-sizes": (["--csv", "q_ok.csv", "--sizes", "1,2"], ("--csv", "--sizes")),
        "drop-no-recalls": (["--sizes", "500,500"], ("--recalls", "recall")),
    }
    write_q["q_nan.csv"] = "size,recall\n500,nan\n500,0.8\n"
    for k, (args, nm) in qbad.items():
        argv = [*Q, *args]
        if "--density" not in args:
            argv += ["--density", "0.5"]
        cli(f"bad-quotas-{k}", "quotas", "bad", "either" if k == "sizes-zero" else "error",
            argv, names=nm, check=chk_quotas([0, 0]),
            setup=lambda: [write(a, b) for a, b in write_q.items()])

    # sweep / run configs
    def cfg(id, kind, expect, argv, check=None, names=(), out=None, **kw):
        cli(id, "sweep/run config", kind, expect, argv, check=check, names=names, out=out, **kw)
    cfg("ctl-run-toml", "control", "ok", ["run", "--config", "good.toml", "--method", "Random",
                                          "--density", "0.5", "--out", "out/run_ok",
                                          "--no-progress"], out="out/run_ok", check=chk_sweep)
    cfg("ctl-run-json", "control", "ok", ["run", "--config", "good.json", "--method", "Random",
                                          "--density", "0.5", "--out", "out/run_okj",
                                          "--no-progress"], out="out/run_okj", check=chk_sweep)
    cfg("ctl-sweep-toml", "control", "ok", ["sweep", "--config", "good.toml", "--out", "sw_ok",
                                            "--no-progress"], out="sw_ok", check=chk_sweep)
    cfg("either-config-bom", "bad", "either", ["sweep", "--config", "c_bom.toml", "--out",
                                               "out/sw_bom", "--no-progress"],
        out="out/sw_bom", check=chk_sweep, names=("c_bom.toml",))
    bad_cfgs = ["c_syntax.toml", "c_syntax.json", "c_empty.toml", "c_preset_list.toml",
                "c_preset_bogus.toml", "c_preset_int.toml", "c_yaml.yaml", "c_list.json",
                "c_null.json", "c_binary.toml", "nosuch.toml", "adir"] + [
        f"c_{k}.json" for k in CONFIG_MUTATIONS]
    for c in bad_cfgs:
        key = c[2:-5] if c.startswith("c_") else c
        nm = ("--config", c)
        if key in CONFIG_MUTATIONS:
            path = CONFIG_MUTATIONS[key][0]
            value = CONFIG_MUTATIONS[key][1]
            nm = (c, path, path.split(".")[-1],
                  *([value] if isinstance(value, str) and len(value) > 3 else []))
        timeout = 60 if "huge" in c or "1e20" in c else DEFAULT_TIMEOUT
        out = f"out/sw_{c.replace('.', '_')}"
        cfg(f"bad-sweep-{c}", "bad", "error", ["sweep", "--config", c, "--out", out,
                                               "--no-progress"], out=out, names=nm,
            timeout=timeout)
    for c in ["c_preset_list.toml", "c_syntax.toml", "c_epochs_huge.json"]:
        out = f"out/run_{c.replace('.', '_')}"
        cfg(f"bad-run-{c}", "bad", "error", ["run", "--config", c, "--method", "Random",
                                             "--density", "0.5", "--out", out,
                                             "--no-progress"], out=out,
            names=("--config", c, "epochs", "preset"),
            timeout=60 if "huge" in c else DEFAULT_TIMEOUT)
    runbad = {"density-0": (["--density", "0"], ("density",)),
              "density-2": (["--density", "2"], ("density",)),
              "method-bogus": (["--method", "Bogus"], ("method", "Bogus")),
              "seed-neg": (["--seed", "-1"], ("seed",)),
              "device-bogus": (["--device", "bogus"], ("device",)),
              "device-cuda": (["--device", "cuda"], ("device", "cuda")),
              "set-unknown": (["--set", "nosuch=1"], ("nosuch",)),
              "out-isfile": (["--out", "out_isfile"], ("out_isfile", "--out")),
              "shard-bad": (["--shard", "5/2"], ("shard",))}
    for k, (args, nm) in runbad.items():
        sub = "sweep" if k == "shard-bad" else "run"
        argv = [sub, "--config", "good.toml", "--no-progress"]
        if sub == "run":
            argv += ["--method", "Random", "--density", "0.5"]
            argv = [a for a in argv]
            for flag in ("--density", "--method"):
                if flag in args:
                    i = argv.index(flag)
                    del argv[i:i + 2]
        out = None if "--out" in args else f"out/runbad_{k}"
        argv += args + ([] if out is None else ["--out", out])
        cfg(f"bad-{sub}-{k}", "bad", "error", argv, out=out, names=nm)
    for sh in ["a/b", "-1/2", "2/2", "0/0"]:
        cfg(f"bad-sweep-shard-{sh}", "bad", "error",
            ["sweep", "--config", "good.toml", "--shard", sh, "--out",
             f"out/shard_{sh.replace('/', '_')}",
             "--no-progress"], out=f"out/shard_{sh.replace('/', '_')}", names=("--shard",))

    # report
    cli("ctl-report", "report", "control", "ok", ["report", "sw_ok"], check=chk_report)
    for f, nm in [("nosuchdir", ("nosuchdir",)), ("rep_empty", ("rep_empty",)),
                  ("rep_file.txt", ("rep_file.txt",)), ("rep_garbage", ("rep_garbage",
                                                                         "results.sqlite")),
                  ("rep_configonly", ("rep_configonly",))]:
        cli(f"bad-report-{f}", "report", "bad", "error", ["report", f], names=nm)
    for v in ["2", "nan", "abc"]:
        cli(f"bad-report-corr-density-{v}", "report", "bad", "error",
            ["report", "sw_ok", "--corr-density", v, "--out", f"out/rep_cd_{v}"],
            out=f"out/rep_cd_{v}", names=("--corr-density", "corr"))
    cli("bad-report-out-isfile", "report", "bad", "error",
        ["report", "sw_ok", "--out", "out_isfile"], names=("--out", "out_isfile"))



# ----- the default run and --all ----------------------------------------------------------------
#: CLI cases skipped unless --all: near-duplicates of a kept case (same code path, another
#: spelling), so that the default run stays within ~7-12 minutes on a busy machine
EXTENDED = set('''
ctl-labels-labels_u8.npy ctl-labels-l_crlf.csv ctl-labels-l_bom_noheader.csv ctl-labels-l_spaces.csv
ctl-labels-l_nofinalnl.csv ctl-labels-l_twocol_rev.csv ctl-labels-l_quoted.csv
ctl-labels-l_pandas.parquet ctl-labels-names-noheader ctl-labels-names-parquet
either-labels-l_plus.csv either-labels-labels.txt
bad-labels-l_blank_first.csv bad-labels-l_empty_cell_twocol.csv bad-labels-l_neg.csv
bad-labels-l_huge_digits.csv bad-labels-l_hex.csv bad-labels-l_comment.csv
bad-labels-l_only_newlines.csv bad-labels-l_twocol_nolabel.csv bad-labels-l_semicolon.csv
bad-labels-l_latin1.csv bad-labels-labels_neg.npy bad-labels-labels_huge62.npy
bad-labels-labels_bool.npy bad-labels-labels_empty.npy bad-labels-labels_scalar.npy
bad-labels-l_frac.parquet bad-labels-l_neg.parquet bad-labels-l_list.parquet
bad-labels-l_notparquet.parquet
ctl-recalls-r_crlf.csv ctl-recalls-r_spaces.csv ctl-recalls-r_trailing.csv
ctl-recalls-r_extracol.csv
bad-recalls-r_neg.csv bad-recalls-r_inf.csv bad-recalls-r_onecol.csv bad-recalls-r_gap.csv
bad-recalls-r_text.csv bad-recalls-r_count_frac.csv bad-recalls-r_count_huge.csv
bad-recalls-r_only_header.csv bad-recalls-r_nan.parquet bad-recalls-adir
bad-density-empty bad-density-0.5% bad-density-1e400 bad-density--0
bad-method-empty bad-method-Random+DRoP+DRoP bad-method-Random+Bogus ctl-method-lowercase
bad-scores-s_str.npy bad-scores-s.csv bad-scores-nosuch.npy
bad-seed-nan bad-min-per-class-nan bad-min-per-class-abc bad-min-per-class-inf
bad-min-density--0.1 bad-min-density-abc
bad-model-facs:returns_str bad-model-facs:two_args bad-model-facs:CONST bad-model-facs:
bad-model-:good bad-model-facs:good:x bad-model-facs:nosuch
bad-device-cuda:0 bad-device-mps bad-device-empty bad-threads--1 bad-threads-1000000
bad-set-train.lr=-1 bad-set-=1 bad-set-protocol_options.fixed_query_epochs=0
bad-set-protocol_options.fixed_query_epochs=-1 bad-set-train.nosuch=1
bad-option-class_sizes=abc bad-option-noequals bad-option-class_sizes=[0,20,20]
bad-option-test_sizes=[0,0,0]
bad-sweep-c_preset_int.toml bad-sweep-c_null.json bad-sweep-c_binary.toml bad-sweep-adir
bad-sweep-c_epochs_str.json bad-sweep-c_epochs_float.json bad-sweep-c_lr_neg.json
bad-sweep-c_batch_zero.json bad-sweep-c_methods_str.json bad-sweep-c_densities_empty.json
bad-sweep-c_densities_nan.json bad-sweep-c_seeds_str.json bad-sweep-c_data_option_bogus.json
bad-sweep-c_data_sizes_neg.json bad-sweep-c_model_bogus.json bad-sweep-c_model_width_neg.json
bad-sweep-c_query_seeds_zero.json bad-sweep-c_drop_outside.json bad-sweep-c_val_fraction_2.json
bad-sweep-c_protocol_bogus.json bad-run-c_syntax.toml bad-run-seed-neg bad-run-set-unknown
bad-run-density-2 bad-sweep-shard--1/2 bad-sweep-shard-0/0 ctl-run-json
bad-report-corr-density-abc
'''.split())

# ----- API cases --------------------------------------------------------------------------------
def build_api_cases() -> None:
    import droprune
    import droprune.quotas as q
    dp = droprune.prune
    L, R = TRUTH, RECALLS
    VL = np.repeat([0, 1, 2], 10)
    # validation predictions giving recalls 0.9, 0.6, 0.3 exactly
    VP = VL.copy()
    VP[[0]] = 1
    VP[[10, 11, 12, 13]] = 0
    VP[[20, 21, 22, 23, 24, 25, 26]] = 1

    def counts_are(counts, total=None):
        def check(res):
            got = per_class(res.labels if hasattr(res, "labels") else L, res.kept)
            if got != list(counts):
                return f"per-class kept {got}, expected {list(counts)}"
            if len(set(res.kept.tolist())) != len(res.kept):
                return "duplicate kept indices"
            return None
        return check

    base_ok = counts_are(BASE_COUNTS.tolist())

    def P(id, expect, fn, check=None, names=(), kind=None, cat="api prune", **kw):
        api(id, cat, kind or ("control" if id.startswith("ctl") else "bad"), expect, fn,
            check=check, names=names, **kw)

    # labels axis
    lab_bad = {
        "complex-imag": L + 1j, "complex-real": L.astype(complex), "strings": np.array(NAMES)[L],
        "str-list": list(np.array(NAMES)[L]), "2d": L.reshape(4, 5), "frac": L + 0.5,
        "neg": np.where(np.arange(20) == 4, -1, L), "nan": np.where(np.arange(20) == 4, np.nan, L),
        "inf": np.where(np.arange(20) == 4, np.inf, L),
        "none": None, "huge-1e9": np.where(np.arange(20) == 4, 10 ** 9, L),
        "huge-2e62": np.where(np.arange(20) == 4, 2 ** 62, L),
        "outside-recalls": np.where(np.arange(20) == 4, 3, L),
        "scalar": 3, "dict": {0: 1}, "ragged": [[0, 1], [2]],
        "uint64-huge": np.where(np.arange(20) == 4, 2 ** 63, L).astype(np.uint64),
    }
    for k, v in lab_bad.items():
        P(f"bad-prune-labels-{k}", "error", (lambda v=v: dp(v, 0.5, recalls=R)), names=("labels",))
    P("either-prune-labels-empty", "either", lambda: dp(np.array([], dtype=int), 0.5, recalls=R),
      check=lambda r: None if r.kept.size == 0 else "kept samples of an empty set",
      names=("labels",))
    P("either-prune-labels-float-int", "either", lambda: dp(L.astype(float), 0.5, recalls=R),
      check=base_ok, names=("labels",))
    P("either-prune-labels-column", "either", lambda: dp(L.reshape(-1, 1), 0.5, recalls=R),
      check=base_ok, names=("labels",))
    P("either-prune-labels-bool", "either", lambda: dp(L.astype(bool), 0.5, recalls=R[:2]),
      check=lambda r: None if r.kept.size == 10 else "wrong total", names=("labels",))
    P("either-prune-labels-object-ints", "either",
      lambda: dp(np.array(list(L), dtype=object), 0.5, recalls=R), check=base_ok,
      names=("labels",))

    def series_check(res):
        if res.kept.min() < 0 or res.kept.max() >= 20:
            return "kept are not positions 0..19"
        return base_ok(res)
    P("either-prune-labels-series-offset-index", "either",
      lambda: dp(__import__("pandas").Series(L, index=range(100, 120)), 0.5, recalls=R),
      check=series_check, names=("labels",))
    for k, v in {"list": L.tolist(), "int32": L.astype(np.int32), "uint8": L.astype(np.uint8),
                 "tuple": tuple(L.tolist())}.items():
        P(f"ctl-prune-labels-{k}", "ok", (lambda v=v: dp(v, 0.5, recalls=R)), check=base_ok)
    P("ctl-prune-paper-rule", "ok", lambda: dp(L, 0.5, recalls=R, min_density=0),
      check=counts_are(PAPER_COUNTS.tolist()))
    P("ctl-prune-class-without-training", "ok",
      lambda: dp(np.where(L == 2, 1, L), 0.5, recalls=R),
      check=lambda r: None if r.kept.size == 10 and r.table["size"].tolist() == [8, 12, 0]
      else f"table {r.table[['size', 'kept']].values.tolist()}")

    # density
    for k, v in {"neg": -0.1, "gt1": 1.5, "pct": 50, "nan": float("nan"), "inf": float("inf"),
                 "str": "0.5", "none": None, "complex": 0.5j, "list": [0.5],
                 "bool": True}.items():
        P(f"bad-prune-density-{k}", "error", (lambda v=v: dp(L, v, recalls=R)),
          names=("density",))
    P("ctl-prune-density-f32", "ok", lambda: dp(L, np.float32(0.5), recalls=R), check=base_ok)
    P("ctl-prune-density-1", "ok", lambda: dp(L, 1, recalls=R), check=counts_are([8, 6, 6]))
    P("either-prune-density-0", "either", lambda: dp(L, 0, recalls=R),
      check=counts_are([0, 0, 0]), names=("density",))

    # recalls
    rec_bad = {"short": R[:2], "2d": R.reshape(1, 3), "complex": R + 1j,
               "nan": [np.nan, .6, .3], "inf": [np.inf, .6, .3], "gt1": [1.5, .6, .3],
               "pct": [90, 60, 30], "neg": [-.1, .6, .3], "strings": ["a", "b", "c"],
               "dict": {0: .9, 1: .6, 2: .3}, "empty": [], "str-numbers": ["0.9", "0.6", "0.3"]}
    for k, v in rec_bad.items():
        P(f"bad-prune-recalls-{k}", "error", (lambda v=v: dp(L, 0.5, recalls=v)),
          names=("recalls",))
    P("either-prune-recalls-long", "either", lambda: dp(L, 0.5, recalls=[.9, .6, .3, .5]),
      check=lambda r: None if r.kept.size == 10 else "wrong total", names=("recalls",))
    P("bad-prune-nothing", "error", lambda: dp(L, 0.5), names=("recalls", "val_labels"))
    for k, v in {"list": R.tolist(), "tuple": tuple(R), "series":
                 __import__("pandas").Series(R)}.items():
        P(f"ctl-prune-recalls-{k}", "ok", (lambda v=v: dp(L, 0.5, recalls=v)), check=base_ok)

    # validation predictions
    P("ctl-prune-val-pred", "ok", lambda: dp(L, 0.5, val_labels=VL, val_pred=VP),
      check=lambda r: base_ok(r) or (None if np.allclose(r.table["val_recall"], R) and
                                     r.table["val_count"].tolist() == [10, 10, 10]
                                     else "recalls/counts from val_pred wrong"))
    onehot = np.eye(3)[VP]
    P("ctl-prune-val-proba", "ok", lambda: dp(L, 0.5, val_labels=VL, val_proba=onehot * 0.8 + 0.05),
      check=base_ok)
    P("ctl-prune-val-proba-logits", "ok",
      lambda: dp(L, 0.5, val_labels=VL, val_proba=onehot * 5 - 2), check=base_ok)
    tied = np.full((30, 3), 1 / 3)
    P("ctl-prune-val-proba-all-tied", "ok", lambda: dp(L, 0.5, val_labels=VL, val_proba=tied),
      check=lambda r: None if np.allclose(r.table["val_recall"], 0) else
      f"tied rows gave recalls {r.table['val_recall'].tolist()} (ties must count as wrong)")
    half = onehot.copy()
    half[:5] = [0.5, 0.5, 0]  # class-0 rows tied between 0 and 1: wrong
    P("ctl-prune-val-proba-some-tied", "ok", lambda: dp(L, 0.5, val_labels=VL, val_proba=half),
      check=lambda r: None if np.isclose(r.table["val_recall"][0], 0.5) else
      f"class-0 recall {r.table['val_recall'][0]} (rows 0-4 tied, row 0 wrong anyway, "
      f"rows 5-9 right: expected 0.5)")
    vbad = {
        "labels-only": dict(val_labels=VL), "pred-only": dict(val_pred=VP),
        "pred-len": dict(val_labels=VL, val_pred=VP[:-1]),
        "pred-proba-2d": dict(val_labels=VL, val_pred=onehot),
        "pred-float": dict(val_labels=VL, val_pred=np.linspace(0, 1, 30)),
        "pred-neg": dict(val_labels=VL, val_pred=np.where(np.arange(30) == 0, -1, VP)),
        "pred-outside": dict(val_labels=VL, val_pred=np.where(np.arange(30) == 0, 7, VP)),
        "pred-complex": dict(val_labels=VL, val_pred=VP + 1j),
        "pred-nan": dict(val_labels=VL, val_pred=np.where(np.arange(30) == 0, np.nan, VP)),
        "proba-1d": dict(val_labels=VL, val_proba=np.linspace(0, 1, 30)),
        "proba-k2": dict(val_labels=VL, val_proba=onehot[:, :2]),
        "proba-nan": dict(val_labels=VL, val_proba=np.where(onehot == 1, np.nan, onehot)),
        "proba-complex": dict(val_labels=VL, val_proba=onehot + 1j),
        "proba-rows": dict(val_labels=VL, val_proba=onehot[:-1]),
        "proba-and-pred": dict(val_labels=VL, val_pred=VP, val_proba=onehot),
        "labels-one-off": dict(val_labels=VL + 1, val_pred=VP + 1),
        "labels-one-off-pred-ok": dict(val_labels=VL + 1, val_pred=VP),
        "labels-neg": dict(val_labels=VL - 1, val_pred=VP),
        "labels-strings": dict(val_labels=np.array(NAMES)[VL], val_pred=VP),
        "labels-2d": dict(val_labels=VL.reshape(3, 10), val_pred=VP.reshape(3, 10)),
        "and-recalls": dict(val_labels=VL, val_pred=VP, recalls=R),
        "and-val-counts": dict(val_labels=VL, val_pred=VP, val_counts=[10, 10, 10]),
        "proba-as-recalls": dict(recalls=onehot),
        "counts-len": dict(recalls=R, val_counts=[10, 10]),
        "counts-neg": dict(recalls=R, val_counts=[-1, 10, 10]),
        "counts-frac": dict(recalls=R, val_counts=[1.5, 10, 10]),
        "counts-nan": dict(recalls=R, val_counts=[np.nan, 10, 10]),
        "beta-no-counts": dict(recalls=R, error_estimate="beta"),
        "point-absent-class": dict(val_labels=VL[:20], val_pred=VP[:20]),
    }
    for k, kw in vbad.items():
        nm = tuple(sorted({a for a in kw if a.startswith("val") or a == "recalls"}))
        if k == "beta-no-counts":
            nm = ("val_counts",)
        if k == "proba-as-recalls":
            nm = ("recalls", "val_proba")
        P(f"bad-prune-val-{k}", "error", (lambda kw=kw: dp(L, 0.5, **kw)),
          names=nm + (("val_proba",) if k == "pred-proba-2d" else ()))
    # beta with a class absent from validation: documented prior-mean error, NaN recall in table
    exp_beta = ref_drop_counts(SIZES, [*beta_errors(R[:2], [10, 10]), 0.5], 0.5, lo=0.25)
    P("ctl-prune-beta-absent-class", "ok",
      lambda: dp(L, 0.5, val_labels=VL[:20], val_pred=VP[:20], error_estimate="beta"),
      check=lambda r: (counts_are(exp_beta.tolist())(r) or
                       (None if np.isnan(r.table["val_recall"][2]) else
                        f"class 2 (absent from validation) shows recall "
                        f"{r.table['val_recall'][2]}")))
    P("ctl-prune-beta-counts", "ok",
      lambda: dp(L, 0.5, recalls=R, val_counts=[10, 10, 10], error_estimate="beta"),
      check=counts_are(ref_drop_counts(SIZES, beta_errors(R, [10] * 3), .5, lo=.25).tolist()))

    # seed
    P("ctl-prune-seed-none", "ok", lambda: dp(L, 0.5, recalls=R, seed=None), check=base_ok)
    P("ctl-prune-seed-np", "ok", lambda: dp(L, 0.5, recalls=R, seed=np.int64(3)), check=base_ok)
    for k, v in {"neg": -1, "frac": 1.5, "str": "a", "nan": float("nan")}.items():
        P(f"bad-prune-seed-{k}", "error", (lambda v=v: dp(L, 0.5, recalls=R, seed=v)),
          names=("seed",))
    P("either-prune-seed-2**70", "either", lambda: dp(L, 0.5, recalls=R, seed=2 ** 70),
      check=base_ok, names=("seed",))

    # scores
    S = np.arange(20, dtype=float)[::-1].copy()
    P("ctl-prune-scores-X+DRoP", "ok", lambda: dp(L, 0.5, recalls=R, scores=S, method="S+DRoP"),
      check=lambda r: None if r.kept.tolist() == top_per_class(L, S, BASE_COUNTS)
      else "not the top scores within DRoP counts")
    P("ctl-prune-scores-global", "ok", lambda: dp(L, 0.5, recalls=R, scores=S, method="S"),
      check=lambda r: None if r.kept.tolist() == list(range(10)) else "not the top-10 scores")
    P("ctl-prune-scores-XQ", "ok", lambda: dp(L, 0.5, recalls=R, scores=S, method="Random+SQ"),
      check=counts_are(per_class(L, range(10))))
    sbad = {"short": S[:-1], "nan": np.where(np.arange(20) == 3, np.nan, S), "complex": S + 1j,
            "2d": np.stack([S, S], 1), "strings": S.astype(str), "none": None}
    for k, v in sbad.items():
        P(f"bad-prune-scores-{k}", "error",
          (lambda v=v: dp(L, 0.5, recalls=R, scores=v, method="S+DRoP")), names=("scores",))
    P("either-prune-scores-with-random", "either",
      lambda: dp(L, 0.5, recalls=R, scores=S), check=base_ok, names=("scores",))

    # method and options
    for k, v in {"bogus": "Bogus", "full": "Full", "cdbw": "Random+CDBW", "empty": "",
                 "none": None, "double": "Random+DRoP+DRoP"}.items():
        P(f"bad-prune-method-{k}", "error", (lambda v=v: dp(L, 0.5, recalls=R, method=v)),
          names=("method", str(v)))
    P("ctl-prune-method-lower", "ok", lambda: dp(L, 0.5, recalls=R, method="random+drop"),
      check=base_ok)
    P("ctl-prune-method-proportional", "ok",
      lambda: dp(L, 0.5, recalls=R, method="Random+Proportional"), check=counts_are([4, 3, 3]))
    P("ctl-prune-method-balanced", "ok", lambda: dp(L, 0.5, recalls=R, method="Random+Balanced"),
      check=lambda r: None if sorted(per_class(L, r.kept)) == [3, 3, 4] else
      f"balanced counts {per_class(L, r.kept)}")
    opt_bad = {
        "mpc-neg": dict(min_per_class=-1), "mpc-frac": dict(min_per_class=1.5),
        "mpc-1e20": dict(min_per_class=1e20), "mpc-nan": dict(min_per_class=float("nan")),
        "mpc-infeasible": dict(min_per_class=6), "md-neg": dict(min_density=-0.1),
        "md-2": dict(min_density=2), "md-nan": dict(min_density=float("nan")),
        "md-infeasible": dict(min_density=0.9), "ee-bogus": dict(error_estimate="bogus"),
        "prior-zero": dict(prior=(0, 0)), "prior-neg": dict(prior=(-1, 1)),
        "prior-str": dict(prior="ab"), "prior-one": dict(prior=(1,)),
        "mode-bogus": dict(mode="bogus"), "names-len": dict(class_names=["a", "b"]),
        "names-dup": dict(class_names=["a", "a", "b"]), "k-zero": dict(num_classes=0),
        "k-small": dict(num_classes=2), "k-frac": dict(num_classes=1.5),
        "k-huge": dict(num_classes=10 ** 9), "k-neg": dict(num_classes=-1),
    }
    for k, kw in opt_bad.items():
        nm = tuple(kw) + tuple(a.replace("_", "-") for a in kw)
        P(f"bad-prune-opt-{k}", "error", (lambda kw=kw: dp(L, 0.5, recalls=R, **kw)), names=nm)
    P("ctl-prune-mpc-3", "ok", lambda: dp(L, 0.5, recalls=R, min_per_class=3),
      check=counts_are([3, 3, 4]))
    P("ctl-prune-names", "ok", lambda: dp(L, 0.5, recalls=R, class_names=NAMES),
      check=lambda r: base_ok(r) or (None if r.table["name"].tolist() == NAMES else "names"))

    # select
    sel = droprune.select
    SC = [2, 3, 5]

    def S_(id, expect, fn, check=None, names=()):
        P(id, expect, fn, check=check, names=names, cat="api select")

    def sel_ok(counts):
        return lambda k: (None if per_class(L, k) == list(counts) and
                          np.all(np.diff(k) > 0) else f"select kept {per_class(L, k)}")
    S_("ctl-select", "ok", lambda: sel(L, SC), check=sel_ok(SC))
    S_("ctl-select-seed-none", "ok", lambda: sel(L, SC, seed=None), check=sel_ok(SC))
    S_("ctl-select-scores", "ok", lambda: sel(L, SC, scores=S),
       check=lambda k: None if k.tolist() == top_per_class(L, S, SC) else "not top scores")
    for k, (lab, cnt, kw) in {
        "over": (L, [9, 3, 5], {}), "neg": (L, [-1, 3, 5], {}), "frac": (L, [2.5, 3, 5], {}),
        "nan": (L, [np.nan, 3, 5], {}), "len": (L, [2, 3], {}), "2d": (L, [[2, 3, 5]], {}),
        "complex-counts": (L, np.array([2, 3, 5]) + 1j, {}), "complex-labels": (L + 1j, SC, {}),
        "scores-nan": (L, SC, dict(scores=np.where(np.arange(20) == 1, np.nan, S))),
        "scores-len": (L, SC, dict(scores=S[:5])), "ties-bogus": (L, SC, dict(ties="bogus")),
        "seed-neg": (L, SC, dict(seed=-1)), "labels-neg": (L - 1, SC, {}),
        "counts-huge": (L, [10 ** 20, 3, 5], {}), "counts-str": (L, "235", {}),
    }.items():
        S_(f"bad-select-{k}", "error", (lambda lab=lab, cnt=cnt, kw=kw: sel(lab, cnt, **kw)),
           names=("counts", "labels", "scores", "ties", "seed"))
    S_("either-select-counts-long", "either", lambda: sel(L, [2, 3, 5, 0]),
       check=sel_ok(SC), names=("counts",))

    # quotas
    def Q_(id, expect, fn, check=None, names=()):
        P(id, expect, fn, check=check, names=names, cat="api quotas")

    def eq(v):
        return lambda r: None if np.asarray(r).tolist() == list(v) else f"got {np.asarray(r)}"
    Z = [500, 500, 100]
    ZR = [.9, .8, .7]
    Q_("ctl-drop_quotas", "ok", lambda: q.drop_quotas(Z, ZR, .5), check=eq([153, 305, 92]))
    Q_("ctl-drop_quotas-d0", "ok", lambda: q.drop_quotas(Z, ZR, 0), check=eq([0, 0, 0]))
    Q_("ctl-drop_quotas-d1", "ok", lambda: q.drop_quotas(Z, ZR, 1), check=eq(Z))
    Q_("ctl-drop_quotas-beta", "ok",
       lambda: q.drop_quotas(Z, ZR, .5, val_counts=[10, 10, 10], error_estimate="beta"),
       check=eq(ref_drop_counts(Z, beta_errors(ZR, [10] * 3), .5)))
    Q_("either-drop_quotas-all-perfect", "either", lambda: q.drop_quotas(Z, [1, 1, 1], .5),
       check=lambda r: None if int(np.sum(r)) == 550 and all(np.asarray(r) <= Z) else
       f"got {r}", names=("recall",))
    Q_("ctl-proportional", "ok", lambda: q.proportional_quotas(Z, .5), check=eq([250, 250, 50]))
    Q_("ctl-balanced", "ok", lambda: q.balanced_quotas(Z, .5), check=eq([225, 225, 100]))
    Q_("ctl-drop_densities", "ok", lambda: q.drop_densities(Z, ZR, .5),
       check=lambda r: None if np.allclose(r, [11 / 36, 22 / 36, 33 / 36]) else f"got {r}")
    Q_("ctl-make_quotas-drop", "ok", lambda: q.make_quotas("drop", Z, .5, recalls=ZR),
       check=eq([153, 305, 92]))
    for k, (args, kw, nm) in {
        "sizes-neg": (([-5, 500, 100], ZR, .5), {}, ("class_sizes", "size")),
        "sizes-frac": (([1.5, 500, 100], ZR, .5), {}, ("class_sizes", "size")),
        "sizes-nan": (([np.nan, 500, 100], ZR, .5), {}, ("class_sizes", "size")),
        "sizes-complex": ((np.array(Z) + 1j, ZR, .5), {}, ("class_sizes", "size")),
        "sizes-empty": (([], [], .5), {}, ("class_sizes", "size", "empty")),
        "sizes-huge": (([10 ** 20, 500, 100], ZR, .5), {}, ("class_sizes", "size")),
        "sizes-2d": (([Z], [ZR], .5), {}, ("class_sizes", "size")),
        "recalls-len": ((Z, ZR[:2], .5), {}, ("recalls",)),
        "recalls-nan": ((Z, [np.nan, .8, .7], .5), {}, ("recalls",)),
        "recalls-gt1": ((Z, [1.5, .8, .7], .5), {}, ("recalls",)),
        "density-nan": ((Z, ZR, float("nan")), {}, ("density",)),
        "density-2": ((Z, ZR, 2), {}, ("density",)),
        "mpc-1e20": ((Z, ZR, .5), dict(min_per_class=1e20), ("min_per_class",)),
        "mpc-bigint": ((Z, ZR, .5), dict(min_per_class=10 ** 20), ("min_per_class",)),
        "md-nan": ((Z, ZR, .5), dict(min_density=float("nan")), ("min_density",)),
        "vc-len": ((Z, ZR, .5), dict(val_counts=[1, 2]), ("val_counts",)),
        "beta-no-vc": ((Z, ZR, .5), dict(error_estimate="beta"), ("val_counts",)),
        "mode-bogus": ((Z, ZR, .5), dict(mode="bogus"), ("mode",)),
        "names-len": ((Z, ZR, .5), dict(class_names=["a"]), ("class_names",)),
    }.items():
        Q_(f"bad-drop_quotas-{k}", "error", (lambda a=args, kw=kw: q.drop_quotas(*a, **kw)),
           names=nm)
    Q_("bad-proportional-sizes-neg", "error", lambda: q.proportional_quotas([-1, 5], .5),
       names=("class_sizes", "size"))
    Q_("bad-balanced-density-nan", "error", lambda: q.balanced_quotas(Z, float("nan")),
       names=("density",))
    Q_("bad-balanced-mpc-1e20", "error", lambda: q.balanced_quotas(Z, .5, min_per_class=1e20),
       names=("min_per_class",))
    Q_("bad-make_quotas-rule", "error", lambda: q.make_quotas("bogus", Z, .5),
       names=("rule", "bogus"))
    Q_("bad-make_quotas-no-recalls", "error", lambda: q.make_quotas("drop", Z, .5),
       names=("recalls",))

    # compare
    def C_(id, expect, fn, check=None, names=()):
        P(id, expect, fn, check=check, names=names, cat="api compare")
    perfect = (lambda kept, seed: VL)
    C_("ctl-compare-perfect-proxy", "ok",
       lambda: droprune.compare(L, 0.5, val_labels=VL, val_pred=VP, fit_predict=perfect,
                                seeds=[0], progress=False),
       check=lambda r: None if r.result.kept.size == 10 and
       r.recommended == "Random stratified" else
       f"recommended {getattr(r, 'recommended', None)} (all rules tie: the first expected)")
    for k, kw in {
        "pred-len": dict(val_pred=VP[:-1], fit_predict=perfect),
        "seeds-empty": dict(val_pred=VP, fit_predict=perfect, seeds=[]),
        "seeds-neg": dict(val_pred=VP, fit_predict=perfect, seeds=[-1]),
        "tolerance-neg": dict(val_pred=VP, fit_predict=perfect, tolerance=-1),
        "tolerance-nan": dict(val_pred=VP, fit_predict=perfect, tolerance=float("nan")),
        "tie-nan": dict(val_pred=VP, fit_predict=perfect, tie=float("nan")),
        "candidates-bogus": dict(val_pred=VP, fit_predict=perfect, candidates=["Bogus"]),
        "candidates-empty": dict(val_pred=VP, fit_predict=perfect, candidates=[]),
        "no-proxy": dict(val_pred=VP),
        "no-pred": dict(fit_predict=perfect),
        "proxy-shape": dict(val_pred=VP, fit_predict=lambda kept, seed: VL[:5]),
        "proxy-floats": dict(val_pred=VP, fit_predict=lambda kept, seed: np.eye(3)[VL]),
        "proxy-none": dict(val_pred=VP, fit_predict=lambda kept, seed: None),
        "proxy-not-callable": dict(val_pred=VP, fit_predict=3),
        "labels-complex": dict(val_pred=VP, fit_predict=perfect, _labels=L + 1j),
        "density-2": dict(val_pred=VP, fit_predict=perfect, _density=2),
    }.items():
        kw = dict(kw)
        lab = kw.pop("_labels", L)
        den = kw.pop("_density", 0.5)
        nm = tuple(a for a in kw if a not in ("val_pred",)) or ("val_pred",)
        if k == "pred-len":
            nm = ("val_pred", "val_labels")
        if k == "no-proxy":
            nm = ("fit_predict", "estimator")
        if k == "no-pred":
            nm = ("val_pred", "val_proba")
        if k.startswith("proxy"):
            nm = ("fit_predict", "proxy")
        if k == "labels-complex":
            nm = ("labels",)
        if k.startswith("candidates"):
            nm = ("candidate",)
        if k == "density-2":
            nm = ("density",)
        kw.setdefault("seeds", [0])
        C_(f"bad-compare-{k}", "error",
           (lambda lab=lab, den=den, kw=kw: droprune.compare(lab, den, val_labels=VL,
                                                               progress=False, **kw)), names=nm)

    # file readers (library functions of the CLI)
    for f, fn in [("l_blank_mid.csv", "read_labels"), ("nosuch.csv", "read_labels"),
                  ("r_pct.csv", "read_recalls"), ("l_nan.csv", "read_labels")]:
        P(f"bad-{fn}-{f}", "error", (lambda f=f, fn=fn: getattr(droprune, fn)(W / f)),
          names=(f,), cat="api readers")
    P("ctl-read_labels-savetxt", "ok", lambda: droprune.read_labels(W / "l_savetxt.csv"),
      check=lambda r: None if np.array_equal(r, TRUTH) else "labels differ", cat="api readers")
    P("ctl-read_labels-trailing", "ok", lambda: droprune.read_labels(W / "l_trailing.csv"),
      check=lambda r: None if np.array_equal(r, TRUTH) else "labels differ", cat="api readers")


# ----------------------------------------------------------------------------------------------
# running and classifying
# ----------------------------------------------------------------------------------------------
CLEAR_EXC = (ValueError, TypeError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
             FileExistsError, PermissionError)


def names_input(text: str, names) -> bool:
    t = text.lower()
    return any(n and n.lower() in t for n in names)


def error_line(stderr: str) -> str:
    ls = [l for l in stderr.splitlines() if l.strip()]
    for l in reversed(ls):
        if "error:" in l:
            return l.strip()
    return ls[-1].strip() if ls else ""


def message_lines(stderr: str) -> int:
    """Lines of the error, leaving out argparse usage lines and 'warning'/progress lines."""
    n = 0
    in_usage = False
    for l in stderr.splitlines():
        if not l.strip():
            continue
        if l.startswith("usage:"):
            in_usage = True
            continue
        if in_usage and l.startswith(" "):
            continue
        in_usage = False
        low = l.lower()
        if "warning" in low or l.startswith("class order") or l.startswith("query model") \
                or l.startswith("images of") or " to do (" in l or "training started" in l:
            continue
        n += 1
    return n


def classify_error(c: Case, rc, text: str, nlines: int, kind_ok: bool) -> tuple[str, str]:
    """Classify a refusal: (outcome, reason)."""
    reasons = []
    if not kind_ok:
        reasons.append("exit code %s" % rc if c.surface == "cli" else f"{rc} (not ValueError)")
    if nlines > 1:
        reasons.append(f"{nlines} lines")
    if c.names and not names_input(text, c.names):
        reasons.append("does not name " + "/".join(c.names))
    if c.expect == "ok":
        return "valid_refused", "; ".join(reasons) or "refused"
    return ("weak", "; ".join(reasons)) if reasons else ("clear", "")


def run_cli_case(c: Case, work: Path, timeout_default: float) -> dict:
    out = work / c.out if c.out else None
    if c.setup:
        c.setup()
    existed = out.exists() if out else False
    before = sorted(p.name for p in out.iterdir()) if out and out.is_dir() else None
    env = dict(os.environ, OMP_NUM_THREADS="1", DROPRUNE_CACHE=str(work / "cache"),
               PYTHONPATH=os.pathsep.join([*SRC, str(work / "usermods")]))
    cmd = ["nice", "-n", "10", sys.executable, "-m", "droprune", *c.argv]

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
        os.setsid()
    t0 = time.perf_counter()
    timeout = min(c.timeout, timeout_default)
    try:
        p = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=limit,
                             stdin=subprocess.DEVNULL)
        try:
            so, se = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            so, se = p.communicate()
            rc = "timeout"
    except Exception as exc:  # noqa: BLE001
        so, se, rc = "", f"campaign could not start: {exc}", "error"
    secs = time.perf_counter() - t0
    proc = subprocess.CompletedProcess(cmd, rc, so, se)
    first = error_line(se) if rc not in (0,) else (se.strip().splitlines() or [""])[0]
    nl = message_lines(se)
    out_touched = bool(out and rc not in (0,) and not existed and out.exists())
    if out and rc not in (0,) and existed and out.is_dir():
        after = sorted(p.name for p in out.iterdir())
        out_touched = out_touched or after != before
    outcome, reason = "", ""
    if rc == "timeout":
        outcome, reason = "timeout", f"no answer in {timeout:.0f} s"
    elif "Traceback (most recent call last)" in se or (isinstance(rc, int) and rc < 0):
        outcome = "traceback"
        reason = (se.strip().splitlines() or ["killed"])[-1][:200] if rc != -9 else "SIGKILL"
        if isinstance(rc, int) and rc < 0:
            reason = f"signal {-rc}: " + reason
    elif rc == 0:
        if c.expect == "error":
            outcome, reason = "silent_wrong", "exit 0 (should be refused)"
        else:
            why = None
            if c.check is not None:
                try:
                    why = c.check(proc, out)
                except Exception as exc:  # noqa: BLE001
                    why = f"check failed: {type(exc).__name__}: {exc}"
            outcome, reason = ("ok", "") if why is None else ("silent_wrong", why)
    else:
        outcome, reason = classify_error(c, rc, first, nl, rc == 2)
        if c.json_out:
            try:
                obj = json.loads(so)
                if "error" not in obj:
                    outcome, reason = "weak", "--json: no error key"
            except Exception:  # noqa: BLE001
                outcome, reason = "weak", "--json: stdout is not one JSON object"
    return dict(rc=rc, first=first[:300], nlines=nl, out_touched=out_touched,
                seconds=round(secs, 2), outcome=outcome, reason=reason,
                command="droprune " + shlex.join(c.argv), stderr_tail=se[-2000:])


# ----- API worker -------------------------------------------------------------------------------
class CaseTimeout(BaseException):
    pass


def api_worker(work: Path, ids: list[str]) -> None:
    """Run the API cases named in ids, one JSON line each on stdout (flushed)."""
    global W
    W = work
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    build_api_cases()
    by_id = {c.id: c for c in CASES if c.surface == "api"}
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # anything the cases print must not break the protocol

    def alarm(signum, frame):
        raise CaseTimeout()
    signal.signal(signal.SIGALRM, alarm)
    for cid in ids:
        c = by_id[cid]
        t0 = time.perf_counter()
        rec: dict[str, Any] = {"id": cid}
        signal.alarm(int(c.timeout))
        try:
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always")
                res = c.fn()
            signal.alarm(0)
            rec["status"] = "ok"
            rec["warnings"] = [str(w.message)[:200] for w in ws][:5]
            if c.check is not None and c.expect != "error":
                try:
                    rec["why"] = c.check(res)
                except Exception as exc:  # noqa: BLE001
                    rec["why"] = f"check failed: {type(exc).__name__}: {exc}"
        except CaseTimeout:
            rec["status"] = "timeout"
        except BaseException as exc:  # noqa: BLE001
            signal.alarm(0)
            rec["status"] = "exc"
            rec["exc_type"] = type(exc).__name__
            rec["clear_type"] = isinstance(exc, CLEAR_EXC)
            rec["message"] = str(exc)
            rec["tb"] = traceback.format_exc()[-1500:]
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        real_stdout.write(json.dumps(rec, default=str) + "\n")
        real_stdout.flush()


def classify_api(c: Case, rec: dict) -> dict:
    st = rec.get("status")
    msg = rec.get("message", "") or ""
    first = (msg.strip().splitlines() or [""])[0]
    nl = len([l for l in msg.splitlines() if l.strip()])
    if st == "timeout":
        outcome, reason = "timeout", "no answer"
    elif st == "died":
        outcome, reason = "traceback", rec.get("message", "worker died")
    elif st == "ok":
        if c.expect == "error":
            outcome, reason = "silent_wrong", "no exception (should be refused)"
        else:
            why = rec.get("why")
            outcome, reason = ("ok", "") if why is None else ("silent_wrong", why)
    else:
        if not rec.get("clear_type"):
            outcome, reason = "traceback", f"raw {rec['exc_type']}: {first[:150]}"
        else:
            outcome, reason = classify_error(c, rec["exc_type"], msg, nl, True)
    return dict(rc=rec.get("exc_type", "") if st == "exc" else st, first=first[:300],
                nlines=nl, out_touched=False, seconds=rec.get("seconds", 0), outcome=outcome,
                reason=reason, command=c.id, stderr_tail=rec.get("tb", ""))


def run_api_cases(cases: list[Case], work: Path, timeout: float) -> dict[str, dict]:
    results: dict[str, dict] = {}
    todo = [c.id for c in cases]
    by_id = {c.id: c for c in cases}
    while todo:
        cmd = ["nice", "-n", "10", sys.executable, __file__, "--_api-worker", "--work",
               str(work), "--ids", ",".join(todo)]
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(SRC))
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=env)
        lines_q: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines_q.put(l) for l in p.stdout] + [lines_q.put(None)],
                         daemon=True).start()
        while todo:
            try:
                line = lines_q.get(timeout=timeout + 30)
            except queue.Empty:
                line = "TIMEOUT"
            if line is None or line == "TIMEOUT":
                cid = todo.pop(0)
                p.kill()
                p.wait()
                rec = {"id": cid, "status": "timeout" if line == "TIMEOUT" else "died",
                       "message": f"worker exited with {p.returncode}"}
                results[cid] = classify_api(by_id[cid], rec)
                break
            rec = json.loads(line)
            results[rec["id"]] = classify_api(by_id[rec["id"]], rec)
            todo.remove(rec["id"])
            print(f"  {rec['id']:<50} {results[rec['id']]['outcome']}", flush=True)
        else:
            p.wait()
    return results


# ----------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results.csv", help="CSV of every case")
    ap.add_argument("--work", default=None, help="work folder (default /tmp/campaign/work-TIME)")
    ap.add_argument("--only", default=None,
                    help="run only cases whose id contains one of these (comma-separated)")
    ap.add_argument("--surface", choices=["cli", "api"], default=None)
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--src", default=None,
                    help="test droprune from this source folder (put first on PYTHONPATH), e.g. "
                         "a snapshot of a commit while the working tree is being edited")
    ap.add_argument("--all", action="store_true",
                    help=f"also the {len(EXTENDED)} near-duplicate CLI cases (EXTENDED)")
    ap.add_argument("--_api-worker", dest="api_worker", action="store_true",
                    help=argparse.SUPPRESS)
    ap.add_argument("--ids", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.src:
        SRC[:] = [str(Path(args.src).resolve())]
        sys.path.insert(0, SRC[0])
    work = Path(args.work or f"/tmp/campaign/work-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    if args.api_worker:
        api_worker(work, args.ids.split(","))
        return 0
    global W
    W = work
    if not args.list:
        if work.exists() and any(work.iterdir()):
            shutil.rmtree(work)
        make_fixtures(work)
    build_cli_cases()
    build_api_cases()
    ids = [c.id for c in CASES]
    dup = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert not dup, dup
    unknown = EXTENDED - set(ids)
    assert not unknown, unknown
    cases = [c for c in CASES if (args.all or c.id not in EXTENDED)
             and (args.only is None or any(o in c.id for o in args.only.split(",")))
             and (args.surface is None or c.surface == args.surface)]
    if args.list:
        for c in cases:
            print(c.surface, c.kind, c.expect, c.id)
        print(len(cases), "cases")
        return 0
    import droprune
    print(f"droprune {droprune.__version__} from {Path(droprune.__file__).parent}", flush=True)
    print(f"{len(cases)} cases ({sum(c.kind == 'bad' for c in cases)} bad inputs, "
          f"{sum(c.kind == 'control' for c in cases)} valid controls); work folder {work}",
          flush=True)
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    api_cases = [c for c in cases if c.surface == "api"]
    if api_cases:
        print("API cases (one worker process):", flush=True)
        results.update(run_api_cases(api_cases, work, args.timeout))
    for c in cases:
        if c.surface != "cli":
            continue
        r = run_cli_case(c, work, args.timeout)
        results[c.id] = r
        print(f"  {c.id[:50]:<50} {r['outcome']:<13} rc={r['rc']} {r['seconds']:.1f}s "
              f"{r['reason'][:60]}", flush=True)
    total = time.perf_counter() - t0
    # CSV
    fields = ["id", "surface", "category", "kind", "expect", "outcome", "reason", "rc", "first",
              "nlines", "out_touched", "seconds", "command", "note"]
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for c in cases:
            r = results[c.id]
            w.writerow({**r, "id": c.id, "surface": c.surface, "category": c.category,
                        "kind": c.kind, "expect": c.expect, "note": c.note})
    with open(Path(args.out).with_suffix(".details.json"), "w") as f:
        json.dump({c.id: results[c.id] for c in cases}, f, indent=1, default=str)
    # summary
    classes = ["clear", "weak", "traceback", "timeout", "silent_wrong", "valid_refused", "ok"]
    table = collections.defaultdict(collections.Counter)
    for c in cases:
        table[(c.surface, c.category)][results[c.id]["outcome"]] += 1
    head = f"{'surface':<5} {'category':<20}" + "".join(f"{k:>14}" for k in classes)
    print("\n" + head)
    tot = collections.Counter()
    for key in sorted(table):
        print(f"{key[0]:<5} {key[1]:<20}" + "".join(f"{table[key][k]:>14}" for k in classes))
        tot.update(table[key])
    print(f"{'all':<26}" + "".join(f"{tot[k]:>14}" for k in classes))
    touched = [c.id for c in cases if results[c.id]["out_touched"]]
    print(f"\n{len(cases)} cases in {total:.0f} s; refused commands that created or changed "
          f"--out: {len(touched)} {touched[:10]}")
    bad = [c for c in cases if results[c.id]["outcome"] not in ("clear", "ok")]
    if bad:
        print("\nnot clear / not ok:")
        for c in bad:
            r = results[c.id]
            print(f"  [{r['outcome']}] {c.id}: {r['reason'][:120]} | {r['first'][:160]}")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
