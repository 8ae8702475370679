"""Feed droprune's training-dynamics recorders from a training loop you already have.

- :class:`droprune.integrations.lightning.RecorderCallback`: a Lightning ``Callback``
  (``pip install "droprune[lightning]"``);
- :class:`droprune.integrations.huggingface.RecorderTrainer`: a Hugging Face ``Trainer`` that
  feeds them (``pip install "droprune[huggingface]"``);
- :func:`with_indices`: items of a map-style dataset with their sample index, which both need.

Importing this package imports neither framework; each module imports its own when it is
imported and says which ``pip install`` brings it when it is missing. The recorders' state is
saved and restored through the framework's own checkpoints.
"""

from __future__ import annotations

from ._common import IndexedDataset, with_indices

__all__ = ["IndexedDataset", "with_indices"]
