"""Reports of a sweep: summary tables, plots, a self-contained HTML page, CSV/Parquet exports.

Everything is computed from the results store(s) of one or more sweep folders (every shard
is merged). Figures (matplotlib ``Figure`` objects on their own Agg canvas: pyplot is not
used and the process's matplotlib backend is left alone):

* ``accuracy_vs_density.png`` and ``worst_class_vs_density.png``: mean over seeds per method
  with min/max bands; the full-data baseline as a horizontal line;
* ``class_densities.png``: each class's density after pruning, sorted, at every density, for
  the DRoP-based and the strategy-only methods;
* ``density_vs_accuracy.png``: full-data class accuracy against class density at one density,
  one panel per method, with the Pearson correlation in the title;

plus ``table.csv`` / the HTML table of average and worst-class accuracy at d = 0.3, 0.5, 0.8
per strategy with and without DRoP (best worst-class value marked), ``summary.csv`` (per method
and density), and ``results.csv`` / ``results.parquet`` (one row per run) for pandas.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .._checks import check_density
from .._io import atomic_write, atomic_write_text
from .._json import dumps
from .._plot import agg_figure, save_png
from ..metrics import density_accuracy_correlation
from .methods import parse_method
from .store import read_results

__all__ = ["ReportFiles", "full_class_accuracy", "robustness_table", "summarize",
           "write_report"]

TABLE_DENSITIES = (0.3, 0.5, 0.8)
METRICS = ("accuracy", "worst_class_accuracy", "gap", "std")


@dataclass
class ReportFiles:
    """Paths of what :func:`write_report` wrote."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def html(self) -> Path:
        return self.folder / "report.html"


def summarize(df) -> "Any":
    """Mean, min, max and count over seeds of each metric, per method and density."""
    agg = {f"{m}_{s}": (m, s) for m in METRICS for s in ("mean", "min", "max")}
    agg["seeds"] = ("seed", "nunique")
    out = (df.groupby(["method", "family", "quota", "density"], as_index=False)
           .agg(**agg).sort_values(["family", "method", "density"]))
    return out.reset_index(drop=True)


def full_class_accuracy(df) -> np.ndarray | None:
    """Per-class test recall of the full-data models, averaged over seeds (None without Full)."""
    full = df[df["method"] == "Full"]
    if full.empty:
        return None
    return _mean_of_lists(full["class_recall"])


def _mean_of_lists(column) -> np.ndarray:
    """Element-wise mean over rows of a column of per-class lists (JSON nulls as NaN)."""
    return np.nanmean(np.array([np.array(r, dtype=float) for r in column]), axis=0)


def _nearest(densities: Iterable[float], target: float) -> float | None:
    ds = sorted(set(float(d) for d in densities))
    if not ds:
        return None
    best = min(ds, key=lambda d: abs(d - target))
    return best if abs(best - target) <= 0.051 else None


def robustness_table(df, densities: Sequence[float] = TABLE_DENSITIES):
    """Average and worst-class accuracy (mean over seeds, %) at the given densities.

    Rows: every method except Full (grouped by strategy family: "EL2N", "EL2N+DRoP",
    "Random+EL2NQ", ...). Columns ``avg@d`` and ``worst@d``. The best worst-class value of
    each density is listed in the returned ``best`` dict (density -> method).
    """
    import pandas as pd

    pruned = df[df["method"] != "Full"]
    rows: dict[str, dict[str, float]] = {}
    best: dict[str, str] = {}
    used = []
    for target in densities:
        d = _nearest(pruned["density"], target)
        if d is None:
            continue
        used.append(d)
        at = pruned[np.isclose(pruned["density"], d)]
        means = at.groupby("method")[["accuracy", "worst_class_accuracy"]].mean() * 100
        for method, row in means.iterrows():
            rows.setdefault(method, {})[f"avg@{d:g}"] = row["accuracy"]
            rows[method][f"worst@{d:g}"] = row["worst_class_accuracy"]
        if not means.empty:
            best[f"worst@{d:g}"] = str(means["worst_class_accuracy"].idxmax())
    table = pd.DataFrame.from_dict(rows, orient="index")
    if not table.empty:
        fam = df.drop_duplicates("method").set_index("method")["family"]
        table = table.loc[sorted(table.index, key=lambda m: (fam.get(m, m), m))]
        table.index.name = "method"
    return table, best


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------

def _style(method: str, families: list[str]) -> dict[str, Any]:
    import matplotlib

    family = method.split("+")[0] if "Q" not in method else method.split("+")[1][:-1]
    cmap = matplotlib.colormaps["tab10"]
    color = cmap(families.index(family) % 10) if family in families else "black"
    dash = "-" if "DRoP" in method else ("--" if method.endswith("Q") else ":")
    if method == "Random+DRoP":
        return dict(color="crimson", linestyle="-", linewidth=2.6, marker="o")
    return dict(color=color, linestyle=dash, linewidth=1.5, marker=".")


