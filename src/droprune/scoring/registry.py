"""The scorer registry: every pruning score, with everything about it, in one entry.

A :class:`Scorer` entry says how the score is computed (a recorder class fed by the training
loop, or a post-hoc function of a trained model), which query run produces it (the short query
models or the full-schedule run), the name it takes in method names (``"EL2N"`` in
``EL2N+DRoP``), and its options with their defaults and validation. Methods
(:mod:`droprune.experiments.methods`), the query plan of a sweep, the config's
``query.scorer_options`` and the ``droprune scorers`` command are all derived from
:data:`SCORERS`; adding a score is one :func:`register_scorer` call plus its function (see
docs/architecture.md for a worked example).

Every score is oriented higher = harder = kept first and index-aligned with the dataset.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data.adapter import as_labelled
from ..training.hooks import Recorder
from ..training.inference import check_batch_size, check_embedding_source, check_model_fits
from .geometry import KCENTER_STARTS, PROTOTYPE_METRICS, kcenter_steps, score_kcenter, score_ssp
from .grand import GRAND_METHODS, score_grand
from .inputs import PosthocInputs
from .posthoc import score_el2n, score_grand_last_layer, score_loss, score_random
from .recorders import (
    AUMRecorder,
    DynamicUncertaintyRecorder,
    EL2NTraceRecorder,
    ForgettingRecorder,
)

__all__ = ["SCORERS", "Scorer", "check_scorers", "make_recorders", "posthoc_scores",
           "register_scorer", "scorer_info"]

KINDS = ("recorder", "posthoc")
QUERY_RUNS = ("short", "long")


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
        The recorder class or the post-hoc function.
    check
        ``check(**options)`` raises ``ValueError`` for a bad option value (None: the recorder's
        constructor for recorders, no value check for post-hoc scorers). Option NAMES are
        always checked against :attr:`options`.
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
    compute: Callable[..., Any]
    check: Callable[..., Any] | None = None
    needs_embeddings: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"scorer {self.name!r}: kind must be one of {KINDS}, got "
                             f"{self.kind!r}")
        if self.query not in QUERY_RUNS:
            raise ValueError(f"scorer {self.name!r}: query must be one of {QUERY_RUNS}, got "
                             f"{self.query!r}")
        if self.kind == "recorder" and not (isinstance(self.compute, type)
                                            and issubclass(self.compute, Recorder)):
            raise ValueError(f"scorer {self.name!r}: a recorder scorer's compute must be a "
                             f"Recorder subclass")

    @property
    def options(self) -> dict[str, Any]:
        """Option name -> default, read from ``compute``'s signature (the recorder's
        constructor arguments, or the post-hoc function's keyword-only arguments)."""
        params = inspect.signature(self.compute).parameters.values()
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
        check = self.check if self.check is not None else (
            self.compute if self.kind == "recorder" else None)
        if check is not None:
            check(**opts)
        return opts

    def recorder(self, **options: Any) -> Recorder:
        """A fresh recorder of this score (recorder scorers only)."""
        if self.kind != "recorder":
            raise ValueError(f"scorer {self.name!r} is computed post hoc, not recorded during "
                             f"training")
        return self.compute(**self.check_options(options))


#: name -> :class:`Scorer`, for every score droprune computes (extend with register_scorer)
SCORERS: dict[str, Scorer] = {}


def register_scorer(scorer: Scorer) -> Scorer:
    """Add ``scorer`` to :data:`SCORERS` (and so to method names, the query plan, configs and
    the CLI). Names and method names must be new.

    Examples
    --------
    >>> import numpy as np
    >>> def score_norm(inputs):  # the L2 norm of each input: a toy score
    ...     return inputs.dataset.inputs.flatten(1).norm(dim=1).double().numpy()
    >>> entry = register_scorer(Scorer("input_norm", "InputNorm", "posthoc", "short",
    ...                                "L2 norm of the raw input", "-", score_norm))
    >>> from droprune.experiments.methods import parse_method
    >>> parse_method("InputNorm+DRoP").scorer
    'input_norm'
    >>> _ = SCORERS.pop("input_norm")  # (tidy up the doctest)
    """
    if not isinstance(scorer, Scorer):
        raise ValueError(f"register_scorer takes a Scorer, got {type(scorer).__name__}")
    if scorer.name in SCORERS:
        raise ValueError(f"a scorer named {scorer.name!r} is already registered")
    if scorer.method_name is not None:
        token = scorer.method_name.lower()
        taken = [s.name for s in SCORERS.values()
                 if s.method_name is not None and s.method_name.lower() == token]
        if taken or token in ("random", "full") or "+" in token or not token.isidentifier():
            raise ValueError(f"method name {scorer.method_name!r} of scorer {scorer.name!r} is "
                             f"taken or not a plain identifier; choose another")
    SCORERS[scorer.name] = scorer
    return scorer


