"""docs/own_model.md: every Python block runs as it is, in order; the own-loop example of
feeding the recorders stays within ten lines."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[1] / "docs" / "own_model.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_every_block_runs_in_order():
    namespace: dict = {}
    for code in blocks():
        exec(compile(code, str(DOC), "exec"), namespace)
    n = len(namespace["x"])
    assert set(namespace["scores"]) == {"el2n", "loss", "grand", "ssp", "kcenter",
                                        "grand_last_layer"}
    assert all(v.shape == (n,) and np.isfinite(v).all() for v in namespace["scores"].values())
    result = namespace["result"]
    assert result.metadata["model"].endswith(":make_net")
    assert result.scores["el2n"].shape == (n,) and result.val_recall.shape == (10,)
    recorded = namespace["recorded"]
    assert set(recorded) == {"forgetting", "dynunc", "el2n_trace", "aum"}
    assert all(v.shape == (n,) and np.isfinite(v).all() for v in recorded.values())


def test_the_own_loop_example_is_at_most_ten_lines():
    loop = [b for b in blocks() if "make_recorders" in b]
    assert len(loop) == 1
    assert len(loop[0].strip().splitlines()) <= 10