def _plot_vs_density(summary, df, metric: str, ylabel: str, path: Path) -> Path:
    fig = agg_figure(7.5, 5)
    ax = fig.subplots()
    families = sorted(set(summary["family"]))
    for method, part in summary[summary["method"] != "Full"].groupby("method"):
        part = part.sort_values("density")
        style = _style(method, families)
        x = part["density"].to_numpy()
        ax.plot(x, part[f"{metric}_mean"] * 100, label=method, **style)
        ax.fill_between(x, part[f"{metric}_min"] * 100, part[f"{metric}_max"] * 100,
                        color=style["color"], alpha=0.12)
    full = df[df["method"] == "Full"][metric]
    if not full.empty:
        ax.axhline(full.mean() * 100, color="black", linewidth=1.2, label="Full data")
    ax.set_xlabel("density (fraction of the training set kept)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, path)
    return path


def _save(fig, path: Path) -> None:
    save_png(fig, path, dpi=110)


def _mean_class_density(df, method: str, density: float) -> np.ndarray | None:
    rows = df[(df["method"] == method) & np.isclose(df["density"], density)]
    if rows.empty:
        return None
    return _mean_of_lists(rows["class_density"])


def _panels(n: int, width: float, height: float):
    """A grid of up to 4 columns for n panels; unused axes hidden. Returns (fig, axes list)."""
    cols = min(4, n)
    rows = -(-n // cols)
    fig = agg_figure(width * cols, height * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _plot_class_densities(df, methods: list[str], path: Path) -> Path:
    import matplotlib

    densities = sorted(set(df.loc[df["method"] != "Full", "density"]))
    fig, axes = _panels(len(methods), 4.0, 3.4)
    cmap = matplotlib.colormaps["viridis"]
    for i, (ax, method) in enumerate(zip(axes, methods)):
        for i, d in enumerate(densities):
            cd = _mean_class_density(df, method, d)
            if cd is None:
                continue
            ax.plot(np.sort(cd[~np.isnan(cd)])[::-1], color=cmap(i / max(1, len(densities) - 1)),
                    marker=".", label=f"d={d:g}")
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("classes, sorted by density")
        ax.grid(alpha=0.3)
        if i % 4 == 0:
            ax.set_ylabel("class density after pruning")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    return path


def _plot_density_vs_accuracy(df, methods: list[str], density: float,
                              full_acc: np.ndarray, path: Path) -> tuple[Path, dict[str, float]]:
    fig, axes = _panels(len(methods), 3.6, 3.4)
    corr: dict[str, float] = {}
    for i, (ax, method) in enumerate(zip(axes, methods)):
        cd = _mean_class_density(df, method, density)
        if cd is None:
            continue
        r = density_accuracy_correlation(cd, full_acc)
        corr[method] = r
        ax.scatter(cd, full_acc * 100, s=18)
        ax.set_title(f"{method}\nr = {r:.2f}", fontsize=9)
        ax.set_xlabel(f"class density (d={density:g})")
        ax.grid(alpha=0.3)
        if i % 4 == 0:
            ax.set_ylabel("full-data class accuracy (%)")
    fig.tight_layout()
    _save(fig, path)
    return path, corr


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------

def _flat(df):
    """Copy of the results with list/dict columns as JSON text (for CSV)."""
    out = df.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, (list, dict))).any():
            out[col] = out[col].map(lambda v: dumps(v, col) if isinstance(v, (list, dict))
                                    else v)
    return out


def _write_df(df, path: Path, kind: str) -> Path:
    if kind == "csv":
        return atomic_write_text(path, df.to_csv(index=False))
    return atomic_write(path, lambda fh: df.to_parquet(fh, index=False))


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table_html(table, best: dict[str, str]) -> str:
    if table.empty:
        return "<p>No pruned runs at these densities.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["method", *table.columns])
    body = []
    for method, row in table.iterrows():
        cells = [f"<td>{html.escape(str(method))}</td>"]
        for col in table.columns:
            v = row[col]
            text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}"
            if best.get(col) == method:
                text = f"<b>{text}</b>"
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_report(sources: str | Path | Sequence[str | Path], out: str | Path | None = None,
                 *, corr_density: float | None = None) -> ReportFiles:
    """Read the store(s) of one or more sweep folders and write the report.

    Parameters
    ----------
    sources
        Sweep folder(s); every ``results*.sqlite`` inside is merged (shards).
    out
        Where to write (default: ``<first source>/report``).
    corr_density
        Density of the class-density vs full-accuracy figure (default: the lowest density).
    """
    if corr_density is not None:
        corr_density = check_density(corr_density, "corr_density", positive=True)
    srcs = [sources] if isinstance(sources, (str, Path)) else list(sources)
    df = read_results(srcs)
    if df.empty:
        raise ValueError(f"no finished runs in {', '.join(map(str, srcs))} yet")
    pruned_d = sorted(set(df.loc[df["method"] != "Full", "density"]))
    if corr_density is not None and corr_density not in pruned_d:
        raise ValueError(f"corr_density {corr_density:g} is not a density of these runs; "
                         f"valid: {', '.join(f'{d:g}' for d in pruned_d) or 'none'}")
    folder = Path(out) if out is not None else Path(srcs[0]) / "report"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"report folder {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    rep = ReportFiles(folder=folder)
    summary = summarize(df)
    rep.files += [_write_df(_flat(df), folder / "results.csv", "csv"),
                  _write_df(df, folder / "results.parquet", "parquet"),
                  _write_df(summary, folder / "summary.csv", "csv")]
    table, best = robustness_table(df)
    rep.files.append(_write_df(table.reset_index(), folder / "table.csv", "csv"))
    figs = [_plot_vs_density(summary, df, "accuracy", "average test accuracy (%)",
                             folder / "accuracy_vs_density.png"),
            _plot_vs_density(summary, df, "worst_class_accuracy", "worst-class test accuracy (%)",
                             folder / "worst_class_vs_density.png")]
    methods = [m for m in dict.fromkeys(df["method"]) if m != "Full"]
    # strategies first, each followed by its DRoP and StrategyQ variants; Random+DRoP first
    panel = sorted(methods, key=lambda m: (m != "Random+DRoP", parse_method(m).family,
                                           parse_method(m).quota != "none", m))[:12]
    figs.append(_plot_class_densities(df, panel, folder / "class_densities.png"))
    full_acc = full_class_accuracy(df)
    corr: dict[str, float] = {}
    if full_acc is not None and pruned_d:
        d = corr_density if corr_density is not None else pruned_d[0]
        path, corr = _plot_density_vs_accuracy(df, panel, d, full_acc,
                                               folder / "density_vs_accuracy.png")
        figs.append(path)
    else:
        rep.notes.append("no Full runs: the class-density vs full-data accuracy figure needs "
                         "the Full method")
    rep.files += figs
    atomic_write_text(folder / "report.html", _html(df, summary, table, best, figs, corr, rep))
    rep.files.append(folder / "report.html")
    return rep


