"""Small dense models: an MLP for the 8x8 digits and a small CNN for Fashion-MNIST.

MLP: ``x -> flatten -> Linear(d, 64) -> tanh -> Linear(64, K)`` (4,810 parameters for digits).
CNN: ``conv5x5(32) -> ReLU -> maxpool2 -> conv5x5(64) -> ReLU -> maxpool2 -> flatten ->
Linear(128) -> ReLU -> Linear(K)``; on 1x28x28 inputs the feature map is 64x4x4 and the
model has 184,586 parameters for 10 classes.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MLP_HIDDEN = 64  # one hidden layer as wide as the 64-pixel digits input
CNN_CHANNELS = (32, 64)  # output channels of the two 5x5 conv layers
CNN_KERNEL = 5  # unpadded 5x5 convs: 28 -> 24 -> (pool) 12 -> 8 -> (pool) 4
CNN_POOL = 2  # 2x2 max-pool after each conv
CNN_HIDDEN = 128  # width of the fully connected hidden layer


class MLP(nn.Module):
    """One-hidden-layer tanh perceptron over flattened inputs."""

    loss_kind = "ce"  # multi-class logits (B, num_classes) -> cross-entropy

    def __init__(self, *, input_dim: int, num_classes: int = 10, hidden: int = MLP_HIDDEN) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(input_dim, hidden),
            nn.Tanh(),  # smooth, but a unit saturated to exactly +-1 in float32 has gradient 0
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, num_classes)


def cnn_feature_size(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """Spatial (H, W) after the two conv + pool stages; both must stay >= 1."""
    _, h, w = input_shape
    for _ in CNN_CHANNELS:
        h, w = (h - CNN_KERNEL + 1) // CNN_POOL, (w - CNN_KERNEL + 1) // CNN_POOL
    return h, w


class SmallCNN(nn.Module):
    """Two conv + max-pool stages and two fully connected layers."""

    loss_kind = "ce"  # multi-class logits (B, num_classes) -> cross-entropy

    def __init__(
        self, *, input_shape: tuple[int, ...] = (1, 28, 28), num_classes: int = 10
    ) -> None:
        super().__init__()
        c1, c2 = CNN_CHANNELS
        h, w = cnn_feature_size(input_shape)
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], c1, CNN_KERNEL),
            nn.ReLU(),
            nn.MaxPool2d(CNN_POOL),
            nn.Conv2d(c1, c2, CNN_KERNEL),
            nn.ReLU(),
            nn.MaxPool2d(CNN_POOL),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * h * w, CNN_HIDDEN),
            nn.ReLU(),
            nn.Linear(CNN_HIDDEN, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (B, num_classes)


def flat_dim(input_shape: tuple[int, ...]) -> int:
    """Number of input values per sample."""
    return math.prod(input_shape)
