"""Seeded batches and their partitions: every node derives the step's data from (seed, epoch, step).

DESIGN.md Sec. 2: the per-step global batch is split into n equal data partitions; partition i
is the i-th slice of the step's batch. Nothing is shipped per round: a worker that knows the
seed, the epoch and the step computes exactly the indices the master would.
"""

from __future__ import annotations

import torch


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
