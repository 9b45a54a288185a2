"""The model registry: name -> builder, :func:`build_model` and :func:`default_model_for`.

Builders read ``num_classes``, ``input_shape`` and ``num_features`` (from a :class:`Dataset`
when one is given) and check that the model fits them; a mismatch or an unknown name raises
ConfigError. Initialisation uses torch's global RNG only, so ``torch.manual_seed(s)`` before
:func:`build_model` gives identical weights on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from election.data import Dataset
from election.errors import ConfigError
from election.models.logistic import SparseLogisticRegression
from election.models.resnet import resnet18, resnet50
from election.models.small import MLP, SmallCNN, cnn_feature_size, flat_dim
from election.presets import DEFAULT_MODELS


@dataclass(frozen=True)
class ModelSpec:
    """What a builder needs to know about the data."""

    num_classes: int
    input_shape: tuple[int, ...] | None
    num_features: int | None


def _image_shape(name: str, spec: ModelSpec, default: tuple[int, int, int]) -> tuple[int, ...]:
    shape = spec.input_shape if spec.input_shape is not None else default
    if len(shape) != 3:
        raise ConfigError(f"model {name!r} needs image inputs (C, H, W); got input_shape {shape}")
    return shape


def _build_resnet(name: str, spec: ModelSpec) -> nn.Module:
    shape = _image_shape(name, spec, (3, 32, 32))
    factory = resnet18 if name == "resnet18" else resnet50
    return factory(num_classes=spec.num_classes, in_channels=shape[0])


def _build_cnn(name: str, spec: ModelSpec) -> nn.Module:
    shape = _image_shape(name, spec, (1, 28, 28))
    if min(cnn_feature_size(shape)) < 1:
        raise ConfigError(f"model 'cnn' needs images of at least 16x16; got input_shape {shape}")
    return SmallCNN(input_shape=shape, num_classes=spec.num_classes)


def _build_mlp(name: str, spec: ModelSpec) -> nn.Module:
    shape = spec.input_shape if spec.input_shape is not None else (64,)
    return MLP(input_dim=flat_dim(shape), num_classes=spec.num_classes)


def _build_logreg(name: str, spec: ModelSpec) -> nn.Module:
    if spec.num_features is None:
        raise ConfigError(
            "model 'logreg' needs num_features (a sparse one-hot dataset such as 'amazon')"
        )
    if spec.num_classes != 2:
        raise ConfigError(f"model 'logreg' is binary; got num_classes={spec.num_classes}")
    return SparseLogisticRegression(num_features=spec.num_features, bias=name == "logreg")


_BUILDERS: dict[str, Callable[[str, ModelSpec], nn.Module]] = {
    "resnet18": _build_resnet,  # CIFAR ResNet-18, 11.17M parameters (paper, CIFAR-10)
    "resnet50": _build_resnet,  # CIFAR ResNet-50, 23.52M parameters (paper, CIFAR-10)
    "cnn": _build_cnn,  # 2 conv + 2 fc, 184,586 parameters on Fashion-MNIST
    "mlp": _build_mlp,  # 64 -> 64 -> 10 for the digits
    "logreg": _build_logreg,  # sparse logistic regression (paper, Amazon)
    "logreg-nobias": _build_logreg,  # the official Amazon model: no bias term
}
MODELS: tuple[str, ...] = tuple(_BUILDERS)


def build_model(
    name: str,
    *,
    dataset: Dataset | None = None,
    num_classes: int = 10,
    input_shape: tuple[int, ...] | None = None,
    num_features: int | None = None,
) -> nn.Module:
    """Build model ``name``; a given ``dataset`` overrides the three shape arguments.

    Every model has a ``loss_kind`` attribute: "ce" (logits (B, K), cross-entropy) or "bce"
    (logits (B,), binary cross-entropy with logits).
    """
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    if dataset is not None:
        num_classes = dataset.num_classes
        input_shape = dataset.input_shape
        num_features = dataset.num_features
    if num_classes < 2:
        raise ConfigError(f"num_classes={num_classes} must be >= 2")
    if num_features is not None and not name.startswith("logreg"):
        raise ConfigError(f"model {name!r} takes dense inputs; sparse data needs 'logreg'")
    spec = ModelSpec(
        num_classes=num_classes,
        input_shape=tuple(input_shape) if input_shape is not None else None,
        num_features=num_features,
    )
    return builder(name, spec)


def default_model_for(dataset_name: str) -> str:
    """The model the experiments use for ``dataset_name``."""
    model = DEFAULT_MODELS.get(dataset_name)
    if model is None:
        raise ConfigError(
            f"unknown dataset {dataset_name!r}; known datasets: {', '.join(DEFAULT_MODELS)}"
        )
    return model
