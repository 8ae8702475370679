"""Scores from the geometry of penultimate embeddings: supervised prototypes (SSP) and greedy
k-center (CoreSet).

Both come as functions on plain (N, D) arrays and as ``score_*`` functions of
:class:`~.inputs.PosthocInputs` (the registry's entry points), which read the trained model's
penultimate embeddings from one shared eval-mode pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import as_labels, check_int, target_count
from .inputs import PosthocInputs

__all__ = [
    "KCENTER_STARTS",
    "PROTOTYPE_METRICS",
    "kcenter_order_scores",
    "kcenter_selection",
    "kcenter_steps",
    "prototype_distances",
    "score_kcenter",
    "score_ssp",
]

#: distances offered by :func:`prototype_distances`
PROTOTYPE_METRICS = ("euclidean", "cosine")


def _as_embeddings(embeddings: Any, name: str = "embeddings") -> torch.Tensor:
    e = torch.as_tensor(embeddings)
    if e.dim() != 2 or not torch.is_floating_point(e):
        raise ValueError(f"{name} must be a float (N, D) array, got shape {tuple(e.shape)} and "
                         f"dtype {e.dtype}")
    if e.shape[0] and not bool(torch.isfinite(e).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return e


def prototype_distances(embeddings: Any, labels: Any, *, metric: str = "euclidean",
                        num_classes: int | None = None) -> np.ndarray:
    """Distance of each embedding to the prototype (mean embedding) of its own class.

    The supervised variant of the self-supervised prototype metric of Sorscher et al.
    (NeurIPS 2022, "Beyond neural scaling laws"): class means replace k-means centroids. As in
    that paper, prototypical samples (close to the mean) are easy and far ones are hard, so the
    distance itself is the score: higher = harder = kept first.

    Parameters
    ----------
    embeddings
        (N, D) penultimate embeddings.
    labels
        Class of each row, integers >= 0.
    metric
        ``"euclidean"`` (default): ``||e_i - mean_k||_2``. ``"cosine"``: ``1 - cos(e_i, m_k)``
        with ``m_k`` the mean of the class's L2-normalised embeddings (in [0, 2]).
    num_classes
        Number of classes (default ``max(labels) + 1``).

    Returns
    -------
    numpy.ndarray
        float64 (N,); a class with one sample has distance 0.

    Examples
    --------
    >>> prototype_distances([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]], [0, 0, 1])
    array([1., 1., 0.])
    """
    if metric not in PROTOTYPE_METRICS:
        raise ValueError(f"metric must be one of {PROTOTYPE_METRICS}, got {metric!r}")
    e = _as_embeddings(embeddings).to(torch.float64)
    y = as_labels(labels, num_classes=num_classes)
    if y.size != e.shape[0]:
        raise ValueError(f"embeddings has {e.shape[0]} rows but labels has {y.size} entries")
    if y.size == 0:
        return np.zeros(0)
    k = int(num_classes) if num_classes is not None else int(y.max()) + 1
    if metric == "cosine":
        e = torch.nn.functional.normalize(e, dim=1)
    yt = torch.from_numpy(y)
    sums = torch.zeros(k, e.shape[1], dtype=e.dtype).index_add_(0, yt, e)
    sizes = torch.bincount(yt, minlength=k).clamp_min(1).to(e.dtype)
    means = sums / sizes[:, None]
    if metric == "euclidean":
        return torch.linalg.vector_norm(e - means[yt], dim=1).numpy()
    cos = (e * torch.nn.functional.normalize(means, dim=1)[yt]).sum(1)
    return (1.0 - cos).clamp_min(0.0).numpy()


def score_ssp(inputs: PosthocInputs, *, metric: str = "euclidean") -> np.ndarray:
    """The registry's ``ssp`` (supervised prototypes): :func:`prototype_distances` of the
    trained model's penultimate embeddings. float64 (N,), higher = harder."""
    return prototype_distances(inputs.embeddings, inputs.labels, metric=metric,
                               num_classes=inputs.num_classes)


