"""Optional dependencies: which ``pip install "droprune[EXTRA]"`` brings which module, and the
one check of them.

``pip install droprune`` installs the numpy core (numpy and pandas): :func:`droprune.prune`,
``droprune quotas`` and ``droprune prune`` on ``.npy`` / ``.csv`` files. The rest comes with
extras, as cleanlab and transformers do it:

===========  ================================================  =====================================
extra        brings                                            for
===========  ================================================  =====================================
torch        torch, pydantic, mnist1d, pillow, tqdm, pyarrow,  training, scoring, query models,
             tomli (Python < 3.11)                             experiments, datasets, presets
report       matplotlib, pyarrow                               figures, HTML reports
theory       scipy                                             ``droprune.theory``,
                                                               ``droprune theory``
parquet      pyarrow                                           ``.parquet`` label / score files
outofcore    duckdb, pyarrow                                   ``droprune.outofcore``
lightning    lightning (and the torch extra)                   ``droprune.integrations.lightning``
huggingface  transformers, accelerate, datasets (and torch)    ``droprune.integrations.huggingface``
all          torch, report, theory, parquet, outofcore
===========  ================================================  =====================================

Every place that needs an optional module calls :func:`require` before it does anything (in
the command line: before anything is read, trained or written), which raises one
:class:`MissingExtraError` (an ``ImportError``) naming the command that brings it; the command
line prints it as one line with exit code 2.

Examples
--------
>>> require("theory", "numpy")  # installed: nothing happens
>>> try:
...     require("theory", "scipy_not_here", what="droprune theory")
... except ImportError as exc:
...     print(exc)
droprune theory needs scipy_not_here, which is not installed: pip install "droprune[theory]"
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["EXTRAS", "MODULE_EXTRAS", "MissingExtraError", "available", "install_hint",
           "missing_extra", "require"]

#: extra -> the modules checked by ``require(extra)`` when no module is named
EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch", "pydantic", "pyarrow"),
    "report": ("matplotlib", "pyarrow"),
    "theory": ("scipy",),
    "parquet": ("pyarrow",),
    "outofcore": ("duckdb", "pyarrow"),
    "lightning": ("lightning",),
    "huggingface": ("transformers", "accelerate"),
}

#: top-level module -> the extra that installs it (what an unexpected ``ModuleNotFoundError``
#: is turned into by :func:`missing_extra`)
MODULE_EXTRAS: dict[str, str] = {
    "torch": "torch", "pydantic": "torch", "pydantic_core": "torch", "mnist1d": "torch",
    "PIL": "torch", "tqdm": "torch", "tomli": "torch",
    "matplotlib": "report",
    "scipy": "theory",
    "pyarrow": "parquet",
    "duckdb": "outofcore",
    "lightning": "lightning",
    "transformers": "huggingface", "accelerate": "huggingface", "datasets": "huggingface",
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message is one line ending in the
    ``pip install`` command that brings it (:attr:`extra` names the extra)."""

    def __init__(self, message: str, *, extra: str, name: str | None = None) -> None:
        super().__init__(message, name=name)
        self.extra = extra


def install_hint(extra: str) -> str:
    """The command that installs ``extra``.

    Examples
    --------
    >>> install_hint("torch")
    'pip install "droprune[torch]"'
    """
    return f'pip install "droprune[{extra}]"'


def available(module: str) -> bool:
    """Whether ``module`` (a top-level name) can be imported, found without importing it.

    Examples
    --------
    >>> available("numpy"), available("no_such_module_here")
    (True, False)
    """
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(extra: str, *modules: str, what: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``modules`` (default: those of
    :data:`EXTRAS` ``[extra]``) is installed.

    Parameters
    ----------
    extra
        The extra that brings them (``"torch"``, ``"report"``, ``"theory"``, ``"parquet"``).
    modules
        Top-level module names (``"matplotlib"``, not ``"matplotlib.figure"``).
    what
        What needs them, for the message (``"droprune sweep"``, ``"droprune.training"``).
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; the extras: {', '.join(EXTRAS)}")
    missing = [m for m in modules or EXTRAS[extra] if not available(m)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise MissingExtraError(f"{what or 'this'} needs {', '.join(missing)}, which {verb} not "
                                f"installed: {install_hint(extra)}", extra=extra,
                                name=missing[0])


def missing_extra(exc: BaseException, what: str | None = None) -> MissingExtraError | None:
    """The :class:`MissingExtraError` that an ``ImportError`` of an optional module stands for
    (``exc`` itself when it is one); None for any other exception.

    Examples
    --------
    >>> missing_extra(ModuleNotFoundError("No module named 'foo'", name="foo")) is None
    True
    """
    if isinstance(exc, MissingExtraError):
        return exc
    if not isinstance(exc, ImportError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    extra = MODULE_EXTRAS.get(top)
    if extra is None or available(top):
        return None  # installed after all: a genuine error inside it, not a missing extra
    return MissingExtraError(f"{what or 'this'} needs {top}, which is not installed: "
                             f"{install_hint(extra)}", extra=extra, name=top)
