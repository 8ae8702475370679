"""Datasets: the embedded default (MNIST-1D), readers for the paper's benchmarks, splits.

Everything loads through :func:`load_dataset`, which returns train / val / test splits::

    from droprune.data import load_dataset
    splits = load_dataset("mnist1d")                       # generated offline, cached
    splits = load_dataset("cifar10", "/data", imbalance=10)  # long-tailed train split

See ``docs/data.md`` for every source, its on-disk layout and where to get it; a new source
is one :class:`DatasetSource` given to :func:`register_dataset`. Your own data
(a ``TensorDataset``, arrays ``(x, y)``, any map-style dataset) goes through
:func:`as_labelled` (docs/own_model.md).
"""

from .._extras import require as _require

_require("torch", "torch", what="droprune.data")  # one line naming the extra, not a traceback

from .adapter import as_labelled, from_torch_dataset
from .base import DatasetSplits, LabelledDataset, iter_batches
from .cache import cache_dir
from .cifar import load_cifar10, load_cifar100
from .idx import load_fashion_mnist, load_mnist, read_idx
from .imagefolder import load_imagefolder, load_imagenet
from .images import ImageFiles
from .imbalance import imbalanced_indices, long_tail_counts, make_imbalanced
from .layout import DatasetFormatError
from .mnist1d import generate_mnist1d, load_mnist1d
from .registry import check_dataset, load_dataset, summarize_splits
from .source import DATASETS, DatasetSource, register_dataset
from .splits import check_reportable, split_val_test, stratified_split
from .stats import channel_stats
from .synthetic import gaussian_mixture
from .tinyimagenet import load_tinyimagenet
from .waterbirds import load_waterbirds

# The public API. The readers of each source (load_cifar10, ...) and the helpers (read_idx,
# stratified_split, gaussian_mixture, ...) stay importable from here and from their modules,
# but the way in is load_dataset(name) and as_labelled(your data).
__all__ = [
    "DATASETS",
    "DatasetFormatError",
    "DatasetSource",
    "DatasetSplits",
    "LabelledDataset",
    "as_labelled",
    "check_dataset",
    "from_torch_dataset",
    "iter_batches",
    "load_dataset",
    "make_imbalanced",
    "register_dataset",
    "split_val_test",
    "summarize_splits",
]
