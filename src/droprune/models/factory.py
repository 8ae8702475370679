"""Which model to train: a registry name or the user's own, as one factory ``seed -> nn.Module``.

A model spec is one of

- a name of :data:`~droprune.models.base.MODELS` (``"mlp"``, ``"resnet18"``, ...): built for
  the dataset (its number of classes, input channels and input size);
- ``"package.module:factory"``: the user's own factory, imported (the module must be
  importable: installed, or its folder on ``PYTHONPATH``);
- a callable ``factory(seed) -> nn.Module`` whose module maps a normalised batch to logits
  (B, K).

:func:`resolve_model` turns a spec into a factory, :func:`seeded_model` builds the model of a
seed: inside a fork of the CPU random generator seeded with ``seed``, so the initial weights
depend on the seed only and the caller's RNG state is untouched (build on the CPU: droprune
moves the model to its device). :func:`model_spec_name` is the string recorded in metadata;
:func:`factory_source` (the sha256 of the file that defines the user's factory) and
:func:`model_shapes` (a hash of the built model's parameter names and shapes) say whether a
model trained earlier was built by the same code.

An import path is imported, and a factory called, in this process: ``"package.module:factory"``
runs the user's code, as ``import package.module`` would.

Examples
--------
>>> import torch
>>> from torch import nn
>>> factory = resolve_model(lambda seed: nn.Linear(4, 3))
>>> a, b = seeded_model(factory, 7), seeded_model(factory, 7)
>>> torch.equal(a.weight, b.weight)
True
>>> check_model_spec("math:nope")
Traceback (most recent call last):
...
ValueError: model 'math:nope': module 'math' has no attribute 'nope'
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from typing import Any, Callable, Mapping

import torch
from torch import nn

from .base import MODELS, build_model

__all__ = ["ModelFactory", "check_model_spec", "factory_source", "is_import_path",
           "model_shapes", "model_spec_name", "resolve_model", "seeded_model"]

#: a model factory: ``factory(seed) -> nn.Module`` (a fresh, untrained model)
ModelFactory = Callable[[int], nn.Module]


def is_import_path(spec: Any) -> bool:
    """Whether ``spec`` is written ``"package.module:attribute"`` (the user's own factory).

    Examples
    --------
    >>> is_import_path("mypkg.nets:make"), is_import_path("mlp")
    (True, False)
    """
    return isinstance(spec, str) and ":" in spec


def _import(spec: str) -> Callable[..., Any]:
    """The callable named by ``"package.module:attribute[.attribute]"``."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"model {spec!r}: write your own model as 'package.module:factory'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # an import error, or an error raised by the user's module
        raise ValueError(f"model {spec!r}: cannot import module {module_name!r} "
                         f"({type(exc).__name__}: {exc}); install it or put its folder on "
                         f"PYTHONPATH") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"model {spec!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"model {spec!r} is a {type(obj).__name__}, not a callable "
                         f"factory(seed) -> nn.Module")
    return obj


