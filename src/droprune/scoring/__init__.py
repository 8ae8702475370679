"""Per-sample pruning scores, all oriented higher = harder = kept first, index-aligned with the
dataset (row i = sample i).

- The registry :data:`SCORERS` (one :class:`Scorer` entry per score: how it is computed, which
  query run produces it, its method name and options); :func:`register_scorer` adds one.
- Training-dynamics recorders fed by the trainer (no extra pass): :class:`ForgettingRecorder`,
  :class:`DynamicUncertaintyRecorder`, :class:`EL2NTraceRecorder`, :class:`AUMRecorder`, or
  by name with :func:`make_recorders`.
- Post-hoc scores of a trained model by name, sharing one forward pass: :func:`posthoc_scores`;
  exact full-network GraNd: :func:`grand_scores`; the same scores on plain arrays:
  :func:`el2n_from_logits`, :func:`grand_last_layer_from_outputs`, :func:`prototype_distances`,
  :func:`kcenter_order_scores`.
- The query protocol :func:`run_query` and score files (:func:`save_scores`,
  :func:`load_scores`, :func:`load_query_result`).

See ``docs/scoring.md`` for the formulas, conventions and benchmark figures.
"""

from .._extras import require as _require

_require("torch", "torch", what="droprune.scoring")  # one line naming the extra, not a traceback

from .geometry import kcenter_order_scores, prototype_distances
from .grand import grand_scores
from .inputs import PosthocInputs
from .posthoc import el2n_from_logits, grand_last_layer_from_outputs
from .query import run_query
from .recorders import (
    AUMRecorder,
    DynamicUncertaintyRecorder,
    EL2NTraceRecorder,
    ForgettingRecorder,
)
from .registry import (
    SCORERS,
    Scorer,
    check_scorers,
    make_recorders,
    posthoc_scores,
    register_scorer,
)
from .store import QueryResult, load_query_result, load_scores, save_scores

__all__ = [
    "AUMRecorder",
    "DynamicUncertaintyRecorder",
    "EL2NTraceRecorder",
    "ForgettingRecorder",
    "PosthocInputs",
    "QueryResult",
    "SCORERS",
    "Scorer",
    "check_scorers",
    "el2n_from_logits",
    "grand_last_layer_from_outputs",
    "grand_scores",
    "kcenter_order_scores",
    "load_query_result",
    "load_scores",
    "make_recorders",
    "posthoc_scores",
    "prototype_distances",
    "register_scorer",
    "run_query",
    "save_scores",
]
