"""The quota-rule registry: one entry and one function add a rule everywhere (prune, method
names, configs, the CLI, the reference rounding); entries are validated; the safeguards travel
as one QuotaOptions; parse_method needs no torch."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import droprune
from droprune.methods import parse_method
from droprune.quotas import (
    QUOTA_RULES,
    QuotaOptions,
    QuotaRule,
    make_quotas,
    quota_allocation,
    register_quota_rule,
    waterfill,
)

ROOT = Path(__file__).resolve().parents[1]


def _sqrt_allocation(inputs):
    return waterfill(inputs.sizes * np.sqrt(inputs.errors), inputs.sizes, inputs.total,
                     lower=inputs.lower)


@pytest.fixture
def sqrt_rule():
    """The docs' example rule, registered for one test and removed after it."""
    entry = register_quota_rule(QuotaRule("sqrt", "Sqrt", "density ~ sqrt(1 - recall)",
                                          _sqrt_allocation, needs=("recalls",)))
    yield entry
    QUOTA_RULES.pop("sqrt", None)


def test_builtin_entries_carry_everything():
    assert list(QUOTA_RULES) == ["drop", "drop_floor", "proportional", "balanced",
                                 "from_selection", "none"]
    assert {r.name: r.method_name for r in QUOTA_RULES.values()} == {
        "drop": "DRoP", "drop_floor": "DRoPFloor", "proportional": "Proportional",
        "balanced": "Balanced", "from_selection": None, "none": None}
    assert [r.name for r in QUOTA_RULES.values() if r.needs_recalls] == ["drop", "drop_floor"]
    assert [r.name for r in QUOTA_RULES.values() if r.floors] == [
        "drop", "drop_floor", "proportional", "balanced"]
    assert all(r.description for r in QUOTA_RULES.values())


def test_a_registered_rule_works_in_make_quotas_and_prune(sqrt_rule):
    # e = (0.04, 0.36): sqrt weights 100 * (0.2, 0.6), total 100 -> 25 / 75
    np.testing.assert_array_equal(make_quotas("sqrt", [100, 100], 0.5, recalls=[0.96, 0.64]),
                                  [25, 75])
    labels = np.repeat([0, 1], 100)
    result = droprune.prune(labels, 0.5, recalls=[0.96, 0.64], method="random+sqrt",
                            min_density=0)
    assert result.method == "Random+Sqrt"
    assert result.table["kept"].tolist() == [25, 75]
    # the front door's default floor applies to every rule that reads recalls
    floored = droprune.prune(labels, 0.5, recalls=[1.0, 0.5], method="Random+Sqrt")
    assert floored.table["kept"].tolist() == [25, 75]  # class 0 held at d/2 = 0.25
    scored = droprune.prune(labels, 0.5, recalls=[0.96, 0.64], method="Margin+Sqrt",
                            scores=np.arange(200.0), min_density=0)
    assert scored.kept.tolist() == list(range(75, 100)) + list(range(125, 200))


