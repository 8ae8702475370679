"""The output folder of a pruning: the kept list, the per-class table, a figure, a summary
page, the warnings and a manifest, written from a :class:`~droprune.PruneResult`; and who owns
the folder.

What ``droprune prune`` writes, callable from Python. It imports neither torch nor pandas at
import time (matplotlib only while the figure is drawn). Without matplotlib (``pip install
droprune`` alone) the figure is left out, with a warning on the ``droprune`` logger naming
``pip install "droprune[report]"``; every other file is written.

Crash safety: the files are written into a hidden sibling folder (``OUT/.droprune-next/``,
:data:`STAGING`), its ``manifest.json`` last; then the old ``manifest.json`` is removed, every
file is moved into place with ``os.replace`` and the new manifest moved in last. A folder
holding ``manifest.json`` is therefore complete and consistent; one without it (and with a
complete staging folder) was cut short while its files were swapped, and
:func:`repair_outputs` (run by every writer and by :func:`claim_output_folder`) finishes the
swap. A staging folder without its manifest (killed while writing it) is removed: the earlier
output is untouched. Writers of one folder take turns: the repair, the staging and the swap
happen under an exclusive lock on the folder itself (POSIX ``flock`` of ``OUT``, released by
the system when its holder dies; no lock file), so several processes running the same command
on one ``--out`` never remove each other's staging folder.

Ownership (:func:`claim_output_folder`): a folder is written only when it is new or empty,
holds the output of the same run (the same :func:`run_key`, recorded in ``manifest.json``),
or only the caches of a run that never finished (``query/``, ``compare/``); another run's
output, or files droprune did not write, are refused unless ``overwrite``.

Examples
--------
>>> import json, os, tempfile
>>> import droprune
>>> result = droprune.prune([0] * 20 + [1] * 20, 0.5, recalls=[0.9, 0.6])
>>> out = tempfile.mkdtemp()
>>> files = write_prune_outputs(result, out, manifest={"labels": "labels.npy"})
>>> sorted(os.listdir(out)) == sorted(OUTPUTS)
True
>>> manifest = json.load(open(os.path.join(out, "manifest.json")))
>>> manifest["kept"], manifest["labels"]
(20, 'labels.npy')
>>> try:
...     claim_output_folder(out, run_key({"density": 0.3}))
... except OutputFolderError as exc:
...     print(str(exc).split(", add")[0].replace(out, "OUT").split(" (")[0])
--out OUT holds the kept list of another run
>>> claim_output_folder(out, run_key({"density": 0.3}), overwrite=True)
'overwrite'
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import html
import json
import logging
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ._extras import available, install_hint
from ._io import TEMP_NAME, atomic_save_npy, atomic_write_json, atomic_write_text
from ._json import dumps
from ._plot import agg_figure, save_png
from .pruning import PruneResult

__all__ = ["CACHES", "EXTRA_OUTPUTS", "KEY_LEAVES_OUT", "OUTPUTS", "STAGING",
           "OutputFolderError", "claim_output_folder", "file_record", "plot_class_densities",
           "prune_run_key", "repair_outputs", "run_key", "summary_html", "write_prune_outputs"]

logger = logging.getLogger(__name__)

#: the files of the output folder, in the order they are written (``manifest.json`` last)
OUTPUTS = ("kept.csv", "kept.npy", "classes.csv", "class_densities.png", "summary.html",
           "warnings.txt", "manifest.json")
#: outputs some runs add (``droprune prune --compare``); a run without them removes them
EXTRA_OUTPUTS = ("compare.csv", "compare.png")
#: the caches of resumable work an output folder may hold, each keyed by what made it
CACHES = ("query", "compare")
#: the hidden folder the outputs are written into before they are moved into place
STAGING = ".droprune-next"

#: a writer of one more output file: ``(name, write(path))``
ExtraFile = tuple[str, Callable[[Path], Any]]


class OutputFolderError(ValueError):
    """An output folder that this run may not write (another run's output, foreign files)."""


def write_prune_outputs(result: PruneResult, out: str | Path, *,
                        paths: Sequence[Any] | None = None,
                        manifest: Mapping[str, Any] | None = None,
                        sections: Sequence[tuple[str, str]] = (),
                        extra: Sequence[ExtraFile] = ()) -> list[Path]:
    """Write the output folder of a pruning, crash-safely (see the module docstring).

    Parameters
    ----------
    result
        What :func:`droprune.prune` returned.
    out
        The folder (created when missing). Its earlier outputs are replaced; other files and
        the caches are left alone. Call :func:`claim_output_folder` first to refuse a folder
        holding another run's output.
    paths
        The file of every training sample (``kept.csv``'s ``path`` column); empty without.
    manifest
        What to record about the inputs and options (JSON-able: file paths and hashes, the
        command, ...). The result's method, density, seed, kept and sample counts, starved
        classes, droprune's, Python's and (when imported) torch's versions, the time written
        (``created``, UTC) and the list of outputs are added.
    sections
        More ``(title, html)`` sections of ``summary.html`` (e.g. why a compared rule was
        recommended), placed after the summary.
    extra
        More output files, as ``(name, write)`` pairs: ``write(path)`` writes the file (names
        of :data:`EXTRA_OUTPUTS`, e.g. ``compare.csv``).

    Returns
    -------
    list of pathlib.Path
        The files written (:data:`OUTPUTS`, then ``extra``'s).
    """
    from . import __version__

    out = Path(out)
    with _folder_lock(out):
        return _write_outputs(result, out, paths, manifest, sections, extra, __version__)


def _write_outputs(result: PruneResult, out: Path, paths: Sequence[Any] | None,
                   manifest: Mapping[str, Any] | None, sections: Sequence[tuple[str, str]],
                   extra: Sequence[ExtraFile], version: str) -> list[Path]:
    """:func:`write_prune_outputs` with the folder's lock held."""
    _repair(out)
    stage = out / STAGING
    stage.mkdir(parents=True)
    rows = [""] * result.labels.size if paths is None else paths
    figure = available("matplotlib")
    if not figure:
        logger.warning("class_densities.png not drawn: matplotlib is not installed (%s); the "
                       "other files are written", install_hint("report"))
    steps: list[ExtraFile] = [
        ("kept.csv", lambda p: result.to_csv(p, rows)),
        ("kept.npy", lambda p: atomic_save_npy(p, result.kept)),
        ("classes.csv", lambda p: atomic_write_text(p, result.table.to_csv(index=False))),
        *([("class_densities.png", lambda p: plot_class_densities(result, p))] if figure else []),
        ("summary.html", lambda p: atomic_write_text(p, summary_html(
            result, sections, figure=figure, manifest=record))),
        ("warnings.txt", lambda p: atomic_write_text(p, "".join(f"{w}\n"
                                                                for w in result.warnings))),
        *extra]
    names = [name for name, _ in steps] + ["manifest.json"]
    torch = sys.modules.get("torch")
    record = dict(
        manifest or {}, droprune_version=version, method=result.method,
        density=result.density, seed=result.seed, kept=int(result.kept.size),
        samples=int(result.labels.size), starved=list(result.starved), outputs=names,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        python_version=platform.python_version(),
        torch_version=None if torch is None else getattr(torch, "__version__", None))
    for name, write in steps:
        _write_file(stage / name, write)
    _write_file(stage / "manifest.json", lambda p: atomic_write_json(p, record))
    _commit(out)
    return [out / name for name in names]


@contextlib.contextmanager
def _folder_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` of the folder ``out`` (created when missing); without
    ``fcntl`` (Windows) there is no lock."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_file(path: Path, write: Callable[[Path], Any]) -> None:
    """Write one output file into the staging folder."""
    write(path)


def _move(src: Path, dst: Path) -> None:
    """Move one finished file into place (atomic: ``os.replace``)."""
    os.replace(src, dst)


def _commit(out: Path) -> None:
    """Move a complete staging folder's files into ``out``, the manifest last (see the module
    docstring); safe to run again after a kill at any point."""
    stage = out / STAGING
    names = json.loads((stage / "manifest.json").read_text())["outputs"]
    old = out / "manifest.json"
    if old.exists():
        old.unlink()  # from here on the folder is marked incomplete until the new one is in
    for name in names:
        if name != "manifest.json" and (stage / name).exists():
            _move(stage / name, out / name)
    for name in OUTPUTS + EXTRA_OUTPUTS:  # an earlier run's outputs that this one lacks
        if name not in names and (out / name).is_file():
            (out / name).unlink()
    _move(stage / "manifest.json", old)
    shutil.rmtree(stage)
    _sync_folder(out)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (``fsync`` of the folder, where supported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def repair_outputs(out: str | Path) -> str | None:
    """Finish or undo an output swap that was cut short in ``out``: a complete staging folder
    is moved into place (``"completed"``), an incomplete one removed (``"removed"``: the
    earlier output was never touched); None when there was nothing to repair. Waits for a
    writer of ``out`` that holds its lock."""
    out = Path(out)
    if not (out / STAGING).is_dir():
        return None
    with _folder_lock(out):
        return _repair(out)


def _repair(out: Path) -> str | None:
    """:func:`repair_outputs` with the folder's lock held."""
    stage = out / STAGING
    if not stage.is_dir():
        return None
    if (stage / "manifest.json").is_file():
        _commit(Path(out))
        return "completed"
    shutil.rmtree(stage)
    return "removed"


def run_key(run: Mapping[str, Any]) -> str:
    """The identity of a run: a hash of its normalized options and input fingerprints (JSON,
    keys sorted); see :func:`prune_run_key` for ``droprune prune``'s.

    Examples
    --------
    >>> run_key({"density": 0.5, "method": "Random+DRoP"}) == run_key(
    ...     {"method": "Random+DRoP", "density": 0.5})
    True
    """
    text = dumps(dict(run), "run", sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


#: the options of ``droprune prune`` its run key leaves out: where the output goes, how fast
#: it runs, what it prints, and the inputs it hashes instead of naming them
KEY_LEAVES_OUT = ("out", "overwrite", "threads", "no_progress", "verbosity", "json", "device",
                  "handler", "command", "labels", "recalls", "scores", "root", "config", "preset",
                  "set", "option", "model")


def prune_run_key(options: Mapping[str, Any], manifest: Mapping[str, Any],
                  query_config: Mapping[str, Any] | None = None) -> str:
    """The :func:`run_key` of a ``droprune prune`` command: its parsed ``options`` less
    :data:`KEY_LEAVES_OUT`, the sha256 of its input files and its dataset record (from
    ``manifest``), and the resolved query config (which holds ``--preset``, ``--config``,
    ``--set``, ``--model`` and ``--option``)."""
    return run_key(dict(
        {k: v for k, v in options.items() if k not in KEY_LEAVES_OUT},
        **{k: manifest[k]["sha256"] for k in ("labels", "recalls", "scores") if k in manifest},
        dataset=manifest.get("dataset"), query_config=query_config))


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """A droprune manifest (a JSON object listing its outputs), else None."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and "outputs" in manifest else None


def claim_output_folder(out: str | Path, key: str, *, overwrite: bool = False,
                        log: Callable[[str], None] | None = None) -> str:
    """Whether this run (``key``, :func:`run_key`) may write its outputs into ``out``; nothing
    is written but a repair (:func:`repair_outputs`). ``log`` (default: the ``droprune``
    logger, INFO) gets one line for an unfinished run's folder and for one that will be
    overwritten.

    Returns
    -------
    str
        ``"new"`` (missing or empty), ``"same"`` (the output of this same run: it is resumed
        and rewritten), ``"unfinished"`` (only the caches of a run that did not finish: their
        query models are reused where they match), ``"overwrite"`` (``overwrite`` given over
        another run's output or foreign files; the outputs are replaced when this run's are
        ready, other files left alone).

    Raises
    ------
    OutputFolderError
        ``out`` is a file, or holds another run's output or files droprune did not write (one
        line naming the folder and the fix), unless ``overwrite``.
    """
    state = _claim(Path(out), key, overwrite)
    if state in ("unfinished", "overwrite"):
        (logger.info if log is None else log)(f"--out {out}: " + ("an unfinished run's folder: its query models are reused where "
                                "they match" if state == "unfinished" else
                                "its outputs are replaced once this run's are ready"))
    return state


def _claim(out: Path, key: str, overwrite: bool) -> str:
    """:func:`claim_output_folder` without the message."""
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file: give a folder")
    if not out.is_dir():
        return "new"
    repair_outputs(out)
    entries = sorted(p.name for p in out.iterdir() if not TEMP_NAME.match(p.name))
    manifest = _read_manifest(out / "manifest.json")
    if manifest is not None:
        if manifest.get("run_key") == key:
            return "same"
        if overwrite:
            return "overwrite"
        when = manifest.get("created") or "by an earlier droprune version"
        raise OutputFolderError(
            f"--out {out} holds the kept list of another run ({manifest.get('method')} at "
            f"density {manifest.get('density')}, {when}): give another --out, or add "
            f"--overwrite to replace it")
    foreign = [n for n in entries if n not in OUTPUTS + EXTRA_OUTPUTS + CACHES
               or n == "manifest.json"]
    partial = [n for n in entries if n in OUTPUTS + EXTRA_OUTPUTS and n not in foreign]
    if foreign or partial:
        if overwrite:
            return "overwrite"
        if foreign:
            raise OutputFolderError(
                f"--out {out} holds files droprune prune did not write ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}): give a new or empty folder, or add "
                f"--overwrite to write the outputs beside them")
        raise OutputFolderError(
            f"--out {out} holds {', '.join(partial[:3])} but no manifest.json (an unfinished "
            f"output of an earlier droprune version, or files of yours): give another --out, "
            f"or add --overwrite to replace them")
    return "unfinished" if entries else "new"


def file_record(path: str | Path) -> dict[str, str]:
    """What a manifest records of an input file: its path and the sha256 of its bytes.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.csv")
    >>> _ = open(path, "w").write("label\\n0\\n")
    >>> file_record(path)["sha256"][:12]
    '3deb6d3c17a2'
    """
    return {"path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


#: classes drawn one bar each; above this the figure summarises (sorted line + histogram)
PLOT_BARS = 40


def plot_class_densities(result: PruneResult, path: str | Path) -> Path:
    """Kept density of every class (top) and kept vs original count (bottom), both in the same
    class order (densest first), legends outside the bars, as a PNG. Above :data:`PLOT_BARS`
    classes the figure stays cheap and readable: the sorted class densities as one line with
    the 5 least kept classes named (top), and a histogram of class densities (bottom)."""
    t = result.table
    k = len(t)
    overall = result.kept.size / max(result.labels.size, 1)
    order = np.argsort(-t["density"].fillna(-1).to_numpy(), kind="stable")
    dens = t["density"].to_numpy(dtype=float)[order]
    fig = agg_figure(max(7.0, min(16.0, 0.25 * min(k, PLOT_BARS) + 5)), 6.5,
                     layout="constrained")
    top, bottom = fig.subplots(2, 1)
    top.set_title(f"{result.method} at density {result.density:g}: classes by kept density")
    top.set_ylabel("class density (kept / size)")
    if k <= PLOT_BARS:
        x = np.arange(k)
        names = [str(n) for n in t["name"].to_numpy()[order]]
        top.bar(x, dens, color="tab:blue", label="class density")
        bottom.bar(x - 0.2, t["size"].to_numpy()[order], width=0.4, color="0.75",
                   label="original")
        bottom.bar(x + 0.2, t["kept"].to_numpy()[order], width=0.4, color="tab:blue",
                   label="kept")
        top.set_xticks(x, names, rotation=90)
        bottom.set_xticks(x, names, rotation=90)
        bottom.set_ylabel("samples")
        bottom.set_title("kept vs original samples per class (same order)")
        bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    else:
        finite = dens[np.isfinite(dens)]
        top.plot(np.arange(finite.size), finite, color="tab:blue", label="class density")
        shown = t["name"].to_numpy()[order]
        for rank in range(max(0, finite.size - 5), finite.size):  # the 5 least kept
            top.annotate(str(shown[rank]), (rank, finite[rank]), fontsize=7, rotation=90,
                         va="bottom")
        top.set_xlabel(f"{k} classes, densest first")
        bottom.hist(finite, bins=min(50, max(10, int(np.sqrt(finite.size)))),
                    color="tab:blue")
        bottom.set_xlabel("class density")
        bottom.set_ylabel("classes")
        bottom.set_title("how many classes keep each density")
    top.axhline(overall, color="black", lw=1, ls="--", label="overall density")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return save_png(fig, path, dpi=100)


def summary_html(result: PruneResult, sections: Sequence[tuple[str, str]] = (), *,
                 figure: bool = True, manifest: Mapping[str, Any] | None = None) -> str:
    """A self-contained page: what was kept and why (the per-class table with the bound that
    decided each count and what the paper's rule would have kept), ``sections`` (title, html),
    the query model, the command and its duration (from ``manifest``), how to load the kept
    list in pandas and PyTorch, the figure (``figure``: whether ``class_densities.png`` was
    drawn) and the warnings."""
    img = "<img src=\"class_densities.png\" alt=\"class densities\">" if figure else (
        f"<p>(No figure: matplotlib is not installed; {html.escape(install_hint('report'))} "
        f"draws it.)</p>")
    extra = "".join(f"<h2>{html.escape(title)}</h2>\n{body}" for title, body in sections)
    warns = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings) or "<li>none</li>"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>droprune prune: "
            f"{html.escape(result.method)}</title>\n<style>body{{font-family:sans-serif;"
            f"max-width:1100px;margin:2em auto}}table{{border-collapse:collapse;font-size:13px}}"
            f"td,th{{border:1px solid #ccc;padding:3px 7px}}img{{max-width:100%}}</style>"
            f"</head><body>\n"
            f"<h1>droprune prune</h1>\n<pre>{html.escape(result.summary())}</pre>\n{extra}"
            f"<h2>Why these counts</h2>\n{_why_html(result)}\n"
            f"{_table_html(result.table)}\n"
            f"{img}\n{_run_html(manifest or {})}\n{_next_html()}\n"
            f"<h2>Warnings</h2>\n<ul>{warns}</ul>\n</body></html>\n")


#: classes shown in summary.html's table (classes.csv holds every class)
HTML_ROWS = 1000


def _table_html(t: Any) -> str:
    """The per-class table as HTML: every class, or the first :data:`HTML_ROWS` of many."""
    if len(t) <= HTML_ROWS:
        return t.to_html(index=False, na_rep="")
    return (f"<p>The first {HTML_ROWS} of {len(t)} classes; <a href=\"classes.csv\">"
            f"classes.csv</a> holds every class.</p>\n"
            + t.head(HTML_ROWS).to_html(index=False, na_rep=""))


def _why_html(result: PruneResult) -> str:
    t = result.table
    names = t["name"].astype(str)
    floors = t.index[t["bound"] == "floor"].tolist()
    whole = t.index[t["bound"] == "whole class"].tolist()
    lines = ["<p>Each row: the class's validation recall (and how many validation samples it "
             "was measured on), what it kept, and which bound decided the count: <b>floor</b> "
             "(the rule alone would keep fewer: the floor holds it up), <b>whole class</b> "
             "(every sample kept), or blank (the rule itself).</p>"]
    if floors:
        listed = ", ".join(f"{names[i]} ({t['kept'][i]} kept)" for i in floors[:10])
        lines.append(f"<p>Held up by the floor: {html.escape(listed)}"
                     f"{' and more' if len(floors) > 10 else ''}.</p>")
    if whole:
        lines.append(f"<p>Kept whole: {html.escape(', '.join(names[i] for i in whole[:10]))}"
                     f"{' and more' if len(whole) > 10 else ''}.</p>")
    if t["paper_kept"].notna().any():
        moved = int((t["paper_kept"].astype("float") != t["kept"]).sum())
        lines.append(f"<p>The paper's rule (DRoP as published: no floor, point estimate) would "
                     f"have kept the counts in <code>paper_kept</code>; {moved} of {len(t)} "
                     f"classes keep a different count here.</p>")
    return "\n".join(lines)


def _run_html(m: Mapping[str, Any]) -> str:
    rows = []
    query = m.get("query") or {}
    if query:
        runs = "; ".join(f"{r.get('kind')}: seeds {r.get('seeds')}, {r.get('epochs')} epochs"
                         for r in query.get("runs") or [])
        rows.append(("query model", f"{query.get('model')} on {query.get('device')} ({runs}; "
                                    f"{float(query.get('seconds') or 0):.1f} s)"))
    if "seconds" in m:
        rows.append(("duration", f"{float(m['seconds']):.1f} s"))
    if m.get("command"):
        rows.append(("command", m["command"]))
    if not rows:
        return ""
    body = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code>"
                   f"</td></tr>" for k, v in rows)
    return f"<h2>How this was made</h2>\n<table>{body}</table>"


def _next_html() -> str:
    code = ('import pandas as pd\n'
            'kept = pd.read_csv("kept.csv")      # index, label, class_name, path\n'
            'x_kept, y_kept = x_train[kept["index"]], y_train[kept["index"]]   # arrays\n'
            'subset = torch.utils.data.Subset(train_dataset, kept["index"].tolist())  # PyTorch\n'
            'files = kept["path"]                 # image folders: each kept file')
    return ("<h2>Next: train on the kept list</h2>\n<p><a href=\"kept.csv\">kept.csv</a> holds "
            "row i of the training set when <code>index</code> = i; the per-class table is "
            "<a href=\"classes.csv\">classes.csv</a>.</p>\n"
            f"<pre>{html.escape(code)}</pre>")
