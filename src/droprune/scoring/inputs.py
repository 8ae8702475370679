"""What a post-hoc scorer reads: :class:`PosthocInputs`.

Every post-hoc scorer of the registry is a function ``fn(inputs, **options) -> (N,) float64``.
``inputs`` carries the trained model, the samples, the seed and the device, and computes the
model's penultimate embeddings and logits once, on first use, so that several scorers of one
model share a single forward pass.

The model is any ``nn.Module`` that returns logits. Scores of the logits alone (EL2N, loss,
GraNd) need nothing else; scores of the embeddings (SSP, k-center, last-layer GraNd) read them
as :func:`~droprune.training.inference.model_outputs` does (``embed``, a droprune Classifier's
``features``, or the input of the last ``nn.Linear``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..data.base import LabelledDataset
from ..models.base import Classifier
from ..training.inference import (
    last_linear,
    model_device,
    model_outputs,
    predict_logits,
)

__all__ = ["PosthocInputs"]


@dataclass
class PosthocInputs:
    """The trained model and the samples a post-hoc scorer scores.

    Attributes
    ----------
    model
        The trained model: any ``nn.Module`` mapping a normalised batch to logits (B, K).
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
    embed
        Optional ``embed(x) -> (B, D)`` embeddings of a normalised batch (default: a droprune
        Classifier's ``features``, else the input of the model's last ``nn.Linear``).
    shared_pass
        Read the logits of a model of your own in the pass that reads its embeddings (the
        default). :func:`~droprune.scoring.registry.posthoc_scores` turns it off when no
        requested score reads embeddings, so that the logit scores of a model whose embeddings
        cannot be read (e.g. its last ``nn.Linear`` sees (B, T, D)) still work. A droprune
        Classifier or an ``embed`` always share the pass.

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
    embed: Callable[[torch.Tensor], torch.Tensor] | None = None
    shared_pass: bool = True

    @cached_property
    def _outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return model_outputs(self.model, self.dataset, batch_size=self.batch_size,
                             device=self.device, distributed=self.distributed, embed=self.embed)

    @property
    def _logits_in_shared_pass(self) -> bool:
        if self.embed is not None or isinstance(self.model, Classifier):
            return True
        return self.shared_pass and last_linear(self.model) is not None

    @property
    def embeddings(self) -> torch.Tensor:
        """Penultimate embeddings, float32 (N, D), computed once (eval mode); ValueError when
        the model has none to read (pass ``embed``)."""
        return self._outputs[0]

    @cached_property
    def logits(self) -> torch.Tensor:
        """Logits, float32 (N, K), from the same pass as :attr:`embeddings` (a pass of the
        logits alone when the model has no embeddings to read, or ``shared_pass`` is off)."""
        if self._logits_in_shared_pass:
            return self._outputs[1]
        return torch.from_numpy(predict_logits(
            self.model, self.dataset, batch_size=self.batch_size,
            device=model_device(self.model, self.device), distributed=self.distributed))

    @property
    def head(self) -> nn.Linear:
        """The final linear layer (``logits = head(embeddings)``): a Classifier's
        ``classifier``, else the model's last ``nn.Linear``; ValueError when there is none."""
        head = self.model.classifier if isinstance(self.model, Classifier) \
            else last_linear(self.model)
        if head is None:
            raise ValueError(f"{type(self.model).__name__} has no nn.Linear layer: the last-layer "
                             f"scores need logits = Linear(embeddings)")
        return head

    @property
    def labels(self) -> np.ndarray:
        """The dataset's labels, int64 (N,)."""
        return self.dataset.labels

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes
