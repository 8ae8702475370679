"""TrainConfig: validation, the step schedule and the stretched schedule for pruned data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from droprune.training import TrainConfig


def test_defaults_are_the_papers():
    c = TrainConfig(epochs=10)
    assert (c.batch_size, c.lr, c.momentum, c.weight_decay, c.drop_factor) == \
        (128, 0.1, 0.9, 5e-4, 0.2)
    assert c.drop_epochs == () and not c.nesterov and not c.cdbw
    assert c.augment_pad == 0 and not c.augment_flip


def test_drop_epochs_list_becomes_tuple():
    c = TrainConfig(epochs=10, drop_epochs=[3, 6])
    assert c.drop_epochs == (3, 6)
    assert c.to_dict()["drop_epochs"] == [3, 6]
    hash(c)  # frozen and hashable


def test_lr_at_every_epoch():
    c = TrainConfig(epochs=10, lr=0.5, drop_epochs=(3, 6), drop_factor=0.1)
    expected = [0.5] * 3 + [0.05] * 3 + [0.005] * 4
    assert [c.lr_at(e) for e in range(10)] == pytest.approx(expected, rel=1e-12)
    assert TrainConfig(epochs=3).lr_at(2) == 0.1


@pytest.mark.parametrize("epochs,drops,density,new_epochs,new_drops", [
    (200, (60, 120, 160), 0.5, 300, (90, 180, 240)),      # int(0.75 * 200 / 0.5) = 300
    (200, (60, 120, 160), 0.1, 1100, (330, 660, 880)),    # 0.55 / 0.1 = 5.5
    (200, (60, 120, 160), 0.3, 433, (130, 260, 346)),     # 1.3 / 0.6 = 2.1666...
    (90, (30, 60), 0.7, 109, (36, 72)),                   # 1.7 / 1.4 = 1.2142857...
    (10, (), 1.0, 10, ()),
])
def test_stretched_schedule(epochs, drops, density, new_epochs, new_drops):
    c = TrainConfig(epochs=epochs, drop_epochs=drops, lr=0.05)
    s = c.stretched(density)
    assert s.epochs == new_epochs and s.drop_epochs == new_drops
    assert s.lr == 0.05 and s.batch_size == c.batch_size
    # the formula, computed independently with exact decimals
    factor = (0.5 + 0.5 * density) / density
    assert abs(s.epochs - epochs * factor) < 1


def test_stretched_is_exact_where_binary_floats_are_not():
    # (0.5 + 0.5 * 0.2) / 0.2 = 3 exactly, so 4 epochs become 12; in binary floats the
    # quotient is a hair below 12 and int() would give 11
    assert int((0.5 + 0.5 * 0.2) * 4 / 0.2) == 11
    assert TrainConfig(epochs=4, drop_epochs=(1, 3)).stretched(0.2).epochs == 12
    assert TrainConfig(epochs=4, drop_epochs=(1, 3)).stretched(0.2).drop_epochs == (3, 9)


@pytest.mark.parametrize("density", [0, 0.0, -0.1, 1.5, math.nan, None])
def test_stretched_rejects_bad_density(density):
    with pytest.raises(ValueError, match="density"):
        TrainConfig(epochs=10).stretched(density)


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), "epochs"),
    (dict(epochs=2.0), "epochs"),
    (dict(epochs=True), "epochs"),
    (dict(epochs=5, batch_size=0), "batch_size"),
    (dict(epochs=5, eval_batch_size=0), "eval_batch_size"),
    (dict(epochs=5, lr=0), "lr"),
    (dict(epochs=5, lr=-1.0), "lr"),
    (dict(epochs=5, lr=math.nan), "lr"),
    (dict(epochs=5, lr=math.inf), "lr"),
    (dict(epochs=5, momentum=1.0), "momentum"),
    (dict(epochs=5, weight_decay=-1e-4), "weight_decay"),
    (dict(epochs=5, drop_factor=0), "drop_factor"),
    (dict(epochs=5, drop_factor=1.5), "drop_factor"),
    (dict(epochs=5, drop_epochs=(0,)), "drop_epochs"),
    (dict(epochs=5, drop_epochs=(5,)), "drop_epochs"),
    (dict(epochs=5, drop_epochs=(3, 2)), "strictly increasing"),
    (dict(epochs=5, drop_epochs=(2, 2)), "strictly increasing"),
    (dict(epochs=5, drop_epochs=(1.5,)), "drop_epochs"),
    (dict(epochs=5, drop_epochs=(np.float64(2.0),)), "drop_epochs"),
    (dict(epochs=np.float64(3.0)), "epochs"),
    (dict(epochs=np.bool_(True)), "epochs"),
    (dict(epochs=5, lr=True), "lr"),
    (dict(epochs=5, lr="0.1"), "lr"),
    (dict(epochs=5, lr=np.float32("nan")), "lr"),
    (dict(epochs=5, momentum=np.float64(-0.1)), "momentum"),
    (dict(epochs=5, drop_epochs=3), "drop_epochs"),
    (dict(epochs=5, augment_pad=-1), "augment_pad"),
    (dict(epochs=5, num_workers=-1), "num_workers"),
    (dict(epochs=5, cdbw=1), "cdbw"),
    (dict(epochs=5, nesterov=True, momentum=0.0), "nesterov"),
])
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_messages_name_the_field_and_the_range():
    with pytest.raises(ValueError, match=r"^epochs must be an integer in \[1, 100000\], got 0$"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), got 1.0$"):
        TrainConfig(epochs=5, momentum=1.0)
    with pytest.raises(ValueError, match=r"^drop_factor must be in \(0, 1\], got 0$"):
        TrainConfig(epochs=5, drop_factor=0)
    with pytest.raises(ValueError, match=r"^drop_epochs must be integers in \[1, epochs=5\)"):
        TrainConfig(epochs=5, drop_epochs=(5,))


def test_numpy_numbers_are_accepted_and_stored_as_python_numbers():
    c = TrainConfig(epochs=np.int64(3), batch_size=np.int32(16), lr=np.float64(0.05),
                    momentum=np.float32(0.5), weight_decay=np.float64(0.0),
                    drop_epochs=np.array([1, 2]), drop_factor=np.float64(0.5),
                    augment_pad=np.int64(1), eval_batch_size=np.uint8(8),
                    num_workers=np.int16(0))
    assert c == TrainConfig(epochs=3, batch_size=16, lr=0.05, momentum=0.5, weight_decay=0.0,
                            drop_epochs=(1, 2), drop_factor=0.5, augment_pad=1,
                            eval_batch_size=8)
    for name, value in c.to_dict().items():
        if name != "drop_epochs":
            assert type(value) in (int, float, bool), name
    assert all(type(e) is int for e in c.drop_epochs)
    json.dumps(c.to_dict())  # plain values: JSON and checkpoint fingerprints work
    assert c.stretched(0.5).epochs == 4
    assert TrainConfig(epochs=3, lr=1).lr == 1.0 and type(TrainConfig(epochs=3, lr=1).lr) is float
