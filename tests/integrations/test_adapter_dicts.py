"""as_labelled takes datasets of dict items (Hugging Face ``datasets``) with the keys named, and
refuses them at wrap time, in one line, without; recorder state loaded before on_train_begin is
kept and applied then; with_indices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune.data import as_labelled
from droprune.integrations import with_indices
from droprune.scoring import make_recorders
from droprune.training import TrainConfig, train


def dict_items(n: int = 12) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [{"pixel_values": torch.rand(1, 4, 4, generator=g), "label": i % 3}
            for i in range(n)]


def test_dict_items_with_the_keys_named_train():
    ds = as_labelled(dict_items(), input_key="pixel_values", label_key="label")
    assert len(ds) == 12 and ds.num_classes == 3 and ds[4][0].shape == (1, 4, 4)
    assert ds[4][1] == 1
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    assert train(net, ds, TrainConfig(epochs=1, batch_size=4), progress=False).model is net


@pytest.mark.parametrize("kwargs, message", [
    ({}, "custom: items are dicts with keys ['pixel_values', 'label']; name the input and "
         "label keys, e.g. as_labelled(data, input_key='pixel_values', label_key='label')"),
    ({"input_key": "image", "label_key": "label"},
     "custom: input_key='image' is not a key of the items; they have ['pixel_values', 'label']"),
    ({"input_key": "pixel_values", "label_key": "labels"},
     "custom: label_key='labels' is not a key of the items; they have ['pixel_values', "
     "'label']"),
])
def test_dict_items_without_the_right_keys_are_refused_at_wrap_time(kwargs, message):
    with pytest.raises(ValueError) as err:
        as_labelled(dict_items(), **kwargs)
    assert str(err.value) == message


def test_train_on_dict_items_fails_at_wrap_time_not_with_a_key_error():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    with pytest.raises(ValueError, match="items are dicts with keys"):
        train(net, dict_items(), TrainConfig(epochs=1), progress=False)


def test_keys_for_data_without_dict_items_are_refused():
    x, y = torch.randn(6, 2), torch.arange(6) % 2
    with pytest.raises(ValueError, match="input_key/label_key are for datasets of dict items"):
        as_labelled(torch.utils.data.TensorDataset(x, y), input_key="x")
    with pytest.raises(ValueError, match="input_key/label_key are for datasets of dict items"):
        as_labelled([(x[i], y[i]) for i in range(6)], input_key="x", label_key="y")


def test_labels_given_with_only_the_input_key():
    ds = as_labelled(dict_items(), input_key="pixel_values", labels=np.arange(12) % 4)
    assert ds.num_classes == 4 and ds[5][1] == 1


def test_a_hugging_face_dataset():
    datasets = pytest.importorskip("datasets", reason="needs datasets: pip install "
                                                      "\"droprune[huggingface]\"")
    features = datasets.Features({
        "pixel_values": datasets.Array3D((1, 4, 4), "float32"),
        "label": datasets.ClassLabel(names=["a", "b", "c"])})
    hf = datasets.Dataset.from_list([{k: np.asarray(v) if k == "pixel_values" else v
                                      for k, v in item.items()} for item in dict_items()],
                                    features=features)
    ds = as_labelled(hf.with_format("torch"), input_key="pixel_values", label_key="label")
    assert ds.num_classes == 3 and ds.class_names == ("a", "b", "c")
    np.testing.assert_array_equal(ds.labels, np.arange(12) % 3)
    assert ds[0][0].shape == (1, 4, 4)
    with pytest.raises(ValueError, match="items are dicts with keys"):
        as_labelled(hf)


def test_with_indices():
    pairs = [(torch.zeros(2), 1), (torch.ones(2), 0)]
    assert with_indices(pairs)[1][1:] == (0, 1)
    assert with_indices(dict_items())[3]["index"] == 3
    assert with_indices(["a", "b"])[1] == ("b", 1)
    with pytest.raises(ValueError, match="already have a key 'label'"):
        with_indices(dict_items(), key="label")[0]


def test_recorder_state_loaded_before_on_train_begin_is_applied_then():
    names = ["forgetting", "dynunc", "el2n_trace", "aum"]
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 3, generator=g), torch.arange(8) % 3) for _ in range(3)]

    def feed(recs, epochs):
        for e in epochs:
            for r in recs:
                r.on_batch(e, torch.arange(8), *batches[e])
                r.on_epoch_end(e)

    whole = make_recorders(names)
    for r in whole:
        r.on_train_begin(8, 3, 3, "cpu")
    feed(whole, range(3))
    first = make_recorders(names)
    for r in first:
        r.on_train_begin(8, 3, 3, "cpu")
    feed(first, range(1))
    resumed = make_recorders(names)
    for r, old in zip(resumed, first):
        r.load_state_dict(old.state_dict())  # before on_train_begin: kept ...
        assert r.state_dict().keys() == old.state_dict().keys()
        r.on_train_begin(8, 3, 3, "cpu")  # ... and applied here
        assert r.epochs_recorded == 1
    feed(resumed, range(1, 3))
    for r, w in zip(resumed, whole):
        np.testing.assert_array_equal(r.scores(), w.scores())


@pytest.mark.parametrize("module, framework, extra", [
    ("lightning", "lightning", "lightning"),
    ("huggingface", "transformers", "huggingface"),
])
def test_a_missing_framework_is_one_import_error_naming_the_install(monkeypatch, module,
                                                                    framework, extra):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, framework, None)
    monkeypatch.delitem(sys.modules, f"droprune.integrations.{module}", raising=False)
    with pytest.raises(ImportError) as err:
        importlib.import_module(f"droprune.integrations.{module}")
    assert str(err.value) == (f"droprune.integrations.{module} needs {framework}, which is not "
                              f"installed: pip install \"droprune[{extra}]\"")
