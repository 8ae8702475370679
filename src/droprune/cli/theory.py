"""``droprune theory``: the two-Gaussian model of the DRoP paper, its thresholds and simulations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

import numpy as np

from droprune._checks import check_int
from droprune._extras import require
from droprune.quotas import drop_densities
from droprune.theory import (
    FIT_METHODS,
    PROCEDURES,
    TwoGaussians,
    class_risks,
    optimal_class_densities,
    plot_class_risks,
    plot_pruning,
    plot_risk_ratio_sweep,
    risk_ratio_sweep,
    simulate_pruning,
    t_hat,
    t_star,
    worst_class_prior_ratio,
    worst_class_ratio_attainable,
)

from ._common import dump_json, format_table

#: The procedures of the pruning figure (the paper's three panels).
FIGURE_PROCEDURES = ("optimal", "prototype", "prototype_ratio")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory", help="the two-Gaussian model: optimal thresholds, class ratios, simulations",
        description="Class risks of the threshold rule 'predict 1 iff x > t' on the mixture "
                    "prior0 N(mu0, sigma0^2) + (1 - prior0) N(mu1, sigma1^2): the average-risk "
                    "minimiser t*, the worst-class minimiser t_hat, the worst-class-optimal "
                    "class ratio, finite-sample pruning simulations and the paper's random "
                    "sweep. Defaults: the paper's toy setting.",
        epilog="example: droprune theory --sigma0 0.5 --sigma1 1 --plot figures/")
    p.add_argument("--mu0", type=float, default=-1.0, help="mean of class 0 (default -1)")
    p.add_argument("--mu1", type=float, default=1.0,
                   help="mean of class 1, larger than --mu0 (default 1)")
    p.add_argument("--sigma0", type=float, default=0.5, help="std of class 0 (default 0.5)")
    p.add_argument("--sigma1", type=float, default=1.0, help="std of class 1 (default 1)")
    p.add_argument("--prior0", type=float, default=0.5,
                   help="share of class 0, in (0, 1) (default 0.5)")
    p.add_argument("--density", type=float, default=0.5,
                   help="fraction of each dataset KEPT, in (0, 1] (default 0.5)")
    p.add_argument("--datasets", type=int, default=10,
                   help="simulated datasets per procedure (default 10)")
    p.add_argument("--n", type=int, default=400, help="points per dataset (default 400)")
    p.add_argument("--seed", type=int, default=0, help="seed of simulations and sweep")
    p.add_argument("--fit", choices=tuple(FIT_METHODS), default="erm",
                   help="threshold fit on a (pruned) sample: empirical 0-1 risk minimiser "
                        "(erm, default) or plug-in Gaussian MLE (plugin)")
    p.add_argument("--drop-errors", choices=("sample", "population"), default="sample",
                   help="DRoP simulation: class errors of the full-sample fit measured on the "
                        "sample (default) or under the true mixture")
    p.add_argument("--sweep", type=int, default=1000,
                   help="random mixtures in the risk-ratio sweep (default 1000; 0 skips it)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="write class_risks.png, pruning.png and risk_ratio_sweep.png to DIR")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    require("theory", what="droprune theory")
    if args.plot is not None:
        require("report", "matplotlib", what="droprune theory --plot")
    check_int(args.sweep, "--sweep", requirement="an integer >= 0 (0 skips the sweep)")
    if args.plot is not None and args.plot.exists() and not args.plot.is_dir():
        raise ValueError(f"--plot {args.plot}: exists and is not a directory")
    mixture = TwoGaussians(mu0=args.mu0, mu1=args.mu1, sigma0=args.sigma0, sigma1=args.sigma1,
                           prior0=args.prior0)
    report = theory_report(mixture, density=args.density, datasets=args.datasets, n=args.n,
                           seed=args.seed, fit=args.fit, drop_errors=args.drop_errors,
                           sweep=args.sweep, plot_dir=args.plot)
    print(dump_json(report) if args.json else format_report(report))
    return 0


def theory_report(mixture: TwoGaussians, *, density: float, datasets: int, n: int, seed: int,
                  fit: str, drop_errors: Literal["sample", "population"], sweep: int,
                  plot_dir: Path | None = None) -> dict[str, Any]:
    """Everything ``droprune theory`` prints, as a JSON-ready dict (figures written if asked)."""
    sims = simulate_pruning(mixture, PROCEDURES, density=density, datasets=datasets, n=n,
                            seed=seed, fit=fit, drop_errors=drop_errors)
    ts, th = t_star(mixture), t_hat(mixture)
    sizes = sims[0].sizes[0]  # class counts of every simulated dataset
    drop_at_t_star = drop_densities(sizes, 1.0 - class_risks(mixture, ts), density)
    report: dict[str, Any] = {
        "mixture": mixture.to_dict(),
        "t_star": ts,
        "t_hat": th,
        "risks_at_t_star": class_risks(mixture, ts),
        "risks_at_t_hat": class_risks(mixture, th),
        "worst_class_prior_ratio": worst_class_prior_ratio(mixture),
        "worst_class_ratio_attainable": worst_class_ratio_attainable(mixture),
        "density": density,
        "optimal_class_densities": optimal_class_densities(mixture, density),
        "drop_densities_at_t_star": drop_at_t_star,
        "simulations": [s.to_dict() for s in sims],
        "sweep": None,
        "figures": [],
    }
    sw = risk_ratio_sweep(sweep, mu0=float(mixture.mu0), mu1=float(mixture.mu1),  # scalars here
                          seed=seed) if sweep else None
    if sw is not None:
        report["sweep"] = {**sw.summary(), "mu0": mixture.mu0, "mu1": mixture.mu1,
                           "sigma_range": [1e-2, 1e2]}
    if plot_dir is not None:
        figs = [plot_class_risks(mixture, plot_dir / "class_risks.png"),
                plot_pruning([s for s in sims if s.procedure in FIGURE_PROCEDURES],
                             plot_dir / "pruning.png")]
        if sw is not None:
            figs.append(plot_risk_ratio_sweep(sw, plot_dir / "risk_ratio_sweep.png"))
        report["figures"] = [str(f) for f in figs]
    return report


def _fmt(value: float) -> str:
    return f"{value:.4f}" if np.isfinite(value) else ("+inf" if value > 0 else "-inf")


def format_report(report: dict[str, Any]) -> str:
    """The human-readable tables of :func:`theory_report`."""
    m = report["mixture"]
    lines = [f"Two-Gaussian model: class 0 ~ N({m['mu0']:g}, {m['sigma0']:g}^2), "
             f"class 1 ~ N({m['mu1']:g}, {m['sigma1']:g}^2), prior0 = {m['prior0']:g}; "
             f"predict 1 iff x > t", ""]
    rows = []
    for name, key, risks in (("t* (min average risk)", "t_star", "risks_at_t_star"),
                             ("t_hat (min worst-class risk)", "t_hat", "risks_at_t_hat")):
        r0, r1 = report[risks]
        rows.append([name, _fmt(report[key]), float(r0), float(r1), float(max(r0, r1)),
                     float(m["prior0"] * r0 + (1 - m["prior0"]) * r1)])
    lines.append(format_table(["rule", "threshold", "R_0", "R_1", "worst", "average"], rows))
    d0, d1 = report["optimal_class_densities"]
    attain = "yes" if report["worst_class_ratio_attainable"] else \
        "NO: at that ratio ERM prefers a constant rule"
    lines += ["",
              f"worst-class-optimal class ratio phi_0/phi_1 = sigma0/sigma1 = "
              f"{report['worst_class_prior_ratio']:.4f} (ERM lands on t_hat: {attain})",
              f"optimal class densities at density {report['density']:g}: d_0 = {d0:.4f}, "
              f"d_1 = {d1:.4f}",
              "DRoP densities from the class risks at t*: d_0 = "
              f"{report['drop_densities_at_t_star'][0]:.4f}, "
              f"d_1 = {report['drop_densities_at_t_star'][1]:.4f}"]
    sims = report["simulations"]
    s0 = sims[0]
    lines += ["", f"Pruning simulations: {s0['datasets']} datasets of {s0['n']} points, "
                  f"density {s0['density']:g}, fit {s0['fit']}, seed {s0['seed']} "
                  f"(population risks of the fitted threshold, means over datasets)"]
    rows = [[s["procedure"], *s["class_densities"], *s["class_risks"],
             s["worst_of_mean_class_risks"], s["worst_class_risk"], s["average_risk"],
             _fmt(s["median_threshold"])] for s in sims]
    lines.append(format_table(["procedure", "d_0", "d_1", "R_0", "R_1", "max(R_0,R_1)",
                               "mean worst", "average", "median t"], rows))
    lines += [f"  {s['procedure']}: {s['description']}" for s in sims]
    sw = report["sweep"]
    if sw is not None:
        def num(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.3f}"
        lines += ["", f"Sweep: {sw['instances']} mixtures (mu = {sw['mu0']:g}, {sw['mu1']:g}; "
                      f"sigma0 < sigma1 log-uniform in [0.01, 100]; prior0 ~ U(0, 1)), "
                      f"R_0(t*)/R_1(t*) vs optimal d_0/d_1",
                  f"  finite t*: {sw['instances'] - sw['infinite_t_star']}; Spearman "
                  f"{num(sw['spearman'])}; same side of 1: {num(sw['same_side'])}; median "
                  f"|log10 gap| {num(sw['median_abs_log10_gap'])}; DRoP more extreme: "
                  f"{num(sw['drop_overshoots'])}",
                  f"  where t_hat is attainable ({sw['attainable']}): Spearman "
                  f"{num(sw['spearman_attainable'])}; same side of 1: "
                  f"{num(sw['same_side_attainable'])}; median |log10 gap| "
                  f"{num(sw['median_abs_log10_gap_attainable'])}; DRoP more extreme: "
                  f"{num(sw['drop_overshoots_attainable'])}"]
    if report["figures"]:
        lines += ["", "figures: " + ", ".join(report["figures"])]
    return "\n".join(lines)
