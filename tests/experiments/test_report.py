"""Reports from a store filled with known results: files, tables, correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from .run_records import make_record

from droprune.experiments.report import (
    starved_runs,
    full_class_accuracy,
    robustness_table,
    summarize,
    write_report,
)
from droprune.experiments.store import ResultStore, read_results
from droprune.experiments.methods import parse_method

K = 4
FULL_RECALL = np.array([0.95, 0.9, 0.8, 0.6])


def _rec(i, method, density, seed, acc, worst, class_density):
    m = parse_method(method)
    return make_record(
        f"r{i}", experiment="fake", dataset="toy", model="mlp",
        method=m.name, strategy=m.strategy, family=m.family, quota=m.quota,
        density=density, seed=seed, kept=100, accuracy=acc,
        worst_class_accuracy=worst, worst_class=3, worst_class_name="3", gap=0.3, std=0.1,
        min_samples_per_class=5, class_recall=FULL_RECALL if m.is_full else
        np.full(K, worst), class_sizes=[100] * K, class_counts=[10] * K,
        class_density=class_density, seconds=0.1, config={"name": "fake"})


@pytest.fixture
def sweep_dir(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    i = 0
    for seed in (0, 1):
        store.add(_rec(i := i + 1, "Full", 1.0, seed, 0.86, 0.6, [1.0] * K))
        for d in (0.3, 0.5, 0.8):
            # EL2N keeps the easy classes (positive correlation), DRoP the hard ones
            store.add(_rec(i := i + 1, "EL2N", d, seed, 0.80 + 0.01 * seed, 0.30 + d / 10,
                           [d + 0.1, d + 0.05, d - 0.05, d - 0.1]))
            store.add(_rec(i := i + 1, "Random+DRoP", d, seed, 0.78, 0.55 + d / 10,
                           [d - 0.1, d - 0.05, d + 0.05, d + 0.1]))
            store.add(_rec(i := i + 1, "EL2N+DRoP", d, seed, 0.79, 0.50 + d / 10,
                           [d - 0.1, d - 0.05, d + 0.05, d + 0.1]))
    return tmp_path


def test_summary_and_table(sweep_dir):
    df = read_results(sweep_dir)
    s = summarize(df)
    el2n = s[(s["method"] == "EL2N") & (s["density"] == 0.3)].iloc[0]
    assert el2n["accuracy_mean"] == pytest.approx(0.805)
    assert el2n["accuracy_min"] == pytest.approx(0.80) and el2n["accuracy_max"] == 0.81
    assert el2n["seeds"] == 2
    table, best = robustness_table(df)
    assert list(table.columns) == ["avg@0.3", "worst@0.3", "avg@0.5", "worst@0.5", "avg@0.8",
                                   "worst@0.8"]
    assert table.loc["Random+DRoP", "worst@0.3"] == pytest.approx(58.0)
    assert best == {"worst@0.3": ("Random+DRoP",), "worst@0.5": ("Random+DRoP",),
                    "worst@0.8": ("Random+DRoP",)}
    table, best = robustness_table(df, densities=[0.5, 0.6, 0.1])  # 0.6: 0.5 is too far
    assert list(table.columns) == ["avg@0.5", "worst@0.5"]
    np.testing.assert_allclose(full_class_accuracy(df), FULL_RECALL)


def test_write_report_files(sweep_dir, tmp_path):
    rep = write_report(sweep_dir, tmp_path / "rep")
    names = {p.name for p in rep.files}
    assert {"results.csv", "results.parquet", "summary.csv", "table.csv", "report.html",
            "accuracy_vs_density.png", "worst_class_vs_density.png", "class_densities.png",
            "density_vs_accuracy.png"} <= names
    for p in rep.files:
        assert p.stat().st_size > 0, p
    png = (tmp_path / "rep" / "accuracy_vs_density.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = rep.html.read_text()
    assert "<b>58.0</b>" in html and "data:image/png;base64," in html
    back = pd.read_parquet(tmp_path / "rep" / "results.parquet")
    assert len(back) == 20 and set(back["method"]) == {"Full", "EL2N", "Random+DRoP",
                                                       "EL2N+DRoP"}
    csv = pd.read_csv(tmp_path / "rep" / "results.csv")
    assert len(csv) == 20
    # correlations: EL2N keeps easy classes (+), DRoP keeps hard ones (-)
    assert "Pearson r" in html


def test_write_report_leaves_matplotlib_alone(sweep_dir, tmp_path, matplotlib_untouched):
    # no backend switch, no pyplot (so no figure left in its list): explicit Figure objects
    rep = write_report(sweep_dir, tmp_path / "rep")
    assert (tmp_path / "rep" / "class_densities.png").read_bytes()[:4] == b"\x89PNG"
    assert rep.html.stat().st_size > 0


def test_report_without_full_runs_notes_it(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    store.add(_rec(1, "Random+DRoP", 0.5, 0, 0.7, 0.5, [0.5] * K))
    rep = write_report(tmp_path)
    assert any("Full" in n for n in rep.notes)
    assert rep.html.stat().st_size > 0


def test_report_on_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="droprune sweep"):
        write_report(tmp_path)


def test_table_has_the_sweeps_densities_and_bolds_ties_alike(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    i = 0
    for d in (0.2, 0.6):
        for method, worst in (("Random", 0.40), ("Random+DRoP", 0.40004), ("EL2N", 0.1)):
            store.add(_rec(i := i + 1, method, d, 0, 0.7, worst, [d] * K))
    table, best = robustness_table(read_results(tmp_path))
    assert list(table.columns) == ["avg@0.2", "worst@0.2", "avg@0.6", "worst@0.6"]
    assert best == {"worst@0.2": ("Random", "Random+DRoP"),
                    "worst@0.6": ("Random", "Random+DRoP")}
    html = write_report(tmp_path).html.read_text()
    assert "at d = 0.2, 0.6</h2>" in html and "0.3, 0.5, 0.8" not in html
    assert html.count("<b>40.0</b>") == 4 and "<b>10.0</b>" not in html


def test_every_figure_has_a_caption(sweep_dir, tmp_path):
    html = write_report(sweep_dir, tmp_path / "rep").html.read_text()
    assert html.count("<figure>") == html.count("<figcaption>") == 4
    assert "min to max over the seeds" in html and "mean over 2 seeds" in html
    assert "test half of the official test set" in html
    # one unit: accuracies in % in the summary table too (EL2N at d = 0.3: 80.5 %)
    assert "average accuracy (%)" in html and "<td>80.5</td>" in html


def test_starved_classes_are_listed_in_the_report(tmp_path):
    store = ResultStore(tmp_path / "sweep" / "results.sqlite")
    store.add(make_record("full", method="Full", strategy="Full", family="Full", quota="none",
                          density=1.0, class_counts=[10, 6, 4]))
    store.add(make_record("starving", class_counts=[9, 1, 0], class_names=["cat", "dog", "fox"]))
    store.add(make_record("fine", density=0.8, class_counts=[8, 5, 4]))
    starved = starved_runs(read_results(tmp_path / "sweep"))
    assert starved.to_dict("records") == [{"method": "Random+DRoP", "density": 0.5, "seed": 0,
                                           "starved": "dog (1 of 6), fox (0 of 4)"}]
    rep = write_report(tmp_path / "sweep", tmp_path / "rep")
    html = rep.html.read_text()
    assert "<h2>Starved classes</h2>" in html and "dog (1 of 6), fox (0 of 4)" in html
    assert pd.read_csv(tmp_path / "rep" / "starved.csv")["starved"].tolist() == [
        "dog (1 of 6), fox (0 of 4)"]
    fine = ResultStore(tmp_path / "fine" / "results.sqlite")
    fine.add(make_record("only", class_counts=[8, 5, 4]))
    assert "No run kept fewer" in write_report(tmp_path / "fine", tmp_path / "r2").html.read_text()
