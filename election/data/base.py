"""The :class:`Dataset` record every loader returns, and the file-search helpers they share.

A dataset is four CPU tensors (train/test inputs and int64 labels) plus the facts a model and
the training loop need: the number of classes, the per-sample input shape, the evaluation
metric (accuracy for the image datasets, ROC AUC for Amazon as in the paper, Sec. 5) and, for
the sparse one-hot Amazon data, the one-hot width ``num_features``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from election.errors import ConfigError, DataError

METRICS = ("accuracy", "auc")

# Where downloads go and where loaders look when no root is given (stable whatever the cwd).
DEFAULT_ROOT = Path.home() / ".cache" / "election" / "data"


@dataclass(frozen=True, eq=False)
class Dataset:
    """An in-memory train/test split; validates shapes, dtypes and label range on creation.

    ``train_x`` is float32 ``(n_train, *input_shape)`` for dense data, or int64
    ``(n_train, F)`` active one-hot indices (each ``< num_features``) for sparse data.
    """

    name: str
    train_x: torch.Tensor  # (n_train, *input_shape) float32, or (n_train, F) int64 indices
    train_y: torch.Tensor  # (n_train,) int64 in [0, num_classes)
    test_x: torch.Tensor  # (n_test, *input_shape)
    test_y: torch.Tensor  # (n_test,) int64
    num_classes: int
    metric: str
    input_shape: tuple[int, ...]
    num_features: int | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ConfigError(
                f"dataset {self.name!r}: metric {self.metric!r} is not one of {METRICS}"
            )
        if self.num_classes < 2:
            raise ConfigError(f"dataset {self.name!r}: num_classes={self.num_classes} must be >= 2")
        for split in ("train", "test"):
            x: torch.Tensor = getattr(self, f"{split}_x")
            y: torch.Tensor = getattr(self, f"{split}_y")
            if tuple(x.shape[1:]) != tuple(self.input_shape):
                raise DataError(
                    f"dataset {self.name!r}: {split}_x per-sample shape {tuple(x.shape[1:])} "
                    f"!= input_shape {self.input_shape}"
                )
            if y.dtype != torch.int64 or y.dim() != 1 or y.shape[0] != x.shape[0]:
                raise DataError(
                    f"dataset {self.name!r}: {split}_y must be int64 of shape ({x.shape[0]},), "
                    f"got {y.dtype} {tuple(y.shape)}"
                )
            if x.device.type != "cpu" or y.device.type != "cpu":
                raise DataError(f"dataset {self.name!r}: tensors must be on the CPU")
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise DataError(
                    f"dataset {self.name!r}: {split} labels must lie in [0, {self.num_classes})"
                )
            if self.num_features is not None:
                if x.dtype != torch.int64:
                    raise DataError(f"dataset {self.name!r}: sparse {split}_x must be int64")
                if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.num_features):
                    raise DataError(
                        f"dataset {self.name!r}: {split}_x indices must lie in "
                        f"[0, {self.num_features})"
                    )
            elif x.dtype != torch.float32:
                raise DataError(f"dataset {self.name!r}: dense {split}_x must be float32")

    @property
    def n_train(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test_x.shape[0])

    def truncated(self, num_train: int) -> Dataset:
        """The same dataset with only the first ``num_train`` training samples."""
        if not 1 <= num_train <= self.n_train:
            raise ConfigError(
                f"num_train={num_train} must lie in [1, {self.n_train}] for dataset {self.name!r}"
            )
        return dataclasses.replace(
            self, train_x=self.train_x[:num_train], train_y=self.train_y[:num_train]
        )


def describe_paths(paths: Iterable[Path]) -> str:
    """Paths as one comma-separated line for error messages."""
    return ", ".join(str(p) for p in paths)