def kcenter_selection(embeddings: Any, k: int, *, seed: int = 0,
                      device: torch.device | str | None = None,
                      start: str = "random") -> np.ndarray:
    """Greedy k-center (Sener & Savarese, ICLR 2018, "CoreSet"): the first ``k`` centres in the
    order the greedy algorithm picks them.

    The first centre is a uniformly random sample drawn from ``seed`` (deterministic;
    ``start="random"``) or the sample nearest the mean embedding (``start="mean"``, as the DRoP
    reference code; ties to the lowest index); each next one is the sample farthest
    (Euclidean) from all centres chosen so far, ties to the lowest index. Time ``O(N k D)`` as
    ``k`` matrix-vector products; memory ``O(N)`` beside the embeddings (the minimum distance
    to the chosen centres is updated in place).

    Parameters
    ----------
    embeddings
        (N, D) float array.
    k
        Number of centres, ``0 <= k <= N``.
    seed
        Seed of the first centre (``start="random"``).
    device
        Where to compute (default: where ``embeddings`` lives; CPU for numpy input).
    start
        ``"random"`` or ``"mean"`` (see above).

    Returns
    -------
    numpy.ndarray
        int64 (k,), the greedy order.

    Examples
    --------
    >>> order = kcenter_selection([[0.0], [1.0], [10.0], [0.5]], 4, seed=0)
    >>> sorted(order.tolist())
    [0, 1, 2, 3]
    >>> kcenter_selection([[0.0], [1.0], [10.0], [0.5]], 2, start="mean").tolist()  # mean 2.875
    [1, 2]
    """
    if start not in KCENTER_STARTS:
        raise ValueError(f"start must be one of {KCENTER_STARTS}, got {start!r}")
    e = _as_embeddings(embeddings)
    n = e.shape[0]
    k = check_int(k, "k", maximum=n,
                  requirement=f"an integer in [0, {n}] (the number of centres)")
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    dev = torch.device(device) if device is not None else e.device
    x = e.to(device=dev, dtype=torch.float32)
    x = x - x.mean(0, keepdim=True)  # centring keeps ||a||^2 - 2ab + ||b||^2 accurate
    sq = x.pow(2).sum(1)
    order = torch.empty(k, dtype=torch.int64, device=dev)
    first = int(np.random.default_rng(seed).integers(n)) if start == "random" else \
        int(sq.argmin())  # x is centred: the smallest norm is the nearest to the mean
    nxt = torch.tensor([first], device=dev)
    min_d = torch.full((n,), float("inf"), device=dev)
    for step in range(k):
        order[step] = nxt[0]
        c = x.index_select(0, nxt)  # (1, D)
        d = (sq - 2.0 * (x @ c.T).view(-1) + sq.index_select(0, nxt)).clamp_min_(0.0)
        torch.minimum(min_d, d, out=min_d)
        min_d.index_fill_(0, nxt, -1.0)  # chosen: -1 survives every later minimum, never re-picked
        nxt = min_d.argmax().view(1)
    return order.cpu().numpy()


def kcenter_steps(budget: int | float | None, n: int | None = None) -> int | None:
    """Number of greedy steps for a k-center ``budget`` (see :func:`kcenter_order_scores`);
    with ``n=None`` only checks the budget (returns None)."""
    ok_int = isinstance(budget, (int, np.integer)) and not isinstance(budget, bool) \
        and 0 <= budget <= (budget if n is None else n)
    ok_frac = isinstance(budget, float) and 0.0 < budget < 1.0
    if not (budget is None or ok_int or ok_frac):
        top = "N" if n is None else n
        raise ValueError(f"budget must be None, an integer in [0, {top}] or a fraction in "
                         f"(0, 1), got {budget!r}")
    if n is None:
        return None
    if budget is None:
        return n
    return target_count(budget, n) if ok_frac else int(budget)


def kcenter_order_scores(embeddings: Any, *, budget: int | float | None = None, seed: int = 0,
                         device: torch.device | str | None = None,
                         start: str = "random") -> np.ndarray:
    """Scores whose descending order is the greedy k-center order.

    The sample chosen ``r``-th (``r = 0, 1, ...``) scores ``N - r``, so for every
    ``k <= budget`` the top-``k`` samples by score are exactly the greedy k-center solution of
    :func:`kcenter_selection`. Samples beyond the budget are ranked (below all chosen ones) by
    their distance to the nearest chosen centre, farthest first: the greedy step frozen at
    ``budget`` (cheaper than the full order, which costs ``O(N^2 D)``).

    Parameters
    ----------
    budget
        Number of greedy steps: an integer, a fraction of N in (0, 1) (a density), or ``None``
        (default) for all N.
    start
        The first centre: ``"random"`` (from ``seed``) or ``"mean"`` (see
        :func:`kcenter_selection`).

    Returns
    -------
    numpy.ndarray
        float64 (N,), values ``1 .. N``, all distinct.

    Examples
    --------
    >>> s = kcenter_order_scores([[0.0], [0.1], [5.0], [9.0]], seed=0)
    >>> int(np.argmax(s)) == int(kcenter_selection([[0.0], [0.1], [5.0], [9.0]], 1, seed=0)[0])
    True
    """
    e = _as_embeddings(embeddings)
    n = e.shape[0]
    steps = kcenter_steps(budget, n)
    assert steps is not None  # an int when n is given
    order = kcenter_selection(e, steps, seed=seed, device=device, start=start)
    position = np.full(n, -1, dtype=np.int64)
    position[order] = np.arange(order.size)
    rest = np.flatnonzero(position < 0)
    if rest.size:
        x = e.to(torch.float32)
        x = x - x.mean(0, keepdim=True)
        if order.size:
            centres = x[torch.from_numpy(order)]
            dist = torch.full((rest.size,), float("inf"))
            for lo in range(0, rest.size, 4096):
                block = x[torch.from_numpy(rest[lo:lo + 4096])]
                dist[lo:lo + 4096] = torch.cdist(block, centres).amin(1)
            rank = np.argsort(-dist.numpy(), kind="stable")
        else:
            rank = np.arange(rest.size)
        position[rest[rank]] = order.size + np.arange(rest.size)
    return (n - position).astype(np.float64)


def score_kcenter(inputs: PosthocInputs, *, budget: int | float | None = None,
                  start: str = "random") -> np.ndarray:
    """The registry's ``kcenter`` (CoreSet): :func:`kcenter_order_scores` of the trained
    model's penultimate embeddings, first centre drawn from ``inputs.seed`` (``start="random"``)
    or nearest the mean (``"mean"``). float64 (N,), higher = chosen earlier."""
    return kcenter_order_scores(inputs.embeddings, budget=budget, seed=inputs.seed,
                                device=inputs.device, start=start)


#: where the greedy k-center starts
KCENTER_STARTS = ("random", "mean")
