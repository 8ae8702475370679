"""The output folder of a pruning: the kept list, the per-class table, a figure, a summary
page, the warnings and a manifest, written from a :class:`~droprune.PruneResult`.

What ``droprune prune`` writes, callable from Python. It imports neither torch nor pandas at
import time (matplotlib only while the figure is drawn); every file is written atomically.

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
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ._io import atomic_save_npy, atomic_write_json, atomic_write_text
from ._plot import agg_figure, save_png
from .pruning import PruneResult

__all__ = ["OUTPUTS", "file_record", "plot_class_densities", "summary_html",
           "write_prune_outputs"]

#: the files of the output folder, in the order they are written (``manifest.json`` last)
OUTPUTS = ("kept.csv", "kept.npy", "classes.csv", "class_densities.png", "summary.html",
           "warnings.txt", "manifest.json")


def write_prune_outputs(result: PruneResult, out: str | Path, *,
                        paths: Sequence[Any] | None = None,
                        manifest: Mapping[str, Any] | None = None,
                        sections: Sequence[tuple[str, str]] = ()) -> list[Path]:
    """Write the output folder of a pruning.

    Parameters
    ----------
    result
        What :func:`droprune.prune` returned.
    out
        The folder (created when missing).
    paths
        The file of every training sample (``kept.csv``'s ``path`` column); empty without.
    manifest
        What to record about the inputs and options (JSON-able: file paths and hashes, the
        command, ...). The result's method, density, seed, kept and sample counts, starved
        classes, droprune's version and the list of outputs are added.
    sections
        More ``(title, html)`` sections of ``summary.html`` (e.g. why a compared rule was
        recommended), placed after the summary.

    Returns
    -------
    list of pathlib.Path
        The files written, as :data:`OUTPUTS` names them; ``manifest.json`` is written last,
        so a folder with a manifest is complete.
    """
    from . import __version__

    out = Path(out)
    result.to_csv(out / "kept.csv", [""] * result.labels.size if paths is None else paths)
    atomic_save_npy(out / "kept.npy", result.kept)
    atomic_write_text(out / "classes.csv", result.table.to_csv(index=False))
    plot_class_densities(result, out / "class_densities.png")
    atomic_write_text(out / "summary.html", summary_html(result, sections))
    atomic_write_text(out / "warnings.txt", "".join(f"{w}\n" for w in result.warnings))
    atomic_write_json(out / "manifest.json", dict(
        manifest or {}, droprune_version=__version__, method=result.method,
        density=result.density, seed=result.seed, kept=int(result.kept.size),
        samples=int(result.labels.size), starved=list(result.starved), outputs=list(OUTPUTS)))
    return [out / name for name in OUTPUTS]


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


def plot_class_densities(result: PruneResult, path: str | Path) -> Path:
    """Classes sorted by kept density (top), kept vs original count of every class (bottom),
    as a PNG."""
    t = result.table
    k = len(t)
    fig = agg_figure(max(6.0, min(16.0, 0.25 * k + 4)), 6.5, layout="constrained")
    top, bottom = fig.subplots(2, 1)
    order = np.argsort(-t["density"].fillna(-1).to_numpy(), kind="stable")
    x = np.arange(k)
    top.bar(x, t["density"].to_numpy()[order], color="tab:blue")
    top.axhline(result.kept.size / max(result.labels.size, 1), color="black", lw=1, ls="--",
                label="overall density")
    top.set_ylabel("class density (kept / size)")
    top.set_title(f"{result.method} at density {result.density:g}: classes by density")
    top.legend(loc="upper right")
    bottom.bar(x - 0.2, t["size"].to_numpy(), width=0.4, color="0.75", label="original")
    bottom.bar(x + 0.2, t["kept"].to_numpy(), width=0.4, color="tab:blue", label="kept")
    bottom.set_ylabel("samples")
    bottom.set_title("kept vs original samples per class")
    bottom.legend(loc="upper right")
    if k <= 40:
        top.set_xticks(x, [str(n) for n in t["name"].to_numpy()[order]], rotation=90)
        bottom.set_xticks(x, [str(n) for n in t["name"]], rotation=90)
    else:
        top.set_xlabel("classes, densest first")
        bottom.set_xlabel("class index")
    return save_png(fig, path, dpi=100)


def summary_html(result: PruneResult, sections: Sequence[tuple[str, str]] = ()) -> str:
    """A self-contained page: the summary, ``sections`` (title, html), the figure, the warnings
    and the per-class table."""
    extra = "".join(f"<h2>{html.escape(title)}</h2>\n{body}" for title, body in sections)
    warns = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings) or "<li>none</li>"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>droprune prune: "
            f"{html.escape(result.method)}</title></head><body>\n"
            f"<h1>droprune prune</h1>\n<pre>{html.escape(result.summary())}</pre>\n{extra}"
            f"<p>Kept list: <a href=\"kept.csv\">kept.csv</a> (index, label, class_name, path);"
            f" per-class table: <a href=\"classes.csv\">classes.csv</a>.</p>\n"
            f"<img src=\"class_densities.png\" alt=\"class densities\">\n"
            f"<h2>Warnings</h2>\n<ul>{warns}</ul>\n<h2>Classes</h2>\n"
            f"{result.table.to_html(index=False, na_rep='')}\n</body></html>\n")
