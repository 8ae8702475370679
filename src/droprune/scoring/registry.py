"""The scorer registry: every pruning score by name, what kind it is, how to compute it.

Two kinds: ``"recorder"`` scores are read off the training loop by a
:class:`~droprune.training.hooks.Recorder` (no extra pass); ``"posthoc"`` scores are computed
from a trained model (or, for ``"random"``, from nothing). Every score is oriented
higher = harder = kept first and index-aligned with the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data.base import LabelledDataset
from ..training.hooks import Recorder
from ..training.inference import check_batch_size, model_outputs
from .geometry import PROTOTYPE_METRICS, kcenter_order_scores, kcenter_steps, prototype_distances
from .grand import GRAND_METHODS, grand_scores
from .posthoc import el2n_from_logits, grand_last_layer_from_outputs, random_scores
from .recorders import (
    AUMRecorder,
    DynamicUncertaintyRecorder,
    EL2NTraceRecorder,
    ForgettingRecorder,
)

__all__ = ["SCORERS", "ScorerInfo", "check_scorers", "make_recorder", "make_recorders",
           "posthoc_scores", "scorer_info"]


@dataclass(frozen=True)
class ScorerInfo:
    """What a registered scorer is.

    Attributes
    ----------
    name
        Registry key (also the column name in score files).
    kind
        ``"recorder"`` or ``"posthoc"``.
    description
        One line: the formula and its orientation.
    reference
        The paper it comes from.
    options
        Keyword options it accepts (see :func:`make_recorder` / :func:`posthoc_scores`).
    """

    name: str
    kind: str
    description: str
    reference: str
    options: tuple[str, ...] = ()


#: name -> :class:`ScorerInfo`, for every score droprune computes
SCORERS: dict[str, ScorerInfo] = {s.name: s for s in (
    ScorerInfo("random", "posthoc", "uniform random numbers (top-k = random subset)", "-"),
    ScorerInfo("el2n", "posthoc", "||softmax - onehot||_2 of the trained model, eval mode",
               "Paul et al., NeurIPS 2021"),
    ScorerInfo("grand", "posthoc", "norm of the per-sample loss gradient over all parameters, "
               "batch norm in eval mode", "Paul et al., NeurIPS 2021",
               ("method", "chunk_size")),
    ScorerInfo("grand_last_layer", "posthoc", "closed-form gradient norm over the last linear "
               "layer, ||p - y|| sqrt(||h||^2 + 1)", "Paul et al., NeurIPS 2021 (cheap proxy)"),
    ScorerInfo("forgetting", "recorder", "number of correct->wrong transitions between "
               "consecutive presentations; never learned by convention",
               "Toneva et al., ICLR 2019", ("never_learned",)),
    ScorerInfo("dynunc", "recorder", "mean over sliding windows of J presentations of the std "
               "of the true-class probability", "He et al., 2023 (dynamic uncertainty)",
               ("window",)),
    ScorerInfo("aum", "recorder", "minus the mean margin (true logit - largest other logit)",
               "Pleiss et al., NeurIPS 2020", ()),
    ScorerInfo("el2n_trace", "recorder", "EL2N of the training forward pass, mean over epochs "
               "(or last)", "Paul et al., NeurIPS 2021", ("reduce",)),
    ScorerInfo("ssp", "posthoc", "distance of the penultimate embedding to its class mean "
               "(supervised prototypes)", "Sorscher et al., NeurIPS 2022", ("metric",)),
    ScorerInfo("kcenter", "posthoc", "greedy k-center order on penultimate embeddings "
               "(earlier = higher)", "Sener & Savarese, ICLR 2018 (CoreSet)", ("budget",)),
)}

_RECORDERS = {"forgetting": ForgettingRecorder, "dynunc": DynamicUncertaintyRecorder,
              "aum": AUMRecorder, "el2n_trace": EL2NTraceRecorder}


def scorer_info(name: str) -> ScorerInfo:
    """The :class:`ScorerInfo` of ``name``; ``ValueError`` listing the valid names otherwise."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; valid scorers: {', '.join(SCORERS)}")
    return SCORERS[name]


def check_scorers(names: Sequence[str],
                  options: Mapping[str, Mapping[str, Any]] | None = None, *,
                  allow_empty: bool = False) -> list[str]:
    """Validate scorer names (known, no repeats, at least one unless ``allow_empty``) and their
    options; returns the names as a list."""
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names and not allow_empty:
        raise ValueError(f"scorers is empty: name at least one of {', '.join(SCORERS)}")
    for name in names:
        scorer_info(name)
    if len(set(names)) != len(names):
        raise ValueError(f"scorers has repeated names: {names}")
    for name, opts in (options or {}).items():
        info = scorer_info(name)
        bad = sorted(set(opts) - set(info.options))
        if bad:
            raise ValueError(f"scorer {name!r} has no option(s) {bad}; its options: "
                             f"{list(info.options) or 'none'}")
        _check_option_values(name, opts)
    return names


