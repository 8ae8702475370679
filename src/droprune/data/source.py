"""One entry per dataset (:class:`DatasetSource`), the registry :data:`DATASETS`, and
:func:`register_dataset`.

An entry carries everything about its dataset: the loader, a description, how ``root`` is
used, the check of its options, its on-disk layout and where to get it, its class (and group)
names when they are fixed, and whether it brings its own validation split. ``droprune data``,
the config checks, :func:`~droprune.data.registry.load_dataset` and the readers' error messages
(:mod:`droprune.data.layout`) all read the entry: nothing about a dataset is kept anywhere
else. The built-in entries are registered by :mod:`droprune.data.registry`.

Imports no torch.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from .._registry import Registry

__all__ = ["DATASETS", "ROOT_USAGES", "DatasetSource", "get_source", "register_dataset"]

#: How a source uses ``root``: it must be given, it has a default location, or it reads no files.
ROOT_USAGES = ("required", "optional", "none")


def normalize_name(name: Any) -> str:
    """The registry key of a dataset name: stripped, lower case, ``_`` read as ``-``.

    Examples
    --------
    >>> normalize_name(" Fashion_MNIST")
    'fashion-mnist'
    """
    return str(name).strip().lower().replace("_", "-")


def _names(values: Any, what: str, dataset: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise ValueError(f"dataset {dataset!r}: {what} must be a sequence of names, not one "
                         f"string")
    names = tuple(str(v) for v in values)
    if not names:
        raise ValueError(f"dataset {dataset!r}: {what} must not be empty (None: not fixed)")
    return names


@dataclass(frozen=True)
class DatasetSource:
    """Everything about one dataset: how it loads and how it is described.

    Attributes
    ----------
    name
        Registry key: lower case, ``-`` rather than ``_`` (users may type either, in any case).
    loader
        ``loader(root, **options)`` returning ``(train, official test)``, or a full
        :class:`~droprune.data.base.DatasetSplits` when ``official_splits``. Its keyword-only
        arguments are the source's options.
    description
        One line for listings.
    root
        How ``root`` is used: ``"required"``, ``"optional"`` (a default location) or ``"none"``.
    check
        ``check(**options)`` validates the options without loading anything (raises
        ``ValueError``); for a loader that takes ``**kwargs``, whose names the signature does
        not tell.
    layout
        The expected on-disk layout, shown by ``droprune data list`` and in every reader error
        (empty: not documented).
    where
        Where to get the files (empty: not documented).
    class_names, group_names
        The names of the classes (and groups) when they are fixed: listed by ``droprune data
        list`` and given to every loaded split (their number must match); None when the
        loader or the files decide.
    official_splits
        The dataset has its own validation split: the loader returns ``DatasetSplits`` and
        ``val_fraction`` does not apply (only its default is accepted).

    Examples
    --------
    >>> def load_pairs(root, *, size=4):
    ...     ...
    >>> src = DatasetSource("pairs", load_pairs, "two tiny classes", root="none",
    ...                     class_names=("left", "right"))
    >>> src.options(), src.class_names
    (['size'], ('left', 'right'))
    """

    name: str
    loader: Callable[..., Any]
    description: str
    root: str = "required"
    check: Callable[..., Any] | None = None
    layout: str = ""
    where: str = ""
    class_names: tuple[str, ...] | None = None
    group_names: tuple[str, ...] | None = None
    official_splits: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or \
                normalize_name(self.name) != self.name:
            hint = f" (use {normalize_name(self.name)!r})" if isinstance(self.name, str) else ""
            raise ValueError(f"a dataset name is lower case with '-', not '_', got "
                             f"{self.name!r}{hint}")
        if not callable(self.loader):
            raise ValueError(f"dataset {self.name!r}: loader must be callable")
        if self.check is not None and not callable(self.check):
            raise ValueError(f"dataset {self.name!r}: check must be callable or None")
        if self.root not in ROOT_USAGES:
            raise ValueError(f"dataset {self.name!r}: root must be one of {ROOT_USAGES}, got "
                             f"{self.root!r}")
        if not isinstance(self.official_splits, bool):
            raise ValueError(f"dataset {self.name!r}: official_splits must be True or False")
        for field in ("class_names", "group_names"):
            object.__setattr__(self, field, _names(getattr(self, field), field, self.name))

    def options(self) -> list[str]:
        """Keyword options the loader accepts (besides ``root``)."""
        params = inspect.signature(self.loader).parameters.values()
        return [p.name for p in params if p.kind is p.KEYWORD_ONLY]

    def accepts_any_option(self) -> bool:
        """Whether the loader takes ``**kwargs`` (its options are then told by ``check``)."""
        params = inspect.signature(self.loader).parameters.values()
        return any(p.kind is p.VAR_KEYWORD for p in params)


#: name -> :class:`DatasetSource`; add one with :func:`register_dataset`.
DATASETS: Registry[DatasetSource] = Registry("dataset", entry_type=DatasetSource)


def register_dataset(source: DatasetSource) -> DatasetSource:
    """Add ``source`` to :data:`DATASETS`, and so to ``load_dataset``, configs (``data.name``),
    sweeps and ``droprune data``. The name must be new.

    Examples
    --------
    >>> from droprune.data import gaussian_mixture
    >>> def load_blobs(root, *, n=20):
    ...     def make(seed):
    ...         return gaussian_mixture([n, n], [-2.0, 2.0], [1.0, 1.0], seed=seed, name="blobs")
    ...     return make(0), make(1)
    >>> _ = register_dataset(DatasetSource("blobs", load_blobs, "two blobs", root="none"))
    >>> from droprune.data import load_dataset
    >>> len(load_dataset("blobs", n=10).train)
    20
    >>> register_dataset(DatasetSource("blobs", load_blobs, "again", root="none"))
    Traceback (most recent call last):
    ...
    ValueError: a dataset named 'blobs' is already registered
    >>> _ = DATASETS.pop("blobs")  # (tidy up the doctest)
    """
    return DATASETS.register(source)


def get_source(name: str) -> DatasetSource:
    """The registered source called ``name`` (case-insensitive, ``_`` read as ``-``).

    Examples
    --------
    >>> get_source("Fashion_MNIST").name
    'fashion-mnist'
    """
    key = normalize_name(name)
    return DATASETS[key] if key in DATASETS else DATASETS.entry(name)
