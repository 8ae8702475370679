"""model.name = "package.module:factory" in experiment configs: validated when the config is
built, used by the query and the final runs, identical to the registry model it builds."""

from __future__ import annotations

import pytest
import torch

from droprune.experiments import load_config, read_results, run_sweep
from droprune.experiments.pipeline import build_final_model
from droprune.models import seeded_model

from .test_final_model import TRAIN_SET

OWN = "tests.experiments.own_models:mnist1d_mlp"
TINY = ['data.options={"num_samples": 1200}', "train.epochs=2", "train.drop_epochs=[]",
        "query.seeds=1", "query.epochs_fraction=0.5", "seeds=0", "densities=0.5",
        "methods=Random+DRoP,EL2N,SSP+DRoP"]


def test_an_import_path_is_a_valid_model_name():
    cfg = load_config("mnist1d-cpu", [f"model.name={OWN}"])
    assert cfg.model.name == OWN and cfg.model_kwargs() == {}
    assert load_config("mnist1d-cpu", ["model.width=0.5"]).model_kwargs() == {"width": 0.5}


@pytest.mark.parametrize("overrides, match", [
    (["model.name=nope_pkg.nets:make"],
     "config: model.name: model 'nope_pkg.nets:make': cannot import module 'nope_pkg.nets'"),
    (["model.name=tests.experiments.own_models:missing"],
     "config: model.name: model .* has no attribute 'missing'"),
    (["model.name=tests.experiments.own_models:NOT_CALLABLE"],
     "config: model.name: model .* is a int, not a callable factory"),
    (["model.name=tests.experiments.own_models:no_seed"],
     "config: model.name: model factory 'tests.experiments.own_models:no_seed' must take the "
     "seed"),
    ([f"model.name={OWN}", "model.width=0.5"],
     "config: model.width: applies to registry models only"),
    ([f"model.name={OWN}", "model.pretrained=/w.pt"],
     "config: model.pretrained: applies to registry models only"),
])
def test_bad_own_models_are_refused_by_the_config(overrides, match):
    with pytest.raises(ValueError, match=match):
        load_config("mnist1d-cpu", overrides)


def test_final_model_of_a_factory_is_seeded_like_the_registry_model():
    own = build_final_model(load_config("mnist1d-cpu", [f"model.name={OWN}"]), TRAIN_SET, 5)
    reg = build_final_model(load_config("mnist1d-cpu", ["model.width=0.25"]), TRAIN_SET, 5)
    for (k, a), (_, b) in zip(own.state_dict().items(), reg.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="returned int, not a torch.nn.Module"):
        seeded_model(lambda seed: 1, 0)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DROPRUNE_CACHE", str(tmp_path / "cache"))


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")  # tiny classes starve at 0.5
def test_a_sweep_with_an_own_factory_equals_the_registry_model(tmp_path, cache):
    results = {}
    for name, extra in (("own", [f"model.name={OWN}"]), ("registry", ["model.width=0.25"])):
        cfg = load_config("mnist1d-cpu", TINY + extra)
        run_sweep(cfg, tmp_path / name, progress=False, log=lambda *a: None)
        frame = read_results(tmp_path / name).sort_values("method")
        results[name] = frame
    own, reg = results["own"], results["registry"]
    assert list(own["model"]) == [OWN] * 3 and list(reg["model"]) == ["mlp"] * 3
    for column in ("method", "accuracy", "worst_class_accuracy", "class_recall"):
        assert list(own[column]) == list(reg[column]), column
    sequential = load_config("mnist1d-cpu", TINY + [
        "model.name=tests.experiments.own_models:mnist1d_sequential"])
    run_sweep(sequential, tmp_path / "seq", progress=False, log=lambda *a: None)
    assert len(read_results(tmp_path / "seq")) == 3
