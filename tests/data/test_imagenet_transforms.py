"""ImageNet's transforms as a protocol choice (issue #21): droprune's centre crop (the default,
unchanged) or the reference code's ``Resize(256)`` then ``RandomResizedCrop(224)`` in every
split, drawn anew each pass and reproducible for a seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from droprune.data import load_imagenet
from droprune.data.base import PASS_STREAMS
from droprune.data.images import ImageFiles, decode_image, random_resized_crop
from droprune.experiments.config import load_config
from droprune.experiments.sweep import load_splits
from droprune.training import TrainConfig, train


def _stack(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def test_the_default_is_the_centre_crop_exactly(folder_tree):
    root = folder_tree(test_dir="val")
    train_set, val = load_imagenet(root, image_size=8, resize_size=12)
    assert train_set.inputs.crop == "center"
    assert train_set.inputs.fingerprint_key[1:] == (8, 12)  # the key of before the choice
    for ds in (train_set, val):
        want = np.stack([decode_image(p, resize_size=12, image_size=8).transpose(2, 0, 1)
                         for p in ds.sample_paths()])
        np.testing.assert_array_equal(_stack(ds).numpy(), want)
        # a pass changes nothing: the same object, every split
        assert ds.for_pass((3, 0, 1)) is ds and ds.subset([0, 1]).for_pass((1, 2, 3)) \
            .inputs.base is ds.inputs


def test_reference_crops_differ_between_passes_and_reproduce(folder_tree):
    root = folder_tree(test_dir="val")
    train_set, val = load_imagenet(root, image_size=8, resize_size=12, crop="random_resized")
    assert train_set.inputs.fingerprint_key != load_imagenet(root, image_size=8,
                                                             resize_size=12)[0].inputs \
        .fingerprint_key
    for ds in (train_set, val):  # every split, evaluation included
        a, b = _stack(ds.for_pass((0, 0, 0))), _stack(ds.for_pass((0, 0, 1)))
        assert a.shape == (len(ds), 3, 8, 8) and a.dtype == torch.uint8
        assert not torch.equal(a, b)
        assert torch.equal(a, _stack(ds.for_pass((0, 0, 0))))  # the same pass: the same crops
        assert not torch.equal(a, _stack(ds.for_pass((1, 0, 0))))  # another seed
    # a subset keeps each sample's crop of the pass (drawn from its index in the whole set)
    whole = _stack(train_set.for_pass((5, 1, 2)))
    sub = train_set.subset([4, 1]).for_pass((5, 1, 2))
    assert torch.equal(_stack(sub), whole[[4, 1]])


def test_random_resized_crop_is_torchvisions_algorithm():
    img = Image.fromarray(np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3) % 251)
    out = random_resized_crop(img, 6, np.random.default_rng(1))
    # the same draws by hand: share of the area, log-ratio, then top and left
    check = np.random.default_rng(1)
    target = 600 * check.uniform(0.08, 1.0)
    aspect = np.exp(check.uniform(np.log(3 / 4), np.log(4 / 3)))
    w, h = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
    assert 0 < w <= 30 and 0 < h <= 20  # the first try fits for this seed
    top, left = int(check.integers(0, 20 - h + 1)), int(check.integers(0, 30 - w + 1))
    want = img.resize((6, 6), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(want))


def test_random_resized_crop_falls_back_to_the_central_box():
    img = Image.new("RGB", (100, 2))  # no box of ratio 3/4..4/3 fits: the fallback
    img.putpixel((50, 1), (255, 0, 0))
    out = random_resized_crop(img, 4, np.random.default_rng(0), scale=(0.9, 1.0))
    # ratio 100/2 > 4/3: height 2, width round(2 * 4/3) = 3, centred at left (100 - 3) // 2
    want = img.resize((4, 4), Image.Resampling.BILINEAR, box=(48, 0, 51, 2))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(want))


def test_bad_crop_is_refused(folder_tree):
    root = folder_tree(test_dir="val")
    with pytest.raises(ValueError, match="crop must be one of"):
        load_imagenet(root, crop="random")
    with pytest.raises(ValueError, match="pass_key must be an integer >= 0"):
        ImageFiles(root, ["a.png"], crop="random_resized", pass_key=(-1,))


def test_the_protocol_choice_reaches_the_reader(folder_tree):
    root = folder_tree(test_dir="val")
    base = ["data.name=imagenet", f"data.root={root}",
            'data.options={"image_size": 8, "resize_size": 12}']
    assert load_config(None, base).choice("imagenet_transforms") == "center"
    assert load_splits(load_config(None, base)).train.inputs.crop == "center"
    ref = load_config(None, [*base, "protocol=reference"])
    assert ref.choice("imagenet_transforms") == "reference"
    splits = load_splits(ref)
    assert splits.train.inputs.crop == "random_resized"  # val and test: views of the held-out
    assert {s.inputs.base.crop for s in (splits.val, splits.test)} == {"random_resized"}
    alone = load_config(None, [*base, "protocol_options.imagenet_transforms=reference"])
    assert alone.source_options()["crop"] == "random_resized"
    centre = load_config(None, [*base, "protocol=reference",
                                "protocol_options.imagenet_transforms=center"])
    assert centre.source_options() == {"image_size": 8, "resize_size": 12}
    assert ref.final_fingerprint() != centre.final_fingerprint()
    with pytest.raises(ValueError, match="protocol_options.imagenet_transforms"):
        load_config(None, [*base[:2], 'data.options={"crop": "random_resized"}'])
    with pytest.raises(ValueError, match="imagenet_transforms: must be 'center' or "
                                         "'reference'"):
        load_config(None, [*base, "protocol_options.imagenet_transforms=random"])


def test_training_and_validation_read_a_new_pass_each_epoch(folder_tree):
    root = folder_tree(test_dir="val")
    train_set, val = load_imagenet(root, image_size=8, resize_size=12, crop="random_resized")
    seen: list[tuple] = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3 * 8 * 8, 3)

        def forward(self, x):
            seen.append((self.training, x.detach().clone()))
            return self.fc(x.flatten(1))

    def run():
        seen.clear()
        train(Spy(), train_set, TrainConfig(epochs=2, batch_size=16, drop_epochs=()),
              val_set=val, seed=4, progress=False)
        return list(seen[1:])  # the first: the trainer's check that the model fits

    first = run()
    assert [t for t, _ in first] == [True, False, True, False]  # train, validate, x 2 epochs
    train0, val0, train1, val1 = (x for _, x in first)
    assert not torch.equal(train0, train1) and not torch.equal(val0, val1)
    # the batches are the passes' crops (training in the epoch's sample order)
    val_pass = val.for_pass((4, PASS_STREAMS["val"], 1))
    assert torch.equal(val1, val.to_float(_stack(val_pass)))
    # the same seed reproduces every crop
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(first, run()))
