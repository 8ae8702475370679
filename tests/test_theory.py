"""Tests of droprune.theory: closed forms against scipy, simulations, sweep, figures."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from scipy.stats import norm

import droprune
from droprune import theory
from droprune.theory import (
    PROCEDURES,
    TwoGaussians,
    average_risk,
    class_risks,
    erm_threshold,
    optimal_class_densities,
    optimal_density_ratio,
    plugin_threshold,
    prune_sample,
    risk_ratio_sweep,
    sample_mixture,
    simulate_pruning,
    t_hat,
    t_star,
    worst_class_prior_ratio,
    worst_class_ratio_attainable,
    worst_class_risk,
)

TOY = TwoGaussians(mu0=-1.0, mu1=1.0, sigma0=0.5, sigma1=1.0, prior0=0.5)


def mixtures(prior_lo: float = 1e-6):
    """Random mixtures: means in [-5, 5], sigmas log-uniform in [1e-2, 1e2], any prior."""
    return st.builds(
        lambda m, gap, ls0, ls1, p: TwoGaussians(mu0=m, mu1=m + gap, sigma0=10.0 ** ls0,
                                                 sigma1=10.0 ** ls1, prior0=p),
        st.floats(-5, 5), st.floats(0.05, 6), st.floats(-2, 2), st.floats(-2, 2),
        st.one_of(st.floats(prior_lo, 1 - prior_lo), st.sampled_from([prior_lo, 1 - prior_lo])))


def numerical_min_risk(m: TwoGaussians) -> float:
    """Minimum average risk by brute force: dense grids near each mean and far out, refined by
    bounded scalar minimisation, and the two constant rules."""
    s_max = max(m.sigma0, m.sigma1)
    grids = [np.linspace(min(m.mu0, m.mu1) - 60 * s_max, max(m.mu0, m.mu1) + 60 * s_max, 10001)]
    for mu, s in ((m.mu0, m.sigma0), (m.mu1, m.sigma1)):
        grids.append(np.linspace(mu - 40 * s, mu + 40 * s, 10001))
    grid = np.sort(np.concatenate(grids))
    risk = average_risk(m, grid)
    best = [average_risk(m, -np.inf), average_risk(m, np.inf), float(risk.min())]
    for i in np.argsort(risk)[:5]:
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        if hi > lo:
            res = minimize_scalar(lambda t: average_risk(m, t), bounds=(lo, hi),
                                  method="bounded", options={"xatol": 1e-12})
            best.append(float(res.fun))
    return min(best)


# --------------------------------------------------------------------------- risks


def test_class_risks_match_scipy_norm_at_known_points():
    t = np.array([-2.0, -1.0, -1 / 3, 0.0, 1.0, 2.5])
    r = class_risks(TOY, t)
    assert r.shape == (6, 2)
    np.testing.assert_allclose(r[:, 0], norm.sf(t, loc=-1, scale=0.5), rtol=1e-12)
    np.testing.assert_allclose(r[:, 0], 1 - norm.cdf(t, loc=-1, scale=0.5), atol=1e-15)
    np.testing.assert_allclose(r[:, 1], norm.cdf(t, loc=1, scale=1.0), rtol=1e-12)
    assert r[1, 0] == 0.5 and r[4, 1] == 0.5  # at its own mean a class is half wrong


def test_class_risks_of_constant_rules():
    np.testing.assert_array_equal(class_risks(TOY, -np.inf), [1.0, 0.0])
    np.testing.assert_array_equal(class_risks(TOY, np.inf), [0.0, 1.0])
    assert average_risk(TOY.with_prior(0.3), -np.inf) == pytest.approx(0.3)
    assert average_risk(TOY.with_prior(0.3), np.inf) == pytest.approx(0.7)


def test_average_and_worst_class_risk_definitions():
    t = np.linspace(-2, 2, 7)
    m = TOY.with_prior(0.2)
    r = class_risks(m, t)
    np.testing.assert_allclose(average_risk(m, t), 0.2 * r[:, 0] + 0.8 * r[:, 1])
    np.testing.assert_allclose(worst_class_risk(m, t), np.maximum(r[:, 0], r[:, 1]))
    assert isinstance(average_risk(m, 0.0), float)


def test_class_risks_rejects_nan_threshold():
    with pytest.raises(ValueError, match="t must not be NaN"):
        class_risks(TOY, np.nan)


def test_class_risks_broadcast_over_array_mixtures():
    m = TwoGaussians(sigma0=np.array([0.5, 1.0, 2.0]), sigma1=1.0)
    assert class_risks(m, 0.0).shape == (3, 2)
    np.testing.assert_allclose(class_risks(m, 0.0)[:, 0], norm.sf(1.0 / np.array([0.5, 1, 2])))


# --------------------------------------------------------------------------- t_hat


def test_t_hat_of_the_toy_setting():
    assert t_hat(TOY) == pytest.approx(-1 / 3, abs=1e-15)
    np.testing.assert_allclose(class_risks(TOY, t_hat(TOY)), norm.sf(4 / 3), rtol=1e-12)


@settings(max_examples=150, deadline=None)
@given(mixtures())
def test_t_hat_equalises_the_class_risks_and_minimises_the_worst(m):
    th = t_hat(m)
    r0, r1 = class_risks(m, th)
    assert r0 == pytest.approx(r1, rel=1e-9, abs=1e-300)
    assert r0 == pytest.approx(norm.sf((m.mu1 - m.mu0) / (m.sigma0 + m.sigma1)), rel=1e-9,
                               abs=1e-300)
    span = (m.mu1 - m.mu0) + 10 * (m.sigma0 + m.sigma1)
    grid = np.linspace(m.mu0 - span, m.mu1 + span, 2001)
    assert worst_class_risk(m, th) <= worst_class_risk(m, grid).min() + 1e-12


def test_t_hat_does_not_depend_on_the_priors():
    assert t_hat(TOY.with_prior(0.01)) == t_hat(TOY.with_prior(0.99))


# --------------------------------------------------------------------------- t_star


def test_t_star_of_the_toy_setting_against_numerical_minimisation():
    res = minimize_scalar(lambda t: average_risk(TOY, t), bounds=(-1, 1), method="bounded",
                          options={"xatol": 1e-12})
    assert t_star(TOY) == pytest.approx(res.x, abs=1e-6)
    assert t_star(TOY) > t_hat(TOY)  # ERM favours the easy class 0: it is wrong less often


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixtures())
def test_t_star_is_a_global_minimiser(m):
    ts = t_star(m)
    ref = numerical_min_risk(m)
    assert average_risk(m, ts) <= ref + 1e-12 + 1e-9 * ref
    if np.isfinite(ts):  # a finite answer is a stationary point: phi_0 pdf_0 = phi_1 pdf_1
        lhs = np.log(m.prior0) + norm.logpdf(ts, m.mu0, m.sigma0)
        rhs = np.log(m.prior1) + norm.logpdf(ts, m.mu1, m.sigma1)
        assert lhs == pytest.approx(rhs, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(mixtures(prior_lo=1e-12))
def test_t_star_with_nearly_degenerate_priors(m):
    assert average_risk(m, t_star(m)) <= min(m.prior0, m.prior1) + 1e-15


def test_symmetric_case_is_the_midpoint():
    m = TwoGaussians(mu0=-3.0, mu1=5.0, sigma0=2.0, sigma1=2.0, prior0=0.5)
    assert t_star(m) == pytest.approx(1.0, abs=1e-12)
    assert t_hat(m) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("prior0", [0.1, 0.3, 0.7, 0.95])
def test_equal_sigmas_give_the_textbook_linear_rule(prior0):
    m = TwoGaussians(mu0=-1.0, mu1=2.0, sigma0=1.5, sigma1=1.5, prior0=prior0)
    expected = 0.5 + 1.5 ** 2 / 3.0 * np.log(prior0 / (1 - prior0))
    assert t_star(m) == pytest.approx(expected, abs=1e-12)


def test_equal_sigmas_stay_finite_even_at_extreme_priors():
    # dR/dt changes sign once, so the linear rule always beats the constant ones
    m = TwoGaussians(mu0=-1.0, mu1=1.0, sigma0=1.0, sigma1=1.0, prior0=1e-300)
    assert t_star(m) == pytest.approx(0.5 * np.log(1e-300), rel=1e-12)


def test_nearly_equal_sigmas_are_continuous():
    a = t_star(TwoGaussians(sigma0=1.0, sigma1=1.0, prior0=0.3))
    b = t_star(TwoGaussians(sigma0=1.0, sigma1=1.0 + 1e-9, prior0=0.3))
    assert a == pytest.approx(b, abs=1e-6)


@pytest.mark.parametrize("m, expected", [
    (TwoGaussians(sigma0=0.1, sigma1=10.0, prior0=0.1), -np.inf),   # always predict 1
    (TwoGaussians(sigma0=10.0, sigma1=0.1, prior0=0.9), np.inf),    # always predict 0
    (TwoGaussians(sigma0=0.1, sigma1=10.0, prior0=0.001), -np.inf),  # no real root at all
    (TwoGaussians(sigma0=1.0, sigma1=2.0, prior0=1e-12), -np.inf),
    (TwoGaussians(sigma0=2.0, sigma1=1.0, prior0=1 - 1e-12), np.inf),
])
def test_degenerate_cases_give_constant_rules(m, expected):
    assert t_star(m) == expected
    grid = np.linspace(-60, 60, 20001)
    assert average_risk(m, expected) <= average_risk(m, grid).min()


def test_t_star_vectorised_matches_scalar_calls():
    rng = np.random.default_rng(3)
    s = 10.0 ** rng.uniform(-2, 2, size=(50, 2))
    p = rng.uniform(0.01, 0.99, size=50)
    m = TwoGaussians(sigma0=s[:, 0], sigma1=s[:, 1], prior0=p)
    expected = [t_star(TwoGaussians(sigma0=a, sigma1=b, prior0=c)) for (a, b), c in zip(s, p)]
    np.testing.assert_array_equal(t_star(m), expected)


# --------------------------------------------------------------------------- optimal ratio


def test_worst_class_prior_ratio_is_sigma0_over_sigma1():
    assert worst_class_prior_ratio(TOY) == 0.5
    assert worst_class_prior_ratio(TwoGaussians(sigma0=3.0, sigma1=1.5)) == 2.0


@settings(max_examples=200, deadline=None)
@given(mixtures())
def test_optimal_ratio_makes_t_star_equal_t_hat(m):
    rho = worst_class_prior_ratio(m)
    at_ratio = m.with_prior(rho / (1 + rho))
    ts, th = t_star(at_ratio), t_hat(m)
    # stationary at t_hat for that ratio, whatever the outcome of the global comparison
    lhs = np.log(at_ratio.prior0) + norm.logpdf(th, m.mu0, m.sigma0)
    rhs = np.log(at_ratio.prior1) + norm.logpdf(th, m.mu1, m.sigma1)
    assert lhs == pytest.approx(rhs, abs=1e-9)
    if worst_class_ratio_attainable(m):
        assert ts == pytest.approx(th, rel=1e-9, abs=1e-9 * (m.sigma0 + m.sigma1))
    else:  # a constant rule beats t_hat: no class ratio makes ERM land on t_hat
        assert not np.isfinite(ts)
        assert average_risk(at_ratio, ts) < average_risk(at_ratio, th)


def test_attainability_examples():
    assert worst_class_ratio_attainable(TOY)
    assert not worst_class_ratio_attainable(TwoGaussians(sigma0=0.01, sigma1=10.0))
    mask = worst_class_ratio_attainable(TwoGaussians(sigma0=np.array([0.5, 0.01]),
                                                     sigma1=np.array([1.0, 10.0])))
    np.testing.assert_array_equal(mask, [True, False])


def test_optimal_class_densities_of_the_toy_setting():
    np.testing.assert_allclose(optimal_class_densities(TOY, 0.5), [1 / 3, 2 / 3])
    assert optimal_density_ratio(TOY) == pytest.approx(0.5)


@settings(max_examples=200, deadline=None)
@given(mixtures(prior_lo=1e-3), st.floats(0.01, 1.0))
def test_optimal_class_densities_meet_the_density_and_the_ratio(m, density):
    d0, d1 = optimal_class_densities(m, density)
    assert 0 <= d0 <= 1 and 0 <= d1 <= 1
    assert m.prior0 * d0 + m.prior1 * d1 == pytest.approx(density, rel=1e-9)
    target = worst_class_prior_ratio(m)
    total = m.sigma0 + m.sigma1
    wants0 = density * m.sigma0 / (total * m.prior0)  # the uncapped solution
    wants1 = density * m.sigma1 / (total * m.prior1)
    if wants0 <= 1 and wants1 <= 1:  # uncapped: the kept class ratio is exactly the optimal one
        assert (m.prior0 * d0) / (m.prior1 * d1) == pytest.approx(target, rel=1e-9)
        assert d0 / d1 == pytest.approx(optimal_density_ratio(m), rel=1e-9)
    else:  # capped: one class is kept whole, the other is pushed as far as it goes
        assert (wants0 > 1) != (wants1 > 1)
        ratio = (m.prior0 * d0) / (m.prior1 * d1) if d1 > 0 else np.inf
        if wants0 > 1:  # class 0 cannot give enough: all of it, ratio below the target
            assert d0 == 1.0 and ratio <= target * (1 + 1e-12)
        else:
            assert d1 == 1.0 and ratio >= target * (1 - 1e-12)


def test_optimal_class_densities_capped_example():
    m = TwoGaussians(sigma0=1.0, sigma1=9.0, prior0=0.5)  # wants 90% of the kept set in class 1
    np.testing.assert_allclose(optimal_class_densities(m, 0.8), [0.6, 1.0])
    np.testing.assert_allclose(optimal_class_densities(m, 1.0), [1.0, 1.0])


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, name", [
    ({"sigma0": 0.0}, "sigma0"), ({"sigma1": -1.0}, "sigma1"),
    ({"prior0": 0.0}, "prior0"), ({"prior0": 1.0}, "prior0"), ({"prior0": 1.5}, "prior0"),
    ({"mu0": 1.0, "mu1": 1.0}, "mu0"), ({"mu0": 2.0}, "mu0"),
    ({"mu1": float("nan")}, "mu1"), ({"sigma0": "a"}, "sigma0"), ({"prior0": True}, "prior0"),
    ({"sigma0": np.array([1.0, -1.0])}, "sigma0"),
])
def test_bad_mixture_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TwoGaussians(**kwargs)


@pytest.mark.parametrize("density", [0.0, -0.1, 1.5, float("nan")])
def test_bad_density(density):
    with pytest.raises(ValueError, match="density"):
        optimal_class_densities(TOY, density)
    with pytest.raises(ValueError, match="density"):
        simulate_pruning(TOY, density=density)


@pytest.mark.parametrize("kwargs, name", [
    ({"n": 1}, "n"), ({"n": 2.5}, "n"), ({"datasets": 0}, "datasets"),
    ({"n": 10, "density": 0.01}, "keeps round"),
    ({"fit": "svm"}, "fit"), ({"procedures": ("magic",)}, "procedure"),
    ({"drop_errors": "val"}, "drop_errors"),
])
def test_bad_simulation_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        simulate_pruning(TOY, **kwargs)


def test_simulations_need_a_scalar_mixture():
    with pytest.raises(ValueError, match="single mixture"):
        sample_mixture(TwoGaussians(sigma0=np.array([0.5, 1.0])), 10)


def test_bad_sweep_arguments():
    with pytest.raises(ValueError, match="instances"):
        risk_ratio_sweep(0)
    with pytest.raises(ValueError, match="sigma_range"):
        risk_ratio_sweep(10, sigma_range=(1.0, 0.5))
    with pytest.raises(ValueError, match="mu0"):
        risk_ratio_sweep(10, mu0=1.0, mu1=0.0)


# --------------------------------------------------------------------------- fitting


def brute_force_erm(x: np.ndarray, y: np.ndarray) -> float:
    """O(n^2) reference: count the errors of every candidate directly, same tie rule."""
    u = np.unique(x)
    finite = [(u[i] + (u[i + 1] - u[i]) / 2, u[i + 1] - u[i]) for i in range(u.size - 1)]
    def errors(t):
        return int(np.sum((x > t) != (y == 1)))
    best = min([errors(-np.inf), errors(np.inf)] + [errors(t) for t, _ in finite])
    winners = [(t, g) for t, g in finite if errors(t) == best]
    if not winners:
        return -np.inf if errors(-np.inf) == best else np.inf
    centre = winners[0][0] + (winners[-1][0] - winners[0][0]) / 2
    return min(winners, key=lambda w: (abs(w[0] - centre), -w[1], w[0]))[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-6, 6), st.integers(0, 1)), min_size=1, max_size=25),
       st.floats(0.1, 3.0))
def test_erm_threshold_equals_brute_force(points, scale):
    x = np.array([p[0] for p in points], dtype=np.float64) * scale  # many exact duplicates
    y = np.array([p[1] for p in points])
    assert erm_threshold(x, y) == brute_force_erm(x, y)


def test_erm_threshold_on_random_continuous_samples():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 60))
        x, y = rng.normal(size=n), rng.integers(0, 2, size=n)
        assert erm_threshold(x, y) == brute_force_erm(x, y)


def test_erm_threshold_is_mirror_symmetric():
    rng = np.random.default_rng(1)
    for _ in range(50):
        x, y = sample_mixture(TOY, 101, rng)
        assert erm_threshold(-x, 1 - y) == pytest.approx(-erm_threshold(x, y), abs=1e-12)


def test_erm_threshold_bad_input():
    with pytest.raises(ValueError, match="empty"):
        erm_threshold([], [])
    with pytest.raises(ValueError, match="same length"):
        erm_threshold([0.0, 1.0], [0])
    with pytest.raises(ValueError, match="labels 0 and 1"):
        erm_threshold([0.0, 1.0], [0, 2])
    with pytest.raises(ValueError, match="finite"):
        erm_threshold([0.0, np.inf], [0, 1])


def test_plugin_threshold_is_t_star_of_the_fitted_gaussians():
    x, y = sample_mixture(TOY.with_prior(0.3), 500, seed=4)
    x0, x1 = x[y == 0], x[y == 1]
    fitted = TwoGaussians(mu0=x0.mean(), mu1=x1.mean(), sigma0=x0.std(), sigma1=x1.std(),
                          prior0=x0.size / x.size)
    assert plugin_threshold(x, y) == pytest.approx(t_star(fitted), abs=1e-12)


def test_plugin_threshold_edge_cases():
    assert plugin_threshold([0.0, 1.0], [1, 1]) == -np.inf
    assert plugin_threshold([0.0, 1.0], [0, 0]) == np.inf
    with pytest.raises(ValueError, match="two distinct values"):
        plugin_threshold([0.0, 0.0, 1.0, 2.0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="not below"):
        plugin_threshold([3.0, 4.0, 1.0, 2.0], [0, 0, 1, 1])


# --------------------------------------------------------------------------- sampling, pruning


def test_sample_mixture_counts_and_determinism():
    x, y = sample_mixture(TOY.with_prior(0.3), 401, seed=7)
    assert x.shape == y.shape == (401,)
    assert np.bincount(y).tolist() == [120, 281]  # round(0.3 * 401) = 120
    x2, _ = sample_mixture(TOY.with_prior(0.3), 401, seed=7)
    x3, _ = sample_mixture(TOY.with_prior(0.3), 401, seed=8)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, x3)
    assert abs(x[y == 0].mean() + 1) < 0.2 and abs(x[y == 1].std() - 1) < 0.2


@pytest.fixture(scope="module")
def toy_sample():
    return sample_mixture(TOY, 400, seed=11)


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_prune_sample_keeps_the_target_count(toy_sample, procedure):
    x, y = toy_sample
    kept = prune_sample(TOY, x, y, procedure, 0.3, seed=2)
    assert kept.dtype == np.int64 and np.all(np.diff(kept) > 0)
    assert kept.size == (400 if procedure == "full" else 120)


def test_random_and_optimal_class_counts(toy_sample):
    x, y = toy_sample
    assert np.bincount(y[prune_sample(TOY, x, y, "random", 0.3)]).tolist() == [60, 60]
    assert np.bincount(y[prune_sample(TOY, x, y, "optimal", 0.3)]).tolist() == [40, 80]


def test_prototype_removes_the_points_nearest_their_class_mean(toy_sample):
    x, y = toy_sample
    kept = prune_sample(TOY, x, y, "prototype", 0.5)
    dist = np.abs(x - np.array([x[y == 0].mean(), x[y == 1].mean()])[y])
    removed = np.setdiff1d(np.arange(x.size), kept)
    assert dist[kept].min() >= dist[removed].max()  # a single margin M separates them
    ratio = prune_sample(TOY, x, y, "prototype_ratio", 0.5)
    np.testing.assert_array_equal(np.bincount(y[ratio]), np.bincount(y[kept]))
    assert not np.array_equal(ratio, kept)


def test_drop_uses_the_core_quota_function(toy_sample):
    x, y = toy_sample
    t = erm_threshold(x, y)
    recalls = [np.mean(x[y == 0] <= t), np.mean(x[y == 1] > t)]
    expected = droprune.drop_quotas([200, 200], recalls, 0.5)
    assert np.bincount(y[prune_sample(TOY, x, y, "drop", 0.5)]).tolist() == expected.tolist()
    pop = droprune.drop_quotas([200, 200], 1 - class_risks(TOY, t), 0.5)
    got = prune_sample(TOY, x, y, "drop", 0.5, drop_errors="population")
    assert np.bincount(y[got]).tolist() == pop.tolist()
    assert expected[1] > expected[0]  # class 1 (wider) has the larger error: keeps more


# --------------------------------------------------------------------------- simulations


def test_simulation_is_deterministic_for_a_seed():
    a = simulate_pruning(TOY, datasets=3, n=120, seed=5)
    b = simulate_pruning(TOY, datasets=3, n=120, seed=5)
    c = simulate_pruning(TOY, datasets=3, n=120, seed=6)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.thresholds, rb.thresholds)
        np.testing.assert_array_equal(ra.kept, rb.kept)
        assert ra.to_dict() == rb.to_dict()
    assert not np.array_equal(a[0].thresholds, c[0].thresholds)


def test_simulation_shapes_and_summaries():
    sims = simulate_pruning(TOY, datasets=4, n=100, density=0.4, seed=1)
    assert [s.procedure for s in sims] == list(PROCEDURES)
    for s in sims:
        assert s.thresholds.shape == (4,) and s.risks.shape == (4, 2) and s.kept.shape == (4, 2)
        np.testing.assert_allclose(s.risks, class_risks(TOY, s.thresholds))
        assert s.kept.sum(axis=1).tolist() == ([100] * 4 if s.procedure == "full" else [40] * 4)
        assert s.worst_class_risk >= s.worst_of_mean_class_risks - 1e-15
        assert s.average_risk == pytest.approx(float((0.5 * s.risks.sum(axis=1)).mean()))
        d = s.to_dict()
        assert d["datasets"] == 4 and len(d["thresholds"]) == 4 and len(d["class_risks"]) == 2
    # every procedure sees the same datasets: the full-data fit does not depend on the others
    only_full = simulate_pruning(TOY, ("full",), datasets=4, n=100, density=0.4, seed=1)[0]
    np.testing.assert_array_equal(only_full.thresholds, sims[0].thresholds)


def paired_gap(worse, better):
    """Mean per-dataset gap in worst-class risk and its standard error."""
    diff = worse.worst_class_risks - better.worst_class_risks
    return diff.mean(), diff.std(ddof=1) / np.sqrt(diff.size)


def test_optimal_random_pruning_beats_full_data_on_the_worst_class_plugin_fit():
    full, opt = simulate_pruning(TOY, ("full", "optimal"), datasets=60, n=400, seed=0,
                                 fit="plugin")
    gap, se = paired_gap(full, opt)
    assert gap > 4 * se and gap > 0.005


def test_optimal_random_pruning_beats_full_data_on_the_worst_class_erm_fit():
    # The 0-1 ERM threshold converges slowly (cube-root rate), so it needs larger datasets
    # than the plug-in fit to show the population effect (see docs/theory.md).
    full, opt, proto, proto_ratio = simulate_pruning(
        TOY, ("full", "optimal", "prototype", "prototype_ratio"), datasets=40, n=4000, seed=0)
    gap, se = paired_gap(full, opt)
    assert gap > 4 * se and gap > 0.005
    # The paper's point about SSP: the margin rule prunes the easy class more, yet the ERM
    # threshold on what it keeps stays near t* (it removes class cores, not the overlap),
    # while random pruning at the same class counts moves it towards t_hat.
    ts, th = t_star(TOY), t_hat(TOY)
    med_proto, med_ratio = np.median(proto.thresholds), np.median(proto_ratio.thresholds)
    assert abs(med_proto - ts) < abs(med_proto - th)
    assert abs(med_ratio - th) < abs(med_ratio - ts)
    # ... so the rule itself is worse on the worst class than random at its counts (sign test;
    # the paired mean is dominated by a few catastrophic fits of the margin rule)
    assert np.mean(proto.worst_class_risks > proto_ratio.worst_class_risks) >= 0.75


def test_drop_class_densities_track_the_population_errors():
    sim = simulate_pruning(TOY, ("drop",), datasets=40, n=4000, seed=2,
                           drop_errors="population")[0]
    expected = droprune.drop_densities([2000, 2000], 1 - class_risks(TOY, t_star(TOY)), 0.5)
    np.testing.assert_allclose(sim.class_densities, expected, atol=0.03)


# --------------------------------------------------------------------------- sweep


def test_sweep_draws_and_determinism():
    sw = risk_ratio_sweep(300, seed=3)
    m = sw.mixture
    assert sw.size == 300
    assert np.all(m.sigma0 <= m.sigma1) and m.sigma0.min() >= 1e-2 and m.sigma1.max() <= 1e2
    assert np.all((m.prior0 > 0) & (m.prior0 < 1))
    again = risk_ratio_sweep(300, seed=3)
    for key, col in sw.columns().items():
        np.testing.assert_array_equal(col, again.columns()[key])
        assert col.shape == (300,)
    assert not np.array_equal(sw.t_star, risk_ratio_sweep(300, seed=4).t_star)


def test_sweep_ratios_against_direct_computation():
    sw = risk_ratio_sweep(200, seed=0)
    for i in np.flatnonzero(sw.finite)[:40]:
        mi = TwoGaussians(mu0=-1.0, mu1=1.0, sigma0=sw.mixture.sigma0[i],
                          sigma1=sw.mixture.sigma1[i], prior0=sw.mixture.prior0[i])
        r0, r1 = class_risks(mi, t_star(mi))
        if r0 > 1e-300 and r1 > 1e-300:
            assert sw.log10_risk_ratio[i] == pytest.approx(np.log10(r0 / r1), abs=1e-9)
        d0, d1 = optimal_class_densities(mi, 1e-6)  # tiny density: never capped
        assert 10 ** sw.log10_density_ratio[i] == pytest.approx(d0 / d1, rel=1e-9)
    inf = ~sw.finite
    np.testing.assert_array_equal(np.isinf(sw.t_star), inf)
    np.testing.assert_array_equal(np.sign(sw.log10_risk_ratio[inf]), -np.sign(sw.t_star[inf]))


def test_sweep_ratios_agree_in_direction_when_t_star_is_between_the_means():
    # Provable: at a stationary t* between the means, d_0/d_1 = pdf(z0)/pdf(z1) and
    # R_0/R_1 = sf(z0)/sf(|z1|) are both > 1 exactly when |z0| < |z1|.
    sw = risk_ratio_sweep(1000, seed=0)
    between = sw.finite & (sw.t_star > -1.0) & (sw.t_star < 1.0)
    assert between.sum() > 100
    np.testing.assert_array_equal(np.sign(sw.log10_risk_ratio[between]),
                                  np.sign(sw.log10_density_ratio[between]))
    s = sw.summary()
    assert {"spearman", "same_side", "spearman_attainable", "infinite_t_star",
            "drop_overshoots"} <= set(s)
    assert s["instances"] == 1000 and s["infinite_t_star"] == int((~sw.finite).sum())


# --------------------------------------------------------------------------- figures, imports


def test_figures_are_written(tmp_path):
    sims = simulate_pruning(TOY, ("optimal", "prototype", "prototype_ratio"), datasets=2,
                            n=100)
    paths = [theory.plot_class_risks(TOY, tmp_path / "a" / "risks.png"),
             theory.plot_pruning(sims, tmp_path / "pruning.png"),
             theory.plot_risk_ratio_sweep(risk_ratio_sweep(100), tmp_path / "sweep.png")]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(ValueError, match="at least one"):
        theory.plot_pruning([], tmp_path / "x.png")


def test_figures_leave_matplotlib_alone(tmp_path, matplotlib_untouched):
    sims = simulate_pruning(TOY, ("optimal",), datasets=1, n=60)
    theory.plot_class_risks(TOY, tmp_path / "risks.png")
    theory.plot_pruning(sims, tmp_path / "pruning.png")
    assert (tmp_path / "pruning.png").read_bytes()[:4] == b"\x89PNG"


def test_theory_imports_neither_torch_nor_matplotlib():
    code = ("import sys, droprune.theory\n"
            "assert 'torch' not in sys.modules, 'theory imported torch'\n"
            "assert 'matplotlib' not in sys.modules, 'theory imported matplotlib'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_docstring_examples():
    result = doctest.testmod(theory, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


def test_mixture_parameters_must_broadcast():
    with pytest.raises(ValueError, match="broadcast"):
        TwoGaussians(sigma0=np.ones(3), sigma1=np.ones(2))


def test_sweep_gap_is_the_mills_ratio_identity():
    # At a finite stationary t*: R_0/R_1 = (d_0/d_1) * M(z0) / M(-z1), M(z) = sf(z)/pdf(z),
    # z0 = (t* - mu0)/s0, z1 = (t* - mu1)/s1 (derivation in docs/theory.md). M decreases, and
    # t* < t_hat (class 0 harder: R_0 > R_1) iff z0 < -z1, so DRoP's ratio R_0/R_1 is always
    # beyond the optimal ratio, towards the harder class.
    sw = risk_ratio_sweep(500, seed=2)
    f = sw.finite
    ts, m = sw.t_star[f], sw.mixture
    z0, z1 = (ts + 1.0) / m.sigma0[f], (ts - 1.0) / m.sigma1[f]
    def log10_mills(z):
        return (norm.logsf(z) - norm.logpdf(z)) / np.log(10)
    gap = sw.log10_risk_ratio[f] - sw.log10_density_ratio[f]
    np.testing.assert_allclose(gap, log10_mills(z0) - log10_mills(-z1), atol=1e-9)
    clear = np.abs(gap) > 1e-9
    np.testing.assert_array_equal((gap > 0)[clear], (sw.log10_risk_ratio[f] > 0)[clear])


def test_sigmas_too_small_for_float64_are_refused():
    # t* would round to mu0 itself and report R_0 = 0.5 as the optimum
    with pytest.raises(ValueError, match=r"sigma0 must be >= 1e-12 \* max\(\|mu0\|, \|mu1\|\) "
                                         r"= 1e-12 .*got 1e-20"):
        TwoGaussians(sigma0=1e-20)
    m = TwoGaussians(sigma0=1e-12)  # the smallest accepted still resolves the threshold
    t = t_star(m)
    assert -1.0 < t < -1.0 + 1e-10 and class_risks(m, t)[0] < 1e-12
