"""Datasets for training (docs/design.md Sec. 6): digits, Fashion-MNIST, CIFAR-10 and Amazon.

``load_dataset(name, root=..., download=..., num_train=...)`` returns a :class:`Dataset` of
CPU tensors; ``DATASETS`` lists the registered names.
"""

from election.data.base import DEFAULT_ROOT, Dataset
from election.data.registry import DATASETS, load_dataset

__all__ = ["DATASETS", "DEFAULT_ROOT", "Dataset", "load_dataset"]
