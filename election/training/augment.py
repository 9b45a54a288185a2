"""CIFAR-10 training augmentation as the official code trains (cifar10/main.py:65-70).

RandomCrop(32, padding=4) then RandomHorizontalFlip(p = 0.5), on images already normalised
with the official mean and std. torchvision pads the raw image with black (0) before
normalising, so here the padding is the normalised black, (0 - mean[c]) / std[c].

Each sample's crop offset (dy, dx) in {0..8}^2 and flip bit come from one hash of
(seed, epoch, step, sample index), not from a random generator: every worker, the master's BN
calibration and every transport derive the same augmented batch with no state to share
(docs/paper.md). Test images are never augmented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from election.seeds import AUGMENT_STREAM
from election.training.batches import mix_seed, steps_per_epoch

if TYPE_CHECKING:
    from election.config import TrainConfig
    from election.data import Dataset

CROP_PADDING = 4  # pixels of padding on every side before the 32x32 crop (main.py:66)
OFFSETS = 2 * CROP_PADDING + 1  # 9 crop positions per axis


def augment_params(seed: int, epoch: int, step: int, samples: torch.Tensor) -> torch.Tensor:
    """Per sample (dataset index) -> (dy, dx, flip): (m, 3) int64."""
    rows = []
    for sample in samples.tolist():
        h = mix_seed(seed, AUGMENT_STREAM, epoch, step, int(sample))
        rows.append((h % OFFSETS, (h // OFFSETS) % OFFSETS, (h // OFFSETS**2) % 2))
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, 3)


def crop_flip(x: torch.Tensor, params: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Pad (m, C, H, W) by CROP_PADDING with ``fill`` (C,), crop H x W at (dy, dx), flip
    where asked: (m, C, H, W), the same dtype and device as ``x``."""
    m, c, h, w = x.shape
    p = CROP_PADDING
    padded = fill.to(x.device, x.dtype).view(1, c, 1, 1).expand(m, c, h + 2 * p, w + 2 * p)
    padded = padded.clone()  # (m, C, H+8, W+8)
    padded[:, :, p : p + h, p : p + w] = x
    params = params.to(x.device)
    dy, dx, flip = params[:, 0], params[:, 1], params[:, 2].bool()
    rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]  # (m, H)
    cols_fwd = torch.arange(w, device=x.device)
    cols = dx[:, None] + torch.where(flip[:, None], w - 1 - cols_fwd, cols_fwd)  # (m, W)
    batch = torch.arange(m, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


def normalised_black(mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """The value a black (0) pixel has after normalisation: (C,) float32."""
    return -torch.tensor(mean) / torch.tensor(std)


def train_inputs(
    cfg: TrainConfig, dataset: Dataset, global_step: int, idx: torch.Tensor
) -> torch.Tensor:
    """The training inputs of samples ``idx`` at ``global_step``, augmented when cfg.augment."""
    x = dataset.train_x[idx]
    if not cfg.augment:
        return x
    from election.data.cifar10 import CIFAR10_MEAN, CIFAR10_STD

    epoch, step = divmod(global_step, steps_per_epoch(dataset.n_train, cfg.batch_size))
    params = augment_params(cfg.seed, epoch, step, idx)
    return crop_flip(x, params, normalised_black(CIFAR10_MEAN, CIFAR10_STD))
