"""ResNet-50 state-dict compatibility with torchvision, and load_torchvision_weights.

torchvision cannot be imported here, so the expected keys and shapes are written down from the
architecture (torchvision ``resnet50``: 7x7 stem, 4 stages of (3, 4, 6, 3) bottlenecks of
expansion 4 with the stride on the 3x3 conv, a 1x1 conv + BN downsample on the first block of
each stage, ``fc`` 2048 -> 1000): 320 tensors including every BN's ``num_batches_tracked``.
"""

from __future__ import annotations

import pytest
import torch

from droprune.models import build_model, load_torchvision_weights


def _bn(prefix, c):
    return [(f"{prefix}.weight", (c,)), (f"{prefix}.bias", (c,)),
            (f"{prefix}.running_mean", (c,)), (f"{prefix}.running_var", (c,)),
            (f"{prefix}.num_batches_tracked", ())]


def torchvision_resnet50_keys(num_classes=1000):
    """(name, shape) of torchvision's resnet50 state dict, in its order."""
    keys = [("conv1.weight", (64, 3, 7, 7))] + _bn("bn1", 64)
    inplanes = 64
    for stage, (planes, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            keys += [(f"{p}.conv1.weight", (planes, inplanes, 1, 1))] + _bn(f"{p}.bn1", planes)
            keys += [(f"{p}.conv2.weight", (planes, planes, 3, 3))] + _bn(f"{p}.bn2", planes)
            keys += [(f"{p}.conv3.weight", (planes * 4, planes, 1, 1))]
            keys += _bn(f"{p}.bn3", planes * 4)
            if b == 0:
                keys += [(f"{p}.downsample.0.weight", (planes * 4, inplanes, 1, 1))]
                keys += _bn(f"{p}.downsample.1", planes * 4)
            inplanes = planes * 4
    keys += [("fc.weight", (num_classes, 2048)), ("fc.bias", (num_classes,))]
    return keys


EXPECTED = torchvision_resnet50_keys()


def test_expected_key_count():
    assert len(EXPECTED) == 320


def test_state_dict_names_shapes_and_order_match_torchvision():
    model = build_model("resnet50", num_classes=1000, in_channels=3, input_size=(224, 224))
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == EXPECTED
    assert model.classifier is model.fc
    # stride on the 3x3 conv of the first block of stages 2-4, downsample stride 2 too
    assert model.layer2[0].conv2.stride == (2, 2) and model.layer2[0].conv1.stride == (1, 1)
    assert model.layer2[0].downsample[0].stride == (2, 2)
    assert model.conv1.stride == (2, 2) and model.maxpool.stride == 2


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory):
    """A state-dict file written from the expected names/shapes alone (as torchvision would
    save it), with distinct random values."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for name, shape in EXPECTED:
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(7)
        else:
            state[name] = torch.randn(shape, generator=g)
    path = tmp_path_factory.mktemp("tv") / "resnet50.pth"
    torch.save(state, path)
    return path, state


def test_load_all_weights(torchvision_file):
    path, state = torchvision_file
    model = build_model("resnet50", num_classes=1000, in_channels=3, input_size=(224, 224))
    assert load_torchvision_weights(model, path) == []
    own = model.state_dict()
    for name, tensor in state.items():
        assert torch.equal(own[name], tensor), name


def test_other_num_classes_drops_fc(torchvision_file):
    path, state = torchvision_file
    torch.manual_seed(1)
    model = build_model("resnet50", num_classes=10, in_channels=3, input_size=(32, 32))
    fc_before = model.fc.weight.detach().clone()
    assert load_torchvision_weights(model, path) == ["fc.weight", "fc.bias"]
    assert torch.equal(model.fc.weight, fc_before)
    assert torch.equal(model.layer4[2].conv3.weight, state["layer4.2.conv3.weight"])
    model.eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_round_trip_own_state_dict(tmp_path):
    torch.manual_seed(2)
    src = build_model("resnet50", num_classes=5, in_channels=3, input_size=(64, 64), width=0.25)
    path = tmp_path / "w.pth"
    torch.save({f"module.{k}": v for k, v in src.state_dict().items()}, path)  # DDP prefix
    dst = build_model("resnet50", num_classes=5, in_channels=3, input_size=(64, 64), width=0.25)
    assert load_torchvision_weights(dst, path) == []
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), k


def test_strict_backbone_refuses_mismatch(torchvision_file, tmp_path):
    path, state = torchvision_file
    narrow = build_model("resnet50", num_classes=1000, in_channels=3, input_size=(224, 224),
                         width=0.5)
    with pytest.raises(ValueError, match="conv1.weight: shape"):
        load_torchvision_weights(narrow, path)
    partial = dict(state)
    del partial["layer3.1.bn2.running_var"]
    partial["extra.weight"] = torch.zeros(1)
    bad = tmp_path / "partial.pth"
    torch.save(partial, bad)
    model = build_model("resnet50", num_classes=1000, in_channels=3, input_size=(224, 224))
    with pytest.raises(ValueError, match=r"layer3\.1\.bn2\.running_var: missing.*extra\.weight"):
        load_torchvision_weights(model, bad)
    skipped = load_torchvision_weights(model, bad, strict_backbone=False)
    assert skipped == ["layer3.1.bn2.running_var"]
    assert torch.equal(model.layer3[1].bn2.weight, state["layer3.1.bn2.weight"])


def test_bad_files(tmp_path):
    model = build_model("resnet50", num_classes=10, in_channels=3, input_size=(32, 32),
                        width=0.0625)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_torchvision_weights(model, tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="junk.pth"):
        load_torchvision_weights(model, junk)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"epoch": 3, "state_dict": {}}, wrapped)
    with pytest.raises(ValueError, match="dict of tensors"):
        load_torchvision_weights(model, wrapped)