def _html(df, summary, table, best, figs, corr, rep: ReportFiles) -> str:
    cfg = df["config"].iloc[0] if "config" in df and len(df) else {}
    title = html.escape(str(df["experiment"].iloc[0]))
    corr_rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{r:.3f}</td></tr>"
                        for m, r in corr.items())
    summary_cols = ["method", "density", "seeds", "accuracy_mean", "worst_class_accuracy_mean",
                    "gap_mean", "std_mean"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>droprune report: {title}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
        "img{max-width:100%;margin:1em 0}</style></head><body>",
        f"<h1>droprune report: {title}</h1>",
        f"<p>{len(df)} final runs; dataset <b>{html.escape(str(df['dataset'].iloc[0]))}</b>, "
        f"model <b>{html.escape(str(df['model'].iloc[0]))}</b>, seeds "
        f"{sorted(set(int(s) for s in df['seed']))}. Density = fraction of the training set "
        f"KEPT. Accuracies are on the test half of the official test set (never the "
        f"validation half DRoP uses).</p>",
        "<h2>Average and worst-class accuracy (%) at d = 0.3, 0.5, 0.8</h2>",
        "<p>Mean over seeds; bold: best worst-class accuracy at that density.</p>",
        _table_html(table, best),
        "<h2>Figures</h2>", *[_img(p) for p in figs],
    ]
    if corr_rows:
        parts += ["<h2>Correlation of class density with full-data class accuracy</h2>",
                  f"<table><tr><th>method</th><th>Pearson r</th></tr>{corr_rows}</table>"]
    parts += ["<h2>All methods and densities</h2>",
              summary[summary_cols].to_html(index=False, float_format=lambda v: f"{v:.4f}"),
              *[f"<p><i>{html.escape(n)}</i></p>" for n in rep.notes],
              "<h2>Configuration</h2>",
              f"<pre>{html.escape(dumps(cfg, 'config', indent=2))}</pre>",
              "</body></html>"]
    return "\n".join(parts)