def test_the_docs_example_runs():
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text[text.index("## Adding a quota rule"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    try:
        exec(compile(block, "architecture.md", "exec"), {})
        assert QUOTA_RULES["sqrt"].method_name == "Sqrt"
    finally:
        QUOTA_RULES.pop("sqrt", None)


def test_a_registered_rule_works_in_a_config_and_the_pipeline(sqrt_rule):
    from droprune.experiments.config import config_from_dict
    from droprune.experiments.pipeline import select_indices
    from droprune.experiments.presets import PRESETS
    from droprune.experiments.pipeline import QueryOutputs

    values = PRESETS["mnist1d-cpu"].to_dict()
    values["methods"] = ["Random+Sqrt", "Random+DRoP"]
    cfg = config_from_dict(values)
    assert [m.name for m in cfg.parsed_methods] == ["Random+Sqrt", "Random+DRoP"]
    assert cfg.parsed_methods[0].needs_recalls
    labels = np.repeat([0, 1], 100)
    query = QueryOutputs(scores={}, val_recall=np.array([0.96, 0.64]),
                         val_counts=np.array([25, 25]))
    kept = select_indices(cfg.parsed_methods[0], 0.5, 0, labels, 2, query)
    assert np.bincount(labels[kept]).tolist() == [25, 75]
    # the reference profile's rounding applies to every rule with real quotas, this one too
    real = quota_allocation("sqrt", [100, 100], 0.37, recalls=[0.96, 0.64])
    topped = select_indices(cfg.parsed_methods[0], 0.37, 0, labels, 2, query,
                            rounding="floor_topup")
    assert topped.size == 74
    assert np.all(np.bincount(labels[topped], minlength=2) >= np.floor(real))


def test_a_registered_rule_works_on_the_command_line(sqrt_rule, tmp_path, capsys):
    from droprune.cli import main

    assert main(["quotas", "--rule", "sqrt", "--sizes", "100,100", "--recalls", "0.96,0.64",
                 "--density", "0.5"]) == 0
    assert "kept 100 of 200 samples (density 0.5, rule sqrt)" in capsys.readouterr().out
    np.save(tmp_path / "labels.npy", np.repeat([0, 1], 100))
    (tmp_path / "recalls.csv").write_text("class,recall\n0,0.96\n1,0.64\n")
    out = tmp_path / "pruned"
    assert main(["prune", "--labels", str(tmp_path / "labels.npy"), "--recalls",
                 str(tmp_path / "recalls.csv"), "--method", "Random+Sqrt", "--density", "0.5",
                 "--min-density", "0", "--out", str(out)]) == 0
    kept = np.load(out / "kept.npy")
    assert np.bincount(np.repeat([0, 1], 100)[kept]).tolist() == [25, 75]


@pytest.mark.parametrize("entry, message", [
    (lambda: QuotaRule("drop", "Other", "-", _sqrt_allocation), "already registered"),
    (lambda: QuotaRule("x", "drop", "-", _sqrt_allocation), "is taken"),
    (lambda: QuotaRule("x", "Full", "-", _sqrt_allocation), "reserved"),
    (lambda: QuotaRule("x", "MyQ", "-", _sqrt_allocation), "reserved"),
    (lambda: QuotaRule("x", "a b", "-", _sqrt_allocation), "plain identifier"),
    (lambda: "drop", "takes a QuotaRule"),
])
def test_bad_entries_are_refused(entry, message):
    with pytest.raises(ValueError, match=message):
        register_quota_rule(entry())
    assert "x" not in QUOTA_RULES


def test_malformed_entries_are_refused_at_construction():
    with pytest.raises(ValueError, match="needs must be among"):
        QuotaRule("x", "X", "-", _sqrt_allocation, needs=("labels",))
    with pytest.raises(ValueError, match="options may only name 'mode'"):
        QuotaRule("x", "X", "-", _sqrt_allocation, options=("min_density",))
    with pytest.raises(ValueError, match="takes no inputs and no floors"):
        QuotaRule("x", "X", "-", None)


@pytest.mark.parametrize("allocate, message", [
    (lambda q: np.zeros(3), "returned shape"),
    (lambda q: q.sizes * 0.1, "allocated 20 samples, not the 100"),
    (lambda q: np.array([150.0, -50.0]), "outside"),
    (lambda q: np.array([150, 0]), "outside"),
])
def test_a_rule_breaking_its_contract_is_named(allocate, message):
    register_quota_rule(QuotaRule("broken", "Broken", "-", allocate))
    try:
        with pytest.raises(ValueError, match=f"quota rule 'broken'.*{message}|{message}"):
            make_quotas("broken", [100, 100], 0.5)
    finally:
        QUOTA_RULES.pop("broken")


def test_options_travel_as_one_object():
    opts = QuotaOptions(min_per_class=20)
    np.testing.assert_array_equal(
        make_quotas("drop", [100, 100], 0.3, recalls=[0.5, 0.9], options=opts), [40, 20])
    with pytest.raises(ValueError, match="pass the quota options once"):
        make_quotas("drop", [100, 100], 0.3, recalls=[0.5, 0.9], options=opts, min_density=0.1)
    with pytest.raises(ValueError, match="must be a droprune.QuotaOptions"):
        make_quotas("drop", [100, 100], 0.3, recalls=[0.5, 0.9], options={"mode": "count"})
    for bad, message in [(dict(mode="counts"), "mode must be"),
                         (dict(error_estimate="bayes"), "error_estimate must be"),
                         (dict(prior=(0, 1)), "prior"),
                         (dict(min_per_class=1.5), "min_per_class"),
                         (dict(min_density=2), "min_density")]:
        with pytest.raises(ValueError, match=message):
            QuotaOptions(**bad)
    # a set of options for many rules: each rule keeps what it reads
    shared = QuotaOptions(mode="count", error_estimate="beta", min_density=0.2)
    assert shared.for_rule("drop") == shared
    assert shared.for_rule("balanced") == QuotaOptions(min_density=0.2)
    assert shared.for_rule("none") == QuotaOptions()


def test_the_paper_rule_is_unchanged_through_the_registry():
    rng = np.random.default_rng(0)
    for _ in range(50):
        k = int(rng.integers(1, 12))
        sizes = rng.integers(0, 300, k)
        recalls = rng.uniform(0, 1, k)
        d = float(rng.uniform(0, 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counts = droprune.drop_quotas(sizes, recalls, d)
        real = droprune.drop_densities(sizes, recalls, d) * sizes
        assert counts.sum() == droprune.target_count(d, int(sizes.sum()))
        assert np.all(np.abs(counts - real) < 1 + 1e-9)


def test_parse_method_does_not_import_torch():
    code = ("import sys\n"
            "sys.modules['torch'] = None  # any 'import torch' now raises ImportError\n"
            "from droprune.methods import parse_method, strategies\n"
            "m = parse_method('EL2N+DRoP')\n"
            "assert (m.name, m.scorer, m.needs_recalls) == ('EL2N+DRoP', 'el2n', True), m\n"
            "assert parse_method('Random+ForgettingQ').scorers_needed == ('forgetting',)\n"
            "assert 'CoreSet' in strategies()\n"
            "try:\n"
            "    parse_method('EL3N+DRoP')\n"
            "except ValueError as e:\n"
            "    assert 'unknown strategy' in str(e)\n"
            "else:\n"
            "    raise AssertionError('EL3N accepted')\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_quota_token_lists_the_registry(sqrt_rule):
    with pytest.raises(ValueError, match="valid: DRoP, DRoPFloor, Proportional, Balanced, Sqrt, or "
                                         "<Strategy>Q"):
        parse_method("Random+Cube", strategies=())


def test_drop_floor_is_the_front_doors_default_as_a_named_rule():
    labels = np.repeat([0, 1, 2], [100, 100, 50])
    recalls = [1.0, 0.6, 0.8]
    for d in (0.1, 0.3, 0.5):
        named = droprune.prune(labels, d, recalls=recalls, method="Random+DRoPFloor",
                               min_density=0)
        default = droprune.prune(labels, d, recalls=recalls)  # min_density=None: d / 2
        np.testing.assert_array_equal(named.kept, default.kept)
    np.testing.assert_array_equal(make_quotas("drop_floor", [100, 100], 0.3, recalls=[1.0, 0.5]),
                                  [15, 45])
    # on top of a larger floor of the options; giving way when they cannot both hold
    np.testing.assert_array_equal(make_quotas("drop_floor", [100, 100], 0.3,
                                              recalls=[1.0, 0.5], min_per_class=20), [20, 40])
    # 100 one-sample classes: ceil(d / 2) = 1 each would not fit in 55; rounded down instead
    sizes = [1] * 100 + [1000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = make_quotas("drop_floor", sizes, 0.05, recalls=[0.5] * 101)
    assert counts.sum() == 55 and counts[-1] >= 25
    # each floor fits alone (255 and 150 of 300), their maximum (350) does not, nor with the
    # half-density floor rounded down: the given floor alone holds (the default gives way)
    counts = make_quotas("drop_floor", [1000] + [10] * 50, 0.2, recalls=[0.5] * 51,
                         min_per_class=5)
    np.testing.assert_array_equal(counts, make_quotas("drop", [1000] + [10] * 50, 0.2,
                                                      recalls=[0.5] * 51, min_per_class=5))
    assert counts.sum() == 300 and counts[1:].min() >= 5