def _check_takes_seed(factory: Callable[..., Any]) -> None:
    """Refuse a callable that cannot be called as ``factory(seed)``."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # no signature to read (some builtins): try it at build
        return
    try:
        signature.bind(0)
    except TypeError:
        raise ValueError(f"model factory {model_spec_name(factory)!r} must take the seed: "
                         f"factory(seed) -> nn.Module, e.g. lambda seed: Net()") from None


def check_model_spec(spec: Any) -> Any:
    """Validate a model spec without building anything; returns it.

    A registry name must be known; an import path must import and name a callable; a callable
    is accepted as it is. A built ``nn.Module`` is refused (a factory builds a fresh model for
    every seed).

    Examples
    --------
    >>> check_model_spec("resnet18"), check_model_spec("math:floor")
    ('resnet18', 'math:floor')
    >>> check_model_spec("resnet")
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'resnet'; valid models: cnn1d, cnn2d, lenet5, mlp, resnet18, resnet50, vgg16_bn, vgg19_bn, or your own as 'package.module:factory'
    """
    if isinstance(spec, nn.Module):
        raise ValueError(f"model: pass a factory seed -> nn.Module (e.g. lambda seed: "
                         f"{type(spec).__name__}(...)), not a built {type(spec).__name__}: a "
                         f"fresh model is built for every seed")
    if is_import_path(spec):
        _check_takes_seed(_import(spec))
    elif isinstance(spec, str):
        if spec not in MODELS:
            raise ValueError(f"unknown model {spec!r}; valid models: "
                             f"{', '.join(sorted(MODELS))}, or your own as "
                             f"'package.module:factory'")
    elif callable(spec):
        _check_takes_seed(spec)
    else:
        raise ValueError(f"model must be a model name, 'package.module:factory' or a callable "
                         f"factory(seed) -> nn.Module, got {type(spec).__name__}")
    return spec


def model_spec_name(spec: Any) -> str:
    """The string that identifies ``spec`` in metadata: the name or import path itself, or
    ``"module:qualified.name"`` of a callable.

    Examples
    --------
    >>> model_spec_name("mlp"), model_spec_name(check_model_spec)
    ('mlp', 'droprune.models.factory:check_model_spec')
    """
    if isinstance(spec, str):
        return spec
    module = getattr(spec, "__module__", None) or type(spec).__module__
    qualname = getattr(spec, "__qualname__", None) or type(spec).__qualname__
    return f"{module}:{qualname}"


def factory_source(spec: Any) -> dict[str, str] | None:
    """The file that defines the user's factory and the sha256 of its bytes, as
    ``{"file", "sha256"}``; None for a registry name or a callable without a source file
    (a builtin). ``functools.partial`` is followed to its function.

    A query model trained earlier is reused only when this is unchanged: editing the factory's
    module retrains. Code imported from other modules is covered by :func:`model_shapes` only.

    Examples
    --------
    >>> factory_source("mlp") is None
    True
    >>> factory_source(check_model_spec)["file"].endswith("factory.py")
    True
    """
    if isinstance(spec, str) and not is_import_path(spec):
        return None
    obj = _import(spec) if isinstance(spec, str) else spec
    while isinstance(obj, functools.partial):
        obj = obj.func
    try:
        path = inspect.getsourcefile(obj if inspect.isroutine(obj) or inspect.isclass(obj)
                                     else type(obj))
    except TypeError:  # a builtin: no source file
        path = None
    try:
        with open(path, "rb") as fh:  # type: ignore[arg-type]
            return {"file": str(path), "sha256": hashlib.sha256(fh.read()).hexdigest()}
    except (OSError, TypeError):  # no file (None, or code typed at a prompt)
        return None


def model_shapes(model: nn.Module) -> str:
    """A short hash of a model's class, state-dict names and shapes: a layer added, removed or
    resized changes it.

    Examples
    --------
    >>> model_shapes(nn.Linear(4, 3)) == model_shapes(nn.Linear(4, 3))
    True
    >>> model_shapes(nn.Linear(4, 3)) == model_shapes(nn.Linear(4, 2))
    False
    """
    shapes = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    text = repr((type(model).__qualname__, shapes))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_model(spec: Any, dataset: Any = None,
                  model_kwargs: Mapping[str, Any] | None = None) -> ModelFactory:
    """The factory ``seed -> nn.Module`` of a model spec (see the module docstring).

    Parameters
    ----------
    spec
        A registry name, ``"package.module:factory"`` or a callable ``factory(seed)``.
    dataset
        For a registry name: the data the model is built for (its ``num_classes``,
        ``in_channels`` and ``sample_shape``); not used otherwise.
    model_kwargs
        For a registry name: more arguments of :func:`~droprune.models.build_model` (e.g.
        ``{"width": 0.5}``). Refused for the user's own factory (bind its arguments in it, e.g.
        with ``functools.partial``).

    Examples
    --------
    >>> import torch
    >>> from droprune.data.base import LabelledDataset
    >>> data = LabelledDataset(torch.randn(6, 1, 4), [0, 1, 2] * 2, num_classes=3)
    >>> net = seeded_model(resolve_model("mlp", data, {"hidden": (5,)}), seed=0)
    >>> net(torch.randn(2, 1, 4)).shape
    torch.Size([2, 3])
    """
    check_model_spec(spec)
    kwargs = dict(model_kwargs or {})
    if isinstance(spec, str) and not is_import_path(spec):
        if dataset is None:
            raise ValueError(f"model {spec!r} is built for the data: pass dataset=")

        def build(seed: int) -> nn.Module:
            return build_model(spec, num_classes=dataset.num_classes,
                               in_channels=dataset.in_channels,
                               input_size=dataset.sample_shape[1:], **kwargs)

        return build
    if kwargs:
        raise ValueError(f"model_kwargs {sorted(kwargs)} apply to registry models only; bind "
                         f"the arguments of your own factory in it (functools.partial)")
    return _import(spec) if isinstance(spec, str) else spec


def seeded_model(factory: ModelFactory, seed: int) -> nn.Module:
    """``factory(seed)`` inside a fork of the CPU random generator seeded with ``seed``: the
    initial weights depend on the seed only; the caller's RNG state is left untouched (the
    CUDA generators too: build the model on the CPU).

    Examples
    --------
    >>> import torch
    >>> state = torch.random.get_rng_state()
    >>> a = seeded_model(lambda seed: nn.Linear(2, 2), seed=3)
    >>> torch.equal(torch.random.get_rng_state(), state)
    True
    >>> seeded_model(lambda seed: "a model", seed=3)
    Traceback (most recent call last):
    ...
    ValueError: model factory 'droprune.models.factory:<lambda>' returned str, not a torch.nn.Module: return a fresh model
    >>> seeded_model(lambda seed: 1 / 0, seed=3)
    Traceback (most recent call last):
    ...
    ValueError: model factory 'droprune.models.factory:<lambda>' raised ZeroDivisionError: division by zero (when called as factory(seed=3)); fix the factory
    """
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        try:
            model = factory(seed)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # the user's code: name it, in one line
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ValueError(f"model factory {model_spec_name(factory)!r} raised "
                             f"{type(exc).__name__}: {first} (when called as factory(seed="
                             f"{seed})); fix the factory") from exc
    if not isinstance(model, nn.Module):
        raise ValueError(f"model factory {model_spec_name(factory)!r} returned "
                         f"{type(model).__name__}, not a torch.nn.Module: return a fresh model")
    return model
