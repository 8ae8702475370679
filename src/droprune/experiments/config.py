"""Typed experiment configuration: the schema, loading from files and presets, overrides.

An experiment is a dataset, a model, a final-training schedule, a query protocol, and the grid
of methods x densities x seeds to run. Configurations come from a preset
(:data:`droprune.experiments.presets.PRESETS`), a TOML or JSON file, or both, with
``key.path=value`` overrides.

The schema is a set of pydantic models (:class:`ExperimentConfig` and its sections
:class:`DataSpec`, :class:`ModelSpec`, :class:`QuerySpec`; the ``train`` section is
:class:`~droprune.training.TrainConfig`). A config is validated whole on construction, against
the registries (datasets and their options, models, methods, scorers and their options), and
every error is one line ``config: <dotted.key>: <message>`` (a ``ValueError``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping, Sequence

import numpy as np

from .._extras import require

require("torch", "torch", "pydantic", what="droprune.experiments (configs, presets, sweeps)")

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .._checks import MAX_EPOCHS, check_beta_prior, check_density, check_int, check_number
from .._kv import parse_assignment
from ..quotas import DropMode, QuotaOptions
from ..training.config import TrainConfig
from .methods import Method, parse_method

__all__ = [
    "DataSpec",
    "ExperimentConfig",
    "ModelSpec",
    "PROTOCOLS",
    "ProtocolSpec",
    "QuerySpec",
    "apply_overrides",
    "config_from_dict",
    "load_config",
]


# ---------------------------------------------------------------------------------------------
# one-line errors
# ---------------------------------------------------------------------------------------------

_KINDS = {"int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
          "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
          "bool_parsing": "true or false", "string_type": "a string", "tuple_type": "a list",
          "list_type": "a list", "dict_type": "a table/object", "model_type": "a table/object",
          "model_attributes_type": "a table/object", "dataclass_type": "a table/object",
          "dataclass_exact_type": "a table/object"}

#: keys that moved, and where to
_MOVED = {
    "query.dynunc_window": 'query.scorer_options, e.g. query.scorer_options={"dynunc": '
                           '{"window": 10}}',
    "query.forgetting_never_learned": 'query.scorer_options, e.g. query.scorer_options='
                                      '{"forgetting": {"never_learned": "max"}}',
}


def _error_at(key: str, message: str, value: Any) -> ValidationError:
    """A validation error at ``key`` (relative to the model being validated)."""
    return ValidationError.from_exception_data("config", [InitErrorDetails(
        type=PydanticCustomError("config", message), loc=(key,), input=value)])


def _section_keys(loc: tuple[str, ...]) -> list[str]:
    cls: Any = ExperimentConfig
    for part in loc:
        cls = _SECTIONS.get(part) if cls is ExperimentConfig else None
    if cls is None:
        return []
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return list(cls.model_fields)


def _message(err: Mapping[str, Any], loc: tuple[str, ...]) -> str:
    """The message of one pydantic error at the full key path ``loc``."""
    kind = err["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        msg = f"unknown key; valid keys: {', '.join(_section_keys(loc[:-1]))}"
        if ".".join(loc) in _MOVED:
            msg += f" (this key moved to {_MOVED['.'.join(loc)]})"
    elif kind in _KINDS:
        msg = f"must be {_KINDS[kind]}, got {err['input']!r}"
    elif kind in ("missing", "missing_argument"):
        msg = "missing (this key is required)"
    elif kind in ("value_error", "assertion_error"):
        msg = str(err["ctx"]["error"])
    elif kind == "config":
        msg = err["msg"]
    else:
        msg = f"{err['msg'].replace('Input should be', 'must be')}, got {err['input']!r}"
    if loc and msg.startswith(f"{loc[-1]} must "):  # "width must be > 0" under model.width
        msg = msg[len(loc[-1]) + 1:]
    return msg


def _one_line(exc: ValidationError, prefix: tuple[str, ...]) -> str:
    """``config: <dotted.key>: <message>`` for the first error of ``exc``."""
    errors = exc.errors(include_url=False)
    loc = prefix + tuple(str(p) for p in errors[0]["loc"])
    key = ".".join(loc)
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return f"config: {key}{': ' if key else ''}{_message(errors[0], loc)}{more}"


class _ConfigError(ValidationError):
    """The error of a section built directly: one line, and still a ValidationError, so that a
    section built inside another reports its keys under the outer one (``data.name``)."""

    def __str__(self) -> str:
        return _one_line(self, _SECTION_KEYS.get(self.title, ()))


class _Section(BaseModel):
    """A frozen section that refuses unknown keys and fails with one line."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _key: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            errors = [InitErrorDetails(
                type=PydanticCustomError("config", _message(e, self._key + tuple(
                    str(p) for p in e["loc"]))), loc=e["loc"], input=e["input"])
                for e in exc.errors(include_url=False)]
            raise _ConfigError.from_exception_data(type(self).__name__, errors) from None


