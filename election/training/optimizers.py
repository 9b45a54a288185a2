"""The two optimizer placements of the paper, on a flat parameter vector.

(a) master momentum on the majority signs with weight decay (paper's CIFAR-10 setup):
        v <- m * v + (s + wd * p);   p <- p - lr_t * v
    where s in {-1, 0, +1}^d is the master's majority output.
(b) per-partition worker momentum before the sign (paper's Amazon setup):
        worker:  v_i <- m * v_i + (1 - m) * g_i;   vote on sign(v_i)
        master:  p <- p - lr_t * s
Both use the step schedule lr_t = lr * gamma^(number of milestones <= epoch).

Every replica (the master's and each worker's) applies the same update with the same state, so
replicas stay bit-identical; :func:`election.training.replica.Replica.digest` checks it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class StepSchedule:
    """lr_t = lr * gamma ** (number of milestones <= epoch)."""

    lr: float
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1

    def lr_at(self, epoch: int) -> float:
        return self.lr * self.gamma ** bisect.bisect_right(sorted(self.milestones), epoch)


class MasterOptimizer:
    """Applies the master's update s to a flat parameter vector p (d,) float32, in place."""

    def __init__(self, *, schedule: StepSchedule, momentum: float, weight_decay: float) -> None:
        self.schedule = schedule
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity: torch.Tensor | None = None  # (d,) float32, created on first step

    def step(self, params: torch.Tensor, update: torch.Tensor, *, epoch: int) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, torch.Tensor | None]:
        return {"velocity": None if self.velocity is None else self.velocity.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor | None]) -> None:
        velocity = state.get("velocity")
        self.velocity = None if velocity is None else velocity.clone()


class MasterMomentum(MasterOptimizer):
    """(a): v <- m v + (s + wd p); p <- p - lr_t v."""

    def step(self, params: torch.Tensor, update: torch.Tensor, *, epoch: int) -> None:
        direction = update.to(params.dtype) + self.weight_decay * params  # (d,) float32
        if self.velocity is None:
            self.velocity = torch.zeros_like(params)
        self.velocity.mul_(self.momentum).add_(direction)
        params.sub_(self.schedule.lr_at(epoch) * self.velocity)


class PlainSignStep(MasterOptimizer):
    """(b), master side: p <- p - lr_t s (momentum lives in the workers' partition state)."""

    def step(self, params: torch.Tensor, update: torch.Tensor, *, epoch: int) -> None:
        params.sub_(self.schedule.lr_at(epoch) * update.to(params.dtype))


class PartitionMomentum:
    """(b), worker side: v_i <- m v_i + (1 - m) g_i, one buffer per partition index i."""

    def __init__(self, *, momentum: float) -> None:
        self.momentum = momentum
        self.buffers: dict[int, torch.Tensor] = {}  # partition -> (d,) float32

    def __call__(self, partition: int, grad: torch.Tensor) -> torch.Tensor:
        buf = self.buffers.get(partition)
        if buf is None:
            buf = torch.zeros_like(grad)
            self.buffers[partition] = buf
        buf.mul_(self.momentum).add_(grad, alpha=1.0 - self.momentum)
        return buf
