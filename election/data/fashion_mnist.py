"""Fashion-MNIST from IDX files (Xiao, Rasul & Vollgraf 2017): 60,000 train / 10,000 test 28x28.

IDX layout (big-endian): a 4-byte magic ``0x00 0x00 <dtype> <ndim>`` (dtype 0x08 = uint8),
then ``ndim`` uint32 dimension sizes, then the data row-major. Labels are ``0x00000801``
(ndim 1), images ``0x00000803`` (ndim 3). Files may be gzipped (detected by content, not name).

Search order: ``root`` (and its ``FashionMNIST/raw`` and ``fashion-mnist`` subfolders), the
Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``), then
torchvision's raw folder under the default root. ``download=True`` asks torchvision to fetch
the files into ``root`` when none are found. Pixels are normalised as (x / 255 - mean) / std.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from election.data.base import DEFAULT_ROOT, Dataset, describe_paths
from election.errors import DataError

FASHION_MNIST_MEAN = 0.2860  # pixel mean of the 60,000 training images, in [0, 1] units
FASHION_MNIST_STD = 0.3530  # pixel standard deviation of the training images
# Where `apt-get install dataset-fashion-mnist` puts the gzipped IDX files.
DEBIAN_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)

IDX_UBYTE = 0x08  # the only IDX element type Fashion-MNIST uses
_GZIP_MAGIC = b"\x1f\x8b"
_FILES = {  # role -> (file stem, expected ndim)
    "train_images": ("train-images-idx3-ubyte", 3),
    "train_labels": ("train-labels-idx1-ubyte", 1),
    "test_images": ("t10k-images-idx3-ubyte", 3),
    "test_labels": ("t10k-labels-idx1-ubyte", 1),
}


def read_idx(path: Path, *, ndim: int | None = None) -> np.ndarray:
    """Parse one (optionally gzipped) uint8 IDX file; DataError if it is malformed."""
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE:
        raise DataError(
            f"{path}: bad IDX magic {raw[:4].hex()!r}; expected 000008NN (uint8, NN dims)"
        )
    got_ndim = raw[3]
    if ndim is not None and got_ndim != ndim:
        raise DataError(f"{path}: IDX file has {got_ndim} dimensions, expected {ndim}")
    header = 4 + 4 * got_ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=got_ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX dims {dims} need {expected} data bytes, file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def candidate_dirs(root: Path | None) -> list[Path]:
    """Folders searched, in order, for the four IDX files."""
    dirs: list[Path] = []
    if root is not None:
        dirs += [root, root / "FashionMNIST" / "raw", root / "fashion-mnist"]
    dirs += list(DEBIAN_DIRS)
    dirs.append(DEFAULT_ROOT / "FashionMNIST" / "raw")
    return dirs


def _resolve(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_files(root: Path | None) -> dict[str, Path] | None:
    """The first folder holding all four files (plain or .gz), as role -> path."""
    for folder in candidate_dirs(root):
        found = {role: _resolve(folder, stem) for role, (stem, _) in _FILES.items()}
        if all(p is not None for p in found.values()):
            return {role: p for role, p in found.items() if p is not None}
    return None


def _download(root: Path) -> None:
    try:
        from torchvision.datasets import FashionMNIST

        for train in (True, False):
            FashionMNIST(str(root), train=train, download=True)
    except Exception as exc:  # network and archive errors come in many types
        raise DataError(f"fashion-mnist: torchvision download into {root} failed: {exc}") from None


def _normalise(images: np.ndarray) -> torch.Tensor:
    x = images.astype(np.float32)[:, None, :, :] / 255.0  # (N, 1, 28, 28) float32
    return torch.from_numpy((x - FASHION_MNIST_MEAN) / FASHION_MNIST_STD)


def load_fashion_mnist(root: Path | None = None, download: bool = False) -> Dataset:
    """Load Fashion-MNIST from the first folder that has all four IDX files."""
    files = find_files(root)
    if files is None and download:
        _download(root or DEFAULT_ROOT)
        files = find_files(root or DEFAULT_ROOT)
    if files is None:
        raise DataError(
            "fashion-mnist: IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
            f"t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) not found in any of: "
            f"{describe_paths(candidate_dirs(root))}. Get them with "
            "`apt-get install dataset-fashion-mnist`, or pass download=True (--download) to fetch "
            "them with torchvision"
        )
    arrays = {role: read_idx(files[role], ndim=_FILES[role][1]) for role in _FILES}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"fashion-mnist: {images.shape[0]} {split} images but {labels.shape[0]} labels"
            )
    return Dataset(
        name="fashion-mnist",
        train_x=_normalise(arrays["train_images"]),
        train_y=torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        test_x=_normalise(arrays["test_images"]),
        test_y=torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        num_classes=10,
        metric="accuracy",
        input_shape=(1, *arrays["train_images"].shape[1:]),
    )
