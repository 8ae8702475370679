"""run_query with the user's own model: a factory seed -> nn.Module, an import path, any data;
registry names unchanged; bad specs refused before any training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import droprune.scoring.query as query_module
from droprune.data.base import DatasetSplits
from droprune.models import build_model
from droprune.scoring import run_query

from .scoring_nets import NoLinear
from .test_query import CONFIG, splits

SCORERS = ["el2n", "grand", "ssp", "forgetting"]


def make_net(seed: int) -> nn.Module:
    """A factory: the same network as build_model("mlp", hidden=(8,)) on the test splits."""
    return build_model("mlp", num_classes=4, in_channels=1, input_size=(12,), hidden=(8,))


class Net(nn.Module):
    """A module class is not a factory: its constructor does not take the seed."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(12, 4)


def not_a_module(seed: int):
    return 3


def query(model, **kwargs):
    args = dict(config=CONFIG, progress=False, seeds=[0, 1], scorers=SCORERS)
    return run_query(splits(), model=model, **{**args, **kwargs})


def test_factory_equals_the_registry_name_and_records_its_name():
    by_name = query("mlp", model_kwargs={"hidden": (8,)})
    mine = query(make_net)
    by_path = query("tests.scoring.test_query_models:make_net")
    for name in SCORERS:
        np.testing.assert_array_equal(mine.scores[name], by_name.scores[name])
        np.testing.assert_array_equal(by_path.scores[name], by_name.scores[name])
    np.testing.assert_array_equal(mine.val_recall, by_name.val_recall)
    assert by_name.metadata["model"] == "mlp"
    assert mine.metadata["model"] == "tests.scoring.test_query_models:make_net"
    assert by_path.metadata["model"] == "tests.scoring.test_query_models:make_net"
    assert mine.metadata["model_kwargs"] == {} and mine.metadata["width"] == 1.0


def test_a_factory_model_depends_on_the_seed_only():
    seen = []

    def factory(seed):
        seen.append(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 4))

    torch.manual_seed(123)
    a = query(factory)
    torch.manual_seed(456)
    state = torch.random.get_rng_state()
    b = query(factory)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is untouched
    assert seen == [0, 1, 0, 1]
    for name in SCORERS:
        np.testing.assert_array_equal(a.scores[name], b.scores[name])
    assert a.metadata["model"].endswith(
        "test_query_models:test_a_factory_model_depends_on_the_seed_only.<locals>.factory")
    assert not np.array_equal(a.per_seed[0].scores["el2n"], a.per_seed[1].scores["el2n"])


def test_splits_of_tensor_datasets():
    sp = splits()
    mine = DatasetSplits(*(TensorDataset(d.inputs, torch.from_numpy(d.labels))
                           for d in (sp.train, sp.val, sp.test)))
    assert mine.train.in_memory
    a = run_query(mine, model=make_net, config=CONFIG, progress=False, seeds=[0],
                  scorers=["el2n"])
    b = run_query(sp, model=make_net, config=CONFIG, progress=False, seeds=[0],
                  scorers=["el2n"])
    np.testing.assert_array_equal(a.scores["el2n"], b.scores["el2n"])


@pytest.mark.parametrize("model, kwargs, match", [
    ("nope_pkg.mod:make", {}, r"cannot import module 'nope_pkg.mod' \(ModuleNotFoundError"),
    ("math:nope", {}, "module 'math' has no attribute 'nope'"),
    ("math:pi", {}, "model 'math:pi' is a float, not a callable factory"),
    ("mlpp", {}, "unknown model 'mlpp'; valid models: .*'package.module:factory'"),
    (nn.Linear(12, 4), {}, "not a built Linear: a fresh model is built for every seed"),
    (3, {}, "model must be a model name, 'package.module:factory' or a callable"),
    (make_net, {"model_kwargs": {"width": 2}}, r"model_kwargs \['width'\] apply to registry"),
    (not_a_module, {}, "factory 'tests.scoring.test_query_models:not_a_module' returned int, "
                       "not a torch.nn.Module"),
    (lambda: nn.Linear(12, 4), {}, "factory '.*<lambda>' must take the seed: factory"),
    (Net, {}, "factory 'tests.scoring.test_query_models:Net' must take the seed"),
    (lambda seed: NoLinear(4), {}, "NoLinear has no nn.Linear layer .*pass embed="),
    (lambda seed: nn.Linear(12, 3), {"scorers": ["el2n"]},
     r"cannot run on q-train samples|outputs shape"),
])
def test_bad_models_are_refused_before_training(model, kwargs, match, tmp_path, monkeypatch):
    def no_training(*args, **kw):
        raise AssertionError("trained despite a bad model")

    if "cannot run" not in match:  # (the model's shape is checked by train itself)
        monkeypatch.setattr(query_module, "train", no_training)
    with pytest.raises(ValueError, match=match):
        query(model, work_dir=tmp_path, **kwargs)
    assert not any(tmp_path.rglob("*.parquet")) and not any(tmp_path.rglob("*.pt"))


def test_model_name_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="use model="):
        old = run_query(splits(), model_name="mlp", model_kwargs={"hidden": (8,)},
                        config=CONFIG, progress=False, seeds=[0], scorers=["el2n"])
    assert old.metadata["model"] == "mlp"
    with pytest.raises(ValueError, match="give the model once"):
        run_query(splits(), model="mlp", model_name="mlp", config=CONFIG, seeds=[0],
                  scorers=[])
    with pytest.raises(ValueError, match="model is required"):
        run_query(splits(), config=CONFIG, seeds=[0], scorers=[])
