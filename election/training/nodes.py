"""The master's and a worker's side of a round, for transports with separate processes.

A worker holds its own replica and computes only its row of G (plus, for an omniscient
attacker, every partition, since it knows everything). The master aggregates the votes it
received (missing = abstention), applies the optimizer and returns the update bytes and the
digest of the model after the update. Both sides are pure: transports move their bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from election.errors import VoteFormatError
from election.training.batches import batch_for
from election.training.loop import attack_generator
from election.training.messages import decode_update, decode_vote, encode_update, encode_vote
from election.training.partitions import PartitionComputer, with_worker_noise
from election.training.replica import Replica
from election.training.round import (
    PACKED_SCHEMES,
    PARTITION_SIGN_SCHEMES,
    aggregate,
    byzantine_message,
    honest_message,
    lazy_target,
    partition_signs,
)
from election.training.setup import Setup
from election.votes import PackedVote, majority, pack_ternary


class DigestMismatch(RuntimeError):
    """A worker's replica differs from the master's after an update (it must resync)."""


class WorkerNode:
    def __init__(self, setup: Setup, slot: int, *, byzantine: bool | None = None) -> None:
        self.setup = setup
        self.slot = slot
        self.partitions = setup.partitions_of(slot)
        self.byzantine = slot in setup.byzantine if byzantine is None else byzantine
        self.replica = Replica(setup.cfg, setup.dataset, setup.device)
        self.computer = PartitionComputer(
            setup.cfg, setup.dataset, self.replica.model, setup.device
        )

    def vote(self, step: int) -> torch.Tensor | None:
        """This slot's message for ``step`` (None = send nothing)."""
        cfg = self.setup.cfg
        batch = batch_for(cfg, step, self.setup.dataset.n_train)
        signals = self.computer.signals(step, batch, self.partitions)
        if not self.byzantine and cfg.worker_noise_std > 0:  # docs/paper.md: per-worker noise
            signals = with_worker_noise(cfg, step, self.slot, signals)
        sign_scheme = cfg.scheme in PARTITION_SIGN_SCHEMES
        signs = partition_signs(signals) if sign_scheme else None
        honest = honest_message(cfg.scheme, self.partitions, signals, signs, dim=self.replica.dim)
        if not self.byzantine:
            return honest

        target = lazy_target(
            cfg.scheme,
            cfg.n,
            signals,
            lambda missing: self.computer.signals(step, batch, missing),
        )
        gen = attack_generator(cfg.seed, step, self.slot)
        return byzantine_message(self.setup.attack, honest, target, gen)

    def vote_bytes(self, step: int) -> bytes | None:
        message = self.vote(step)
        return None if message is None else encode_vote(self.setup.cfg.scheme, message)

    def apply_update_bytes(self, step: int, data: bytes, digest: str | None = None) -> None:
        """Apply the master's update; raise DigestMismatch if the replicas diverged."""
        update = decode_update(self.setup.cfg.scheme, data, self.replica.dim, self.setup.device)
        self.replica.apply_update(update, epoch=self.setup.epoch_of(step))
        if digest is not None and self.replica.digest() != digest:
            raise DigestMismatch(f"slot {self.slot}: replica digest differs after step {step}")


class MasterNode:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.replica = Replica(setup.cfg, setup.dataset, setup.device)

    def decode(self, data: bytes | None) -> PackedVote | torch.Tensor | None:
        """A vote's bytes -> a vote, or None for a missing or malformed one (an abstention)."""
        if data is None:
            return None
        try:
            return decode_vote(self.setup.cfg.scheme, data, self.replica.dim)
        except VoteFormatError:
            return None

    def round(self, step: int, votes: Sequence[PackedVote | torch.Tensor | None]) -> bytes:
        """Aggregate, step the optimizer, and return the update's bytes."""
        scheme = self.setup.cfg.scheme
        if scheme in PACKED_SCHEMES:
            packed = [v if isinstance(v, PackedVote) else None for v in votes]
            if not any(p is not None for p in packed):
                packed_update = pack_ternary(np.zeros(self.replica.dim, dtype=np.int8))
            else:
                packed_update = majority(packed, quorum=self.setup.cfg.quorum_q)
            data = packed_update.to_bytes()
        else:
            present = [v for v in votes if isinstance(v, torch.Tensor)]
            update = (
                aggregate(scheme, present)
                if present
                else torch.zeros(self.replica.dim, dtype=torch.int8)
            )
            data = encode_update(scheme, update)
        tensor = decode_update(scheme, data, self.replica.dim, self.setup.device)
        self.replica.apply_update(tensor, epoch=self.setup.epoch_of(step))
        return data
