"""droprune.compare: the cross-fitted comparison of pruning rules, its measurement, the
recommendation criterion, resume, proxy failures and bad inputs; scikit-learn and torch proxies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import droprune
from droprune.comparison import (
    DEFAULT_CANDIDATES,
    Candidate,
    _interval,
    _measure,
    _recommend,
    compare,
)
from droprune.splits import stratified_split

# a long-tailed training set (200/100/20) and a balanced validation split (10 per class)
LABELS = np.repeat([0, 1, 2], [200, 100, 20])
Y_VAL = np.repeat([0, 1, 2], 10)
PRED = Y_VAL.copy()
PRED[[0, 10, 11, 20, 21, 22, 23]] = [1, 0, 0, 0, 1, 0, 1]  # recalls 0.9 / 0.8 / 0.6


def oracle(correct: set[int]):
    """A proxy predicting the true class exactly on the validation samples in ``correct`` (and
    class (y + 1) % 3 elsewhere), recording what it was asked to train on."""
    calls = []

    def fit_predict(kept, seed):
        calls.append((np.asarray(kept).copy(), seed))
        pred = (Y_VAL + 1) % 3
        idx = sorted(correct)
        pred[idx] = Y_VAL[idx]
        return pred

    fit_predict.calls = calls
    return fit_predict


def test_measure_is_worst_class_recall_and_sample_accuracy():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    worst, avg = _measure(pred, y, np.arange(8), 3)
    assert (worst, avg) == (0.5, 6 / 8)
    worst, avg = _measure(pred, y, np.array([0, 1, 6]), 3)  # class 1 absent from the part
    assert (worst, avg) == (1.0, 1.0)


def test_interval_is_a_t_interval_of_the_mean():
    mean, lo, hi = _interval(np.array([0.5, 0.6, 0.7]))
    assert mean == pytest.approx(0.6)
    assert hi - mean == pytest.approx(4.303 * 0.1 / math.sqrt(3))
    assert _interval(np.array([0.5]))[0] == 0.5
    assert all(math.isnan(v) for v in _interval(np.array([0.5]))[1:])  # no interval from one


def test_every_measurement_uses_the_other_half_only():
    """Cross-fitting: with the proxy right exactly on half A of seed 0, the fold that measures
    on A sees 100% and the fold that measures on B sees 0%."""
    half_a, half_b = stratified_split(Y_VAL, 0.5, seed=0)
    proxy = oracle(set(half_a.tolist()))
    res = compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=proxy,
                  candidates=["Random+Balanced"], seeds=[0])
    ev = res.evaluations
    assert ev["fold"].tolist() == [0, 1]
    assert ev["worst"].tolist() == [0.0, 1.0] and ev["avg"].tolist() == [0.0, 1.0]
    assert res.table.loc[0, "worst_mean"] == 0.5  # the cross-fitted estimate: their mean
    assert [s for _, s in proxy.calls] == [0, 0]
    assert all(k.size == 160 for k, _ in proxy.calls)


def test_quotas_come_from_the_quota_half_only():
    """The kept set of fold 0 is DRoP's on half A's predictions, of fold 1 on half B's."""
    proxy = oracle(set())
    compare(LABELS, 0.3, val_labels=Y_VAL, val_pred=PRED, fit_predict=proxy,
            candidates=[Candidate("paper", "Random+DRoP", {"min_density": 0})], seeds=[3])
    import warnings

    warnings.simplefilter("ignore", droprune.QuotaWarning)
    for (kept, seed), (quota_half, _) in zip(proxy.calls, [stratified_split(Y_VAL, 0.5, 3),
                                                          stratified_split(Y_VAL, 0.5, 3)[::-1]]):
        expected = droprune.prune(LABELS, 0.3, val_labels=Y_VAL[quota_half],
                                  val_pred=PRED[quota_half], min_density=0, seed=3).kept
        np.testing.assert_array_equal(kept, expected)