def _check_grand(*, method: str = "auto", chunk_size: int = 128) -> None:
    if method not in GRAND_METHODS:
        raise ValueError(f"grand method must be one of {sorted(GRAND_METHODS)}, got {method!r}")
    check_batch_size(chunk_size, "chunk_size")


def _check_ssp(*, metric: str = "euclidean") -> None:
    if metric not in PROTOTYPE_METRICS:
        raise ValueError(f"ssp metric must be one of {PROTOTYPE_METRICS}, got {metric!r}")


def _check_kcenter(*, budget: int | float | None = None, start: str = "random") -> None:
    kcenter_steps(budget)
    if start not in KCENTER_STARTS:
        raise ValueError(f"kcenter start must be one of {KCENTER_STARTS}, got {start!r}")


for _entry in (
    Scorer("random", None, "posthoc", "short",
           "uniform random numbers (top-k = random subset; methods use 'Random' instead)", "-",
           score_random),
    Scorer("el2n", "EL2N", "posthoc", "short",
           "||softmax - onehot||_2 of the trained model, eval mode", "Paul et al., NeurIPS 2021",
           score_el2n),
    Scorer("grand", "GraNd", "posthoc", "short",
           "norm of the per-sample loss gradient over all parameters, batch norm in eval mode",
           "Paul et al., NeurIPS 2021", score_grand, _check_grand),
    Scorer("grand_last_layer", "GraNdLL", "posthoc", "short",
           "closed-form gradient norm over the last linear layer, ||p - y|| sqrt(||h||^2 + 1)",
           "Paul et al., NeurIPS 2021 (cheap proxy)", score_grand_last_layer,
           needs_embeddings=True),
    Scorer("loss", "Loss", "posthoc", "short",
           "cross-entropy loss of the trained model, eval mode", "-", score_loss),
    Scorer("forgetting", "Forgetting", "recorder", "long",
           "number of correct->wrong transitions between consecutive presentations; never "
           "learned by convention", "Toneva et al., ICLR 2019", ForgettingRecorder),
    Scorer("dynunc", "DynUnc", "recorder", "long",
           "mean over sliding windows of J presentations of the std of the true-class "
           "probability", "He et al., 2023 (dynamic uncertainty)", DynamicUncertaintyRecorder),
    Scorer("aum", "AUM", "recorder", "long",
           "minus the mean margin (true logit - largest other logit)",
           "Pleiss et al., NeurIPS 2020", AUMRecorder),
    Scorer("el2n_trace", "EL2NTrace", "recorder", "long",
           "EL2N of the training forward pass, mean over epochs (or last)",
           "Paul et al., NeurIPS 2021", EL2NTraceRecorder),
    Scorer("ssp", "SSP", "posthoc", "long",
           "distance of the penultimate embedding to its class mean (supervised prototypes)",
           "Sorscher et al., NeurIPS 2022", score_ssp, _check_ssp, needs_embeddings=True),
    Scorer("kcenter", "CoreSet", "posthoc", "long",
           "greedy k-center order on penultimate embeddings (earlier = higher)",
           "Sener & Savarese, ICLR 2018 (CoreSet)", score_kcenter, _check_kcenter,
           needs_embeddings=True),
):
    register_scorer(_entry)


def scorer_info(name: str) -> Scorer:
    """The :class:`Scorer` entry of ``name``; ``ValueError`` listing the valid names otherwise."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; valid scorers: {', '.join(SCORERS)}")
    return SCORERS[name]


def check_scorers(names: Sequence[str] | str,
                  options: Mapping[str, Mapping[str, Any]] | None = None, *,
                  allow_empty: bool = False) -> list[str]:
    """Validate scorer names (known, no repeats, at least one unless ``allow_empty``) and the
    options of any registered scorer (names and values); returns the names as a list.

    Examples
    --------
    >>> check_scorers(["el2n", "forgetting"], {"forgetting": {"never_learned": "zero"}})
    ['el2n', 'forgetting']
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names and not allow_empty:
        raise ValueError(f"scorers is empty: name at least one of {', '.join(SCORERS)}")
    for name in names:
        scorer_info(name)
    if len(set(names)) != len(names):
        raise ValueError(f"scorers has repeated names: {names}")
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"scorer options must map scorer names to option tables, got "
                         f"{type(options).__name__}")
    for name, opts in (options or {}).items():
        scorer_info(name).check_options(opts)
    return names


