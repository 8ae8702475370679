"""Typed experiment configuration: dataclasses, loading from files and presets, overrides.

An experiment is a dataset, a model, a final-training schedule, a query protocol, and the grid
of methods x densities x seeds to run. Configurations come from a preset
(:data:`droprune.experiments.presets.PRESETS`), a TOML or JSON file, or both, with
``key.path=value`` overrides; everything is validated up front with errors that name the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .._checks import check_density
from ..training.config import TrainConfig
from .methods import Method, parse_method

__all__ = [
    "DataSpec",
    "ExperimentConfig",
    "ModelSpec",
    "QuerySpec",
    "apply_overrides",
    "config_from_dict",
    "load_config",
]


@dataclass(frozen=True)
class DataSpec:
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
        Extra keyword arguments of the source (e.g. ``{"num_samples": 10000}`` for MNIST-1D).
    val_fraction
        Fraction of each class of the official test set used as validation (DRoP, CDB-W).
    split_seed
        Seed of the validation/test split and of the imbalance subsampling.
    """

    name: str = "mnist1d"
    root: str | None = None
    imbalance: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    val_fraction: float = 0.5
    split_seed: int = 0


@dataclass(frozen=True)
class ModelSpec:
    """Which network: a name of ``droprune.models``, a width multiplier, optional weights."""

    name: str = "mlp"
    width: float = 1.0
    pretrained: str | None = None