def test_defaults_one_training_per_candidate_seed_and_fold():
    proxy = oracle(set(range(30)))
    res = compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=proxy,
                  seeds=[0, 1])
    assert len(proxy.calls) == len(DEFAULT_CANDIDATES) * 2 * 2
    assert res.table["candidate"].tolist() == [c.name for c in DEFAULT_CANDIDATES]
    # a perfect proxy: every rule ties at 100%: the simplest (listed first) is recommended
    assert res.recommended == "Random stratified"
    assert res.table["recommended"].sum() == 1
    assert res.result.method == "Random+Proportional" and res.result.kept.size == 160
    assert "simpler" not in res.reason  # it is the best itself (first of equals)
    assert math.isnan(res.table.loc[0, "worst_diff"])  # the baseline against itself
    assert (res.table.loc[1:, "worst_diff"] == 0).all()


def _frame(worst, avg, errors=None):
    n = len(worst)
    return pd.DataFrame({"candidate": [f"c{i}" for i in range(n)], "worst_mean": worst,
                         "avg_mean": avg, "error": errors or [""] * n,
                         "eligible": False})


def test_recommendation_criterion():
    # c2 has the best worst class but too low an average accuracy: c1 wins
    pick, why = _recommend(_frame([0.50, 0.60, 0.70], [0.80, 0.80, 0.70]), 0.02, 0.01)
    assert pick == 1 and "within 2 points" in why
    # within the tolerance: c2's worst class wins
    assert _recommend(_frame([0.50, 0.60, 0.70], [0.80, 0.80, 0.79]), 0.02, 0.01)[0] == 2
    # c0 within the tie of the best (c2): the simpler c0 is recommended, and it says why
    pick, why = _recommend(_frame([0.695, 0.60, 0.70], [0.80, 0.80, 0.80]), 0.02, 0.01)
    assert pick == 0 and "treated as noise" in why and "c2" in why
    # a failed candidate is never recommended
    assert _recommend(_frame([0.9, 0.5], [0.9, 0.9], ["boom", ""]), 0.02, 0.01)[0] == 1
    with pytest.raises(ValueError, match="failed on every candidate"):
        _recommend(_frame([0.9], [0.9], ["boom"]), 0.02, 0.01)


def test_resume_from_work_dir_trains_nothing_twice(tmp_path):
    proxy = oracle(set(range(0, 30, 2)))
    first = compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=proxy,
                    seeds=[0, 1], work_dir=tmp_path)
    assert len(list((tmp_path / "evaluations").glob("*.json"))) == len(proxy.calls) == 28

    def refuse(kept, seed):
        raise AssertionError("retrained a finished evaluation")

    again = compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=refuse,
                    seeds=[0, 1], work_dir=tmp_path)
    pd.testing.assert_frame_equal(first.table, again.table)
    more = oracle(set(range(0, 30, 2)))  # one more seed: only its 14 trainings run
    compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=more, seeds=[0, 1, 2],
            work_dir=tmp_path)
    assert len(more.calls) == 14 and {s for _, s in more.calls} == {2}
    other = oracle(set())  # another proxy key: nothing reused
    compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=other, seeds=[0],
            work_dir=tmp_path, proxy_key="v2", candidates=["Random"])
    assert len(other.calls) == 2


def test_a_failing_proxy_is_reported_for_its_candidate_and_the_rest_go_on():
    def fragile(kept, seed):
        counts = np.bincount(LABELS[kept], minlength=3)
        if counts[2] == 20:  # only the rules that keep the whole tail class
            raise RuntimeError("out of memory")
        return Y_VAL.copy()

    res = compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=fragile,
                  candidates=["Random+Proportional", "Random+Balanced"], seeds=[0])
    t = res.table.set_index("candidate")
    assert t.loc["Random+Balanced", "error"] == "RuntimeError: out of memory"
    assert t.loc["Random+Proportional", "error"] == ""
    assert res.recommended == "Random+Proportional"
    assert "failed: RuntimeError" in res.summary()


