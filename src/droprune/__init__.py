"""droprune: distributionally robust data pruning.

Prune your own data in one call (plain arrays in, the kept indices and a per-class table
out; see :func:`droprune.prune` and ``docs/prune.md``)::

    result = droprune.prune(labels, 0.5, val_labels=val_labels, val_pred=val_pred)
    result.kept, result.table

Files in (labels, per-class recalls, scores; :mod:`droprune.inputs`), read exactly::

    labels = droprune.read_labels("labels.csv")
    recalls, val_counts, names = droprune.read_recalls("recalls.csv", labels=labels)

The numpy core (quotas, selection, metrics, theory, :func:`prune`) is importable without
torch::

    import droprune
    counts = droprune.drop_quotas(class_sizes, recalls, density=0.5)
    kept = droprune.select(labels, counts, seed=0)

Conventions: ``density`` is always the fraction of samples KEPT; every score is oriented
higher = harder = kept first; score files are index-aligned with the dataset (row i = sample i).
The torch parts live in the subpackages ``droprune.data``, ``droprune.models``,
``droprune.training``, ``droprune.scoring`` and ``droprune.experiments``.
"""

from ._checks import target_count
from .inputs import ClassRecalls, read_labels, read_recalls, read_scores
from .metrics import (
    RobustnessReport,
    class_counts,
    class_densities,
    class_recalls,
    density_accuracy_correlation,
    min_samples_per_class,
    robustness_report,
)
from .quotas import (
    QUOTA_RULES,
    QuotaOptions,
    QuotaRule,
    QuotaWarning,
    UnderServedWarning,
    balanced_quotas,
    drop_densities,
    drop_quotas,
    make_quotas,
    proportional_quotas,
    quotas_from_selection,
    register_quota_rule,
    starved_classes,
    under_served_classes,
)
from .pruning import PruneResult, prune
from .comparison import Candidate, CompareResult, compare
from .selection import select, select_global

__version__ = "0.1.0"

__all__ = [
    "ClassRecalls",
    "PruneResult",
    "Candidate",
    "CompareResult",
    "QUOTA_RULES",
    "QuotaOptions",
    "QuotaRule",
    "QuotaWarning",
    "UnderServedWarning",
    "RobustnessReport",
    "__version__",
    "balanced_quotas",
    "class_counts",
    "class_densities",
    "class_recalls",
    "compare",
    "density_accuracy_correlation",
    "drop_densities",
    "drop_quotas",
    "make_quotas",
    "min_samples_per_class",
    "proportional_quotas",
    "prune",
    "quotas_from_selection",
    "read_labels",
    "read_recalls",
    "read_scores",
    "register_quota_rule",
    "robustness_report",
    "select",
    "select_global",
    "starved_classes",
    "target_count",
    "under_served_classes",
]
