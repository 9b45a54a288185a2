"""Models for training (docs/design.md Sec. 6): CIFAR ResNet-18/50, a small CNN, an MLP and sparse
logistic regression, plus BatchNorm recalibration helpers.

``build_model(name, dataset=...)`` builds a registered model (``MODELS`` lists them); each
model's ``loss_kind`` ("ce" or "bce") tells the training loop which loss to use.
"""

from election.models.batchnorm import has_batchnorm, recalibrate_batchnorm
from election.models.registry import MODELS, build_model, default_model_for

__all__ = ["MODELS", "build_model", "default_model_for", "has_batchnorm", "recalibrate_batchnorm"]
