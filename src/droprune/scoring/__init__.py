"""Per-sample pruning scores, all oriented higher = harder = kept first, index-aligned with the
dataset (row i = sample i).

- Training-dynamics recorders fed by the trainer (no extra pass): :class:`ForgettingRecorder`,
  :class:`DynamicUncertaintyRecorder`, :class:`EL2NTraceRecorder`, :class:`AUMRecorder`.
- Post-hoc scorers of a trained model: :func:`el2n_scores`, :func:`grand_scores` (exact,
  full network), :func:`grand_last_layer_scores`, :func:`prototype_scores` (supervised SSP),
  :func:`kcenter_scores` / :func:`kcenter_selection` (CoreSet), :func:`random_scores`.
- The registry :data:`SCORERS`, the query protocol :func:`run_query` and score files
  (:func:`save_scores`, :func:`load_scores`, :func:`save_query_result`,
  :func:`load_query_result`).

See ``docs/scoring.md`` for the formulas, conventions and benchmark figures.
"""

from .geometry import (
    PROTOTYPE_METRICS,
    kcenter_order_scores,
    kcenter_scores,
    kcenter_selection,
    prototype_distances,
    prototype_scores,
)
from .grand import GRAND_METHODS, ghost_unsupported, grand_auto_method, grand_scores
from .posthoc import (
    el2n_from_logits,
    el2n_scores,
    grand_last_layer_from_outputs,
    grand_last_layer_scores,
    random_scores,
)
from ..training.inference import model_outputs
from .query import run_query
from .recorders import (
    FORGETTING_CONVENTIONS,
    AUMRecorder,
    DynamicUncertaintyRecorder,
    EL2NTraceRecorder,
    ForgettingRecorder,
)
from .registry import (
    SCORERS,
    ScorerInfo,
    check_scorers,
    make_recorder,
    make_recorders,
    posthoc_scores,
    scorer_info,
)
from .store import (
    QueryResult,
    SeedResult,
    load_query_result,
    load_scores,
    save_query_result,
    save_scores,
)

__all__ = [
    "AUMRecorder",
    "DynamicUncertaintyRecorder",
    "EL2NTraceRecorder",
    "FORGETTING_CONVENTIONS",
    "ForgettingRecorder",
    "GRAND_METHODS",
    "PROTOTYPE_METRICS",
    "QueryResult",
    "SCORERS",
    "ScorerInfo",
    "SeedResult",
    "check_scorers",
    "el2n_from_logits",
    "el2n_scores",
    "ghost_unsupported",
    "grand_auto_method",
    "grand_last_layer_from_outputs",
    "grand_last_layer_scores",
    "grand_scores",
    "kcenter_order_scores",
    "kcenter_scores",
    "kcenter_selection",
    "load_query_result",
    "load_scores",
    "make_recorder",
    "make_recorders",
    "model_outputs",
    "posthoc_scores",
    "prototype_distances",
    "prototype_scores",
    "random_scores",
    "run_query",
    "save_query_result",
    "save_scores",
    "scorer_info",
]
