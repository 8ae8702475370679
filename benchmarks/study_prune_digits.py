"""Which default for ``droprune.prune``'s safeguard? A small study on scikit-learn's digits.

A logistic-regression query model is fit on 60% of digits (1797 images, 10 classes), its
predictions on a 20% validation split give the class recalls (about 36 validation images per
class), ``droprune.prune`` keeps a density of the training split with each rule, a new logistic
regression is fit on the kept samples, and its accuracy and worst-class accuracy are measured on
the remaining 20% (test). Means over 5 splits.

Rules: ``Random`` (no quotas), ``point`` (the paper's rule: error 1 - recall, no floor),
``beta`` (``error_estimate="beta"``: the Beta posterior mean of the error given the validation
counts), ``point+floor5`` (``min_per_class=5``).

Run: python benchmarks/study_prune_digits.py [--seeds 5]   (needs scikit-learn; ~1 minute)

Measured here (5 seeds): with a query model that is almost perfect on digits, the paper's rule
zeroes the classes with a validation recall of 1.0 (3 classes starved at every density, worst
class 0.0); beta and the floor keep every class but stay below Random on the worst class.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import droprune

RULES = {"Random": dict(method="Random"), "point": {}, "beta": dict(error_estimate="beta"),
         "point+floor5": dict(min_per_class=5)}


def main() -> None:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--densities", default="0.1,0.2,0.3,0.5")
    args = parser.parse_args()
    x, y = load_digits(return_X_y=True)
    x = x / 16
    rows: dict[tuple[float, str], list[tuple[float, float, int]]] = {}
    for seed in range(args.seeds):
        xa, xt, ya, yt = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
        xtr, xv, ytr, yv = train_test_split(xa, ya, test_size=0.25, stratify=ya,
                                            random_state=seed)
        val_pred = LogisticRegression(max_iter=300).fit(xtr, ytr).predict(xv)
        for density in (float(d) for d in args.densities.split(",")):
            for name, options in RULES.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", droprune.QuotaWarning)
                    if name == "Random":
                        result = droprune.prune(ytr, density, seed=seed, **options)
                    else:
                        result = droprune.prune(ytr, density, val_labels=yv, val_pred=val_pred,
                                                seed=seed, **options)
                final = LogisticRegression(max_iter=300).fit(xtr[result.kept], ytr[result.kept])
                report = droprune.robustness_report(yt, final.predict(xt), num_classes=10)
                rows.setdefault((density, name), []).append(
                    (report.accuracy, report.worst_class_accuracy, len(result.starved)))
    print(f"{'density':>7}  {'rule':<13} {'accuracy':>8} {'worst':>6} {'starved':>7}")
    for (density, name), values in sorted(rows.items()):
        a = np.array(values, dtype=float).mean(axis=0)
        print(f"{density:>7g}  {name:<13} {a[0]:>8.4f} {a[1]:>6.4f} {a[2]:>7.1f}")


if __name__ == "__main__":
    main()