def make_recorders(names: Sequence[str],
                   options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Recorder]:
    """Fresh recorders for the recorder scorers among ``names``, for one training run
    (``options``: per-scorer keyword options). Post-hoc names are refused.

    Examples
    --------
    >>> [r.name for r in make_recorders(["forgetting", "aum"], {"forgetting": {
    ...     "never_learned": "zero"}})]
    ['forgetting', 'aum']
    """
    names = check_scorers(names, options, allow_empty=True)
    options = options or {}
    return [SCORERS[n].recorder(**options.get(n, {})) for n in names]


def posthoc_scores(names: Sequence[str], model: nn.Module, dataset: Any, *,
                   seed: int = 0, options: Mapping[str, Mapping[str, Any]] | None = None,
                   batch_size: int = 256, device: torch.device | str | None = None,
                   distributed: bool = False,
                   embed: Callable[[torch.Tensor], torch.Tensor] | None = None
                   ) -> dict[str, np.ndarray]:
    """Compute post-hoc scores of one trained model; the scorers share one forward pass.

    Parameters
    ----------
    names
        Post-hoc scorer names (kind ``"posthoc"``).
    model
        The trained model: a droprune Classifier or any ``nn.Module`` mapping a normalised
        batch to logits (B, K).
    dataset
        The samples to score (the training set): a ``LabelledDataset``, a ``TensorDataset``,
        arrays ``(x, y)`` or a map-style dataset of ``(x, y)`` items (see
        :func:`droprune.data.as_labelled`); row ``i`` of every score is sample ``i``.
    seed
        Seed of ``"random"`` and of the first k-center.
    options
        Per-scorer keyword options, e.g. ``{"grand": {"method": "loop"}, "ssp":
        {"metric": "cosine"}}``.
    batch_size
        Batch size of the shared forward pass (GraNd uses its own ``chunk_size`` option).
    device
        Where to compute (default: the model's device).
    distributed
        In a distributed run, make this a collective (call it on every rank): the forward
        pass and GraNd's backward run on each rank's shard of the samples, the embeddings,
        logits and GraNd norms are gathered by sample index onto every rank, and the scores are
        computed from those full arrays as in one process (SSP's class means and k-center see
        every sample; k-center runs on every rank, so no rank waits for another). Default:
        this process scores every sample alone.
    embed
        ``embed(x) -> (B, D)`` embeddings of a normalised batch, for the scores of embeddings
        (ssp, kcenter, grand_last_layer). Default: a droprune Classifier's ``features``, else
        the input of the model's last ``nn.Linear`` (read during the same forward pass).

    Returns
    -------
    dict
        name -> float64 (N,) scores, in the order of ``names``.

    Examples
    --------
    A two-class toy set of six 1-D signals and an untrained MLP:

    >>> import torch, droprune.data, droprune.models
    >>> data = droprune.data.LabelledDataset(torch.randn(6, 1, 4), [0, 1] * 3, num_classes=2)
    >>> net = droprune.models.MLP(num_classes=2, in_features=4, hidden=(8,))
    >>> {k: v.shape for k, v in posthoc_scores(["el2n", "ssp"], net, data).items()}
    {'el2n': (6,), 'ssp': (6,)}

    Any module and a TensorDataset (SSP reads the input of the last ``nn.Linear``):

    >>> seq = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.ReLU(),
    ...                           torch.nn.Linear(8, 2))
    >>> pairs = torch.utils.data.TensorDataset(torch.randn(6, 1, 4), torch.tensor([0, 1] * 3))
    >>> posthoc_scores(["el2n", "ssp"], seq, pairs)["ssp"].shape
    (6,)
    """
    names = check_scorers(names, options)
    options = options or {}
    wrong = [n for n in names if SCORERS[n].kind != "posthoc"]
    if wrong:
        raise ValueError(f"{wrong} are recorder scorers: pass them to the trainer as recorders "
                         f"(see make_recorders)")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    dataset = as_labelled(dataset, name="dataset")
    needs_embeddings = any(SCORERS[n].needs_embeddings for n in names)
    if needs_embeddings:
        check_embedding_source(model, embed)
    check_model_fits(model, dataset)
    inputs = PosthocInputs(model, dataset, seed=seed, batch_size=batch_size, device=device,
                           distributed=distributed, embed=embed, shared_pass=needs_embeddings)
    return {n: np.asarray(SCORERS[n].compute(inputs, **options.get(n, {})), dtype=np.float64)
            for n in names}
