"""The npz cache (location, atomic write, unreadable files) and per-channel statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from droprune.data import channel_stats
from droprune.data.cache import cache_dir, cache_key, load_cached, save_cached


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("DROPRUNE_CACHE", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("DROPRUNE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "droprune"


def test_save_then_load_round_trip_leaves_no_temporary_file(tmp_path):
    arrays = {"x": np.arange(6, dtype=np.uint8).reshape(2, 3), "y": np.array([1, 2])}
    path = save_cached(tmp_path / "deep" / "a.npz", arrays)
    assert [p.name for p in path.parent.iterdir()] == ["a.npz"]
    back = load_cached(path, ["x", "y"])
    np.testing.assert_array_equal(back["x"], arrays["x"])
    assert load_cached(tmp_path / "missing.npz", ["x"]) is None


def test_unreadable_cache_warns_and_returns_none(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"\x00" * 10)
    with pytest.warns(UserWarning, match=f"{path}.*unreadable"):
        assert load_cached(path, ["x"]) is None
    save_cached(path, {"x": np.zeros(2)})
    with pytest.warns(UserWarning, match="missing arrays"):
        assert load_cached(path, ["x", "y"]) is None


def test_unwritable_cache_only_warns(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.warns(UserWarning, match="cache not written"):
        save_cached(blocker / "sub" / "a.npz", {"x": np.zeros(1)})


def test_cache_key_is_stable_and_sensitive():
    assert cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})
    assert len(cache_key([1, 2])) == 16


def test_channel_stats_uint8_matches_float_computation():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 3, 5, 4), dtype=np.uint8)
    mean, std = channel_stats(torch.from_numpy(x))
    ref = x.astype(np.float64) / 255
    np.testing.assert_allclose(mean, ref.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, ref.std(axis=(0, 2, 3)), rtol=1e-12)


def test_channel_stats_float_and_constant_channel():
    x = np.zeros((4, 2, 3), dtype=np.float32)
    x[:, 1] = np.arange(12).reshape(4, 3)
    mean, std = channel_stats(x)
    assert mean == (0.0, pytest.approx(5.5)) and std[0] == 1.0
    assert std[1] == pytest.approx(np.arange(12).std())
    with pytest.raises(ValueError, match=r"shape \(N, C, ...\)"):
        channel_stats(np.zeros(3))
