"""Tests of droprune.integrations; :func:`assert_scores_match_own_recorders` is shared."""

from __future__ import annotations

import numpy as np
import torch

from droprune.scoring import make_recorders


def assert_scores_match_own_recorders(scores: dict, seen: list, names: list[str], n: int,
                                      num_classes: int, epochs: int) -> None:
    """``scores`` (an integration's) equal droprune's own recorders fed ``seen`` — the
    ``(indices, logits, labels, epoch)`` of every training batch, in order — and every sample
    was presented once in epoch 0 under its own index."""
    ref = make_recorders(names)
    for r in ref:
        r.on_train_begin(n, num_classes, epochs, "cpu")
    for epoch in range(epochs):
        for idx, logits, y, e in seen:
            if e == epoch:
                for r in ref:
                    r.on_batch(epoch, idx, logits, y)
        for r in ref:
            r.on_epoch_end(epoch)
    assert list(scores) == names
    for r in ref:
        assert scores[r.name].shape == (n,) and np.isfinite(scores[r.name]).all()
        np.testing.assert_array_equal(scores[r.name], r.scores())
    assert sorted(torch.cat([s[0] for s in seen if s[3] == 0]).tolist()) == list(range(n))
