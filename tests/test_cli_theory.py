"""Tests of ``droprune theory``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from droprune.cli import main
from droprune.theory import PROCEDURES

FAST = ["--datasets", "2", "--n", "60", "--sweep", "50"]


def strict_json(text: str):
    """json.loads that refuses the non-standard NaN/Infinity tokens."""
    def refuse(token):
        raise AssertionError(f"invalid JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["theory", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_default_table(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert "class 0 ~ N(-1, 0.5^2), class 1 ~ N(1, 1^2), prior0 = 0.5" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("t_hat"))
    r = f"{norm.sf(4 / 3):.4f}"  # both class risks at t_hat = -1/3: sf((-1/3 + 1) / 0.5)
    assert line.split()[-5:] == ["-0.3333", r, r, r, r]
    assert "phi_0/phi_1 = sigma0/sigma1 = 0.5000" in out
    assert "d_0 = 0.3333, d_1 = 0.6667" in out
    assert "10 datasets of 400 points, density 0.5, fit erm, seed 0" in out
    for proc in PROCEDURES:
        assert any(ln.split() and ln.split()[0] == proc for ln in out.splitlines())
    assert "Sweep: 1000 mixtures" in out and "Spearman" in out


def test_json_keys_and_values(capsys):
    code, out, _ = run(capsys, "--json", *FAST)
    assert code == 0
    data = strict_json(out)
    assert {"t_star", "t_hat", "risks_at_t_star", "risks_at_t_hat", "simulations",
            "sweep", "optimal_class_densities"} <= set(data)
    assert data["t_hat"] == pytest.approx(-1 / 3, abs=1e-12)
    ref = minimize_scalar(lambda t: 0.5 * norm.sf(t, -1, 0.5) + 0.5 * norm.cdf(t, 1, 1),
                          bounds=(-1, 1), method="bounded", options={"xatol": 1e-12}).x
    assert data["t_star"] == pytest.approx(ref, abs=1e-6)
    np.testing.assert_allclose(data["risks_at_t_hat"], [norm.sf(4 / 3)] * 2, rtol=1e-12)
    np.testing.assert_allclose(data["risks_at_t_star"],
                               [norm.sf(ref, -1, 0.5), norm.cdf(ref, 1, 1)], rtol=1e-5)
    assert [s["procedure"] for s in data["simulations"]] == list(PROCEDURES)
    assert all(s["datasets"] == 2 and s["n"] == 60 for s in data["simulations"])
    assert data["sweep"]["instances"] == 50
    assert data["figures"] == []


def test_json_with_infinite_threshold_is_valid_json(capsys):
    code, out, _ = run(capsys, "--json", "--sigma0", "0.1", "--sigma1", "10", "--prior0", "0.1",
                       *FAST)
    assert code == 0
    data = strict_json(out)
    assert data["t_star"] == "-inf"
    assert data["risks_at_t_star"] == [1.0, 0.0]
    # at phi_0/phi_1 = 0.1/10 the constant rule (risk 0.1/10.1) beats t_hat (sf(2/10.1))
    assert data["worst_class_ratio_attainable"] is bool(norm.sf(2 / 10.1) <= 0.1 / 10.1)


def test_custom_mixture_and_options(capsys):
    code, out, _ = run(capsys, "--json", "--mu0", "0", "--mu1", "3", "--sigma0", "1",
                       "--sigma1", "2", "--prior0", "0.3", "--density", "0.4", "--seed", "3",
                       "--fit", "plugin", "--drop-errors", "population", "--sweep", "0",
                       "--datasets", "2", "--n", "100")
    assert code == 0
    data = json.loads(out)
    assert data["t_hat"] == pytest.approx(1.0)  # (0 * 2 + 3 * 1) / 3
    assert data["worst_class_prior_ratio"] == pytest.approx(0.5)
    assert data["sweep"] is None
    sim = data["simulations"][2]
    assert sim["procedure"] == "optimal" and sim["fit"] == "plugin" and sim["seed"] == 3
    assert sim["density"] == 0.4


def test_same_seed_same_output(capsys):
    _, a, _ = run(capsys, "--json", *FAST, "--seed", "4")
    _, b, _ = run(capsys, "--json", *FAST, "--seed", "4")
    _, c, _ = run(capsys, "--json", *FAST, "--seed", "5")
    assert a == b and a != c


def test_plot_writes_pngs(capsys, tmp_path, matplotlib_untouched):
    # matplotlib_untouched: no backend switch, no pyplot figure left open
    out_dir = tmp_path / "figs"
    code, out, _ = run(capsys, "--plot", str(out_dir), *FAST)
    assert code == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["class_risks.png", "pruning.png", "risk_ratio_sweep.png"]
    for p in out_dir.iterdir():
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 5000
    assert "figures:" in out


def test_plot_without_sweep_skips_the_scatter(capsys, tmp_path):
    code, out, _ = run(capsys, "--json", "--plot", str(tmp_path), "--datasets", "2", "--n", "60",
                       "--sweep", "0")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class_risks.png", "pruning.png"]
    assert len(json.loads(out)["figures"]) == 2


@pytest.mark.parametrize("argv, needle", [
    (["--sigma0", "0"], "sigma0"),
    (["--sigma1", "-1"], "sigma1"),
    (["--sigma0", "1e-20"], "sigma0 must be >= 1e-12 * max(|mu0|, |mu1|) = 1e-12"),
    (["--sigma1", "1e-15", "--mu1", "1000"], "sigma1 must be >= 1e-12 * max(|mu0|, |mu1|) = 1e-09"),
    (["--prior0", "1"], "prior0"),
    (["--prior0", "0"], "prior0"),
    (["--mu0", "2", "--mu1", "1"], "mu0"),
    (["--mu0", "1", "--mu1", "1"], "mu0"),
    (["--density", "0"], "density"),
    (["--density", "1.5"], "density"),
    (["--n", "1"], "n must be >= 2"),
    (["--datasets", "0"], "datasets"),
    (["--sweep", "-1"], "--sweep"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("droprune theory: error:") and needle in err
    assert err.count("\n") == 1


def test_plot_into_a_file_is_refused(capsys, tmp_path):
    f = tmp_path / "file.png"
    f.write_text("x")
    code, _, err = run(capsys, "--plot", str(f), *FAST)
    assert code == 2 and "--plot" in err and "not a directory" in err
