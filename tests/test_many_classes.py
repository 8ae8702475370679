"""Many tiny classes under the default floor (DRoP with half the density per class): accepted
whenever the caller's own floors fit, exact (the kept count is the quota total, every class at
least at its floor), and a refusal names only options the caller set. The sizes here (10^4
classes) are for exactness; ``benchmarks/bench_many_classes.py`` measures 10^4 to 10^6."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import droprune
from droprune._checks import target_count
from droprune.cli import main
from droprune.pruning import resolve_floor
from droprune.quotas import QuotaWarning, floor_counts, half_density_floors, make_quotas

K = 10_000  # one-sample classes
BIG = 10  # the first BIG classes get 1,000 more samples each


def many_classes(k: int = K, big: int = BIG, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.concatenate([np.arange(k), np.repeat(np.arange(big), 1000)]))
    return labels, rng.uniform(0.3, 1.0, k).round(4)


def quiet_prune(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        return droprune.prune(*args, **kwargs)


@pytest.mark.parametrize("density, stage", [(0.5, "rounded down"), (0.9, "rounded up")])
def test_the_default_floor_accepts_many_one_sample_classes_exactly(density, stage):
    labels, recalls = many_classes()
    sizes = np.bincount(labels, minlength=K)
    total = target_count(density, labels.size)
    result = quiet_prune(labels, density, recalls=recalls)
    counts = np.bincount(labels[result.kept], minlength=K)
    assert result.kept.size == total == counts.sum()  # the quota total, exactly
    np.testing.assert_array_equal(result.table["kept"], counts)
    assert np.all(counts <= sizes) and np.array_equal(np.unique(result.kept), result.kept)
    half_up = floor_counts(sizes, 0, density / 2)  # ceil(d / 2 * N_k)
    floors = half_density_floors(sizes, density, np.zeros(K, np.int64), total)
    if stage == "rounded up":  # 0.45 of a one-sample class rounds up: kept whole
        assert half_up.sum() <= total and np.array_equal(floors, half_up)
        assert np.all(counts[BIG:] == 1)
    else:  # ceil(0.25) = 1 for 10^4 classes does not fit in 10,000: floor(d / 2 * N_k)
        assert half_up.sum() > total
        np.testing.assert_array_equal(floors, np.floor(sizes * density / 2).astype(np.int64))
        assert floors[BIG:].max() == 0 and np.all(floors[:BIG] == 250)
    assert np.all(counts >= floors)  # every class at least at its floor
    # the classes held up by the floor sit exactly on it, and DRoP alone keeps fewer there
    at_floor = result.table["bound"].to_numpy() == "floor"
    assert at_floor.any() and np.array_equal(counts[at_floor], floors[at_floor])
    bare = make_quotas("drop", sizes, density, recalls=recalls, min_per_class=0)
    assert np.all(bare[at_floor] < floors[at_floor])
    # the same as the named rule, and the same counts as DRoP on those floors
    named = quiet_prune(labels, density, recalls=recalls, method="Random+DRoPFloor",
                        min_density=0)
    np.testing.assert_array_equal(named.kept, result.kept)
    assert result.method == "Random+DRoP"


def test_the_default_floor_gives_way_to_the_callers_floor():
    # min_per_class=2 fits (9,990 + 10 x 2 = 10,010 of the 10,200 kept at d = 0.51); beside the
    # half-density floor rounded up (9,990 + 10 x 256) or down (9,990 + 10 x 255) it does
    # not: the caller's floor alone holds, as under the paper's rule with that floor
    labels, recalls = many_classes()
    sizes = np.bincount(labels, minlength=K)
    given = floor_counts(sizes, 2, 0.0)
    assert given.sum() == 10_010 and target_count(0.51, labels.size) == 10_200
    np.testing.assert_array_equal(half_density_floors(sizes, 0.51, given, 10_200), given)
    result = quiet_prune(labels, 0.51, recalls=recalls, min_per_class=2)
    counts = np.bincount(labels[result.kept], minlength=K)
    assert result.kept.size == 10_200 and np.all(counts >= given)
    np.testing.assert_array_equal(
        result.kept, quiet_prune(labels, 0.51, recalls=recalls, min_per_class=2,
                                 min_density=0).kept)


def test_a_refusal_names_only_the_options_the_caller_set():
    labels, recalls = many_classes()
    with pytest.raises(ValueError) as info:  # 10,010 samples needed, 10,000 kept
        droprune.prune(labels, 0.5, recalls=recalls, min_per_class=2)
    message = str(info.value)
    assert message.startswith("min_per_class=2 needs 10010 samples but density 0.5 keeps "
                              "10000 of 20000")
    assert "min_density" not in message and "\n" not in message
    with pytest.raises(ValueError, match=r"^min_density=0\.4 needs .*lower min_density to at "
                                         r"most"):
        droprune.prune(labels, 0.5, recalls=recalls, min_density=0.4)


def test_the_front_doors_floor_resolution():
    assert resolve_floor("drop", None, 0.4) == ("drop_floor", 0.0)
    assert resolve_floor("drop", 0.0, 0.4) == ("drop", 0.0)  # the paper's rule, as asked
    assert resolve_floor("drop_floor", None, 0.4) == ("drop_floor", 0.2)
    assert resolve_floor("balanced", None, 0.4) == ("balanced", 0.0)


def test_the_command_on_many_classes(tmp_path, capsys):
    labels, recalls = many_classes()
    np.save(tmp_path / "labels.npy", labels)
    pd.DataFrame({"class": np.arange(K), "recall": recalls}).to_csv(tmp_path / "recalls.csv",
                                                                   index=False)
    out = tmp_path / "out"
    argv = ["prune", "--labels", str(tmp_path / "labels.npy"), "--recalls",
            str(tmp_path / "recalls.csv"), "--density", "0.5", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    expected = quiet_prune(labels, 0.5, recalls=recalls)
    np.testing.assert_array_equal(np.load(out / "kept.npy"), expected.kept)
    classes = pd.read_csv(out / "classes.csv")
    assert len(classes) == K and classes["kept"].sum() == 10_000
    # the summary names ten starved classes and counts the rest, on one line
    starved = [line for line in printed.splitlines() if line.startswith("starved classes: ")]
    assert len(starved) == 1 and starved[0].endswith(f"and {len(expected.starved) - 10} more")
    page = (out / "summary.html").read_text()
    assert f"The first 1000 of {K} classes" in page and page.count("<tr>") < 1100
    assert (out / "class_densities.png").stat().st_size > 0
    # a floor the caller set that cannot hold: one line naming it, nothing written
    capsys.readouterr()
    refused = tmp_path / "refused"
    assert main(argv[:-1] + [str(refused), "--min-per-class", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("droprune prune: error: --min-per-class=2 needs 10010 samples")
    assert "min_density" not in err and "\n" not in err and not refused.exists()