def _check_option_values(name: str, opts: Mapping[str, Any]) -> None:
    """Raise ValueError for a bad option value now, not after the training that precedes it."""
    if name in _RECORDERS:
        _RECORDERS[name](**opts)  # the constructors validate their arguments
    elif name == "grand":
        if opts.get("method", "auto") not in GRAND_METHODS:
            raise ValueError(f"grand method must be one of {sorted(GRAND_METHODS)}, got "
                             f"{opts['method']!r}")
        check_batch_size(opts.get("chunk_size", 1), "chunk_size")
    elif name == "ssp" and opts.get("metric", "euclidean") not in PROTOTYPE_METRICS:
        raise ValueError(f"ssp metric must be one of {PROTOTYPE_METRICS}, got "
                         f"{opts['metric']!r}")
    elif name == "kcenter":
        kcenter_steps(opts.get("budget"))


def make_recorder(name: str, **options: Any) -> Recorder:
    """A fresh recorder for a ``"recorder"``-kind scorer, e.g.
    ``make_recorder("forgetting", never_learned="zero")``."""
    info = scorer_info(name)
    if info.kind != "recorder":
        raise ValueError(f"scorer {name!r} is computed post hoc, not recorded during training")
    check_scorers([name], {name: options})
    return _RECORDERS[name](**options)


def make_recorders(names: Sequence[str],
                   options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Recorder]:
    """Fresh recorders for several scorers of one training run (``options``: per-scorer
    keyword options).

    Examples
    --------
    >>> [r.name for r in make_recorders(["forgetting", "aum"], {"forgetting": {
    ...     "never_learned": "zero"}})]
    ['forgetting', 'aum']
    """
    names = check_scorers(names, options)
    options = options or {}
    return [make_recorder(n, **options.get(n, {})) for n in names]


def posthoc_scores(names: Sequence[str], model: nn.Module, dataset: LabelledDataset, *,
                   seed: int = 0, options: Mapping[str, Mapping[str, Any]] | None = None,
                   batch_size: int = 256,
                   device: torch.device | str | None = None) -> dict[str, np.ndarray]:
    """Compute several post-hoc scores of one trained model, sharing one forward pass.

    Parameters
    ----------
    names
        Post-hoc scorer names (kind ``"posthoc"``).
    model
        The trained classifier.
    dataset
        The samples to score (the training set).
    seed
        Seed of ``"random"`` and of the first k-center.
    options
        Per-scorer keyword options, e.g. ``{"grand": {"method": "loop"}, "ssp":
        {"metric": "cosine"}}``.
    batch_size
        Batch size of the forward pass (GraNd uses its own ``chunk_size`` option).
    device
        Where to compute (default: the model's device).

    Returns
    -------
    dict
        name -> float64 (N,) scores.

    Notes
    -----
    In a distributed run this is a collective (call it on every rank): the forward pass and
    GraNd's backward run on each rank's shard of the samples, the embeddings, logits and
    GraNd norms are gathered by sample index onto every rank, and the scores are computed from
    those full arrays as in one process (SSP's class means and k-center see every sample;
    k-center runs on every rank, so no rank waits for another).
    """
    names = check_scorers(names, options)
    options = options or {}
    wrong = [n for n in names if SCORERS[n].kind != "posthoc"]
    if wrong:
        raise ValueError(f"{wrong} are recorder scorers: pass them to the trainer as recorders "
                         f"(see make_recorder)")
    out: dict[str, np.ndarray] = {}
    needs_outputs = {"el2n", "grand_last_layer", "ssp", "kcenter"} & set(names)
    if needs_outputs:
        emb, logits = model_outputs(model, dataset, batch_size=batch_size, device=device,
                                    distributed=True)
    labels = dataset.labels
    for name in names:
        opts = dict(options.get(name, {}))
        if name == "random":
            out[name] = random_scores(len(dataset), seed=seed)
        elif name == "el2n":
            out[name] = el2n_from_logits(logits, labels)
        elif name == "grand_last_layer":
            bias = getattr(getattr(model, "classifier", None), "bias", None) is not None
            out[name] = grand_last_layer_from_outputs(emb, logits, labels, bias=bias)
        elif name == "ssp":
            out[name] = prototype_distances(emb, labels, num_classes=dataset.num_classes, **opts)
        elif name == "kcenter":
            out[name] = kcenter_order_scores(emb, seed=seed, device=device, **opts)
        else:  # grand
            out[name] = grand_scores(model, dataset, device=device, **opts)
    return out
