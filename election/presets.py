"""Per-dataset presets: the paper's constants where the paper ran that dataset.

The layers of :func:`election.config.build_config` are defaults -> the dataset's preset here ->
file -> env -> CLI. The CIFAR-10 and Amazon constants are those of Sohn et al. 2020, Sec. 5 and
its released code (docs/paper.md has the official file:line of each).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The model each dataset trains when --model is not given (the one table: the dataset presets
# below and election.models.default_model_for both read it).
DEFAULT_MODELS: Mapping[str, str] = {
    "digits": "mlp",  # 64 -> 64 -> 10
    "fashion-mnist": "cnn",  # 2 conv + 2 fc
    "cifar10": "resnet18",  # paper: ResNet-18 (and ResNet-50)
    "amazon": "logreg",  # paper: logistic regression on one-hot features
}
# Paper, CIFAR-10 (Sec. 5): multiply lr by 0.1 at these epochs; n in {5, 9} used 40/80.
CIFAR_MILESTONES_SMALL_N = (40, 80)
CIFAR_MILESTONES_OTHER_N = (20, 40, 80)


# dataset -> the settings layered on the dataclass defaults
PRESETS: dict[str, dict[str, Any]] = {
    "digits": {},  # the dataclass defaults are tuned for digits
    "fashion-mnist": {
        "lr": 1e-4,  # signSGD step for the small CNN (1e-3 diverges with momentum 0.9)
        "lr_milestones": (1,),  # x0.1 after the first epoch: without it accuracy drifts down
        "partition_size": 24,  # batch 120 at n = 5
        "epochs": 2,
        "threads": 1,  # the small CNN runs fastest single-threaded
        "eval_every": 100,
    },
    "cifar10": {
        "model": DEFAULT_MODELS["cifar10"],
        "lr": 1e-4,  # paper, CIFAR-10
        "momentum": 0.9,  # paper, CIFAR-10
        "weight_decay": 1e-4,  # paper, CIFAR-10
        "partition_size": 24,  # batch 120 at n = 5
        "epochs": 100,
        "augment": True,  # paper's main.py:65-70: RandomCrop(32, 4) + RandomHorizontalFlip
        "threads": 0,  # ResNets use every core
        "eval_every": 200,
    },
    "amazon": {
        "model": DEFAULT_MODELS["amazon"],
        "optimizer": "partition-momentum",  # paper: worker momentum before the sign
        "lr": 1e-3,  # paper: 1e-3 in the first epoch ...
        "lr_milestones": (1,),  # ... then 1e-4
        "momentum": 0.9,  # paper: v = 0.9 v + 0.1 g
        "weight_decay": 0.0,
        "partition_size": 15,  # paper: 15 samples per partition
        "epochs": 8,  # paper
        "eval_every": 100,
    },
}


# (dataset, protocol) -> settings layered on the dataset preset: the official Amazon run
# (amazon_employer/MPI_main.py; docs/paper.md) on top of the "amazon" preset's constants.
PROTOCOL_PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("amazon", "seed"): {
        "model": "logreg-nobias",  # MPI_main.py:332: theta = 0, no bias
        "eval_every": 1,  # MPI_main.py:403-406: test AUC after every step
    },
}


def cifar_milestones(n: int) -> tuple[int, ...]:
    """The paper's CIFAR-10 lr milestones: 40, 80 for n in {5, 9}; 20, 40, 80 otherwise."""
    return CIFAR_MILESTONES_SMALL_N if n in (5, 9) else CIFAR_MILESTONES_OTHER_N
