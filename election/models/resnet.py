"""ResNet-18 / ResNet-50 in the CIFAR variant the paper trains (Sec. 5; He et al. 2016).

CIFAR variant: a 3x3 stride-1 stem convolution and no max-pool (32x32 inputs keep their
resolution until stage 2), then four stages of residual blocks with widths 64, 128, 256, 512
(stride 1, 2, 2, 2), global average pooling and one linear layer. A block computes
``relu(F(x) + shortcut(x))``; the shortcut is the identity, or a 1x1 strided conv + BN when
the shape changes. ResNet-18: BasicBlock (two 3x3 convs) x [2, 2, 2, 2] -> 11,173,962
parameters for 10 classes. ResNet-50: Bottleneck (1x1, 3x3, 1x1, expansion 4) x [3, 4, 6, 3]
-> 23,520,842 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

STEM_WIDTH = 64  # channels of the 3x3 stem conv and of stage 1
STAGE_WIDTHS = (64, 128, 256, 512)  # base channels of the four stages
STAGE_STRIDES = (1, 2, 2, 2)  # stages 2-4 halve the spatial resolution
RESNET18_BLOCKS = (2, 2, 2, 2)  # BasicBlocks per stage
RESNET50_BLOCKS = (3, 4, 6, 3)  # Bottlenecks per stage


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
    )


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut: relu(bn(conv(relu(bn(conv x)))) + s(x))."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = _shortcut(in_ch, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand to 4 * width, each with BN, plus a shortcut."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.shortcut = _shortcut(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR ResNet: stem, four stages, global average pool, linear classifier."""

    loss_kind = "ce"  # multi-class logits (B, num_classes) -> cross-entropy

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        blocks_per_stage: tuple[int, ...],
        *,
        num_classes: int = 10,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, STEM_WIDTH, 3, padding=1, bias=False),
            nn.BatchNorm2d(STEM_WIDTH),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        in_ch = STEM_WIDTH
        for width, stride, count in zip(STAGE_WIDTHS, STAGE_STRIDES, blocks_per_stage, strict=True):
            layers: list[nn.Module] = []
            for i in range(count):
                layers.append(block(in_ch, width, stride if i == 0 else 1))
                in_ch = width * block.expansion
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.stem(x))  # (B, 512 * expansion, H/8, W/8)
        return self.fc(out.mean(dim=(2, 3)))  # (B, num_classes)


def resnet18(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-18 (11,173,962 parameters for 10 classes)."""
    return ResNet(BasicBlock, RESNET18_BLOCKS, num_classes=num_classes, in_channels=in_channels)


def resnet50(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-50 (23,520,842 parameters for 10 classes)."""
    return ResNet(Bottleneck, RESNET50_BLOCKS, num_classes=num_classes, in_channels=in_channels)
