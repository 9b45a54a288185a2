"""The dataset registry: name -> loader, and :func:`load_dataset`, the one entry point.

Every loader takes ``(root, download)`` and returns a :class:`Dataset` on the CPU; unknown
names raise ConfigError listing the known ones, missing or malformed files raise DataError
saying where files were looked for and how to get them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from election.data.amazon import load_amazon, load_amazon_seed
from election.data.base import Dataset
from election.data.cifar10 import load_cifar10
from election.data.digits import load_digits
from election.data.fashion_mnist import load_fashion_mnist
from election.errors import ConfigError

Loader = Callable[[Path | None, bool], Dataset]

_LOADERS: dict[str, Loader] = {
    "digits": load_digits,  # scikit-learn's bundled 8x8 digits; no files needed
    "fashion-mnist": load_fashion_mnist,  # IDX files: Debian package or torchvision download
    "cifar10": load_cifar10,  # cifar-10-batches-py pickles or torchvision download
    "amazon": load_amazon,  # Kaggle Amazon Employee Access train.csv, sparse one-hot
}
DATASETS: tuple[str, ...] = tuple(_LOADERS)
# (dataset, protocol) -> the loader the official code's protocol uses instead (docs/paper.md).
_PROTOCOL_LOADERS: dict[tuple[str, str], Loader] = {
    ("amazon", "seed"): load_amazon_seed,  # the official feature pipeline: 263,500 features
}


def load_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    download: bool = False,
    num_train: int | None = None,
    protocol: str = "project",
) -> Dataset:
    """Load dataset ``name``; ``num_train`` keeps only the first that many training samples;
    ``protocol="seed"`` selects the official code's features where they differ (amazon)."""
    loader = _PROTOCOL_LOADERS.get((name, protocol), _LOADERS.get(name))
    if loader is None:
        raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    root_path = Path(root).expanduser() if root is not None else None
    dataset = loader(root_path, download)
    return dataset if num_train is None else dataset.truncated(num_train)
