"""CIFAR-10 (Krizhevsky 2009) from the python pickle release ``cifar-10-batches-py``.

Format: ``data_batch_1`` .. ``data_batch_5`` (training) and ``test_batch`` are pickled dicts
with ``b"data"``: uint8 ``(N, 3072)`` (1024 red, 1024 green, 1024 blue values, each a 32x32
row-major plane) and ``b"labels"``: N ints in 0..9. The paper trains ResNet-18/50 on it (Sec. 5).

The folder is looked for as ``root/cifar-10-batches-py``, then ``root`` itself, then under
the default root; ``download=True`` lets torchvision fetch and extract it into ``root``.
Pixels are normalised per channel as (x / 255 - mean[c]) / std[c], with the official code's
constants; training batches are augmented in the round (election/training/augment.py).
Pickles can run code when loaded: only point the loader at files you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from election.data.base import DEFAULT_ROOT, Dataset, describe_paths
from election.errors import DataError

# The official code's normalisation (cifar10/main.py:69, 73; docs/paper.md). The mean is the
# training images' per-channel mean; the std constants are the widely copied ones the official
# code uses (the training images' own per-channel std is about 0.247, 0.243, 0.261).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
CIFAR10_FOLDER = "cifar-10-batches-py"  # the name the official tarball extracts to
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
_PIXELS = 3 * 32 * 32


def candidate_dirs(root: Path | None) -> list[Path]:
    """Folders searched, in order, for the six batch files."""
    dirs: list[Path] = []
    if root is not None:
        dirs += [root / CIFAR10_FOLDER, root]
    dirs.append(DEFAULT_ROOT / CIFAR10_FOLDER)
    return dirs


def find_folder(root: Path | None) -> Path | None:
    """The first candidate folder holding all five training batches and the test batch."""
    for folder in candidate_dirs(root):
        if all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH)):
            return folder
    return None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> (uint8 (N, 3, 32, 32), int64 (N,)); DataError if malformed."""
    try:
        with path.open("rb") as f:
            entry: Any = pickle.load(f, encoding="bytes")
    except Exception as exc:  # unpickling fails in many ways (bad opcode, EOF, unknown class)
        raise DataError(f"{path}: not a CIFAR pickle ({exc})") from None
    if not isinstance(entry, dict) or b"data" not in entry or b"labels" not in entry:
        raise DataError(f'{path}: expected a dict with keys b"data" and b"labels"')
    data = np.asarray(entry[b"data"])
    labels = np.asarray(entry[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        raise DataError(
            f"{path}: b'data' must be uint8 (N, {_PIXELS}), got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise DataError(f"{path}: {data.shape[0]} images but labels of shape {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels  # (N, 3, 32, 32) uint8, (N,) int64


def _normalise(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).to(torch.float32).div_(255.0)  # (N, 3, 32, 32) float32
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std)


def _download(root: Path) -> None:
    try:
        from torchvision.datasets import CIFAR10

        CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # network and archive errors come in many types
        raise DataError(f"cifar10: torchvision download into {root} failed: {exc}") from None


def load_cifar10(root: Path | None = None, download: bool = False) -> Dataset:
    """Load CIFAR-10 from the first folder holding the six pickle batches."""
    folder = find_folder(root)
    if folder is None and download:
        _download(root or DEFAULT_ROOT)
        folder = find_folder(root or DEFAULT_ROOT)
    if folder is None:
        raise DataError(
            f"cifar10: folder {CIFAR10_FOLDER}/ with {', '.join(TRAIN_BATCHES)}, {TEST_BATCH} not "
            f"found in any of: {describe_paths(candidate_dirs(root))}. Pass download=True "
            "(--download) to fetch it with torchvision, or extract "
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz into the data root"
        )
    parts = [read_batch(folder / name) for name in TRAIN_BATCHES]
    train_images = np.concatenate([p[0] for p in parts])  # (50000, 3, 32, 32) uint8
    train_labels = np.concatenate([p[1] for p in parts])  # (50000,) int64
    test_images, test_labels = read_batch(folder / TEST_BATCH)
    return Dataset(
        name="cifar10",
        train_x=_normalise(train_images),
        train_y=torch.from_numpy(train_labels),
        test_x=_normalise(test_images),
        test_y=torch.from_numpy(test_labels),
        num_classes=10,
        metric="accuracy",
        input_shape=(3, 32, 32),
    )
