"""The two-Gaussian toy model of the DRoP paper: class risks, thresholds, optimal class ratios.

The data are a 1-D mixture ``phi_0 N(mu_0, sigma_0^2) + phi_1 N(mu_1, sigma_1^2)`` with
``mu_0 < mu_1``; a threshold rule predicts class 1 iff ``x > t`` (``t = -inf`` always predicts
1, ``t = +inf`` always predicts 0). Its class risks are

* ``R_0(t) = P(x > t | y = 0) = 1 - Phi((t - mu_0) / sigma_0)``
* ``R_1(t) = P(x <= t | y = 1) = Phi((t - mu_1) / sigma_1)``

and its average risk is ``phi_0 R_0(t) + phi_1 R_1(t)``. This module gives, in closed form,

* :func:`t_star`: the average-risk minimiser (what ERM converges to), possibly ``+-inf``;
* :func:`t_hat`: the worst-class minimiser ``(mu_0 sigma_1 + mu_1 sigma_0) / (sigma_0 + sigma_1)``;
* :func:`worst_class_prior_ratio`: the class ratio ``phi_0 / phi_1 = sigma_0 / sigma_1`` for
  which ``t_star`` is stationary at ``t_hat``, and :func:`optimal_class_densities` that turn it
  into per-class keep densities at an overall density;

and finite-sample simulations of pruning a mixture dataset (:func:`simulate_pruning`) and the
paper's random sweep of mixtures (:func:`risk_ratio_sweep`). The derivations are in
``docs/theory.md``. Everything works on numpy arrays; the mixture parameters may be arrays of a
common shape (one mixture per entry), which is how the sweep is vectorised.

``density`` is, as everywhere in droprune, the fraction of samples KEPT.

Examples
--------
>>> m = TwoGaussians(mu0=-1.0, mu1=1.0, sigma0=0.5, sigma1=1.0, prior0=0.5)
>>> round(float(t_hat(m)), 6)
-0.333333
>>> round(float(t_star(m)), 4)
-0.17
>>> class_risks(m, t_hat(m)).round(4)
array([0.0912, 0.0912])
>>> float(worst_class_prior_ratio(m))
0.5
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from ._checks import check_density, check_number, target_count
from ._extras import require
from ._plot import agg_figure, save_png
from .metrics import class_recalls
from .quotas import QuotaWarning, drop_quotas, largest_remainder, proportional_quotas
from .selection import select, select_global

__all__ = [
    "FIT_METHODS",
    "PROCEDURES",
    "PruningSimulation",
    "RiskRatioSweep",
    "TwoGaussians",
    "average_risk",
    "class_risks",
    "erm_threshold",
    "optimal_class_densities",
    "optimal_density_ratio",
    "plot_class_risks",
    "plot_pruning",
    "plot_risk_ratio_sweep",
    "plugin_threshold",
    "prune_sample",
    "risk_ratio_sweep",
    "sample_mixture",
    "simulate_pruning",
    "t_hat",
    "t_star",
    "worst_class_prior_ratio",
    "worst_class_ratio_attainable",
    "worst_class_risk",
]

ArrayLike = Any
Procedure = Literal["full", "random", "optimal", "drop", "prototype", "prototype_ratio"]
FitMethod = Literal["erm", "plugin"]

#: Pruning procedures of :func:`simulate_pruning`, in the order the CLI prints them.
PROCEDURES: tuple[str, ...] = ("full", "random", "optimal", "drop", "prototype",
                               "prototype_ratio")
_PROCEDURE_HELP = {
    "full": "no pruning (ERM on the whole sample)",
    "random": "random pruning, every class at the overall density",
    "optimal": "random pruning at the worst-class-optimal class densities",
    "drop": "random pruning at DRoP densities (ERM class errors on the full sample)",
    "prototype": "margin rule: drop the points closest to their class mean",
    "prototype_ratio": "random pruning at the class counts the margin rule kept",
}


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

def _as_param(value: Any, name: str) -> float | np.ndarray:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (or an array of numbers), "
                         f"got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(arr) if arr.ndim == 0 else arr


#: the smallest sigma relative to the means' magnitude (see :class:`TwoGaussians`)
MIN_RELATIVE_SIGMA = 1e-12


@dataclass(frozen=True, eq=False)
class TwoGaussians:
    """The mixture ``prior0 N(mu0, sigma0^2) + (1 - prior0) N(mu1, sigma1^2)``.

    Class 0 sits on the left (``mu0 < mu1`` is required, so that "predict 1 iff ``x > t``"
    is the sensible rule). Defaults are the paper's toy setting. Every parameter may also be
    an array; the arrays broadcast and describe one mixture per entry.

    Raises
    ------
    ValueError
        Naming the parameter: a sigma ``<= 0`` or below ``1e-12 * max(|mu0|, |mu1|)`` (too
        small for float64 to resolve the thresholds near the means), a prior outside the open
        interval (0, 1), ``mu0 >= mu1``, or a non-finite value.

    Examples
    --------
    >>> TwoGaussians(sigma0=0.5).prior1
    0.5
    >>> TwoGaussians(mu0=1.0, mu1=-1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: mu0 must be smaller than mu1 (class 0 on the left, ...; swap the class labels
    """

    mu0: float | np.ndarray = -1.0
    mu1: float | np.ndarray = 1.0
    sigma0: float | np.ndarray = 0.5
    sigma1: float | np.ndarray = 1.0
    prior0: float | np.ndarray = 0.5

    def __post_init__(self) -> None:
        for name in ("mu0", "mu1", "sigma0", "sigma1", "prior0"):
            object.__setattr__(self, name, _as_param(getattr(self, name), name))
        try:
            np.broadcast_shapes(*(np.shape(v) for v in self.to_dict().values()))
        except ValueError:
            raise ValueError("the parameters of TwoGaussians must broadcast to one shape") from None
        for name in ("sigma0", "sigma1"):
            if np.any(np.asarray(getattr(self, name)) <= 0):
                raise ValueError(f"{name} must be > 0 (a standard deviation), "
                                 f"got {getattr(self, name)!r}")
        # below this, thresholds within a few sigma of a mean round to the mean itself in
        # float64 and every risk degenerates (e.g. R_0 = 0.5 at t = mu0)
        floor = MIN_RELATIVE_SIGMA * np.maximum(np.abs(self.mu0), np.abs(self.mu1))
        for name in ("sigma0", "sigma1"):
            if np.any(np.asarray(getattr(self, name)) < floor):
                low = float(np.max(floor))
                raise ValueError(f"{name} must be >= {MIN_RELATIVE_SIGMA:g} * max(|mu0|, |mu1|) "
                                 f"= {low:g} (smaller, float64 cannot resolve the thresholds "
                                 f"near the means), got {getattr(self, name)!r}")
        p = np.asarray(self.prior0)
        if np.any((p <= 0) | (p >= 1)):
            raise ValueError(f"prior0 must be in the open interval (0, 1) (the share of class "
                             f"0; class 1 has 1 - prior0), got {self.prior0!r}")
        if np.any(np.asarray(self.mu0) >= np.asarray(self.mu1)):
            raise ValueError(f"mu0 must be smaller than mu1 (class 0 on the left, predict 1 iff "
                             f"x > t), got mu0={self.mu0!r}, mu1={self.mu1!r}; swap the class "
                             f"labels")

    @property
    def prior1(self) -> float | np.ndarray:
        """Share of class 1, ``1 - prior0``."""
        return 1.0 - self.prior0

    def with_prior(self, prior0: float | np.ndarray) -> "TwoGaussians":
        """The same class distributions with another class-0 share."""
        return dataclasses.replace(self, prior0=prior0)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (arrays stay arrays)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _norm() -> Any:
    """``scipy.stats.norm``, imported on first use: scipy comes with ``droprune[theory]``, and
    importing ``scipy.stats`` costs most of a second (``droprune --help`` does not pay it)."""
    require("theory", "scipy", what="droprune.theory")
    from scipy.stats import norm

    return norm


def _t(t: ArrayLike) -> np.ndarray:
    arr = np.asarray(t, dtype=np.float64)
    if np.any(np.isnan(arr)):
        raise ValueError("t must not be NaN (thresholds are real numbers or +-inf)")
    return arr


def class_risks(mixture: TwoGaussians, t: ArrayLike) -> np.ndarray:
    """Class risks ``[R_0(t), R_1(t)]`` of the rule "predict 1 iff ``x > t``".

    ``R_0(t) = 1 - Phi((t - mu0) / sigma0)`` (class 0 predicted as 1),
    ``R_1(t) = Phi((t - mu1) / sigma1)`` (class 1 predicted as 0). ``t`` may be ``+-inf``.

    Returns
    -------
    numpy.ndarray
        float64, shape ``broadcast(t, mixture).shape + (2,)``.

    Examples
    --------
    >>> class_risks(TwoGaussians(), [-np.inf, 0.0, np.inf]).round(4)
    array([[1.    , 0.    ],
           [0.0228, 0.1587],
           [0.    , 1.    ]])
    """
    norm, tt = _norm(), _t(t)
    r0 = norm.sf((tt - mixture.mu0) / mixture.sigma0)
    r1 = norm.cdf((tt - mixture.mu1) / mixture.sigma1)
    return np.stack(np.broadcast_arrays(r0, r1), axis=-1)


def average_risk(mixture: TwoGaussians, t: ArrayLike) -> np.ndarray | float:
    """Average (prior-weighted) risk ``phi_0 R_0(t) + phi_1 R_1(t)``.

    Examples
    --------
    >>> float(average_risk(TwoGaussians(), -np.inf))
    0.5
    """
    r = class_risks(mixture, t)
    out = mixture.prior0 * r[..., 0] + mixture.prior1 * r[..., 1]
    return float(out) if np.ndim(out) == 0 else out


def worst_class_risk(mixture: TwoGaussians, t: ArrayLike) -> np.ndarray | float:
    """Worst-class risk ``max(R_0(t), R_1(t))``.

    Examples
    --------
    >>> round(float(worst_class_risk(TwoGaussians(), 0.0)), 4)
    0.1587
    """
    out = class_risks(mixture, t).max(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def _stationary_points(mu0: Any, mu1: Any, s0: Any, s1: Any,
                       log_ratio: Any) -> tuple[np.ndarray, np.ndarray]:
    """Real solutions of ``phi_0 pdf_0(t) = phi_1 pdf_1(t)`` (NaN where there is none).

    With ``u = t - mu0``, ``D = mu1 - mu0``, ``r = s1 / s0`` and ``L = log(phi_1 s0 / (phi_0
    s1))`` the condition is ``(1 - r^2) u^2 - 2 D u + (D^2 - 2 L s1^2) = 0``. The roots are
    taken in the cancellation-free form ``u_a = (D^2 - 2 L s1^2) / q`` and ``u_b = q / (1 -
    r^2)`` with ``q = D + sqrt(D^2 r^2 + 2 (1 - r^2) L s1^2)``; ``u_a`` is the root that stays
    finite as ``s0 -> s1`` (the only one when ``s0 == s1``).
    """
    d = mu1 - mu0
    r = s1 / s0
    a = (1.0 - r) * (1.0 + r)
    disc = (d * r) ** 2 + 2.0 * a * log_ratio * s1 ** 2
    real = disc >= 0
    q = d + np.sqrt(np.where(real, disc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        u_a = np.where(real, (d * d - 2.0 * log_ratio * s1 ** 2) / q, np.nan)
        u_b = np.where(real & (a != 0), q / np.where(a != 0, a, 1.0), np.nan)
    return mu0 + u_a, mu0 + u_b


def _t_star(mu0: Any, mu1: Any, s0: Any, s1: Any, p0: Any) -> np.ndarray:
    """Average-risk minimiser without validation (shared by :func:`t_star` and the plug-in fit)."""
    mu0, mu1, s0, s1, p0 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                                 for v in (mu0, mu1, s0, s1, p0)))
    p1 = 1.0 - p0
    log_ratio = np.log(p1) + np.log(s0) - np.log(p0) - np.log(s1)
    root_a, root_b = _stationary_points(mu0, mu1, s0, s1, log_ratio)
    # Candidates in order of preference on exact ties: finite roots, then -inf, then +inf.
    cand = np.stack([root_a, root_b, np.full_like(mu0, -np.inf), np.full_like(mu0, np.inf)],
                    axis=-1)
    z0 = (cand - mu0[..., None]) / s0[..., None]
    z1 = (cand - mu1[..., None]) / s1[..., None]
    with np.errstate(invalid="ignore"):
        risk = p0[..., None] * _norm().sf(z0) + p1[..., None] * _norm().cdf(z1)
    risk = np.where(np.isnan(cand), np.inf, risk)
    best = np.argmin(risk, axis=-1)
    return np.take_along_axis(cand, best[..., None], axis=-1)[..., 0]


def _scalar_or_array(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if np.ndim(arr) == 0 else arr


def t_star(mixture: TwoGaussians) -> float | np.ndarray:
    """Threshold minimising the average risk ``phi_0 R_0 + phi_1 R_1`` (``t*(phi_0/phi_1)``).

    The minimum is either at a real solution of ``phi_0 pdf_0(t) = phi_1 pdf_1(t)`` (a
    quadratic in ``t``; linear when ``sigma0 == sigma1``) or at ``t = -inf`` (always predict
    class 1, risk ``phi_0``) or ``t = +inf`` (always predict class 0, risk ``phi_1``). All
    candidates are compared by their risk; exact ties go to the finite root.

    Returns
    -------
    float or numpy.ndarray
        The threshold (``+-inf`` for a constant rule), one per mixture.

    Examples
    --------
    >>> float(t_star(TwoGaussians(sigma0=1.0, sigma1=1.0)))  # symmetric: the midpoint
    0.0
    >>> float(t_star(TwoGaussians(sigma0=0.1, sigma1=10.0, prior0=0.1)))  # always predict 1
    -inf
    """
    return _scalar_or_array(_t_star(mixture.mu0, mixture.mu1, mixture.sigma0, mixture.sigma1,
                                    mixture.prior0))


def t_hat(mixture: TwoGaussians) -> float | np.ndarray:
    """Threshold minimising the worst-class risk: ``(mu0 s1 + mu1 s0) / (s0 + s1)``.

    ``R_0`` decreases and ``R_1`` increases in ``t``, so ``max(R_0, R_1)`` is smallest where
    they cross: ``(t - mu0) / s0 = (mu1 - t) / s1``. Both risks there equal
    ``1 - Phi((mu1 - mu0) / (s0 + s1))``. It does not depend on the priors.

    Examples
    --------
    >>> float(t_hat(TwoGaussians(mu0=-1, mu1=1, sigma0=1, sigma1=3)))
    -0.5
    """
    m = mixture
    return _scalar_or_array(np.asarray(
        (m.mu0 * m.sigma1 + m.mu1 * m.sigma0) / (m.sigma0 + m.sigma1), dtype=np.float64))


def worst_class_prior_ratio(mixture: TwoGaussians) -> float | np.ndarray:
    """The class ratio ``phi_0 / phi_1`` at which ERM's threshold is stationary at ``t_hat``.

    At ``t_hat`` both standardised distances equal ``D / (s0 + s1)``, so ``pdf_0(t_hat) /
    pdf_1(t_hat) = s1 / s0`` and the stationary condition ``phi_0 pdf_0 = phi_1 pdf_1`` gives
    ``phi_0 / phi_1 = sigma0 / sigma1``: train on classes in proportion to their spreads. It
    depends neither on the means nor on the current priors. Whether ``t_hat`` is then the
    *global* minimiser (rather than a constant rule) is :func:`worst_class_ratio_attainable`.

    Examples
    --------
    >>> float(worst_class_prior_ratio(TwoGaussians(sigma0=0.5, sigma1=2.0)))
    0.25
    """
    return _scalar_or_array(np.asarray(mixture.sigma0 / mixture.sigma1, dtype=np.float64))


def worst_class_ratio_attainable(mixture: TwoGaussians) -> bool | np.ndarray:
    """Whether ``t_star`` equals ``t_hat`` at the priors ``phi_0 / phi_1 = sigma0 / sigma1``.

    At those priors the average risk at ``t_hat`` is ``1 - Phi(D / (s0 + s1))`` and the
    constant rules cost ``s0 / (s0 + s1)`` and ``s1 / (s0 + s1)``; ``t_hat`` wins (ties
    included) iff ``1 - Phi(D / (s0 + s1)) <= min(s0, s1) / (s0 + s1)``. When it does not, no
    class ratio makes ERM land on ``t_hat``: very unequal spreads with overlapping classes.

    Examples
    --------
    >>> bool(worst_class_ratio_attainable(TwoGaussians()))
    True
    >>> bool(worst_class_ratio_attainable(TwoGaussians(sigma0=0.01, sigma1=10.0)))
    False
    """
    m = mixture
    total = m.sigma0 + m.sigma1
    out = _norm().sf((m.mu1 - m.mu0) / total) <= np.minimum(m.sigma0, m.sigma1) / total
    return bool(out) if np.ndim(out) == 0 else out


def optimal_density_ratio(mixture: TwoGaussians) -> float | np.ndarray:
    """Ratio ``d_0 / d_1`` of class densities that turns the priors into the worst-class ratio.

    Keeping the fractions ``d_k`` of the classes changes the class ratio to ``(phi_0 d_0) /
    (phi_1 d_1)``; setting it to ``sigma0 / sigma1`` gives ``d_0 / d_1 = (sigma0 phi_1) /
    (sigma1 phi_0)``. This is the uncapped ratio; at a given overall density see
    :func:`optimal_class_densities`.

    Examples
    --------
    >>> float(optimal_density_ratio(TwoGaussians()))
    0.5
    """
    m = mixture
    return _scalar_or_array(np.asarray((m.sigma0 * m.prior1) / (m.sigma1 * m.prior0),
                                       dtype=np.float64))


def optimal_class_densities(mixture: TwoGaussians, density: float) -> np.ndarray:
    """Worst-class-optimal keep densities ``[d_0, d_1]`` at an overall density.

    Solves ``(phi_0 d_0) / (phi_1 d_1) = sigma0 / sigma1`` and ``phi_0 d_0 + phi_1 d_1 =
    density``: ``d_k = density * sigma_k / ((sigma0 + sigma1) phi_k)``. When one of them
    exceeds 1 the class cannot give that many samples: it keeps everything (``d_k = 1``) and
    the other class takes the rest of the budget, ``(density - phi_k) / phi_other``, so the
    overall density is still met and the class ratio is as close to the optimum as the data
    allow (the same water-filling as DRoP's quotas).

    Parameters
    ----------
    mixture
        The mixture; ``prior0`` is the class share of the dataset being pruned.
    density
        Fraction of the dataset KEPT, in (0, 1].

    Returns
    -------
    numpy.ndarray
        float64, shape ``mixture_shape + (2,)``, each in [0, 1].

    Examples
    --------
    >>> optimal_class_densities(TwoGaussians(), 0.5).round(4)
    array([0.3333, 0.6667])
    >>> optimal_class_densities(TwoGaussians(sigma0=1.0, sigma1=9.0), 0.8)  # class 1 capped
    array([0.6, 1. ])
    """
    d = check_density(density, positive=True)
    m = mixture
    total = m.sigma0 + m.sigma1
    d0 = d * m.sigma0 / (total * m.prior0)
    d1 = d * m.sigma1 / (total * m.prior1)
    d0, d1 = (np.where(d1 > 1.0, (d - m.prior1) / m.prior0, np.minimum(d0, 1.0)),
              np.where(d0 > 1.0, (d - m.prior0) / m.prior1, np.minimum(d1, 1.0)))
    return np.clip(np.stack(np.broadcast_arrays(d0, d1), axis=-1), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Finite samples: drawing, fitting, pruning
# ---------------------------------------------------------------------------------------------

def _scalar_mixture(mixture: TwoGaussians) -> None:
    if any(np.ndim(v) for v in mixture.to_dict().values()):
        raise ValueError("simulations need a single mixture (scalar parameters), got arrays")


def sample_mixture(mixture: TwoGaussians, n: int,
                   seed: int | np.random.Generator | np.random.SeedSequence = 0,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Draw a dataset of ``n`` points: ``round(prior0 * n)`` of class 0, the rest of class 1.

    Class counts are fixed by the priors (not drawn), so every dataset of a simulation has the
    same composition and only the positions vary. A class is empty when ``prior * n`` rounds
    to 0; the fits then return the constant rule predicting the other class.

    Returns
    -------
    (x, y)
        float64 positions and int64 labels, shape (n,), class 0 first.

    Examples
    --------
    >>> x, y = sample_mixture(TwoGaussians(prior0=0.25), 8, seed=0)
    >>> y.tolist()
    [0, 0, 1, 1, 1, 1, 1, 1]
    """
    _scalar_mixture(mixture)
    n = check_number(n, "n", minimum=2, integer=True)
    rng = np.random.default_rng(seed)
    n0 = target_count(float(mixture.prior0), n)
    x = np.concatenate([rng.normal(mixture.mu0, mixture.sigma0, n0),
                        rng.normal(mixture.mu1, mixture.sigma1, n - n0)])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n - n0])
    return x, y


def _xy(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y)
    if xs.ndim != 1 or ys.shape != xs.shape:
        raise ValueError(f"x and y must be 1-D of the same length, got shapes {xs.shape} and "
                         f"{ys.shape}")
    if xs.size == 0:
        raise ValueError("x is empty: a threshold needs at least one point")
    if not np.all(np.isfinite(xs)):
        raise ValueError("x must be finite")
    if not np.all((ys == 0) | (ys == 1)):
        raise ValueError("y must hold the labels 0 and 1 only")
    return xs, ys.astype(np.int64)


def erm_threshold(x: ArrayLike, y: ArrayLike) -> float:
    """Empirical 0-1 risk minimiser among thresholds ("predict 1 iff ``x > t``").

    The candidates are ``-inf``, the midpoints between consecutive distinct sorted values and
    ``+inf``; their error counts come from cumulative sums after one sort (``O(n log n)``).
    Several candidates often reach the minimum (the error count is a +-1 walk along the sorted
    points). Ties are broken by: a finite threshold before ``-inf`` before ``+inf``; then the finite
    minimiser closest to the centre of the range of finite minimisers; then the widest gap
    between its two neighbouring points (the larger margin); then the lower threshold. The
    rule is mirror-symmetric (``x -> -x`` with swapped labels gives ``-t``) up to exact ties,
    so unlike "the lowest" or "the lower median" minimiser it does not push the threshold to
    one side. All points count equally, so the class ratio of the (pruned) sample acts as the
    prior: that is how pruning moves the ERM threshold.

    Examples
    --------
    >>> erm_threshold([0.0, 1.0, 2.0, 3.0], [0, 0, 1, 1])
    1.5
    >>> erm_threshold([0.0, 1.0], [1, 1])  # one class: always predict it
    -inf
    """
    xs, ys = _xy(x, y)
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    n = xs.size
    ones_below = np.concatenate(([0], np.cumsum(ys)))           # class 1 predicted 0
    zeros_above = (n - ys.sum()) - np.concatenate(([0], np.cumsum(1 - ys)))  # class 0 -> 1
    errors = ones_below + zeros_above                              # split i: first i -> 0
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = xs[:-1] < xs[1:]               # no split between equal values
    best = np.flatnonzero(valid & (errors == errors[valid].min()))
    finite = best[(best > 0) & (best < n)]
    if finite.size == 0:                        # only a constant rule is optimal
        return float("-inf") if best[0] == 0 else float("inf")
    cand = xs[finite - 1] + (xs[finite] - xs[finite - 1]) / 2.0
    gap = xs[finite] - xs[finite - 1]
    dist = np.abs(cand - (cand[0] + (cand[-1] - cand[0]) / 2.0))
    # closest to the centre of the minimisers, then the widest gap, then the lowest
    j = np.lexsort((np.arange(cand.size), -gap, dist))[0]
    return float(cand[j])


def plugin_threshold(x: ArrayLike, y: ArrayLike) -> float:
    """Plug-in threshold: :func:`t_star` of the Gaussians fitted by maximum likelihood.

    Means, standard deviations (``ddof=0``) and the class share are estimated from the sample.
    A sample with one class only gets the constant rule predicting it.

    Raises
    ------
    ValueError
        If a class has fewer than two distinct values, or the fitted means are not ordered
        (class 0 on the left).

    Examples
    --------
    >>> plugin_threshold([-1.0, -2.0, 0.0, 1.0, 2.0, 3.0], [0, 0, 0, 1, 1, 1])
    0.5
    """
    xs, ys = _xy(x, y)
    n1 = int(ys.sum())
    if n1 == 0:
        return float("inf")
    if n1 == xs.size:
        return float("-inf")
    x0, x1 = xs[ys == 0], xs[ys == 1]
    s0, s1 = x0.std(), x1.std()
    if s0 == 0 or s1 == 0:
        raise ValueError("plugin_threshold needs at least two distinct values in each class")
    if x0.mean() >= x1.mean():
        raise ValueError(f"plugin_threshold: the class-0 mean ({x0.mean():g}) is not below the "
                         f"class-1 mean ({x1.mean():g}); the rule 'predict 1 iff x > t' does "
                         f"not fit this sample")
    return float(_t_star(x0.mean(), x1.mean(), s0, s1, x0.size / xs.size))


#: Threshold fits by name: ``"erm"`` (empirical 0-1 risk) or ``"plugin"`` (Gaussian MLE).
FIT_METHODS = {"erm": erm_threshold, "plugin": plugin_threshold}


def _fit(method: str):
    if method not in FIT_METHODS:
        raise ValueError(f"fit must be one of {', '.join(FIT_METHODS)}, got {method!r}")
    return FIT_METHODS[method]


def _quietly(rule: Any, *args: Any) -> np.ndarray:
    """A quota rule's counts without its QuotaWarning: tiny sampled datasets may leave a class
    (almost) empty, and that outcome is what the simulations measure (their risks), not a
    mistake to warn the user about."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        return rule(*args)


def prune_sample(mixture: TwoGaussians, x: ArrayLike, y: ArrayLike, procedure: str,
                 density: float, *, seed: int = 0, fit: str = "erm",
                 drop_errors: Literal["sample", "population"] = "sample") -> np.ndarray:
    """Indices kept by one pruning procedure (see :data:`PROCEDURES`).

    * ``full``: everything.
    * ``random``: random within classes, every class at ``density``
      (:func:`droprune.proportional_quotas`).
    * ``optimal``: random within classes at :func:`optimal_class_densities` (rounded by
      largest remainder to ``round(density * n)`` samples). Uses ``mixture`` (its sigmas and
      the sample's class shares), i.e. the oracle.
    * ``drop``: fit the threshold on the whole sample, read its class errors on the sample
      (``drop_errors="sample"``) or under ``mixture`` (``"population"``) and keep
      :func:`droprune.drop_quotas` samples per class at random.
    * ``prototype``: the supervised margin rule: remove the points closest to their own
      class's empirical mean until ``round(density * n)`` remain. This is "remove every point
      within ``M`` of its class mean" with ``M`` the distance of the last removed point.
    * ``prototype_ratio``: random within classes, with the class counts ``prototype`` kept.

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices into ``x``.
    """
    xs, ys = _xy(x, y)
    if procedure not in PROCEDURES:
        raise ValueError(f"procedure must be one of {', '.join(PROCEDURES)}, got {procedure!r}")
    if drop_errors not in ("sample", "population"):
        raise ValueError(f"drop_errors must be 'sample' or 'population', got {drop_errors!r}")
    d = check_density(density, positive=True)
    sizes = np.bincount(ys, minlength=2)
    if procedure == "full":
        return np.arange(xs.size, dtype=np.int64)
    if procedure == "random":
        return select(ys, _quietly(proportional_quotas, sizes, d), seed=seed)
    if procedure == "optimal":
        dens = optimal_class_densities(mixture.with_prior(
            np.clip(sizes[0] / xs.size, 1e-12, 1 - 1e-12)), d)
        counts = largest_remainder(dens * sizes, sizes, target_count(d, xs.size))
        return select(ys, counts, seed=seed)
    if procedure == "drop":
        t = _fit(fit)(xs, ys)
        if drop_errors == "population":
            recalls = 1.0 - class_risks(mixture, t)
        else:
            recalls = class_recalls(ys, (xs > t).astype(np.int64), num_classes=2)
        return select(ys, _quietly(drop_quotas, sizes, recalls, d), seed=seed)
    means = np.array([xs[ys == k].mean() if sizes[k] else 0.0 for k in (0, 1)])
    kept = select_global(np.abs(xs - means[ys]), d, seed=seed)  # farthest from the mean first
    if procedure == "prototype":
        return kept
    return select(ys, np.bincount(ys[kept], minlength=2), seed=seed)


# ---------------------------------------------------------------------------------------------
# Simulations
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PruningSimulation:
    """One pruning procedure applied to ``datasets`` sampled datasets, with the fitted rules.

    Per-dataset arrays: ``thresholds`` (datasets,), ``risks`` (datasets, 2) population class
    risks of each fitted threshold, ``kept`` and ``sizes`` (datasets, 2) class counts after and
    before pruning. The summaries are means over datasets; ``worst_class_risk`` is the mean of
    the per-dataset worst class (the expected worst-class risk of the procedure), which is
    never smaller than ``worst_of_mean_class_risks``, the worst of the mean class risks; the
    gap between the two measures how much the fitted threshold varies across datasets.
    """

    procedure: str
    mixture: TwoGaussians
    density: float
    n: int
    seed: int
    fit: str
    thresholds: np.ndarray
    risks: np.ndarray
    kept: np.ndarray
    sizes: np.ndarray = field(repr=False)

    @property
    def datasets(self) -> int:
        """Number of simulated datasets."""
        return int(self.thresholds.size)

    @property
    def class_risks(self) -> np.ndarray:
        """Mean population class risks ``[R_0, R_1]`` of the fitted thresholds."""
        return self.risks.mean(axis=0)

    @property
    def worst_class_risks(self) -> np.ndarray:
        """Per-dataset worst-class risk, shape (datasets,)."""
        return self.risks.max(axis=1)

    @property
    def worst_class_risk(self) -> float:
        """Mean over datasets of the worst-class risk."""
        return float(self.worst_class_risks.mean())

    @property
    def worst_of_mean_class_risks(self) -> float:
        """``max(mean R_0, mean R_1)``: the worst class of the averaged class risks."""
        return float(self.class_risks.max())

    @property
    def average_risk(self) -> float:
        """Mean over datasets of the average risk under the mixture's (unpruned) priors."""
        p = np.array([self.mixture.prior0, self.mixture.prior1])
        return float((self.risks @ p).mean())

    @property
    def class_densities(self) -> np.ndarray:
        """Mean fraction of each class kept, ``[d_0, d_1]``."""
        return (self.kept / np.maximum(self.sizes, 1)).mean(axis=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (thresholds may be ``+-inf``; :func:`droprune._json.to_jsonable`
        writes them as the strings ``"inf"`` / ``"-inf"``)."""
        return {
            "procedure": self.procedure,
            "description": _PROCEDURE_HELP[self.procedure],
            "density": self.density,
            "n": self.n,
            "datasets": self.datasets,
            "seed": self.seed,
            "fit": self.fit,
            "class_densities": self.class_densities.tolist(),
            "class_risks": self.class_risks.tolist(),
            "worst_class_risk": self.worst_class_risk,
            "worst_of_mean_class_risks": self.worst_of_mean_class_risks,
            "worst_class_risk_std": float(self.worst_class_risks.std()),
            "average_risk": self.average_risk,
            "median_threshold": float(np.median(self.thresholds)),
            "thresholds": self.thresholds.tolist(),
        }


def _dataset_seeds(seed: int, datasets: int) -> list[tuple[np.random.SeedSequence, int]]:
    """Per dataset: the seed of its sample and the integer seed of its pruning."""
    out = []
    for child in np.random.SeedSequence(seed).spawn(datasets):
        sample_seq, prune_seq = child.spawn(2)
        out.append((sample_seq, int(prune_seq.generate_state(1)[0])))
    return out


def simulate_pruning(mixture: TwoGaussians | None = None,
                     procedures: Sequence[str] = PROCEDURES, *, density: float = 0.5,
                     datasets: int = 10, n: int = 400, seed: int = 0, fit: str = "erm",
                     drop_errors: Literal["sample", "population"] = "sample",
                     ) -> list[PruningSimulation]:
    """Prune ``datasets`` sampled datasets with each procedure, fit, and score the rule.

    Every procedure sees the same datasets (dataset ``j`` depends only on ``seed`` and ``j``),
    so the comparison is paired. For each dataset: draw ``n`` points
    (:func:`sample_mixture`), keep the indices of :func:`prune_sample`, fit the threshold on
    what is kept (``fit="erm"``: :func:`erm_threshold`; ``"plugin"``:
    :func:`plugin_threshold`) and record its population class risks under ``mixture``.
    Deterministic for a seed.

    Parameters
    ----------
    mixture
        The data distribution (default: the paper's toy setting).
    procedures
        Names from :data:`PROCEDURES`.
    density
        Fraction KEPT, in (0, 1].
    datasets, n
        Number of datasets (>= 1) and their size (>= 2).

    Returns
    -------
    list of PruningSimulation
        One per procedure, in the order given.

    Examples
    --------
    >>> sims = simulate_pruning(procedures=("full", "optimal"), datasets=3, n=100)
    >>> [s.procedure for s in sims], sims[1].kept.sum(axis=1).tolist()
    (['full', 'optimal'], [50, 50, 50])
    """
    mixture = TwoGaussians() if mixture is None else mixture
    _scalar_mixture(mixture)
    d = check_density(density, positive=True)
    datasets = check_number(datasets, "datasets", minimum=1, integer=True)
    n = check_number(n, "n", minimum=2, integer=True)
    if target_count(d, n) < 1:
        raise ValueError(f"density {d:g} keeps round({d:g} * {n}) = 0 of the n = {n} points: "
                         f"raise density or n")
    fitter = _fit(fit)
    procedures = tuple(procedures)
    for p in procedures:
        if p not in PROCEDURES:
            raise ValueError(f"unknown procedure {p!r}; valid: {', '.join(PROCEDURES)}")
    if drop_errors not in ("sample", "population"):
        raise ValueError(f"drop_errors must be 'sample' or 'population', got {drop_errors!r}")
    thr = np.empty((len(procedures), datasets))
    kept = np.empty((len(procedures), datasets, 2), dtype=np.int64)
    sizes = np.empty((datasets, 2), dtype=np.int64)
    for j, (sample_seq, prune_seed) in enumerate(_dataset_seeds(seed, datasets)):
        x, y = sample_mixture(mixture, n, sample_seq)
        sizes[j] = np.bincount(y, minlength=2)
        for i, proc in enumerate(procedures):
            idx = prune_sample(mixture, x, y, proc, d, seed=prune_seed, fit=fit,
                               drop_errors=drop_errors)
            thr[i, j] = fitter(x[idx], y[idx])
            kept[i, j] = np.bincount(y[idx], minlength=2)
    return [PruningSimulation(procedure=p, mixture=mixture, density=d, n=n, seed=int(seed),
                              fit=fit, thresholds=thr[i], risks=class_risks(mixture, thr[i]),
                              kept=kept[i], sizes=sizes.copy())
            for i, p in enumerate(procedures)]


@dataclass(frozen=True, eq=False)
class RiskRatioSweep:
    """Random mixtures and, for each, the ERM class-risk ratio and the optimal density ratio.

    ``log10_risk_ratio`` is ``log10(R_0(t*) / R_1(t*))`` (``+-inf`` where ``t*`` is a constant
    rule); ``log10_density_ratio`` is ``log10(d_0 / d_1)`` of :func:`optimal_density_ratio`.
    DRoP sets ``d_0 / d_1 = R_0 / R_1``, so points on the diagonal are where DRoP is optimal.
    At a finite ``t*`` the two are tied exactly by ``R_0/R_1 = (d_0/d_1) M(z_0) / M(-z_1)``
    with the Mills ratio ``M(z) = sf(z) / pdf(z)`` and ``z_k = (t* - mu_k) / sigma_k``
    (``docs/theory.md``).
    """

    mixture: TwoGaussians
    t_star: np.ndarray
    log10_risk_ratio: np.ndarray
    log10_density_ratio: np.ndarray
    attainable: np.ndarray
    seed: int

    @property
    def size(self) -> int:
        """Number of mixtures."""
        return int(self.t_star.size)

    @property
    def finite(self) -> np.ndarray:
        """Mask of the mixtures whose ERM threshold is finite (the risk ratio is then finite)."""
        return np.isfinite(self.log10_risk_ratio)

    def columns(self) -> dict[str, np.ndarray]:
        """Equal-length columns, e.g. for ``pandas.DataFrame(sweep.columns())``."""
        m = self.mixture
        return {
            "mu0": np.broadcast_to(m.mu0, self.t_star.shape).copy(),
            "mu1": np.broadcast_to(m.mu1, self.t_star.shape).copy(),
            "sigma0": np.asarray(m.sigma0), "sigma1": np.asarray(m.sigma1),
            "prior0": np.asarray(m.prior0), "t_star": self.t_star,
            "log10_risk_ratio": self.log10_risk_ratio,
            "log10_density_ratio": self.log10_density_ratio,
            "attainable": self.attainable,
        }

    def summary(self) -> dict[str, Any]:
        """Agreement of the two ratios over the mixtures with a finite ERM threshold.

        ``spearman``: rank correlation of the log ratios; ``same_side``: share where both
        ratios are on the same side of 1 (the harder class is the one to keep more of);
        ``median_abs_log10_gap``: median ``|log10(R_0/R_1) - log10(d_0/d_1)|``;
        ``drop_overshoots``: share where DRoP's ratio ``R_0/R_1`` is at least as far from 1 as
        the optimal one (DRoP favours the harder class more than the optimum). The
        ``_attainable`` variants use only the mixtures where the optimal ratio really leads
        ERM to ``t_hat``.
        """
        out: dict[str, Any] = {"instances": self.size,
                               "infinite_t_star": int((~self.finite).sum()),
                               "attainable": int(self.attainable.sum()), "seed": self.seed}
        from scipy.stats import spearmanr  # (scipy checked by _norm when the sweep was made)

        for suffix, mask in (("", self.finite), ("_attainable", self.finite & self.attainable)):
            a, b = self.log10_risk_ratio[mask], self.log10_density_ratio[mask]
            enough = a.size >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0
            out["spearman" + suffix] = float(spearmanr(a, b).statistic) if enough else None
            out["same_side" + suffix] = float(np.mean(np.sign(a) == np.sign(b))) if a.size else None
            out["median_abs_log10_gap" + suffix] = (float(np.median(np.abs(a - b)))
                                                    if a.size else None)
            out["drop_overshoots" + suffix] = (float(np.mean(np.abs(a) >= np.abs(b)))
                                               if a.size else None)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The summary plus every column as a list."""
        return {**self.summary(), "columns": {k: v.tolist() for k, v in self.columns().items()}}


def risk_ratio_sweep(instances: int = 1000, *, mu0: float = -1.0, mu1: float = 1.0,
                     sigma_range: tuple[float, float] = (1e-2, 1e2),
                     seed: int = 0) -> RiskRatioSweep:
    """The paper's sweep: random mixtures, ERM risk ratio vs optimal density ratio.

    For each instance two standard deviations are drawn log-uniformly from ``sigma_range`` and
    sorted (``sigma0 < sigma1``: class 1 is the wider one), ``prior0`` uniformly from the open
    interval (0, 1); the means are fixed at ``mu0``, ``mu1``. Vectorised; deterministic for a
    seed.

    Examples
    --------
    >>> sweep = risk_ratio_sweep(50, seed=1)
    >>> sweep.size, bool(np.all(sweep.mixture.sigma0 <= sweep.mixture.sigma1))
    (50, True)
    """
    instances = check_number(instances, "instances", minimum=1, integer=True)
    need = f"sigma_range must be (low, high) with 0 < low < high, got {sigma_range!r}"
    try:
        lo, hi = (check_number(v, "sigma_range", minimum=0, min_inclusive=False)
                  for v in sigma_range)
    except (TypeError, ValueError):
        raise ValueError(need) from None
    if not lo < hi:
        raise ValueError(need)
    rng = np.random.default_rng(seed)
    sig = np.sort(np.exp(rng.uniform(np.log(lo), np.log(hi), size=(instances, 2))), axis=1)
    prior0 = (rng.integers(0, 2 ** 53 - 1, size=instances) + 1.0) / 2.0 ** 53  # open (0, 1)
    m = TwoGaussians(mu0=mu0, mu1=mu1, sigma0=sig[:, 0], sigma1=sig[:, 1], prior0=prior0)
    ts = np.asarray(t_star(m))
    z0 = (ts - mu0) / m.sigma0
    z1 = (ts - mu1) / m.sigma1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (_norm().logsf(z0) - _norm().logcdf(z1)) / np.log(10.0)  # exact in the tails
    log_ratio = np.where(np.isposinf(ts), -np.inf, np.where(np.isneginf(ts), np.inf, log_ratio))
    return RiskRatioSweep(mixture=m, t_star=ts, log10_risk_ratio=log_ratio,
                          log10_density_ratio=np.log10(optimal_density_ratio(m)),
                          attainable=np.asarray(worst_class_ratio_attainable(m)), seed=int(seed))


# ---------------------------------------------------------------------------------------------
# Figures (droprune._plot: matplotlib imported here only; Agg canvas, no pyplot, no backend)
# ---------------------------------------------------------------------------------------------

def _figure(width: float, height: float) -> Any:
    return agg_figure(width, height, layout="constrained")


def _save(fig: Any, path: str | Path) -> Path:
    return save_png(fig, Path(path), dpi=120)


def plot_class_risks(mixture: TwoGaussians, path: str | Path) -> Path:
    """PNG of ``R_0``, ``R_1`` and the average risk against the threshold, with ``t*``, ``t_hat``.

    Returns the path written.
    """
    _scalar_mixture(mixture)
    m = mixture
    lo = min(m.mu0 - 3 * m.sigma0, m.mu1 - 3 * m.sigma1)
    hi = max(m.mu0 + 3 * m.sigma0, m.mu1 + 3 * m.sigma1)
    t = np.linspace(lo, hi, 400)
    r = class_risks(m, t)
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    ax.plot(t, r[:, 0], label="$R_0(t)$")
    ax.plot(t, r[:, 1], label="$R_1(t)$")
    ax.plot(t, average_risk(m, t), "k--", label="average risk")
    for value, name, style in ((t_star(m), "$t^*$", ":"), (t_hat(m), r"$\hat t$", "-.")):
        if np.isfinite(value):
            ax.axvline(value, color="gray", linestyle=style, label=f"{name} = {value:.3f}")
    ax.set_xlabel("threshold t (predict 1 iff x > t)")
    ax.set_ylabel("risk")
    ax.set_title(f"N({m.mu0:g}, {m.sigma0:g}²) vs N({m.mu1:g}, {m.sigma1:g}²), "
                 f"φ₀ = {m.prior0:g}")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_pruning(results: Sequence[PruningSimulation], path: str | Path) -> Path:
    """PNG with one panel per simulation: the kept points of its first dataset and the rules.

    Each panel shows histograms of the kept points of each class (dataset 0, regenerated from
    the simulation's seed), the fitted threshold of that dataset, ``t*`` and ``t_hat``, and
    the averaged class risks in the title.
    """
    if not results:
        raise ValueError("plot_pruning needs at least one simulation")
    fig = _figure(4.0 * len(results), 3.6)
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    for ax, res in zip(axes, results):
        m = res.mixture
        sample_seq, prune_seed = _dataset_seeds(res.seed, 1)[0]
        x, y = sample_mixture(m, res.n, sample_seq)
        idx = prune_sample(m, x, y, res.procedure, res.density, seed=prune_seed, fit=res.fit)
        bins = np.linspace(x.min(), x.max(), 40)
        for k, color in ((0, "tab:blue"), (1, "tab:orange")):
            ax.hist(x[idx][y[idx] == k], bins=bins, color=color, alpha=0.6,
                    label=f"class {k} kept")
        for value, name, style in ((res.thresholds[0], "fitted", "-"), (t_star(m), "$t^*$", ":"),
                                   (t_hat(m), r"$\hat t$", "-.")):
            if np.isfinite(value):
                ax.axvline(value, color="k", linestyle=style, label=f"{name} {value:.2f}")
        r0, r1 = res.class_risks
        ax.set_title(f"{res.procedure}: R₀={r0:.3f} R₁={r1:.3f} "
                     f"mean worst={res.worst_class_risk:.3f}", fontsize=9)
        ax.set_xlabel("x")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_risk_ratio_sweep(sweep: RiskRatioSweep, path: str | Path) -> Path:
    """PNG scatter (log-log) of the optimal density ratio against the ERM risk ratio.

    Mixtures whose ERM threshold is infinite (ratio 0 or inf) are left out; the diagonal is
    where DRoP's rule ``d_0 / d_1 = R_0 / R_1`` is exactly optimal.
    """
    ok = sweep.finite
    a, b, att = sweep.log10_risk_ratio[ok], sweep.log10_density_ratio[ok], sweep.attainable[ok]
    fig = _figure(5.0, 5.0)
    ax = fig.add_subplot()
    ax.scatter(10.0 ** a[att], 10.0 ** b[att], s=6, alpha=0.6, label="t̂ attainable")
    ax.scatter(10.0 ** a[~att], 10.0 ** b[~att], s=6, alpha=0.6, marker="x",
               label="t̂ not attainable")
    if a.size:
        lim = [10.0 ** min(a.min(), b.min()), 10.0 ** max(a.max(), b.max())]
        ax.plot(lim, lim, "k--", linewidth=1, label="d₀/d₁ = R₀/R₁ (DRoP)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("risk ratio $R_0(t^*)/R_1(t^*)$")
    ax.set_ylabel("optimal density ratio $d_0/d_1$")
    s = sweep.summary()
    rho = "n/a" if s["spearman"] is None else f"{s['spearman']:.3f}"
    ax.set_title(f"{ok.sum()} of {sweep.size} mixtures, Spearman {rho}", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)
