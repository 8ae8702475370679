"""A report for sweep records of every preset's real config: HTML, CSV and Parquet, alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from droprune.cli import main
from droprune.experiments.config import ExperimentConfig
from droprune.experiments.methods import parse_method
from droprune.experiments.presets import PRESETS
from droprune.experiments.record import RunRecord
from droprune.experiments.report import write_report
from droprune.experiments.store import ResultStore

from .run_records import make_record

#: every file of a report of runs with and without pruning
REPORT_FILES = ("report.html", "results.csv", "results.parquet", "summary.csv", "table.csv",
                "starved.csv")


def _preset_records(name: str, cfg: ExperimentConfig) -> list[RunRecord]:
    """A Full run and a Random+DRoP run of ``cfg``, recorded as the sweep records them."""
    common = dict(experiment=cfg.name, fingerprint=f"fp-{name}", dataset=cfg.data.name,
                  model=cfg.model.name, epochs=cfg.train.epochs, config=cfg.to_dict())
    if cfg.data.name == "waterbirds":  # a dataset with groups
        common.update(worst_group_accuracy=0.4, group_weighted_accuracy=0.7,
                      group_accuracy=[0.9, 0.4, 0.6, 0.8])
    records = []
    for method, density in (("Full", 1.0), ("Random+DRoP", cfg.densities[0])):
        m = parse_method(method)
        records.append(make_record(
            f"{name}-{m.name}", method=m.name, strategy=m.strategy, family=m.family,
            quota=m.quota, density=density, selection_file=f"selections/{name}.npy",
            val_recall=None if m.is_full else [0.9, 0.5, np.nan], **common))
    return records


def _store(folder: Path, names: list[str]) -> Path:
    """A sweep folder whose results store holds the records of the given presets."""
    store = ResultStore(folder / "results.sqlite")
    for name in names:
        for record in _preset_records(name, PRESETS[name]):
            store.add(record)
    return folder


def _assert_complete(report: Path, rows: int) -> pd.DataFrame:
    """Every report file is there; results.parquet holds what results.csv holds (the same
    rows, columns and values: written as CSV, it is the CSV file)."""
    for name in REPORT_FILES:
        assert (report / name).stat().st_size > 0, name
    csv = pd.read_csv(report / "results.csv")
    parquet = pd.read_parquet(report / "results.parquet")
    assert list(parquet.columns) == list(csv.columns)
    assert len(parquet) == len(csv) == rows
    assert parquet.to_csv(index=False) == (report / "results.csv").read_text()
    return parquet


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_report_of_every_preset(tmp_path, name):
    cfg = PRESETS[name]
    rep = write_report(_store(tmp_path / "sweep", [name]), tmp_path / "report")
    assert {p.name for p in rep.files} >= set(REPORT_FILES)
    back = _assert_complete(tmp_path / "report", rows=2)
    # the config is spread into dotted columns; an empty dict is JSON text
    assert back["config.data.name"].tolist() == [cfg.data.name] * 2
    assert back["config.train.epochs"].tolist() == [cfg.train.epochs] * 2
    if cfg.data.options:
        assert "config.data.options" not in back
    else:
        assert back["config.data.options"].tolist() == ["{}"] * 2
    assert "config" not in back and "class_recall" in back
    assert cfg.name in rep.html.read_text()


def test_cli_report_of_all_presets_in_one_store(tmp_path, capsys):
    names = sorted(PRESETS)
    sweep = _store(tmp_path / "sweep", names)
    assert main(["report", str(sweep), "--out", str(tmp_path / "report")]) == 0
    assert "report written to" in capsys.readouterr().out
    back = _assert_complete(tmp_path / "report", rows=2 * len(names))
    # presets with and without data options: both columns, each missing where it does not apply
    mnist = back["config.name"] == "mnist1d-cpu"
    assert back.loc[mnist, "config.data.options.num_samples"].tolist() == [10000] * 2
    assert back.loc[~mnist, "config.data.options.num_samples"].isna().all()
    assert back.loc[~mnist, "config.data.options"].tolist() == ["{}"] * (len(back) - 2)


def test_the_report_says_how_it_was_made(tmp_path):
    import json
    from importlib import metadata

    sweep = _store(tmp_path / "sweep", ["mnist1d-cpu"])
    assert main(["report", str(sweep), "--out", str(tmp_path / "report")]) == 0
    info = json.loads((tmp_path / "report" / "provenance.json").read_text())
    assert info["torch"] == metadata.version("torch") and info["numpy"] == metadata.version(
        "numpy")
    assert info["cpu"] and info["cpus"] >= 1 and info["time"].endswith("+00:00")
    assert info["commit"] is None or len(info["commit"].split("+")[0]) >= 7
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<h2>How this was made</h2>" in page and "Protocol <code>paper</code>" in page
    assert f"torch {info['torch']}" in page and "bit for bit on the same CPU" in page
