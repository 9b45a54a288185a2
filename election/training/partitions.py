"""Per-partition gradients and the signals workers vote on (paper Sec. 3; docs/design.md,
Sec. 2 Mathematics).

For partition i of the step's batch the honest worker computes g_i (the mean-loss gradient over
the partition's samples) and then the signal it signs:
    plain:               g_i
    Gaussian noise:      g_i + N(0, variance * I), one draw per partition shared by its holders
    partition momentum:  v_i = m v_i + (1 - m) g_i      (paper's Amazon setup)
The partition sign is u_i = sign(signal_i) with sign(0) = 0.
Per-worker noise (the paper's --noisy_gradient, docs/paper.md): honest worker j signs
g_i + std * z_{j,i} with z_{j,i} ~ N(0, I) drawn from (seed, step, j, i) -- a gradient is still
computed once per partition, and every transport draws the same z_{j,i}.

Fast path: a partition's gradient is computed once per step however many workers hold it. The
paper's main.py recomputes it for every worker; ``recompute=True`` in the loop reproduces that by
giving each worker its own computer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from election.config import TrainConfig
from election.data import Dataset
from election.seeds import NOISE_STREAM, WORKER_NOISE_STREAM
from election.training.augment import train_inputs
from election.training.batches import mix_seed, partition_indices
from election.training.optimizers import PartitionMomentum


def loss_function(model: nn.Module, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for classifiers; BCE-with-logits for models with ``loss_kind == "bce"``."""
    if getattr(model, "loss_kind", "ce") == "bce":
        return nn.functional.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
    return nn.functional.cross_entropy(logits, y)


def partition_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """Gradient of the mean loss over one partition: ((d,) float32, loss)."""
    params = [p for p in model.parameters()]
    loss = loss_function(model, model(x), y)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    flat = torch.cat(
        [
            (g if g is not None else torch.zeros_like(p)).reshape(-1)
            for g, p in zip(grads, params, strict=True)
        ]
    )
    return flat.detach(), float(loss.detach())


class PartitionComputer:
    """Computes each requested partition's signal for a step, on one model replica."""

    def __init__(self, cfg: TrainConfig, dataset: Dataset, model: nn.Module, device: torch.device):
        self.cfg = cfg
        self.dataset = dataset
        self.model = model
        self.device = device
        self.momentum = (
            PartitionMomentum(momentum=cfg.momentum)
            if cfg.optimizer == "partition-momentum"
            else None
        )
        self.last_losses: dict[int, float] = {}

    def signals(
        self, step: int, batch: torch.Tensor, partitions: Iterable[int]
    ) -> dict[int, torch.Tensor]:
        """partition -> signal (d,) float32 for this step's batch indices ``batch``."""
        out: dict[int, torch.Tensor] = {}
        for i in sorted(set(partitions)):
            idx = partition_indices(batch, self.cfg.n, i)
            x = train_inputs(self.cfg, self.dataset, step, idx).to(self.device)
            y = self.dataset.train_y[idx].to(self.device)
            grad, loss = partition_gradient(self.model, x, y)
            self.last_losses[i] = loss
            out[i] = self._transform(step, i, grad)
        return out

    def _transform(self, step: int, partition: int, grad: torch.Tensor) -> torch.Tensor:
        if self.cfg.noise_variance > 0:
            seed = mix_seed(self.cfg.seed, NOISE_STREAM, step, partition)
            generator = torch.Generator().manual_seed(seed)
            noise = torch.randn(grad.shape, generator=generator) * self.cfg.noise_variance**0.5
            grad = grad + noise.to(grad.device)
        if self.momentum is not None:
            grad = self.momentum(partition, grad)
        return grad


def with_worker_noise(
    cfg: TrainConfig, step: int, worker: int, signals: Mapping[int, torch.Tensor]
) -> dict[int, torch.Tensor]:
    """Honest worker ``worker``'s signals: x_i + std * z_{worker,i}, z drawn on the CPU from
    (seed, step, worker, i) so every node draws the same numbers; (d,) float32 each."""
    out: dict[int, torch.Tensor] = {}
    for i, x in signals.items():
        seed = mix_seed(cfg.seed, WORKER_NOISE_STREAM, step, worker, i)
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))  # (d,) float32
        out[i] = x + cfg.worker_noise_std * z.to(x.device)
    return out
