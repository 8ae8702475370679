"""Reader errors (with the dataset's expected layout and where to get it) and root resolution.

Every reader fails the same way: a missing root or file raises :class:`FileNotFoundError`, a
file that exists but is damaged or laid out wrongly raises :class:`DatasetFormatError` (a
``ValueError``). Both messages name the path, say what was expected, show the expected layout
of the dataset and where to get it, as its registry entry
(:class:`~droprune.data.source.DatasetSource`) documents them.
"""

from __future__ import annotations

from pathlib import Path

from .source import DATASETS

__all__ = ["DatasetFormatError", "dataset_root", "format_error", "missing_error",
           "refuse_links_outside"]


class DatasetFormatError(ValueError):
    """A dataset file exists but is truncated, corrupt or not laid out as expected."""


def _help(dataset: str) -> str:
    """The layout and download lines of ``dataset``'s registry entry (those it documents)."""
    source = DATASETS.get(dataset)
    if source is None:
        return ""
    lines = (("expected layout", source.layout), ("where to get it", source.where))
    return "".join(f"\n  {label}: {text}" for label, text in lines if text)


def missing_error(dataset: str, path: str | Path, what: str) -> FileNotFoundError:
    """A ``FileNotFoundError`` for a missing root, folder or file of ``dataset``.

    Examples
    --------
    >>> str(missing_error("cifar10", "/data/x", "no such folder")).splitlines()[0]
    'cifar10: /data/x: no such folder'
    """
    return FileNotFoundError(f"{dataset}: {path}: {what}{_help(dataset)}")


def format_error(dataset: str, path: str | Path, problem: str) -> DatasetFormatError:
    """A :class:`DatasetFormatError` for a damaged or wrongly laid out file of ``dataset``.

    Examples
    --------
    >>> str(format_error("mnist", "/d/f", "bad magic number 7")).splitlines()[0]
    'mnist: /d/f: bad magic number 7'
    """
    return DatasetFormatError(f"{dataset}: {path}: {problem}{_help(dataset)}")


def dataset_root(root: str | Path | None, dataset: str, folder: str | None = None, *,
                 option: str = "") -> Path:
    """Resolve a dataset root: ``root/folder`` if that folder exists, else ``root`` itself.

    This lets ``root`` be either the folder an archive was extracted into (holding, e.g.,
    ``cifar-10-batches-py``) or the dataset folder itself. ``option`` says how the caller's
    user gives the root (``"--root FOLDER"``), for the error when there is none.

    Raises
    ------
    FileNotFoundError
        ``root`` is None or not an existing folder (the message shows the expected layout).

    Examples
    --------
    >>> try:
    ...     dataset_root(None, "imagefolder", option="--root FOLDER")
    ... except FileNotFoundError as exc:
    ...     print(str(exc).splitlines()[0])
    imagefolder: <root>: no root given: pass the folder holding the dataset with --root FOLDER
    """
    if root is None:
        how = f" with {option}" if option else ""
        raise missing_error(dataset, "<root>", f"no root given: pass the folder holding the "
                                               f"dataset{how}")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise missing_error(dataset, path, "no such folder (the dataset root)")
    if folder is not None and (path / folder).is_dir():
        return path / folder
    return path


def refuse_links_outside(root: str | Path, folder: str | Path, dataset: str) -> None:
    """Refuse a symbolic link under ``folder`` (itself included) that points outside ``root``,
    with one line naming the link and its target. Links that stay inside the root are fine.

    A dataset root is what the user names; a link inside it to elsewhere (``/etc``, another
    user's files) would be read, copied into caches and listed in kept lists as if it were
    part of the dataset. The walk reads directory entries only (no file is opened); linked
    folders inside the root are walked too.

    Raises
    ------
    DatasetFormatError
        ``<dataset>: <link>: a symbolic link to <target>, outside the dataset root <root>:
        copy the files into the root or remove the link``.

    Examples
    --------
    >>> import tempfile, os
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "train").mkdir(); os.symlink("/etc", d / "train" / "etc")
    >>> refuse_links_outside(d, d / "train", "photos")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    droprune.data.layout.DatasetFormatError: photos: .../train/etc: a symbolic link to /etc, outside the dataset root ...: copy the files into the root or remove the link
    """
    import os

    base = os.path.realpath(root)
    inside = base.rstrip(os.sep) + os.sep

    def check(path: str) -> str:
        target = os.path.realpath(path)
        if target != base and not target.startswith(inside):
            raise DatasetFormatError(f"{dataset}: {path}: a symbolic link to {target}, outside "
                                     f"the dataset root {base}: copy the files into the root "
                                     f"or remove the link")
        return target

    start = str(folder)
    if os.path.islink(start):
        check(start)
    pending, seen = [start], set()
    while pending:
        current = pending.pop()
        real = os.path.realpath(current)
        if real in seen:  # a link back up the tree: walked once
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue  # unreadable: the reader says so when it lists the folder
        for entry in entries:
            if entry.is_symlink():
                check(entry.path)
                if entry.is_dir():
                    pending.append(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
