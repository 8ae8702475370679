"""The examples of docs/own_model.md's "Lightning and Hugging Face" section (```py blocks, which
tests/test_own_model_docs.py leaves to these tests) run as they are."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "own_model.md"


def doc_example(imports: str) -> str:
    """The one ```py block of the docs that imports ``imports``."""
    found = [b for b in re.findall(r"```py\n(.*?)```", DOC.read_text(), flags=re.S)
             if f"import {imports}" in b]
    assert len(found) == 1, imports
    return found[0]


def test_the_hugging_face_example_in_the_docs_runs(tmp_path, monkeypatch):
    for module in ("transformers", "accelerate", "datasets"):
        pytest.importorskip(module, reason=f"needs {module}: pip install "
                                           f"\"droprune[huggingface]\"")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(doc_example("datasets"), str(DOC), "exec"), namespace)
    scores = namespace["scores"]
    assert list(scores) == ["forgetting", "dynunc", "el2n_trace"]
    assert all(v.shape == (512,) and np.isfinite(v).all() for v in scores.values())