@pytest.mark.parametrize("kwargs, message", [
    (dict(val_labels=np.repeat([0, 1, 2], [10, 10, 1]),
          val_pred=np.repeat([0, 1, 2], [10, 10, 1])), "at least 2 validation samples"),
    (dict(candidates=["Random+Cube"]), "candidate 'Random\\+Cube'.*unknown quota rule"),
    (dict(candidates=["EL2N+DRoP"]), "ranks by scores: pass scores="),
    (dict(candidates=[Candidate("x", "Random+DRoP", {"floor": 1})]), "unknown option"),
    (dict(candidates=["Random", "Random"]), "repeated names"),
    (dict(candidates=[]), "candidates is empty"),
    (dict(candidates=["Full"]), "nothing to prune"),
    (dict(tolerance=1.5), "tolerance"),
    (dict(tie=-0.1), "tie"),
    (dict(seeds=[0, 0]), "distinct"),
    (dict(fit_predict=None), "give a proxy"),
    (dict(estimator=object()), "one proxy"),
    (dict(density=0.0), "nothing to compare"),
    (dict(candidates=[Candidate("x", "Random+DRoP", {"min_density": 0.9})]), "min_density"),
])
def test_bad_input_fails_before_any_training(kwargs, message):
    calls = []
    args = dict(val_labels=Y_VAL, val_pred=PRED, density=0.5,
                fit_predict=lambda kept, seed: calls.append(1) or Y_VAL)
    args.update(kwargs)
    density = args.pop("density")
    with pytest.raises(ValueError, match=message):
        compare(LABELS, density, **args)
    assert calls == []


def test_a_proxy_of_the_wrong_shape_stops_with_a_clear_error():
    with pytest.raises(ValueError, match="returned shape \\(29,\\).*shape \\(30,\\)"):
        compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED,
                fit_predict=lambda kept, seed: Y_VAL[:-1], seeds=[0])


def test_sklearn_estimator_on_long_tailed_digits():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    query = LogisticRegression(max_iter=300).fit(x_tr, y_tr)
    res = compare(y_tr, 0.3, val_labels=y_val, val_pred=query.predict(x_val),
                  estimator=LogisticRegression(max_iter=300), X=x_tr, X_val=x_val,
                  seeds=[0, 1], candidates=["Random", "Random+Balanced",
                                            Candidate("DRoP", "Random+DRoP")])
    t = res.table
    assert t["seeds"].tolist() == [2, 2, 2] and (t["error"] == "").all()
    assert ((t["worst_mean"] > 0.5) & (t["avg_mean"] > 0.85)).all()
    assert (t["worst_lo"] <= t["worst_mean"]).all() and (t["worst_mean"] <= t["worst_hi"]).all()
    assert res.result.kept.size == round(0.3 * y_tr.size)
    assert res.recommended in t["candidate"].tolist()


def test_torch_proxy_with_a_tensor_dataset(tmp_path):
    import torch

    from droprune.training import TrainConfig
    from droprune.training.proxy import torch_proxy

    gen = torch.Generator().manual_seed(0)
    y = torch.from_numpy(LABELS)
    x = (y.float()[:, None, None] + 0.3 * torch.randn(LABELS.size, 1, 4, generator=gen))
    y_val = torch.from_numpy(Y_VAL)
    x_val = (y_val.float()[:, None, None] + 0.3 * torch.randn(30, 1, 4, generator=gen))
    proxy = torch_proxy("mlp", torch.utils.data.TensorDataset(x, y),
                        torch.utils.data.TensorDataset(x_val, y_val),
                        TrainConfig(epochs=3, lr=0.05, batch_size=32),
                        model_kwargs={"hidden": (16,)})
    res = compare(LABELS, 0.5, val_labels=Y_VAL, val_pred=PRED, fit_predict=proxy,
                  candidates=["Random", "Random+Balanced"], seeds=[0], work_dir=tmp_path)
    assert (res.table["error"] == "").all() and res.table["avg_mean"].notna().all()
    out = res.plot(tmp_path / "compare.png")
    assert out.stat().st_size > 1000
