"""as_labelled: every kind of user data becomes a LabelledDataset (tensors in memory, other
datasets lazy), and the entry points (train, evaluate, predict_logits, DatasetSplits) take them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Subset, TensorDataset

from droprune.data import DatasetSplits, LabelledDataset, as_labelled, iter_batches
from droprune.training import TrainConfig, evaluate, predict_logits, train


def arrays(n=12, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 5, generator=g), torch.arange(n) % k


class Items(torch.utils.data.Dataset):
    """A map-style dataset of (x, y) items, counting reads; ``label`` maps i to the label."""

    def __init__(self, x, label):
        self.x, self.label, self.reads = x, label, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.reads += 1
        return self.x[i], self.label(i)


def test_labelled_dataset_is_returned_as_is():
    x, y = arrays()
    ds = LabelledDataset(x, y.numpy(), num_classes=3)
    assert as_labelled(ds) is ds and as_labelled(ds, num_classes=3) is ds
    with pytest.raises(ValueError, match="num_classes=4 but the dataset has 3 classes"):
        as_labelled(ds, num_classes=4)
    with pytest.raises(ValueError, match=r"use data.with_labels\(labels\)"):
        as_labelled(ds, labels=y)


@pytest.mark.parametrize("kind", ["tensor_dataset", "numpy", "torch_tuple", "labels_arg"])
def test_tensors_and_arrays_are_held_in_memory(kind):
    x, y = arrays()
    data = {"tensor_dataset": TensorDataset(x.double(), y),
            "numpy": (x.numpy(), y.numpy()),
            "torch_tuple": (x, y.float()),
            "labels_arg": x.numpy()}[kind]
    ds = as_labelled(data, labels=y.numpy() if kind == "labels_arg" else None, name="mine")
    assert ds.in_memory and ds.name == "mine" and ds.num_classes == 3
    assert ds.inputs.dtype == torch.float32 and torch.equal(ds.inputs, x)
    np.testing.assert_array_equal(ds.labels, y.numpy())
    assert ds.labels.dtype == np.int64


def test_uint8_images_stay_uint8_and_num_classes_is_kept():
    x = torch.randint(0, 256, (4, 3, 2, 2), dtype=torch.uint8)
    ds = as_labelled(TensorDataset(x, torch.tensor([0, 1, 0, 1])), num_classes=5)
    assert ds.inputs.dtype == torch.uint8 and ds.num_classes == 5


def test_subset_of_a_tensor_dataset_is_in_memory():
    x, y = arrays(12, k=4)
    part = Subset(Subset(TensorDataset(x, y), range(2, 12)), [5, 0, 3])
    ds = as_labelled(part)
    assert ds.in_memory and ds.num_classes == 4  # K from every label of the tensor dataset
    np.testing.assert_array_equal(ds.source_indices, [7, 2, 5])
    assert torch.equal(ds.inputs, x[[7, 2, 5]])
    np.testing.assert_array_equal(ds.labels, y[[7, 2, 5]].numpy())


def test_subset_of_a_labelled_dataset_is_its_subset():
    x, y = arrays(12)
    ds = LabelledDataset(x, y.numpy(), num_classes=3, name="own")
    part = as_labelled(Subset(ds, [4, 1]))
    assert part.in_memory and part.name == "own" and part.num_classes == 3
    np.testing.assert_array_equal(part.source_indices, [4, 1])
    assert torch.equal(part.inputs, x[[4, 1]])


def test_map_style_dataset_stays_lazy_and_labels_arg_skips_reading():
    x, y = arrays()
    src = Items(x, lambda i: int(y[i]))
    ds = as_labelled(src)
    assert not ds.in_memory and src.reads == len(x)  # labels read once
    np.testing.assert_array_equal(ds.labels, y.numpy())
    quiet = Items(x, lambda i: "unused")
    ds2 = as_labelled(quiet, labels=y)
    assert quiet.reads == 0 and not ds2.in_memory
    batch = next(iter_batches(ds2, 4))
    assert torch.equal(batch[0], x[:4])


@pytest.mark.parametrize("data, match", [
    (TensorDataset(torch.zeros(3, 2)), "the inputs come without labels; pass labels="),
    (Items(torch.zeros(3, 2), lambda i: "cat"), "item 0 has label 'cat', .*pass labels="),
    (Items(torch.zeros(3, 2), lambda i: torch.ones(2)), "item 0 has label .*pass labels="),
    ([torch.zeros(2), torch.zeros(2)], r"item 0 is not an \(input, label\) pair.*labels="),
    (np.zeros((3, 2)), "the inputs come without labels; pass labels="),
])
def test_unreadable_labels_say_how_to_give_them(data, match):
    with pytest.raises(ValueError, match=match):
        as_labelled(data)


def test_bad_data():
    x, y = arrays(6)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        as_labelled((x, y), num_classes=2)
    with pytest.raises(ValueError, match="must be >= 0"):
        as_labelled((x, y - 1))
    with pytest.raises(ValueError, match="labels has 5 entries but the dataset has 6 items"):
        as_labelled(x, labels=y[:5])
    with pytest.raises(ValueError, match="give the labels once"):
        as_labelled((x, y), labels=y)
    with pytest.raises(ValueError, match="give the labels once"):
        as_labelled(TensorDataset(x, y), labels=y)
    with pytest.raises(ValueError, match=r"one row per sample .*got shape \(6,\)"):
        as_labelled((np.zeros(6), y))
    with pytest.raises(ValueError, match=r"got shape \(6, 3\) \(one-hot or scores\? pass their "
                                         r"argmax\(1\)\)"):
        as_labelled(TensorDataset(x, torch.eye(3)[y]))
    with pytest.raises(ValueError, match="expected a LabelledDataset, a map-style torch"):
        as_labelled(3)


def net(k=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, k))


def test_train_on_a_tensor_dataset_equals_the_labelled_dataset():
    x, y = arrays(40)
    config = TrainConfig(epochs=2, batch_size=8)
    ref = train(net(), LabelledDataset(x, y.numpy(), num_classes=3), config, progress=False,
                val_set=LabelledDataset(x[:9], y[:9].numpy(), num_classes=3))
    mine = train(net(), TensorDataset(x, y), config, progress=False,
                 val_set=(x[:9].numpy(), y[:9].numpy()))
    for a, b in zip(ref.model.parameters(), mine.model.parameters()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(ref.best_val_class_recall, mine.best_val_class_recall)
    # lazy: the same numbers through the per-item path
    lazy = train(net(), Items(x, lambda i: int(y[i])), config, progress=False)
    for a, b in zip(ref.model.parameters(), lazy.model.parameters()):
        assert torch.equal(a, b)


def test_val_set_of_a_subset_of_classes_gets_the_training_classes():
    x, y = arrays(12)
    result = train(net(), (x, y), TrainConfig(epochs=1, batch_size=4), progress=False,
                   val_set=(x[:2], torch.tensor([0, 0])))
    assert len(result.best_val_class_recall) == 3


def test_train_errors_are_value_errors():
    x, y = arrays(12)
    config = TrainConfig(epochs=1)
    with pytest.raises(ValueError, match="pass labels="):
        train(net(), TensorDataset(x), config, progress=False)
    with pytest.raises(ValueError, match=r"outputs shape \(3,\) per sample but train_set has 5"):
        train(net(), (x, y + 2), config, progress=False)
    with pytest.raises(ValueError, match="must be >= 0"):
        train(net(), (x, y - 1), config, progress=False)


def test_evaluate_and_predict_take_any_data():
    x, y = arrays(12)
    model = net()
    ref = predict_logits(model, LabelledDataset(x, y.numpy(), num_classes=3), device="cpu")
    for data in (TensorDataset(x, y), (x.numpy(), y.numpy()), Items(x, lambda i: int(y[i]))):
        np.testing.assert_array_equal(predict_logits(model, data, device="cpu"), ref)
    report = evaluate(model, TensorDataset(x, y), device="cpu")
    assert report.accuracy == pytest.approx(np.mean(ref.argmax(1) == y.numpy()))


def test_dataset_splits_convert_their_members():
    x, y = arrays(12, k=4)
    splits = DatasetSplits(TensorDataset(x, y), (x[:3].numpy(), np.array([0, 1, 1])),
                           Items(x[:2], lambda i: 0))
    assert splits.train.in_memory and splits.val.in_memory and not splits.test.in_memory
    assert splits.val.num_classes == splits.test.num_classes == 4
    assert (splits.train.name, splits.val.name, splits.test.name) == ("train", "val", "test")
    assert (splits.train.split, splits.val.split, splits.test.split) == ("train", "val", "test")


class StopAfterFirst:
    def on_epoch_end(self, epoch, stats):
        raise KeyboardInterrupt("stop")


@pytest.mark.parametrize("lazy", [False, True])
def test_checkpoint_and_resume_with_own_model_and_data(tmp_path, lazy):
    x, y = arrays(24)
    data = Items(x, lambda i: int(y[i])) if lazy else TensorDataset(x, y)
    config = TrainConfig(epochs=3, batch_size=8)
    whole = train(net(), data, config, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(net(), data, config, progress=False, checkpoint_dir=tmp_path,
              callbacks=[StopAfterFirst()])
    resumed = train(net(), data, config, progress=False, checkpoint_dir=tmp_path)
    assert len(resumed.history) == 3
    for a, b in zip(whole.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)
