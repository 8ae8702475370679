"""Reports of a sweep: summary tables, plots, a self-contained HTML page, CSV/Parquet exports.

Everything is computed from the results store(s) of one or more sweep folders (every shard
is merged). Figures (matplotlib ``Figure`` objects on their own Agg canvas: pyplot is not
used and the process's matplotlib backend is left alone):

* ``accuracy_vs_density.png`` and ``worst_class_vs_density.png``: mean over seeds per method
  with min/max bands; the full-data baseline as a horizontal line;
* ``class_densities.png``: each class's density after pruning (mean over seeds), sorted, at
  every density, for the DRoP-based and the strategy-only methods;
* ``density_vs_accuracy.png``: full-data class accuracy against class density at one density,
  one panel per method (shared axes), with the Pearson correlation in the title;

plus ``table.csv`` / the HTML table of average and worst-class accuracy at every density of the
sweep per strategy with and without DRoP (best worst-class values marked, ties alike),
``summary.csv`` (per method and density), and ``results.csv`` / ``results.parquet`` (one row
per run, the same columns in both: the config spread into dotted columns ``config.data.name``,
..., lists and empty dicts as JSON text; :func:`droprune._io.write_table`) for pandas.
Accuracies are shown in % (the CSV/Parquet files keep fractions); densities are fractions kept,
as everywhere in droprune. Each figure in ``report.html`` has a caption saying what it shows.
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
from .._io import atomic_write_text, write_table
from .._json import dumps
from .._plot import agg_figure, save_png
from ..metrics import density_accuracy_correlation
from .methods import parse_method
from .store import read_results

__all__ = ["ReportFiles", "full_class_accuracy", "robustness_table", "summarize",
           "write_report"]

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
    values = np.array([np.array(r, dtype=float) for r in column])
    seen = ~np.isnan(values)
    total = np.where(seen, values, 0.0).sum(axis=0)
    count = seen.sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)  # NaN: never measured


def _nearest(densities: Iterable[float], target: float) -> float | None:
    ds = sorted(set(float(d) for d in densities))
    if not ds:
        return None
    best = min(ds, key=lambda d: abs(d - target))
    return best if abs(best - target) <= 0.051 else None


def robustness_table(df, densities: Sequence[float] | None = None):
    """Average and worst-class accuracy (mean over seeds, %) at the given densities.

    Parameters
    ----------
    df
        Results (:func:`droprune.experiments.store.read_results`).
    densities
        Densities of the columns (each matched to the nearest density of the runs within
        0.05); None: every density of the pruned runs.

    Returns
    -------
    table, best
        ``table``: rows are every method except Full (grouped by strategy family: "EL2N",
        "EL2N+DRoP", "Random+EL2NQ", ...), columns ``avg@d`` and ``worst@d``. ``best``: column
        ``worst@d`` -> the methods with the best worst-class value at 0.1 (the precision
        shown), all of them when several tie.
    """
    import pandas as pd

    pruned = df[df["method"] != "Full"]
    rows: dict[str, dict[str, float]] = {}
    best: dict[str, tuple[str, ...]] = {}
    if densities is None:
        densities = sorted(set(float(d) for d in pruned["density"]))
    for target in densities:
        d = _nearest(pruned["density"], target)
        if d is None:
            continue
        at = pruned[np.isclose(pruned["density"], d)]
        means = at.groupby("method")[["accuracy", "worst_class_accuracy"]].mean() * 100
        for method, row in means.iterrows():
            rows.setdefault(method, {})[f"avg@{d:g}"] = row["accuracy"]
            rows[method][f"worst@{d:g}"] = row["worst_class_accuracy"]
        shown = means["worst_class_accuracy"].round(1)
        if shown.notna().any():
            best[f"worst@{d:g}"] = tuple(str(m) for m in shown.index[shown == shown.max()])
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
    fig = agg_figure(9, 5)
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
    ax.set_xlabel("density d (fraction of the training set kept)")
    ax.set_ylabel(ylabel)
    lo, hi = ax.get_ylim()
    if max(lo, 0) < min(hi, 100):
        ax.set_ylim(max(lo, 0), min(hi, 100))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
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


PANEL_COLUMNS = 4


def _panels(n: int, width: float, height: float, *, extra_height: float = 0.0):
    """A grid of up to :data:`PANEL_COLUMNS` columns for n panels sharing both axes (labelled
    on every panel); unused axes hidden. Returns (fig, axes list)."""
    cols = min(PANEL_COLUMNS, n)
    rows = -(-n // cols)
    fig = agg_figure(width * cols, height * rows + extra_height)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    flat = list(axes.flat)
    for ax in flat:
        ax.tick_params(labelbottom=True, labelleft=True)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _plot_class_densities(df, methods: list[str], path: Path) -> Path:
    import matplotlib

    densities = sorted(set(df.loc[df["method"] != "Full", "density"]))
    fig, axes = _panels(len(methods), 4.0, 3.4, extra_height=0.5)
    cmap = matplotlib.colormaps["viridis"]
    for i, (ax, method) in enumerate(zip(axes, methods)):
        for j, d in enumerate(densities):
            cd = _mean_class_density(df, method, d)
            if cd is None:
                continue
            ax.plot(np.sort(cd[~np.isnan(cd)])[::-1], color=cmap(j / max(1, len(densities) - 1)),
                    marker=".", label=f"d = {d:g}")
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("classes, sorted by density")
        ax.grid(alpha=0.3)
        if i % PANEL_COLUMNS == 0:
            ax.set_ylabel("class density after pruning")
    handles, labels = axes[0].get_legend_handles_labels()
    # one legend for every panel, above them (covering no curve)
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 9), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
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
        ax.set_xlabel(f"class density at d = {density:g}")
        ax.grid(alpha=0.3)
        if i % PANEL_COLUMNS == 0:
            ax.set_ylabel("full-data class accuracy (%)")
    fig.tight_layout()
    _save(fig, path)
    return path, corr


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------

def _figure(path: Path, caption: str) -> str:
    """An embedded PNG with its caption under it."""
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


#: what the test accuracies are measured on, said under every figure that shows them
TEST_SPLIT = ("Accuracies (%) are on the test half of the official test set, never the "
              "validation half that DRoP reads.")


def _captions(seeds: int, corr_density: float | None) -> dict[str, str]:
    """Caption of each figure, by file name."""
    over = f"mean over {seeds} seed{'s' if seeds != 1 else ''}"
    band = (f"Lines: {over}; shaded bands: min to max over the seeds" if seeds > 1
            else "Lines: one seed (no band)")
    return {
        "accuracy_vs_density.png":
            f"Average test accuracy against density d. {band}; black line: the full data "
            f"(mean over seeds). Solid: with DRoP quotas; dotted: the strategy alone; dashed: "
            f"random within the strategy's class quotas (StrategyQ). {TEST_SPLIT}",
        "worst_class_vs_density.png":
            f"Worst-class test accuracy (the lowest class recall) against density d. {band}; "
            f"black line: the full data. {TEST_SPLIT}",
        "class_densities.png":
            f"Density of each class after pruning (fraction of the class kept; {over}), "
            f"classes sorted from the most to the least kept, one curve per density d. Flat "
            f"curves prune every class alike; DRoP keeps more of the classes with a larger "
            f"validation error.",
        "density_vs_accuracy.png":
            f"Each point is a class: its density after pruning at d = {corr_density:g} "
            f"({over}) against its test accuracy with the full data ({over}); r: Pearson "
            f"correlation. A negative r means the method keeps more of the harder classes. "
            f"{TEST_SPLIT}" if corr_density is not None else "",
    }


def _table_html(table, best: dict[str, tuple[str, ...]]) -> str:
    if table.empty:
        return "<p>No pruned runs at these densities.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["method", *table.columns])
    body = []
    for method, row in table.iterrows():
        cells = [f"<td>{html.escape(str(method))}</td>"]
        for col in table.columns:
            v = row[col]
            text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}"
            if method in best.get(col, ()):
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
    rep.files += write_table(df, csv=folder / "results.csv", parquet=folder / "results.parquet")
    rep.files += write_table(summary, csv=folder / "summary.csv")
    starved = starved_runs(df)
    rep.files += write_table(starved, csv=folder / "starved.csv")
    table, best = robustness_table(df)
    rep.files += write_table(table.reset_index(), csv=folder / "table.csv")
    figs = [_plot_vs_density(summary, df, "accuracy", "average test accuracy (%)",
                             folder / "accuracy_vs_density.png"),
            _plot_vs_density(summary, df, "worst_class_accuracy", "worst-class test accuracy (%)",
                             folder / "worst_class_vs_density.png")]
    methods = [m for m in dict.fromkeys(df["method"]) if m != "Full"]
    # strategies first, each followed by its DRoP and StrategyQ variants; Random+DRoP first
    panel = sorted(methods, key=lambda m: (m != "Random+DRoP", parse_method(m).family,
                                           parse_method(m).quota != "none", m))[:12]
    if panel:
        figs.append(_plot_class_densities(df, panel, folder / "class_densities.png"))
    else:
        rep.notes.append("no pruned runs (only Full): the class-density figures need a pruning "
                         "method")
    full_acc = full_class_accuracy(df)
    corr: dict[str, float] = {}
    d = None
    if full_acc is not None and pruned_d:
        d = corr_density if corr_density is not None else pruned_d[0]
        path, corr = _plot_density_vs_accuracy(df, panel, d, full_acc,
                                               folder / "density_vs_accuracy.png")
        figs.append(path)
    elif full_acc is None:
        rep.notes.append("no Full runs: the class-density vs full-data accuracy figure needs "
                         "the Full method")
    rep.files += figs
    captions = _captions(df["seed"].nunique(), d)
    atomic_write_text(folder / "report.html",
                      _html(df, summary, table, best, figs, captions, corr, starved, rep))
    rep.files.append(folder / "report.html")
    from .._provenance import provenance

    atomic_write_text(folder / "provenance.json", dumps(provenance(), "provenance", indent=2))
    rep.files.append(folder / "provenance.json")
    return rep


#: columns of the HTML summary table: result column -> heading (accuracies shown in %)
SUMMARY_COLUMNS = {"method": "method", "density": "density d", "seeds": "seeds",
                   "accuracy_mean": "average accuracy (%)",
                   "worst_class_accuracy_mean": "worst-class accuracy (%)",
                   "gap_mean": "max-min class gap (%)", "std_mean": "std of class accuracy (%)"}


def _summary_html(summary) -> str:
    shown = summary[list(SUMMARY_COLUMNS)].copy()
    for col in ("accuracy_mean", "worst_class_accuracy_mean", "gap_mean", "std_mean"):
        shown[col] = shown[col] * 100
    shown = shown.rename(columns=SUMMARY_COLUMNS)
    return shown.to_html(index=False, formatters={"density d": lambda v: f"{v:g}"},
                         float_format=lambda v: f"{v:.1f}")


def starved_runs(df):
    """The runs whose selection starved a class (kept fewer than ``min(N_k, 5)`` of a
    non-empty class; :func:`droprune.starved_classes`): one row per run with the method,
    density, seed and the starved classes (names when the dataset has them).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"method": ["Random+DRoP"], "density": [0.3], "seed": [0],
    ...                    "class_counts": [[0, 40]], "class_sizes": [[100, 100]],
    ...                    "class_names": [None]})
    >>> starved_runs(df).to_dict("records")
    [{'method': 'Random+DRoP', 'density': 0.3, 'seed': 0, 'starved': '0 (0 of 100)'}]
    """
    import pandas as pd

    from ..quotas import starved_classes

    rows = []
    for r in df.itertuples():
        counts, sizes = np.asarray(r.class_counts), np.asarray(r.class_sizes)
        names = getattr(r, "class_names", None)
        starved = starved_classes(counts, sizes)
        if starved:
            rows.append({"method": r.method, "density": float(r.density), "seed": int(r.seed),
                         "starved": ", ".join(
                             f"{names[k] if names else k} ({counts[k]} of {sizes[k]})"
                             for k in starved)})
    return pd.DataFrame(rows, columns=["method", "density", "seed", "starved"])


def _starved_html(starved) -> list[str]:
    head = "<h2>Starved classes</h2>"
    if starved.empty:
        return [head, "<p>No run kept fewer than min(N<sub>k</sub>, 5) samples of any class."
                      "</p>"]
    rows = "".join(f"<tr><td>{html.escape(r.method)}</td><td>{r.density:g}</td>"
                   f"<td>{r.seed}</td><td style='text-align:left'>{html.escape(r.starved)}</td>"
                   f"</tr>" for r in starved.itertuples())
    return [head, f"<p>{len(starved)} runs kept fewer than min(N<sub>k</sub>, 5) samples of a "
                  f"class (kept of size in brackets); the quota safeguards "
                  f"(<code>quotas.min_per_class</code>, <code>quotas.min_density</code>, "
                  f"<code>quotas.error_estimate</code>) prevent it.</p>",
            f"<table><tr><th>method</th><th>density</th><th>seed</th><th>starved classes"
            f"</th></tr>{rows}</table>"]


def _provenance_html(cfg: Any) -> list[str]:
    """"How this was made": the protocol, the build and the machine that wrote the report
    (the runs were trained by the same build unless the folder was moved; the numbers are
    bit-identical only on the same CPU and torch build)."""
    from .._provenance import provenance, provenance_line

    protocol = cfg.get("protocol", "paper") if isinstance(cfg, dict) else "paper"
    return ["<h2>How this was made</h2>",
            f"<p>Protocol <code>{html.escape(str(protocol))}</code>; report written by "
            f"{html.escape(provenance_line(provenance()))}. Results reproduce bit for bit on "
            f"the same CPU and torch build with the same thread count; on another machine "
            f"expect the same conclusions within the seed ranges, not the same digits.</p>"]


def _html(df, summary, table, best, figs, captions, corr, starved,
          rep: ReportFiles) -> str:
    cfg = df["config"].iloc[0] if "config" in df and len(df) else {}
    title = html.escape(str(df["experiment"].iloc[0]))
    corr_rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{r:.2f}</td></tr>"
                        for m, r in corr.items())
    table_d = [c.split("@", 1)[1] for c in table.columns if c.startswith("avg@")]
    seeds = df["seed"].nunique()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>droprune report: {title}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
        "img{max-width:100%}figure{margin:1.5em 0}"
        "figcaption{font-size:13px;color:#333;max-width:900px}</style></head><body>",
        f"<h1>droprune report: {title}</h1>",
        f"<p>{len(df)} final runs; dataset <b>{html.escape(str(df['dataset'].iloc[0]))}</b>, "
        f"model <b>{html.escape(str(df['model'].iloc[0]))}</b>, seeds "
        f"{sorted(set(int(s) for s in df['seed']))}. Density = fraction of the training set "
        f"KEPT. Accuracies are on the test half of the official test set (never the "
        f"validation half DRoP uses).</p>",
        f"<h2>Average / worst-class test accuracy (%) at d = {', '.join(table_d) or '-'}</h2>",
        f"<p>Mean over {seeds} seed{'s' if seeds != 1 else ''}; bold: the best worst-class "
        f"accuracy at that density (every method that ties at the precision shown).</p>",
        _table_html(table, best),
        "<h2>Figures</h2>", *[_figure(p, html.escape(captions.get(p.name, ""))) for p in figs],
    ]
    if corr_rows:
        parts += ["<h2>Correlation of class density with full-data class accuracy</h2>",
                  f"<table><tr><th>method</th><th>Pearson r</th></tr>{corr_rows}</table>"]
    parts += _starved_html(starved)
    parts += ["<h2>All methods and densities</h2>",
              f"<p>Mean over seeds. {TEST_SPLIT}</p>",
              _summary_html(summary),
              *[f"<p><i>{html.escape(n)}</i></p>" for n in rep.notes],
              "<h2>Configuration</h2>",
              f"<pre>{html.escape(dumps(cfg, 'config', indent=2))}</pre>",
              *_provenance_html(cfg),
              "</body></html>"]
    return "\n".join(parts)
