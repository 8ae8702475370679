"""What a post-hoc scorer reads: :class:`PosthocInputs`.

Every post-hoc scorer of the registry is a function ``fn(inputs, **options) -> (N,) float64``.
``inputs`` carries the trained model, the samples, the seed and the device, and computes the
model's penultimate embeddings and logits once, on first use, so that several scorers of one
model share a single forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from ..data.base import LabelledDataset
from ..training.inference import model_outputs

__all__ = ["PosthocInputs"]


@dataclass
class PosthocInputs:
    """The trained model and the samples a post-hoc scorer scores.

    Attributes
    ----------
    model
        The trained classifier.
    dataset
        The samples to score (row ``i`` of every score = sample ``i``).
    seed
        Seed of the scorers that draw random numbers (``random``, the first k-center).
    batch_size
        Batch size of the shared forward pass.
    device
        Where to compute (None: the model's device).
    distributed
        Shard the passes over the ranks of a distributed run and gather every row on every
        rank (a collective: every rank must score). Default: this process alone.

    Examples
    --------
    Scorers receive one from :func:`~droprune.scoring.registry.posthoc_scores` (see its
    example); any function of it is a post-hoc scorer:

    >>> from droprune.scoring.posthoc import score_el2n
    >>> score_el2n.__annotations__["inputs"]
    'PosthocInputs'
    """

    model: nn.Module
    dataset: LabelledDataset
    seed: int = 0
    batch_size: int = 256
    device: torch.device | str | None = None
    distributed: bool = False

    @cached_property
    def _outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return model_outputs(self.model, self.dataset, batch_size=self.batch_size,
                             device=self.device, distributed=self.distributed)

    @property
    def embeddings(self) -> torch.Tensor:
        """Penultimate embeddings, float32 (N, D), computed once (eval mode)."""
        return self._outputs[0]

    @property
    def logits(self) -> torch.Tensor:
        """Logits, float32 (N, K), from the same pass as :attr:`embeddings`."""
        return self._outputs[1]

    @property
    def labels(self) -> np.ndarray:
        """The dataset's labels, int64 (N,)."""
        return self.dataset.labels

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes
