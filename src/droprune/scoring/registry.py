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

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data.adapter import as_labelled
from ..training.hooks import Recorder
from ..training.inference import check_batch_size, check_embedding_source, check_model_fits
from ..scorers import SCORERS, Scorer, register_scorer_entry, scorer_info
from .geometry import KCENTER_STARTS, PROTOTYPE_METRICS, kcenter_steps
from .grand import GRAND_METHODS
from .inputs import PosthocInputs

__all__ = ["SCORERS", "Scorer", "check_scorers", "make_recorders", "posthoc_scores",
           "register_scorer", "scorer_info"]


def register_scorer(scorer: Scorer) -> Scorer:
    """Add ``scorer`` to :data:`SCORERS` (and so to method names, the query plan, configs and
    the CLI). Names and method names must be new; a recorder scorer's ``compute`` must be a
    :class:`~droprune.training.hooks.Recorder` subclass.

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
    if isinstance(scorer, Scorer) and scorer.kind == "recorder":
        compute = scorer.function
        if not (isinstance(compute, type) and issubclass(compute, Recorder)):
            raise ValueError(f"scorer {scorer.name!r}: a recorder scorer's compute must be a "
                             f"Recorder subclass")
    return register_scorer_entry(scorer)


def check_grand(*, method: str = "auto", chunk_size: int = 128) -> None:
    if method not in GRAND_METHODS:
        raise ValueError(f"grand method must be one of {sorted(GRAND_METHODS)}, got {method!r}")
    check_batch_size(chunk_size, "chunk_size")


def check_ssp(*, metric: str = "euclidean") -> None:
    if metric not in PROTOTYPE_METRICS:
        raise ValueError(f"ssp metric must be one of {PROTOTYPE_METRICS}, got {metric!r}")


def check_kcenter(*, budget: int | float | None = None, start: str = "random") -> None:
    kcenter_steps(budget)
    if start not in KCENTER_STARTS:
        raise ValueError(f"kcenter start must be one of {KCENTER_STARTS}, got {start!r}")


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
    return {n: np.asarray(SCORERS[n].function(inputs, **options.get(n, {})), dtype=np.float64)
            for n in names}