@dataclass(frozen=True)
class QuerySpec:
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
    dynunc_window
        Window J of Dynamic Uncertainty (He et al.: 10).
    forgetting_never_learned
        Convention for never-learned samples in Forgetting (see ``droprune.scoring``).
    """

    seeds: int = 5
    epochs_fraction: float = 0.1
    long_runs: int = 1
    dynunc_window: int = 10
    forgetting_never_learned: str = "max"


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: data, model, schedules, query protocol and the grid to run.

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
        DRoP quota mode: "density" (the paper) or "count" (the paper's reference code).
    device
        "cpu", "cuda", ... or None (CUDA when available).
    """

    name: str = "experiment"
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30))
    query: QuerySpec = field(default_factory=QuerySpec)
    methods: tuple[str, ...] = ("Full", "Random", "Random+DRoP")
    densities: tuple[float, ...] = (0.3, 0.5, 0.8)
    seeds: tuple[int, ...] = (0,)
    stretch: bool = True
    drop_mode: str = "density"
    device: str | None = None

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived ------------------------------------------------------------------------------
    @property
    def parsed_methods(self) -> tuple[Method, ...]:
        """The methods, parsed (validated in ``__post_init__``)."""
        return tuple(parse_method(m) for m in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (round-trips through :func:`config_from_dict`)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def query_fingerprint(self) -> str:
        """Hash of everything the query runs depend on (data, model, schedule, protocol)."""
        d = self.to_dict()
        keep = {k: d[k] for k in ("data", "model", "train", "query")}
        return _hash(keep)

    def final_fingerprint(self) -> str:
        """Hash of everything a final run depends on apart from method, density and seed."""
        d = self.to_dict()
        keep = {k: d[k] for k in ("data", "model", "train", "query", "stretch", "drop_mode")}
        return _hash(keep)


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _fail(key: str, message: str) -> None:
    raise ValueError(f"config: {key}: {message}")


def _validate(cfg: ExperimentConfig) -> None:
    if not cfg.methods:
        _fail("methods", "give at least one method")
    for m in cfg.methods:
        try:
            parse_method(m)
        except ValueError as exc:
            _fail("methods", str(exc))
    if len(set(parse_method(m).name for m in cfg.methods)) != len(cfg.methods):
        _fail("methods", f"repeated method in {list(cfg.methods)}")
    if not cfg.densities:
        _fail("densities", "give at least one density")
    for d in cfg.densities:
        try:
            value = check_density(d, "density")
        except ValueError as exc:
            _fail("densities", str(exc))
        if value == 0:
            _fail("densities", "a density must be in (0, 1]: density 0 keeps nothing to train on")
    if len(set(cfg.densities)) != len(cfg.densities):
        _fail("densities", f"repeated density in {list(cfg.densities)}")
    if not cfg.seeds or any(not isinstance(s, int) or s < 0 for s in cfg.seeds):
        _fail("seeds", f"give one or more integer seeds >= 0, got {list(cfg.seeds)}")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        _fail("seeds", f"repeated seed in {list(cfg.seeds)}")
    if cfg.drop_mode not in ("density", "count"):
        _fail("drop_mode", f"must be 'density' or 'count', got {cfg.drop_mode!r}")
    if cfg.train.cdbw:
        _fail("train.cdbw", "CDB-W is chosen per method: add +CDBW to a method name "
                            "(e.g. Random+DRoP+CDBW) instead")
    q = cfg.query
    if q.seeds < 1 or q.long_runs < 1:
        _fail("query", "seeds and long_runs must be >= 1")
    if not 0 < q.epochs_fraction <= 1:
        _fail("query.epochs_fraction", f"must be in (0, 1], got {q.epochs_fraction}")
    if cfg.model.width <= 0:
        _fail("model.width", f"must be > 0, got {cfg.model.width}")
    if cfg.data.imbalance is not None and cfg.data.imbalance < 1:
        _fail("data.imbalance", f"must be >= 1 (largest / smallest class), got "
                                f"{cfg.data.imbalance}")
    if not 0 < cfg.data.val_fraction < 1:
        _fail("data.val_fraction", f"must be in (0, 1), got {cfg.data.val_fraction}")


_SECTIONS = {"data": DataSpec, "model": ModelSpec, "train": TrainConfig, "query": QuerySpec}


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    if not isinstance(values, Mapping):
        _fail(where, f"must be a table/object, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        _fail(f"{where}{'.' if where else ''}{unknown[0]}",
              f"unknown key; valid keys: {', '.join(fields)}")
    kwargs = {}
    for key, value in values.items():
        name = f"{where}.{key}" if where else key
        if key in _SECTIONS and not where:
            kwargs[key] = _build(_SECTIONS[key], value, key)
        else:
            kwargs[key] = _coerce(fields[key], value, name)
    if not where or cls is ExperimentConfig:
        return cls(**kwargs)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        hint = (" (when you change train.epochs, set train.drop_epochs too, e.g. "
                "train.drop_epochs=[])" if "drop_epochs" in str(exc) else "")
        _fail(where, f"{exc}{hint}")


def _coerce(f: dataclasses.Field, value: Any, name: str) -> Any:
    """Convert JSON/TOML values to the field's type (lists -> tuples), checking the type."""
    hint = str(f.type)
    if value is None:
        if "None" not in hint:
            _fail(name, "must not be null")
        return None
    if hint.startswith("tuple"):
        if isinstance(value, (str, int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            _fail(name, f"must be a list, got {value!r}")
        inner = hint[hint.index("[") + 1:hint.index(",")]
        return tuple(_scalar(inner, v, name) for v in value)
    if hint.startswith("Mapping"):
        if not isinstance(value, Mapping):
            _fail(name, f"must be a table/object, got {value!r}")
        return dict(value)
    base = hint.split("|")[0].strip()
    return _scalar(base, value, name)


def _scalar(kind: str, value: Any, name: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            _fail(name, f"must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            _fail(name, f"must be an integer, got {value!r}")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(name, f"must be a number, got {value!r}")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            _fail(name, f"must be a string, got {value!r}")
        return value
    return value


def config_from_dict(values: Mapping[str, Any]) -> ExperimentConfig:
    """Build and validate an :class:`ExperimentConfig` from nested plain values."""
    return _build(ExperimentConfig, values, "")


def _parse_override_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "," in text:
            return [_parse_override_value(t) for t in text.split(",") if t != ""]
        return text


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to nested plain values (values parsed as JSON when
    possible, comma lists as lists, else strings). Returns a new dict."""
    out = json.loads(json.dumps(values))
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like key=value (e.g. train.epochs=10)")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for p in parts[:-1]:
            if p not in node or not isinstance(node[p], dict):
                node[p] = {} if p not in node else node[p]
                if not isinstance(node[p], dict):
                    raise ValueError(f"override {item!r}: {p} is not a section")
            node = node[p]
        node[parts[-1]] = _parse_override_value(text.strip())
    return out


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
        return json.loads(text)
    except Exception as exc:  # noqa: BLE001 - both parsers raise their own types
        raise ValueError(f"config file {path} could not be parsed: {exc}") from None


def load_config(source: str | Path | None = None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Load a configuration from a preset name or a .toml/.json file, then apply overrides.

    Parameters
    ----------
    source
        A preset name (see ``droprune presets``), a path to a TOML/JSON file (which may name a
        ``preset`` to start from), or None for the defaults.
    overrides
        ``key.path=value`` strings, e.g. ``["train.epochs=10", "densities=0.3,0.5"]``.
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
            if base is not None:
                if base not in PRESETS:
                    raise ValueError(f"config file {text}: unknown preset {base!r}; valid "
                                     f"presets: {', '.join(PRESETS)}")
                values = _merge(PRESETS[base].to_dict(), values)
        else:
            raise ValueError(f"{text!r} is neither a preset nor a .toml/.json file; valid presets: "
                             f"{', '.join(PRESETS)}")
    return config_from_dict(apply_overrides(values, overrides))


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out