def _as_tuple(value: Any) -> Any:
    """Lists as tuples, a single value as a one-item tuple (``seeds=4``)."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    if isinstance(value, (str, int, float, np.generic)):
        return (value,)
    return value


def _axis(value: Any, check: Any, empty: str, what: str, key: Any = None) -> Any:
    """A grid axis (methods, densities, seeds): a non-empty tuple of checked, distinct values
    (distinct by ``key``)."""
    value = _as_tuple(value)
    if not isinstance(value, tuple):
        return value  # pydantic says it is not a list
    if not value:
        raise ValueError(empty)
    out = tuple(check(v) for v in value)
    keys = [key(v) for v in out] if key is not None else list(out)
    if len(set(keys)) != len(keys):
        raise ValueError(f"repeated {what} in {list(value)}")
    return out


def _path_as_str(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _plain(value: Any) -> Any:
    """A table as plain JSON values (tuples as lists), or ValueError; anything else as is."""
    if not isinstance(value, Mapping):
        return value  # pydantic says it is not a table
    try:
        return json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError):
        raise ValueError(f"must hold plain values (numbers, strings, booleans, lists, tables) "
                         f"that JSON can store, got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# the sections
# ---------------------------------------------------------------------------------------------

class DataSpec(_Section):
    """Where the data comes from.

    Attributes
    ----------
    name
        A dataset name of ``droprune.data`` ("mnist1d", "fashion-mnist", "cifar10", ...).
    root
        Folder holding the files (None: the source's default).
    imbalance
        Long-tail imbalance factor I >= 1 applied to the training split (None: as is).
    options
        Extra keyword arguments of the source (e.g. ``{"num_samples": 10000}`` for MNIST-1D);
        their names are checked against the source.
    val_fraction
        Fraction of each class of the official test set used as validation (DRoP, CDB-W).
    split_seed
        Seed of the validation/test split and of the imbalance subsampling.
    """

    _key: ClassVar[tuple[str, ...]] = ("data",)

    name: StrictStr = "mnist1d"
    root: Annotated[StrictStr | None, BeforeValidator(_path_as_str)] = None
    imbalance: float | None = None
    options: Annotated[dict[str, Any], BeforeValidator(_plain)] = Field(default_factory=dict)
    val_fraction: float = 0.5
    split_seed: int = 0

    @field_validator("name")
    @classmethod
    def _known_dataset(cls, name: str) -> str:
        from ..data.registry import get_source

        get_source(name)
        return name

    @field_validator("root")
    @classmethod
    def _root(cls, root: str | None, info: ValidationInfo) -> str | None:
        from ..data.registry import get_source

        if root is not None and "name" in info.data and \
                get_source(info.data["name"]).root == "none":
            raise ValueError(f"dataset {info.data['name']!r} reads no files: leave data.root "
                             f"out")
        return root

    @field_validator("imbalance", mode="before")
    @classmethod
    def _imbalance(cls, value: Any) -> Any:
        from ..data.imbalance import _check_factor

        return None if value is None else _check_factor(value)

    @field_validator("options")
    @classmethod
    def _source_options(cls, options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        from ..data.registry import _check_options, get_source

        if "name" in info.data:
            if info.data["name"] in IMAGENET_DATASETS and "crop" in options:
                raise ValueError("ImageNet's crop is a protocol choice: set "
                                 "protocol_options.imagenet_transforms (\"center\" or "
                                 "\"reference\") instead of data.options.crop")
            try:
                _check_options(get_source(info.data["name"]), options)
            except ValueError as exc:
                raise ValueError(f"{exc} (data.options must suit data.name; data.options={{}} "
                                 f"clears them)") from None
        return options

    @field_validator("val_fraction", mode="before")
    @classmethod
    def _val_fraction(cls, value: Any, info: ValidationInfo) -> float:
        from ..data.registry import _check_val_fraction, get_source
        from ..data.splits import _check_fraction

        if "name" not in info.data:
            return _check_fraction(value)
        return _check_val_fraction(get_source(info.data["name"]), value)

    @field_validator("split_seed", mode="before")
    @classmethod
    def _split_seed(cls, value: Any) -> int:
        return check_int(value, "split_seed")


class ModelSpec(_Section):
    """Which network: a name of ``droprune.models`` (with a width multiplier and optional
    weights), or your own factory ``"package.module:factory"`` (a callable ``factory(seed) ->
    nn.Module``, imported when the config is validated; width and weights are its own)."""

    _key: ClassVar[tuple[str, ...]] = ("model",)

    name: StrictStr = "mlp"
    width: float = 1.0
    pretrained: Annotated[StrictStr | None, BeforeValidator(_path_as_str)] = None

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        from ..models.factory import check_model_spec

        return check_model_spec(name)

    @field_validator("pretrained")
    @classmethod
    def _pretrained(cls, value: str | None, info: ValidationInfo) -> str | None:
        from ..models.factory import is_import_path

        if value is not None and is_import_path(info.data.get("name")):
            raise ValueError("applies to registry models only: load your weights in your "
                             "factory")
        return value

    @field_validator("width", mode="before")
    @classmethod
    def _width(cls, value: Any, info: ValidationInfo) -> float:
        from ..models.factory import is_import_path

        width = check_number(value, "width", minimum=0, min_inclusive=False)
        if width != 1.0 and is_import_path(info.data.get("name")):
            raise ValueError("applies to registry models only: your factory builds its own "
                             "model (leave model.width at 1)")
        return width


class QuerySpec(_Section):
    """The query protocol that produces scores and validation recalls.

    Attributes
    ----------
    seeds
        Number of short query models (the paper: 5), whose post-hoc scores (EL2N, GraNd) and
        validation recalls are averaged.
    epochs_fraction
        Length of the short query runs as a fraction of the schedule (the paper: 0.1); drop
        epochs are scaled alike.
    long_runs
        Number of full-schedule query runs (the paper: 1) feeding the training-dynamics scores
        (Forgetting, Dynamic Uncertainty, AUM) and the embedding scores (SSP, CoreSet).
    scorer_options
        Options of the scorers, by scorer name (see ``droprune.scoring.SCORERS``), e.g.
        ``{"dynunc": {"window": 10}, "forgetting": {"never_learned": "max"}}``; an option not
        given keeps the scorer's default (Dynamic Uncertainty: window 10, as He et al.), except
        Forgetting's ``never_learned``, Dynamic Uncertainty's ``window_mode`` and k-center's
        ``start``, which the protocol profile sets (:meth:`ExperimentConfig.scorer_options`).
    """

    _key: ClassVar[tuple[str, ...]] = ("query",)

    seeds: int = 5
    epochs_fraction: float = 0.1
    long_runs: int = 1
    scorer_options: Annotated[dict[str, dict[str, Any]], BeforeValidator(_plain)] = Field(
        default_factory=dict)

    @field_validator("seeds", "long_runs", mode="before")
    @classmethod
    def _count(cls, value: Any, info: ValidationInfo) -> int:
        return check_int(value, str(info.field_name), minimum=1)  # a field validator's: set

    @field_validator("epochs_fraction", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> float:
        return check_number(value, "epochs_fraction", minimum=0, maximum=1, min_inclusive=False)

    @field_validator("scorer_options")
    @classmethod
    def _known_scorers(cls, options: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from ..scoring.registry import check_scorers

        check_scorers(list(options), options, allow_empty=True)
        return options


class QuotaSpec(_Section):
    """Safeguards of the quota rules against starving a class (see ``docs/quotas.md``).

    The defaults are the paper's rule exactly. ``min_per_class`` / ``min_density`` are floors
    of the rules that take them (``drop``, ``proportional``, ``balanced``); methods without
    quotas (``Random``, ``EL2N``) and ``Random+StrategyQ`` are not affected.
    ``error_estimate`` applies to DRoP.

    Attributes
    ----------
    error_estimate
        ``"point"`` (the paper: class error ``1 - r_k``) or ``"beta"``: the posterior mean of
        the class error under a Beta ``prior`` given the ``n_k`` validation samples the recall
        was measured on, ``(n_k (1 - r_k) + a) / (n_k + a + b)``.
    prior
        ``(a, b)`` of the Beta prior (default Jeffreys, (0.5, 0.5)).
    min_per_class
        Every class keeps at least this many samples (all of a smaller class).
    min_density
        Every class keeps at least this fraction of its samples.
    """

    _key: ClassVar[tuple[str, ...]] = ("quotas",)

    error_estimate: Literal["point", "beta"] = "point"
    prior: tuple[float, float] = (0.5, 0.5)
    min_per_class: int = 0
    min_density: float = 0.0

    @field_validator("prior", mode="before")
    @classmethod
    def _prior(cls, value: Any) -> Any:
        return check_beta_prior(value)

    @field_validator("min_per_class", mode="before")
    @classmethod
    def _min_count(cls, value: Any) -> int:
        return check_int(value, "min_per_class", minimum=0)

    @field_validator("min_density", mode="before")
    @classmethod
    def _min_fraction(cls, value: Any) -> float:
        return check_density(value, "min_density")

    @property
    def is_paper_rule(self) -> bool:
        """Whether these are the defaults (Algorithm 1 exactly)."""
        return self == QuotaSpec()

    def to_options(self, mode: DropMode = "density") -> QuotaOptions:
        """These safeguards as the one :class:`~droprune.quotas.QuotaOptions` every quota rule
        takes (``mode``: the protocol's ``drop_mode``); a rule reads the fields it uses."""
        return QuotaOptions(mode=mode, error_estimate=self.error_estimate, prior=self.prior,
                            min_per_class=self.min_per_class, min_density=self.min_density)


# ---------------------------------------------------------------------------------------------
# the protocol: the paper's (droprune's reading) or the reference code's, choice by choice
# ---------------------------------------------------------------------------------------------

#: Every protocol choice (``drop_mode``, the keys of ``protocol_options`` and three scorer
#: options), by profile. ``paper``: where the paper's text decides, the text; where it is
#: silent, the reference code (docs/fidelity.md gives the row-by-row reasons).
#: ``reference``: the DRoP reference code's choice everywhere (its bugs are not reproduced).
#: ``legacy``: droprune's behaviour before the profiles existed (same run ids as then).
#: Columns: paper, reference, legacy.
_CHOICES: dict[str, tuple[Any, Any, Any]] = {
    "drop_mode": ("density", "count", "density"),
    "quota_rounding": ("largest_remainder", "floor_topup", "largest_remainder"),
    "stretch_rounding": ("exact", "reference", "exact"),
    "query_augment": (False, False, True),
    "recall_source": ("scorer", "scorer", "short"),
    "ssp_query": ("fixed", "fixed", "long"),
    "fixed_query_epochs": (16, 16, 16),
    "val_split": ("first", "first", "random"),
    "init": ("kaiming", "xavier", "kaiming"),
    "vgg_bn_momentum": (0.01, 0.01, 0.1),
    "resnet50": ("v1", "v1", "v1.5"),
    "cdbw_loss": ("raw", "raw", "mean1"),
    "forgetting.never_learned": ("zero", "zero", "max"),
    "dynunc.window_mode": ("paper", "reference", "paper"),
    "kcenter.start": ("mean", "mean", "random"),
    "coreset_scores": ("binary", "binary", "order"),
    "score_ties": ("random", "highest_index", "random"),
    "kept_total": ("round", "reference", "round"),
    "fixed_query_models": (1, 5, 1),
    "cifar_augment": ("crop", "affine", "crop"),
    "imagenet_transforms": ("center", "reference", "center"),
    "report_epoch": ("last", "last", "last"),
}
PROTOCOLS: dict[str, dict[str, Any]] = {
    profile: {k: v[i] for k, v in _CHOICES.items()}
    for i, profile in enumerate(("paper", "reference", "legacy"))}
#: the datasets whose crops ``protocol_options.imagenet_transforms`` chooses (the source
#: option ``crop``, which ``data.options`` may not set for them)
IMAGENET_DATASETS = ("imagenet",)
#: the choices that are scorer options (``query.scorer_options.<scorer>.<option>``)
_SCORER_CHOICES = ("forgetting.never_learned", "dynunc.window_mode", "kcenter.start")
#: scorer options hashed under their own keys since before ``query.scorer_options``
_OLD_KEYS = (("dynunc", "window", "dynunc_window"),
             ("forgetting", "never_learned", "forgetting_never_learned"))


class ProtocolSpec(_Section):
    """Protocol choices, each overriding the profile chosen by ``protocol`` (None: the
    profile's value; see :data:`PROTOCOLS` and docs/fidelity.md).

    Attributes
    ----------
    query_augment
        Augment the training inputs of the query runs as the final runs are (the reference
        code: no).
    recall_source
        Where DRoP's validation recalls come from: ``"short"``, the short query models of
        ``query.seeds`` x ``query.epochs_fraction`` for every method; ``"scorer"``, the query
        run of the method's own scorer (EL2N/GraNd: the short models; Forgetting, DynUnc,
        CoreSet: the full-schedule run; Random and SSP: the fixed run), as the reference code.
    ssp_query
        Which run scores SSP: ``"long"`` (the full schedule) or ``"fixed"`` (one model,
        ``fixed_query_epochs`` epochs at constant learning rate, as the reference code).
    fixed_query_epochs
        Length of the fixed run (the reference code's default query length, 16).
    val_split
        Validation half of each test class: ``"random"`` (seeded by ``data.split_seed``) or
        ``"first"`` by index (the reference code).
    init
        ``"kaiming"`` (the paper's text) or ``"xavier"`` (Xavier normal, gain sqrt(2): the
        reference code).
    vgg_bn_momentum
        Batch-norm momentum of the VGG models (the reference code: 0.01; PyTorch's: 0.1).
    resnet50
        ``"v1"`` (stride on the first 1x1 convolution: the reference code) or ``"v1.5"``
        (torchvision's, whose pretrained weights the Waterbirds preset loads).
    cdbw_loss
        CDB-W's batch loss: ``"raw"`` (``sum w l / sum w``: the reference code) or
        ``"mean1"`` (weights of mean 1, ``sum w l / B``).
    quota_rounding
        How DRoP's real-valued quotas become samples: ``"largest_remainder"`` (exactly
        :func:`~droprune.drop_quotas` per class) or ``"floor_topup"`` (each class's floor, then
        a random top-up from all classes to ``round(d N)``: the reference code).
    stretch_rounding
        How a pruned run's stretched schedule is rounded: ``"exact"`` (the paper's formula on
        the density, :meth:`~droprune.training.TrainConfig.stretched`) or ``"reference"`` (on
        the kept fraction, drops scaled by the truncated epoch count: the reference code).
    coreset_scores
        How CoreSet ranks a class's samples under class quotas: ``"order"`` (the greedy
        k-center order) or ``"binary"`` (chosen among the first ``round(d N)`` or not, ties to
        the highest index: the reference code).
    score_ties
        How equal scores are ordered when ranking: ``"random"`` (from the run's seed) or
        ``"highest_index"`` (the reference code's stable sort, kept from the end).
    kept_total
        How many samples a density keeps: ``"round"`` (``round(d N)``, halves up, on the
        decimal ``d``) or ``"reference"`` (``int(N * (1 - (1 - d)))`` in floats: the reference
        code, one fewer at some densities).
    fixed_query_models
        Number of models of the fixed query run (Random's DRoP recalls, averaged over them;
        SSP's scores with ``ssp_query="fixed"``): 1, or 5 as the reference README's command
        for Random+DRoP (``--num_inits 5``).
    cifar_augment
        The translation of augmented runs on 32x32 three-channel images (CIFAR):
        ``"crop"`` (pad ``train.augment_pad`` and crop, uniform shifts) or ``"affine"``
        (``RandomAffine(degrees=0, translate=(0.15, 0.15))``: shifts of ``round(U(-0.15 W,
        0.15 W))`` pixels, zero fill: the reference code).
    imagenet_transforms
        How ImageNet's images are cropped: ``"center"`` (resize the shorter side to 256, the
        centre 224 square, in every split; training adds the flip of ``train.augment_flip``)
        or ``"reference"`` (``Resize(256)`` then ``RandomResizedCrop(224)`` in every split,
        training, validation and test, drawn anew each pass and seeded: the reference code).
    report_epoch
        Which model a final run's test metrics are of: ``"last"`` (after the last epoch;
        every profile: the reference code saves the metrics of every epoch and picks none) or
        ``"best_val"`` (the epoch of best validation accuracy, the first of equals; the test
        split is predicted at each improvement).
    """

    _key: ClassVar[tuple[str, ...]] = ("protocol_options",)

    query_augment: StrictBool | None = None
    recall_source: Literal["short", "scorer"] | None = None
    ssp_query: Literal["long", "fixed"] | None = None
    fixed_query_epochs: int | None = None
    val_split: Literal["random", "first"] | None = None
    init: Literal["kaiming", "xavier"] | None = None
    vgg_bn_momentum: float | None = None
    resnet50: Literal["v1", "v1.5"] | None = None
    cdbw_loss: Literal["mean1", "raw"] | None = None
    quota_rounding: Literal["largest_remainder", "floor_topup"] | None = None
    stretch_rounding: Literal["exact", "reference"] | None = None
    coreset_scores: Literal["order", "binary"] | None = None
    score_ties: Literal["random", "highest_index"] | None = None
    kept_total: Literal["round", "reference"] | None = None
    fixed_query_models: int | None = None
    cifar_augment: Literal["crop", "affine"] | None = None
    imagenet_transforms: Literal["center", "reference"] | None = None
    report_epoch: Literal["last", "best_val"] | None = None

    @field_validator("fixed_query_epochs", mode="before")
    @classmethod
    def _epochs(cls, value: Any) -> Any:
        return None if value is None else check_int(value, "fixed_query_epochs", minimum=1,
                                                    maximum=MAX_EPOCHS)

    @field_validator("fixed_query_models", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        return None if value is None else check_int(value, "fixed_query_models", minimum=1)

    @field_validator("vgg_bn_momentum", mode="before")
    @classmethod
    def _momentum(cls, value: Any) -> Any:
        return None if value is None else check_number(
            value, "vgg_bn_momentum", minimum=0, maximum=1, min_inclusive=False)


# ---------------------------------------------------------------------------------------------
# the train section: TrainConfig (a dataclass of droprune.training), read strictly from JSON
# ---------------------------------------------------------------------------------------------

_TRAIN = TypeAdapter(TrainConfig)
_TRAIN_LISTS = {k for k, hint in typing.get_type_hints(TrainConfig).items()
                if typing.get_origin(hint) is tuple}
_DROP_HINT = (" (when you change train.epochs, set train.drop_epochs too, e.g. "
              "train.drop_epochs=[])")


def _train(value: Any) -> Any:
    """A TrainConfig from a table of plain values: each field checked against its annotation
    in pydantic's strict mode (no "10" for an integer, no 1 for a boolean), then by
    ``TrainConfig`` itself; CDB-W is refused here (it is chosen per method)."""
    if isinstance(value, Mapping):
        fields = [f.name for f in dataclasses.fields(TrainConfig)]
        unknown = [k for k in value if k not in fields]
        if unknown:
            raise ValidationError.from_exception_data("config", [InitErrorDetails(
                type="extra_forbidden", loc=(str(unknown[0]),), input=value[unknown[0]])])
        values = {k: [v] if k in _TRAIN_LISTS and isinstance(v, (int, float)) else v
                  for k, v in value.items()}
        try:
            text = json.dumps(values)
        except (TypeError, ValueError):
            raise ValueError(f"must hold plain values that JSON can store, got {value!r}") \
                from None
        try:
            value = _TRAIN.validate_json(text, strict=True)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            if first["type"] == "value_error" and "drop_epochs" in str(first["ctx"]["error"]):
                raise ValueError(f"{first['ctx']['error']}{_DROP_HINT}") from None
            raise
    if isinstance(value, TrainConfig) and value.cdbw:
        raise _error_at("cdbw", "CDB-W is chosen per method: add +CDBW to a method name (e.g. "
                                "Random+DRoP+CDBW) instead", True)
    if isinstance(value, TrainConfig) and value.cdbw_loss != "mean1":
        raise _error_at("cdbw_loss", "CDB-W's loss is a protocol choice: set "
                                     "protocol_options.cdbw_loss instead", value.cdbw_loss)
    return value


# ---------------------------------------------------------------------------------------------
# the experiment
# ---------------------------------------------------------------------------------------------

class ExperimentConfig(_Section):
    """A whole experiment: data, model, schedules, query protocol and the grid to run.

    Frozen and validated whole on construction (``ValueError("config: <key>: <message>")``).

    Attributes
    ----------
    methods
        Method names (see :mod:`droprune.experiments.methods`).
    densities
        Densities (fraction KEPT) in (0, 1]; ``Full`` runs once per seed at density 1.
    seeds
        Seeds of the grid; each seed has its own query models and final-model init.
    stretch
        Train pruned data with the paper's stretched schedule (more epochs at low density).
    drop_mode
        DRoP quota mode: "density" (the paper's Algorithm 1) or "count" (kept counts
        proportional to the class errors, as the reference code); None (default): the
        profile's ("density", or "count" with ``protocol="reference"``).
    quotas
        Safeguards against starving a class (:class:`QuotaSpec`); the default is the paper's
        rule.
    protocol
        The protocol profile (:data:`PROTOCOLS`): ``"paper"`` (default), ``"reference"`` (the
        DRoP reference code's choices) or ``"legacy"`` (droprune before the profiles).
    protocol_options
        Single choices overriding the profile (:class:`ProtocolSpec`).
    device
        "cpu", "cuda", ... or None (CUDA when available).

    Examples
    --------
    >>> cfg = ExperimentConfig(methods=["Random", "Random+DRoP"], densities=0.5)
    >>> cfg.data.name, cfg.densities, cfg.parsed_methods[1].quota
    ('mnist1d', (0.5,), 'drop')
    >>> try:
    ...     ExperimentConfig(model={"name": "mlp", "width": 0})
    ... except ValueError as exc:
    ...     print(exc)
    config: model.width: must be > 0, got 0
    """

    name: StrictStr = "experiment"
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: Annotated[TrainConfig, BeforeValidator(_train)] = Field(
        default_factory=lambda: TrainConfig(epochs=30))
    query: QuerySpec = Field(default_factory=QuerySpec)
    quotas: QuotaSpec = Field(default_factory=QuotaSpec)
    methods: tuple[StrictStr, ...] = ("Full", "Random", "Random+DRoP")
    densities: tuple[float, ...] = (0.3, 0.5, 0.8)
    seeds: tuple[int, ...] = (0,)
    stretch: StrictBool = True
    drop_mode: DropMode | None = None
    protocol: Literal["paper", "reference", "legacy"] = "paper"
    protocol_options: ProtocolSpec = Field(default_factory=ProtocolSpec)
    device: StrictStr | None = None

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        return _axis(value, lambda m: parse_method(m) and m, "give at least one method",
                     "method", key=lambda m: parse_method(m).name)

    @field_validator("densities", mode="before")
    @classmethod
    def _densities(cls, value: Any) -> Any:
        return _axis(value, lambda d: check_density(d, "density", positive=True),
                     "give at least one density", "density")

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        return _axis(value, lambda s: check_int(s, "seeds", requirement="integers >= 0"),
                     "give one or more integer seeds >= 0", "seed")

    @field_validator("device")
    @classmethod
    def _device(cls, device: str | None) -> str | None:
        if device is not None:
            check_device(device, "device")
        return device

    @model_validator(mode="after")
    def _effective_scorer_options(self) -> "ExperimentConfig":
        """The scorer options the query runs will receive (the given ones with the profile's
        conventions) must be valid together, e.g. a Dynamic Uncertainty window of 2 with the
        reference code's windows of J - 1."""
        from ..scoring.registry import check_scorers

        options = self.scorer_options()
        try:
            check_scorers(list(options), options, allow_empty=True)
        except ValueError as exc:
            raise PydanticCustomError(
                "config", f"query.scorer_options: {{error}} (the protocol {self.protocol!r} "
                          f"sets the conventions not given there; give the option to override)",
                {"error": str(exc)}) from None
        return self

    # -- derived ------------------------------------------------------------------------------
    @property
    def parsed_methods(self) -> tuple[Method, ...]:
        """The methods, parsed (validated on construction)."""
        return tuple(parse_method(m) for m in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (round-trips through :func:`config_from_dict`)."""
        return self.model_dump(mode="json")

    # -- the protocol -------------------------------------------------------------------------
    def choice(self, name: str) -> Any:
        """The effective value of a protocol choice: ``protocol_options.<name>`` when given,
        else the profile's (:data:`PROTOCOLS`); ``"forgetting.never_learned"``,
        ``"dynunc.window_mode"`` and ``"kcenter.start"`` are read from
        ``query.scorer_options`` first.

        Examples
        --------
        >>> cfg = ExperimentConfig(protocol="reference", protocol_options={"init": "kaiming"})
        >>> cfg.choice("init"), cfg.choice("val_split"), cfg.choice("dynunc.window_mode")
        ('kaiming', 'first', 'reference')
        """
        if name in _SCORER_CHOICES:
            scorer, option = name.split(".")
            given = self.query.scorer_options.get(scorer, {})
            return given[option] if option in given else PROTOCOLS[self.protocol][name]
        value = self.drop_mode if name == "drop_mode" else getattr(self.protocol_options, name)
        return PROTOCOLS[self.protocol][name] if value is None else value

    def protocol_choices(self) -> dict[str, Any]:
        """Every protocol choice in force, by name (:meth:`choice` of each), e.g. to print.

        Examples
        --------
        >>> choices = ExperimentConfig(protocol="reference").protocol_choices()
        >>> choices["drop_mode"], choices["val_split"], choices["kcenter.start"]
        ('count', 'first', 'mean')
        """
        return {name: self.choice(name) for name in _CHOICES}

    def scorer_options(self) -> dict[str, dict[str, Any]]:
        """``query.scorer_options`` with the profile's Forgetting, Dynamic Uncertainty and
        CoreSet conventions filled in where not given and not the scorer's own default (what
        the query runs receive)."""
        out = {k: dict(v) for k, v in self.query.scorer_options.items()}
        for name in _SCORER_CHOICES:
            scorer, option = name.split(".")
            if self.choice(name) != _recorder_default(scorer, option):
                out.setdefault(scorer, {})[option] = self.choice(name)
        return out

    def source_options(self) -> dict[str, Any]:
        """Keyword arguments of the data source besides the splits': ``data.options`` and
        the protocol's crop of ImageNet (``crop="random_resized"`` with
        ``imagenet_transforms="reference"``; none otherwise, so the default is unchanged).

        Examples
        --------
        >>> cfg = ExperimentConfig(data={"name": "imagenet", "root": "/data/imagenet"},
        ...                        protocol="reference")
        >>> cfg.source_options()
        {'crop': 'random_resized'}
        """
        out = dict(self.data.options)
        if self.data.name in IMAGENET_DATASETS and \
                self.choice("imagenet_transforms") == "reference":
            out["crop"] = "random_resized"
        return out

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`droprune.models.build_model` besides the data's: the
        width and the protocol's model choices (only those that apply to this model and
        differ from the model's own default, so that unchanged models keep their query-run
        metadata); none for the user's own factory."""
        from ..models.factory import is_import_path

        if is_import_path(self.model.name):  # the user's factory builds its own model
            return {}
        out: dict[str, Any] = {"width": self.model.width}
        if self.choice("init") != "kaiming":
            out["init"] = self.choice("init")
        if self.model.name.startswith("vgg") and self.choice("vgg_bn_momentum") != 0.1:
            out["bn_momentum"] = self.choice("vgg_bn_momentum")
        if self.model.name == "resnet50" and self.choice("resnet50") != "v1.5":
            out["variant"] = self.choice("resnet50")
        return out

    def _effective_protocol(self) -> dict[str, Any]:
        """The protocol choices that can matter to this setup and differ from the ``legacy``
        profile (what the fingerprints hash). Whether a choice can matter is read from the
        data, model and schedule, never from the grid (methods, densities, seeds), so that a
        grid grown later keeps the run ids of the finished runs."""
        t = self.train
        fixed = self.choice("recall_source") == "scorer" or self.choice("ssp_query") == "fixed"
        applies = {
            "quota_rounding": True,
            "stretch_rounding": self.stretch,
            "coreset_scores": True,
            "query_augment": t.augment_pad > 0 or t.augment_flip,
            "recall_source": True,
            "ssp_query": True,
            "fixed_query_epochs": fixed,
            "val_split": True,
            "init": True,
            "vgg_bn_momentum": self.model.name.startswith("vgg"),
            "resnet50": self.model.name == "resnet50",
            "cdbw_loss": True,
            "score_ties": True,
            "kept_total": True,
            "fixed_query_models": fixed,
            "cifar_augment": t.augment_pad > 0,
            "imagenet_transforms": self.data.name in IMAGENET_DATASETS,
            "report_epoch": True,
        }
        legacy = PROTOCOLS["legacy"]
        return {k: self.choice(k) for k, on in applies.items()
                if on and self.choice(k) != legacy[k]}

    def query_fingerprint(self) -> str:
        """Hash of everything the query runs depend on (data, model, schedule, protocol)."""
        return _hash(self._identity(("data", "model", "train", "query", "protocol")))

    def final_fingerprint(self) -> str:
        """Hash of everything a final run depends on apart from method, density and seed."""
        return _hash(self._identity(("data", "model", "train", "query", "stretch", "drop_mode",
                                     "protocol", "quotas")))

    def _identity(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """The hashed part of the config. The query section holds the Dynamic Uncertainty
        window and the Forgetting convention as their effective values, under the two keys
        they had before ``query.scorer_options`` (so the run ids of earlier configs are
        unchanged); other scorer options are hashed only when given. The protocol is hashed
        as the choices that can matter to this setup and differ from the ``legacy`` profile
        (none: no ``protocol`` key, as before the profiles)."""
        d = self.to_dict()
        d["train"] = self.train.to_dict()  # as TrainConfig stores itself (no default cdbw_loss)
        d["drop_mode"] = self.choice("drop_mode")
        query = d["query"]
        options = {k: dict(v) for k, v in query.pop("scorer_options").items()}
        for name in _SCORER_CHOICES:  # the effective value; a newer option only off default
            scorer, option = name.split(".")
            value = self.choice(name)
            if value != _recorder_default(scorer, option) or any(
                    (scorer, option) == old[:2] for old in _OLD_KEYS):
                options.setdefault(scorer, {})[option] = value
            else:
                options.get(scorer, {}).pop(option, None)
        for scorer, option, old_key in _OLD_KEYS:
            query[old_key] = options.get(scorer, {}).pop(option, _recorder_default(scorer,
                                                                                 option))
        options = {k: v for k, v in options.items() if v}
        if options:
            query["scorer_options"] = options
        protocol = self._effective_protocol()
        d["protocol"] = protocol
        if self.quotas.is_paper_rule:  # configs from before the safeguards keep their run ids
            keys = tuple(k for k in keys if k != "quotas")
        return {k: d[k] for k in keys if k != "protocol" or protocol}


_SECTIONS: dict[str, Any] = {"data": DataSpec, "model": ModelSpec, "train": TrainConfig,
                             "query": QuerySpec, "quotas": QuotaSpec,
                             "protocol_options": ProtocolSpec}
_SECTION_KEYS = {cls.__name__: cls._key for cls in (DataSpec, ModelSpec, QuerySpec, QuotaSpec,
                                                    ProtocolSpec)}


def _recorder_default(scorer: str, option: str) -> Any:
    """The default of a scorer's option (its registry entry)."""
    from ..scoring.registry import SCORERS

    return SCORERS[scorer].options[option]


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


#: the torch device types droprune trains on (``"cpu"``, ``"cuda[:i]"``, ``"mps"``)
DEVICE_TYPES = ("cpu", "cuda", "mps")


def check_device(device: Any, name: str = "device", *, here: bool = False) -> str:
    """Return ``device`` if droprune can train on it: ``"cpu"`` (``"cpu:0"`` is the same one
    device: torch has a single CPU device, whose cores ``--threads`` shares out, so
    ``"cpu:1"`` and up are refused), ``"cuda"``, ``"cuda:i"`` or ``"mps"``; else
    ``ValueError`` naming ``name``. Other torch devices (``"meta"``, ``"xla"``, ...) are
    refused: no model trains there.

    With ``here``, the device must also exist on this machine: CUDA available with more than
    ``i`` devices, MPS available. A config is checked without it (it may run elsewhere); the
    commands that train check with it before anything is written.

    Examples
    --------
    >>> check_device("cuda:1"), check_device("cpu:0")
    ('cuda:1', 'cpu:0')
    >>> check_device("meta", "--device")
    Traceback (most recent call last):
    ...
    ValueError: --device must be a device droprune trains on ('cpu', 'cuda', 'cuda:1', 'mps'), got 'meta'
    >>> check_device("cpu:99", "--device")
    Traceback (most recent call last):
    ...
    ValueError: --device must be 'cpu' for the CPU (torch has one CPU device; --threads sets how many cores it uses), got 'cpu:99'
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must be a torch device such as 'cpu', 'cuda' or 'cuda:1', "
                         f"got {device!r}") from None
    if dev.type not in DEVICE_TYPES:
        raise ValueError(f"{name} must be a device droprune trains on ('cpu', 'cuda', "
                         f"'cuda:1', 'mps'), got {device!r}")
    if dev.type == "cpu" and dev.index not in (None, 0):
        raise ValueError(f"{name} must be 'cpu' for the CPU (torch has one CPU device; "
                         f"--threads sets how many cores it uses), got {device!r}")
    if here and dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} {device}: CUDA is not available here; use --device cpu")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"{name} {device}: this machine has {count} CUDA device(s), "
                             f"cuda:0 to cuda:{count - 1}; use one of them, or --device cpu")
    if here and dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} {device}: MPS (Apple's GPU) is not available here; use "
                         f"--device cpu")
    return device


def config_from_dict(values: Mapping[str, Any]) -> ExperimentConfig:
    """Build and validate an :class:`ExperimentConfig` from nested plain values.

    Examples
    --------
    >>> config_from_dict({"data": {"name": "nope"}})
    Traceback (most recent call last):
    ...
    ValueError: config: data.name: unknown dataset 'nope'; valid datasets: mnist1d, fashion-mnist, mnist, cifar10, cifar100, tinyimagenet, imagenet, imagefolder, waterbirds, gaussian-mixture
    """
    if not isinstance(values, Mapping):
        raise ValueError(f"config: must be a table/object, got {type(values).__name__}")
    try:
        return ExperimentConfig.model_validate(dict(values))
    except ValidationError as exc:
        raise ValueError(_one_line(exc, ())) from None


def apply_overrides(values: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to nested plain values. Returns a new dict.

    Values are read by :func:`droprune._kv.parse_value`: JSON when possible, comma lists as
    lists, else strings. A key path creates the tables it names.

    Examples
    --------
    >>> apply_overrides({"train": {"epochs": 30}}, ["train.epochs=10", "densities=0.3,0.5",
    ...                                               "query.scorer_options.dynunc.window=5"])
    {'train': {'epochs': 10}, 'densities': [0.3, 0.5], 'query': {'scorer_options': {'dynunc': {'window': 5}}}}
    """
    out = json.loads(json.dumps(dict(values)))
    for item in overrides:
        key, value = parse_assignment(item, "override", "train.epochs=10")
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {p} is not a section")
        node[parts[-1]] = value
    return out


def _toml() -> Any:
    """The TOML parser: the standard ``tomllib`` (Python >= 3.11), else its backport ``tomli``
    (installed with ``droprune[torch]`` on Python 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        require("torch", "tomli", what="reading a .toml config on Python < 3.11")
        import tomli as tomllib  # type: ignore[no-redef]  # the same API as tomllib
    return tomllib


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    text = path.read_text()
    toml = _toml() if path.suffix == ".toml" else None
    try:
        if toml is not None:
            values = toml.loads(text)
        else:
            values = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - both parsers raise their own types
        raise ValueError(f"config file {path} could not be parsed: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path}: the top level must be an object of settings "
                         f'(e.g. {{"train": {{"epochs": 10}}}}), got a {type(values).__name__}')
    return values


def load_config(source: str | Path | None = None, overrides: Sequence[str] = (), *,
                require_data: bool = False) -> ExperimentConfig:
    """Load a configuration from a preset name or a .toml/.json file, then apply overrides.

    Parameters
    ----------
    source
        A preset name (see ``droprune presets``), a path to a TOML/JSON file (which may name a
        ``preset`` to start from), or None for the defaults. A file's sections (``[train]``,
        ``[data]``, ...) update the preset's key by key; any other value, a table value such
        as ``data.options`` included, replaces the preset's.
    overrides
        ``key.path=value`` strings, e.g. ``["train.epochs=10", "densities=0.3,0.5"]``.
    require_data
        Refuse a file that names neither a ``preset`` nor ``data.name`` (nor does an override):
        it would run the default experiment (``mnist1d``, 30 epochs) without saying so.
        ``droprune sweep`` and ``droprune run`` set it; a file of training settings for
        ``droprune prune --data`` needs no data.
    """
    from .presets import PRESETS

    values: dict[str, Any] = {}
    if source is not None:
        text = str(source)
        if text in PRESETS:
            values = PRESETS[text].to_dict()
        elif Path(text).suffix in (".toml", ".json") or Path(text).exists():
            values = _read_file(Path(text))
            base = values.pop("preset", None)
            if require_data and base is None:
                _require_data(text, apply_overrides(values, overrides))
            if base is not None:
                if not isinstance(base, str) or base not in PRESETS:
                    raise ValueError(f"config file {text}: unknown preset {base!r}; valid "
                                     f"presets: {', '.join(PRESETS)}")
                values = _merge(PRESETS[base].to_dict(), values)
        else:
            raise ValueError(f"{text!r} is neither a preset nor a .toml/.json file; valid presets: "
                             f"{', '.join(PRESETS)}")
    return config_from_dict(apply_overrides(values, overrides))


def _require_data(path: str, values: Mapping[str, Any]) -> None:
    """Refuse a config file (read into ``values``, overrides applied) without ``data.name``."""
    data = values.get("data")
    if data is None or (isinstance(data, Mapping) and "name" not in data):
        raise ValueError(f"config file {path}: names neither a preset nor data: add "
                         f"preset = \"NAME\" (`droprune presets`) or a [data] table with "
                         f"name = \"DATASET\" (`droprune data list`)")


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``top``: sections key by key, every other value replaced whole."""
    out = dict(base)
    for k, v in top.items():
        if k in _SECTIONS and isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out
