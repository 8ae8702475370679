"""The scorer registry's entries: every pruning score, described without importing torch.

A :class:`Scorer` entry says how the score is computed (a recorder class fed by the training
loop, or a post-hoc function of a trained model), which query run produces it (the short query
models or the full-schedule run), the name it takes in method names (``"EL2N"`` in
``EL2N+DRoP``), and its options with their defaults and validation. The computation is named
lazily, as ``"module:attribute"`` (like a package entry point), or given as the object itself:
the entry is read by :mod:`droprune.methods` (method names) and by the command line without
importing torch, and resolved when a score is computed (:mod:`droprune.scoring.registry`
computes them). Adding a score is one :func:`droprune.scoring.register_scorer` call plus its
function (docs/architecture.md has a worked example).

Every score is oriented higher = harder = kept first and index-aligned with the dataset.

Examples
--------
>>> SCORERS.entry("el2n").method_name
'EL2N'
>>> sorted(SCORERS.entry("grand").options)
['chunk_size', 'method']
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ._registry import Registry

__all__ = ["KINDS", "QUERY_RUNS", "SCORERS", "Scorer", "register_scorer_entry", "scorer_info"]

KINDS = ("recorder", "posthoc")
QUERY_RUNS = ("short", "long")


def resolve(ref: Any) -> Any:
    """``ref`` itself, or the object a ``"module:attribute"`` string names (imported now).

    Examples
    --------
    >>> resolve("math:sqrt")(4.0)
    2.0
    """
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise ValueError(f"a lazy reference must be 'module:attribute', got {ref!r}")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Scorer:
    """One registered score and everything about it.

    Attributes
    ----------
    name
        Registry key; the column name in score files and the key of ``scorer_options``.
    method_name
        The strategy's name in method names (``"EL2N"`` -> ``EL2N``, ``EL2N+DRoP``,
        ``Random+EL2NQ``), matched case-insensitively; None: not selectable by a method.
    kind
        ``"recorder"``: ``compute`` is a :class:`~droprune.training.hooks.Recorder` class fed
        by the training loop (no extra pass); ``"posthoc"``: ``compute(inputs, **options)``
        scores a trained model (:class:`~droprune.scoring.inputs.PosthocInputs`).
    query
        Which query run of the experiment protocol produces it: ``"short"`` (the averaged short
        query models, which also give DRoP's recalls) or ``"long"`` (the full-schedule run).
    description
        One line: the formula and its orientation.
    reference
        Where it comes from.
    compute
        The recorder class or the post-hoc function, or its ``"module:attribute"`` name
        (imported when first used; :attr:`function` resolves it).
    check
        ``check(**options)`` raises ``ValueError`` for a bad option value (or its
        ``"module:attribute"`` name; None: the recorder's constructor for recorders, no value
        check for post-hoc scorers). Option NAMES are always checked against :attr:`options`.
    needs_embeddings
        A post-hoc score of the penultimate embeddings (``inputs.embeddings``), not of the
        logits alone: a model whose embeddings cannot be read is refused before any work.
    """

    name: str
    method_name: str | None
    kind: str
    query: str
    description: str
    reference: str
    compute: Callable[..., Any] | str
    check: Callable[..., Any] | str | None = None
    needs_embeddings: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"scorer {self.name!r}: kind must be one of {KINDS}, got "
                             f"{self.kind!r}")
        if self.query not in QUERY_RUNS:
            raise ValueError(f"scorer {self.name!r}: query must be one of {QUERY_RUNS}, got "
                             f"{self.query!r}")
        if self.kind == "recorder" and not isinstance(self.compute, (type, str)):
            raise ValueError(f"scorer {self.name!r}: a recorder scorer's compute must be a "
                             f"Recorder subclass")

    @property
    def function(self) -> Callable[..., Any]:
        """The recorder class or post-hoc function (``compute``, imported if named lazily)."""
        return resolve(self.compute)

    @property
    def options(self) -> dict[str, Any]:
        """Option name -> default, read from ``compute``'s signature (the recorder's
        constructor arguments, or the post-hoc function's keyword-only arguments)."""
        params = inspect.signature(self.function).parameters.values()
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY) \
            if self.kind == "recorder" else (inspect.Parameter.KEYWORD_ONLY,)
        return {p.name: p.default for p in params if p.kind in kinds}

    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate option names and values (``ValueError`` naming the option and the valid
        ones); returns them as a dict."""
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(f"options of scorer {self.name!r} must be a mapping of option "
                             f"names to values, got {type(options).__name__}")
        opts = dict(options or {})
        bad = sorted(set(opts) - set(self.options))
        if bad:
            raise ValueError(f"scorer {self.name!r} has no option(s) {bad}; its options: "
                             f"{list(self.options) or 'none'}")
        check = resolve(self.check) if self.check is not None else (
            self.function if self.kind == "recorder" else None)
        if check is not None:
            check(**opts)
        return opts

    def recorder(self, **options: Any) -> Any:
        """A fresh recorder of this score (recorder scorers only)."""
        if self.kind != "recorder":
            raise ValueError(f"scorer {self.name!r} is computed post hoc, not recorded during "
                             f"training")
        return self.function(**self.check_options(options))


def _check_entry(registry: Registry[Scorer], scorer: Scorer) -> None:
    if scorer.method_name is not None:
        token = scorer.method_name.lower()
        taken = [s.name for s in registry.values()
                 if s.method_name is not None and s.method_name.lower() == token]
        if taken or token in ("random", "full") or "+" in token or not token.isidentifier():
            raise ValueError(f"method name {scorer.method_name!r} of scorer {scorer.name!r} is "
                             f"taken or not a plain identifier; choose another")


#: name -> :class:`Scorer`, for every score droprune computes (extend with
#: :func:`droprune.scoring.register_scorer`).
SCORERS: Registry[Scorer] = Registry("scorer", check=_check_entry, entry_type=Scorer)


def register_scorer_entry(scorer: Scorer) -> Scorer:
    """Add ``scorer`` to :data:`SCORERS` (names and method names must be new). The torch
    layer's :func:`droprune.scoring.register_scorer` also checks that a recorder's class is a
    ``Recorder``; use that one."""
    return SCORERS.register(scorer)


def scorer_info(name: str) -> Scorer:
    """The :class:`Scorer` entry of ``name``; ``ValueError`` listing the valid names otherwise."""
    return SCORERS.entry(name)


_S = "droprune.scoring"
for _entry in (
    Scorer("random", None, "posthoc", "short",
           "uniform random numbers (top-k = random subset; methods use 'Random' instead)", "-",
           f"{_S}.posthoc:score_random"),
    Scorer("el2n", "EL2N", "posthoc", "short",
           "||softmax - onehot||_2 of the trained model, eval mode", "Paul et al., NeurIPS 2021",
           f"{_S}.posthoc:score_el2n"),
    Scorer("grand", "GraNd", "posthoc", "short",
           "norm of the per-sample loss gradient over all parameters, batch norm in eval mode",
           "Paul et al., NeurIPS 2021", f"{_S}.grand:score_grand", f"{_S}.registry:check_grand"),
    Scorer("grand_last_layer", "GraNdLL", "posthoc", "short",
           "closed-form gradient norm over the last linear layer, ||p - y|| sqrt(||h||^2 + 1)",
           "Paul et al., NeurIPS 2021 (cheap proxy)", f"{_S}.posthoc:score_grand_last_layer",
           needs_embeddings=True),
    Scorer("loss", "Loss", "posthoc", "short",
           "cross-entropy loss of the trained model, eval mode", "-", f"{_S}.posthoc:score_loss"),
    Scorer("forgetting", "Forgetting", "recorder", "long",
           "number of correct->wrong transitions between consecutive presentations; never "
           "learned by convention", "Toneva et al., ICLR 2019",
           f"{_S}.recorders:ForgettingRecorder"),
    Scorer("dynunc", "DynUnc", "recorder", "long",
           "mean over sliding windows of J presentations of the std of the true-class "
           "probability", "He et al., 2023 (dynamic uncertainty)",
           f"{_S}.recorders:DynamicUncertaintyRecorder"),
    Scorer("aum", "AUM", "recorder", "long",
           "minus the mean margin (true logit - largest other logit)",
           "Pleiss et al., NeurIPS 2020", f"{_S}.recorders:AUMRecorder"),
    Scorer("el2n_trace", "EL2NTrace", "recorder", "long",
           "EL2N of the training forward pass, mean over epochs (or last)",
           "Paul et al., NeurIPS 2021", f"{_S}.recorders:EL2NTraceRecorder"),
    Scorer("ssp", "SSP", "posthoc", "long",
           "distance of the penultimate embedding to its class mean (supervised prototypes)",
           "Sorscher et al., NeurIPS 2022", f"{_S}.geometry:score_ssp",
           f"{_S}.registry:check_ssp", needs_embeddings=True),
    Scorer("kcenter", "CoreSet", "posthoc", "long",
           "greedy k-center order on penultimate embeddings (earlier = higher)",
           "Sener & Savarese, ICLR 2018 (CoreSet)", f"{_S}.geometry:score_kcenter",
           f"{_S}.registry:check_kcenter", needs_embeddings=True),
):
    register_scorer_entry(_entry)
