"""Which model: a registered name or a factory of the user's own, resolved in ONE place.

``--model`` of the ``droprune`` command (and any caller holding a model spec as text) goes
through :func:`resolve_model`:

* a name of :data:`droprune.models.MODELS` (``"mlp"``, ``"resnet18"``, ...) stays that name:
  droprune builds it with :func:`droprune.models.build_model`, as before;
* ``"package.module:factory"`` (``factory`` may be dotted: ``"pkg.mod:Net.create"``) is
  imported with :mod:`importlib` and must be callable: a factory of the user's own model;
* a callable is returned as it is.

How a factory is called (its arguments, what it must return) is the query protocol's contract
(:func:`droprune.scoring.run_query`), not this module's.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["resolve_model"]


def resolve_model(spec: str | Callable[..., Any], *, name: str = "model"
                  ) -> str | Callable[..., Any]:
    """A registered model name (returned as is) or a factory (``"pkg.mod:factory"`` imported).

    Parameters
    ----------
    spec
        A name of :data:`droprune.models.MODELS`, ``"package.module:attribute"`` naming a
        callable (the module must be importable: installed, or on ``PYTHONPATH``), or a
        callable.
    name
        What ``spec`` is called in error messages (e.g. ``"--model"``).

    Returns
    -------
    str or callable
        The registry name, or the factory.

    Raises
    ------
    ValueError
        One line: an unknown name, a module that cannot be imported, a missing attribute, or
        an attribute that is not callable. Nothing is built or trained.

    Examples
    --------
    >>> resolve_model("mlp")
    'mlp'
    >>> resolve_model("collections:OrderedDict").__name__
    'OrderedDict'
    >>> resolve_model("no_such_pkg.models:net")
    Traceback (most recent call last):
    ...
    ValueError: model 'no_such_pkg.models:net': cannot import module 'no_such_pkg.models' (No module named 'no_such_pkg'); install the package or add its folder to PYTHONPATH
    """
    if callable(spec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{name} must be a registered model name or 'package.module:factory', "
                         f"got {spec!r}")
    text = spec.strip()
    if ":" not in text:
        from .base import MODELS

        if text not in MODELS:
            raise ValueError(f"unknown {name} {text!r}; valid models: "
                             f"{', '.join(sorted(MODELS))}, or 'package.module:factory' for a "
                             f"model of your own")
        return text
    module_name, _, attr = text.partition(":")
    if not module_name or not attr or ":" in attr:
        raise ValueError(f"{name} {text!r} must look like 'package.module:factory'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{name} {text!r}: cannot import module {module_name!r} ({exc}); "
                         f"install the package or add its folder to PYTHONPATH") from None
    except Exception as exc:  # the module itself failed while being imported
        raise ValueError(f"{name} {text!r}: importing module {module_name!r} failed "
                         f"({type(exc).__name__}: {exc})") from None
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            where = module_name if i == 0 else f"{module_name}:{'.'.join(attr.split('.')[:i])}"
            raise ValueError(f"{name} {text!r}: {where!r} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{name} {text!r} is a {type(obj).__name__}, not a callable model "
                         f"factory")
    return obj
