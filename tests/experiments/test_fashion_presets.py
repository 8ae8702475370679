"""The Fashion-MNIST presets: their grid, and a tiny sweep on a subsample of the real files
(the Debian package) in which each DRoP method reads the recalls of its own query run."""

from __future__ import annotations

import numpy as np
import pytest

from droprune import drop_quotas
from droprune.data import load_dataset
from droprune.data.idx import DEBIAN_FASHION_MNIST
from droprune.experiments import load_config, read_results, run_sweep
from droprune.experiments.presets import CPU_METHODS, PAPER_DENSITIES, PRESETS
from droprune.scoring.store import load_query_result

from ..data.test_real_fashion_mnist import require_files

SMALL = ['data.options={"train_per_class": 12, "test_per_class": 6}', "model.width=0.125",
         "train.epochs=2", "train.drop_epochs=[]", "query.seeds=2", "query.epochs_fraction=0.5",
         "query.scorer_options.dynunc.window=2", "protocol_options.fixed_query_epochs=2",
         "seeds=0", "densities=0.5"]


@pytest.mark.parametrize("name, model", [("fashion-mnist-mlp", "mlp"),
                                         ("fashion-mnist-lenet5", "lenet5")])
def test_the_presets_grid(name, model):
    cfg = PRESETS[name]
    assert (cfg.data.name, cfg.model.name) == ("fashion-mnist", model)
    assert set(cfg.methods) == {"Random", "Random+DRoP", "EL2N", "EL2N+DRoP", "Forgetting",
                                "Forgetting+DRoP", "DynUnc", "DynUnc+DRoP", "Full"}
    assert cfg.methods == CPU_METHODS
    assert cfg.densities == PAPER_DENSITIES == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    assert cfg.seeds == (0, 1, 2) and cfg.protocol == "paper"
    assert cfg.train.augment_pad == 0 and not cfg.train.augment_flip
    assert load_config(name).final_fingerprint() == cfg.final_fingerprint()


def test_the_subsample_option_keeps_the_first_of_each_class():
    require_files(DEBIAN_FASHION_MNIST)
    full = load_dataset("fashion-mnist", val_split="first")
    small = load_dataset("fashion-mnist", train_per_class=3, test_per_class=4,
                         val_split="first")
    assert small.train.class_sizes.tolist() == [3] * 10
    assert (len(small.val), len(small.test)) == (20, 20)
    first = np.sort(np.concatenate([np.flatnonzero(full.train.labels == k)[:3]
                                    for k in range(10)]))
    assert np.array_equal(small.train.source_indices, first)
    with pytest.raises(ValueError, match="train_per_class must be an integer >= 1"):
        load_dataset("fashion-mnist", train_per_class=0)


def _mean_recall(folder):
    return np.mean([r.val_recall for p in sorted(folder.glob("seed*.parquet"))
                    for r in load_query_result(p).per_seed], axis=0)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::droprune.quotas.QuotaWarning")  # 12 samples per class
def test_a_tiny_real_sweep_reads_each_methods_own_recalls(tmp_path):
    require_files(DEBIAN_FASHION_MNIST)
    cfg = load_config("fashion-mnist-mlp", SMALL + [
        "methods=Full,Random+DRoP,EL2N+DRoP,Forgetting+DRoP,DynUnc"])
    summary = run_sweep(cfg, tmp_path, progress=False, log=lambda *_: None)
    assert len(summary.completed) == 5
    df = read_results(tmp_path).set_index("method")
    assert df.loc["Full", "kept"] == 120 and (df.drop("Full")["kept"] == 60).all()
    query = tmp_path / "query" / "seed-0"
    assert sorted(p.name for p in query.iterdir()) == ["fixed", "long", "short"]
    for method, run in (("Random+DRoP", "fixed"), ("EL2N+DRoP", "short"),
                        ("Forgetting+DRoP", "long")):
        recall = _mean_recall(query / run)
        np.testing.assert_allclose(df.loc[method, "val_recall"], recall)
        np.testing.assert_array_equal(df.loc[method, "class_counts"],
                                      drop_quotas([12] * 10, recall, 0.5))
