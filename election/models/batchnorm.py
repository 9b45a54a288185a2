"""BatchNorm helpers: detect BN layers and recalibrate their running statistics.

After SignSGD updates the weights, BN running means/variances tracked with an exponential
moving average lag behind. ``recalibrate_batchnorm`` resets them and recomputes the exact
average over given batches: with ``momentum=None`` PyTorch keeps the cumulative mean
``r_t = r_{t-1} + (x_t - r_{t-1}) / t`` of each batch statistic x_t.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from election.errors import ConfigError


def _bn_layers(model: nn.Module) -> list[_BatchNorm]:
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def has_batchnorm(model: nn.Module) -> bool:
    """True if any submodule is a BatchNorm layer."""
    return bool(_bn_layers(model))


def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> None:
    """Reset BN running stats and set them to the cumulative average over ``batches``.

    Runs forward passes in train mode under ``no_grad``; restores each layer's momentum and
    the model's train/eval mode afterwards. A model without BN is left untouched. Raises
    ConfigError if the model has BN layers and ``batches`` is empty (the stats would be 0/1).
    """
    layers = _bn_layers(model)
    if not layers:
        return
    momenta = [bn.momentum for bn in layers]
    was_training = model.training
    for bn in layers:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over the batches below
    seen = 0
    try:
        model.train()
        with torch.no_grad():
            for batch in batches:
                model(batch)
                seen += 1
    finally:
        for bn, momentum in zip(layers, momenta, strict=True):
            bn.momentum = momentum
        model.train(was_training)
    if seen == 0:
        raise ConfigError("recalibrate_batchnorm needs at least one batch; got none")
