"""A full disk inside ``torch.save`` (a checkpoint, a query model): one line naming the file and
the fix, exit code 2 in the command, the temporary file removed, the previous complete file
kept, and the same command, run again once there is room, finishes as a clean run does.

The disk is filled by a ``torch.save`` whose file refuses bytes past a point with
``OSError(ENOSPC)``, as a full file system does; ``torch.save`` then raises a ``RuntimeError``
("unexpected pos ...") whose context is that ``OSError``.
"""

from __future__ import annotations

import errno
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from droprune.training.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402

from .test_cli_prune import image_args, photos, run  # noqa: E402,F401 (photos is a fixture)


class _FullDisk(io.RawIOBase):
    """A file that takes ``room`` bytes, then refuses the rest as a full disk does."""

    def __init__(self, fh, room: int) -> None:
        self.fh, self.room = fh, room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.fh.write(data)


def fill_disk_at(monkeypatch, call: int, room: int = 100) -> list[int]:
    """Make the ``call``-th ``torch.save`` (1-based) hit a full disk; returns the call count."""
    real, calls = torch.save, [0]

    def save(obj, f, *args, **kwargs):
        calls[0] += 1
        return real(obj, _FullDisk(f, room) if calls[0] == call else f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    return calls


def temporaries(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def test_torch_save_on_a_full_disk_is_an_os_error_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "run" / "checkpoint.pt"
    save_checkpoint(path, {"format": 1, "epoch": 1})
    before = path.read_bytes()
    # what torch.save itself raises: a RuntimeError, the OSError only as its context
    with pytest.raises(RuntimeError, match="unexpected pos") as raw:
        torch.save({"w": torch.zeros(1000)}, _FullDisk(io.BytesIO(), 100))
    assert isinstance(raw.value.__context__, OSError)
    fill_disk_at(monkeypatch, 1)
    with pytest.raises(OSError) as info:
        save_checkpoint(path, {"format": 1, "epoch": 2, "w": torch.zeros(1000)})
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert "free space there, or write to another folder" in str(info.value)
    assert path.read_bytes() == before and load_checkpoint(path)["epoch"] == 1
    assert temporaries(tmp_path) == []


def test_a_quota_exceeded_is_reported_as_well(tmp_path):
    from droprune._io import atomic_write

    def over_quota(fh):
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError:
            raise RuntimeError("the writer's own error") from None  # context kept

    with pytest.raises(OSError) as info:
        atomic_write(tmp_path / "x.bin", over_quota)
    assert info.value.errno == errno.EDQUOT and "write to another folder" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_error_without_an_os_error_behind_it_is_raised_as_it_is(tmp_path):
    from droprune._io import atomic_write

    def bad(fh):
        raise RuntimeError("not a write error")

    with pytest.raises(RuntimeError, match="not a write error"):
        atomic_write(tmp_path / "x.bin", bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::droprune.QuotaWarning")
def test_prune_on_a_full_disk_exits_2_and_the_rerun_resumes(photos, tmp_path, monkeypatch,
                                                            capsys):
    clean = tmp_path / "clean"
    assert run(*image_args(photos, clean)) == 0
    out = tmp_path / "out"
    seed_dir = out / "query" / "seed-0" / "fixed" / "seed800"
    calls = fill_disk_at(monkeypatch, 2)  # the checkpoint of the 2nd (last) query epoch
    capsys.readouterr()
    assert run(*image_args(photos, out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert err.splitlines()[-1] == (f"droprune prune: error: no space left on the device of "
                   f"{seed_dir / 'checkpoint.pt'}: free space there (or give another folder) "
                   f"and run the same command again; finished work is kept")
    assert calls[0] == 2
    # the first epoch's checkpoint is kept whole; nothing half-written, no kept list
    assert load_checkpoint(seed_dir / "checkpoint.pt")["epochs_done"] == 1
    assert temporaries(out) == []
    assert not (out / "kept.csv").exists() and not (out / "manifest.json").exists()
    monkeypatch.undo()  # room again: the same command resumes from epoch 1
    assert run(*image_args(photos, out)) == 0
    np.testing.assert_array_equal(np.load(out / "kept.npy"), np.load(clean / "kept.npy"))
    assert (out / "kept.csv").read_text() == (clean / "kept.csv").read_text()
