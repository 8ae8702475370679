"""Atomic writes: the umask is respected, errors name the file, killed writes are cleaned."""

from __future__ import annotations

import errno
import os

import pytest

import droprune._io
from droprune._io import TEMP_NAME, atomic_write, atomic_write_text, remove_stale_temporaries


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_open_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode
    assert path.read_text() == "{}"


def test_an_os_error_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(droprune._io.os, "fsync", full)
    target = tmp_path / "x.npy"
    with pytest.raises(OSError) as info:
        atomic_write(target, lambda fh: fh.write(b"data"))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "old")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, boom)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    sub = tmp_path / "selections"
    sub.mkdir()
    stale = [tmp_path / ".config.json.0123abcd.tmp", sub / ".r1.npy.k2_x9qzp.tmp"]
    young = sub / ".r2.npy.89abcdef.tmp"  # a write in progress (another shard)
    kept = [tmp_path / ".notes.tmp", sub / "r1.npy", tmp_path / ".x.0123abcd.tmp.bak", young]
    for p in stale + kept:
        p.write_bytes(b"")
    for p in stale + kept[:-1]:
        os.utime(p, (0, 0))
    assert all(TEMP_NAME.match(p.name) for p in stale + [young])
    assert remove_stale_temporaries(tmp_path) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)


def test_temporaries_of_ended_writers_on_this_host_are_removed_at_once(tmp_path):
    import subprocess
    import sys

    from droprune._io import _HOST

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead_pid = int(ended.stdout)
    other_host = "ffff" if _HOST != "ffff" else "0000"
    dead = tmp_path / f".a.npy.{_HOST}-{dead_pid}-0123abcd.tmp"
    alive = tmp_path / f".b.npy.{_HOST}-{os.getpid()}-0123abcd.tmp"  # this process: writing
    remote = tmp_path / f".c.npy.{other_host}-{dead_pid}-0123abcd.tmp"  # another machine's
    for p in (dead, alive, remote):
        p.write_bytes(b"")
    assert remove_stale_temporaries(tmp_path) == [dead]  # all three are young
    assert alive.exists() and remote.exists()


def test_atomic_write_names_its_temporary_with_host_and_pid(tmp_path):
    from droprune._io import _HOST

    seen = []
    atomic_write(tmp_path / "x.bin", lambda fh: seen.extend(p.name for p in tmp_path.iterdir()))
    assert len(seen) == 1 and seen[0].startswith(f".x.bin.{_HOST}-{os.getpid()}-")
    assert TEMP_NAME.match(seen[0])
