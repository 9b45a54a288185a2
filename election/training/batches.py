"""Seeded batches and their partitions: every node derives the step's data from (seed, epoch, step).

Under the seed protocol (docs/paper.md) partition i is instead a fixed contiguous shard of the
training rows, read in order (:func:`shard_indices`).

docs/design.md, Sec. 2: the per-step global batch is split into n equal data partitions; partition i
is the i-th slice of the step's batch. Nothing is shipped per round: a worker that knows the
seed, the epoch and the step computes exactly the indices the master would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from election.config import TrainConfig


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Full batches per epoch (the last partial batch is dropped, as the paper's loaders do)."""
    return max(1, n_train // batch_size)


def epoch_permutation(seed: int, epoch: int, n_train: int) -> torch.Tensor:
    """A permutation of range(n_train), the same on every node: (n_train,) int64."""
    generator = torch.Generator().manual_seed(mix_seed(seed, epoch))
    return torch.randperm(n_train, generator=generator)


def step_indices(seed: int, global_step: int, batch_size: int, n_train: int) -> torch.Tensor:
    """Sample indices of the step's global batch: (batch_size,) int64."""
    per_epoch = steps_per_epoch(n_train, batch_size)
    epoch, step = divmod(global_step, per_epoch)
    perm = epoch_permutation(seed, epoch, n_train)
    if n_train < batch_size:  # tiny datasets: wrap around the permutation
        perm = perm.repeat((batch_size + n_train - 1) // n_train)
        return perm[:batch_size]
    return perm[step * batch_size : (step + 1) * batch_size]


def shard_indices(global_step: int, batch_size: int, n_train: int, n: int) -> torch.Tensor:
    """The seed protocol's step batch (amazon_employer/MPI_main.py:294-300, 344, 366): partition
    i is the fixed contiguous shard [i*S, (i+1)*S), S = n_train // n, and step t of every epoch
    takes its rows t*P .. (t+1)*P - 1, P = batch_size // n, in order: (batch_size,) int64."""
    per_epoch = steps_per_epoch(n_train, batch_size)
    step = global_step % per_epoch
    part, shard = batch_size // n, n_train // n
    starts = torch.arange(n, dtype=torch.int64) * shard + step * part  # (n,) int64
    return (starts[:, None] + torch.arange(part, dtype=torch.int64)[None, :]).reshape(-1)


def batch_for(cfg: TrainConfig, global_step: int, n_train: int) -> torch.Tensor:
    """The step's global batch under the configured protocol: (batch_size,) int64."""
    if cfg.protocol == "seed":
        return shard_indices(global_step, cfg.batch_size, n_train, cfg.n)
    return step_indices(cfg.seed, global_step, cfg.batch_size, n_train)


def partition_indices(indices: torch.Tensor, n: int, partition: int) -> torch.Tensor:
    """Partition ``partition`` of a batch: the i-th of n equal slices, (batch_size // n,) int64."""
    size = indices.shape[0] // n
    return indices[partition * size : (partition + 1) * size]


def mix_seed(*parts: int) -> int:
    """Combine integers into one 63-bit generator seed (SplitMix64 finaliser per part)."""
    x = 0
    for part in parts:
        x = (x * 0x9E3779B97F4A7C15 + part + 1) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x & 0x7FFFFFFFFFFFFFFF
