"""The one way the experiment tests fabricate result rows: :func:`make_record`."""

from __future__ import annotations

from typing import Any

import numpy as np

from droprune.experiments.record import RunRecord


def make_record(run_id: str = "a", **fields: Any) -> RunRecord:
    """A valid :class:`RunRecord` of a 3-class run; ``fields`` override any field."""
    values: dict[str, Any] = dict(
        run_id=run_id, experiment="t", fingerprint="f", dataset="d", model="m",
        method="Random+DRoP", strategy="Random", family="Random", quota="drop", cdbw=0,
        density=0.5, seed=0, kept=10, epochs=3, accuracy=0.8, worst_class_accuracy=0.5,
        worst_class=1, worst_class_name="1", gap=0.4, std=0.2, min_samples_per_class=3,
        class_recall=np.array([0.9, 0.5, np.nan]), class_sizes=[10, 6, 4],
        class_counts=np.array([5, 3, 2]), class_density=[0.5, 0.5, 0.5], seconds=1.0,
        config={"a": 1})
    values.update(fields)
    return RunRecord(**values)
