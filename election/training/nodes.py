"""The master's and a worker's side of a round, for transports with separate processes.

A worker holds its own replica and computes only its row of G (plus, for an omniscient
attacker, every partition, since it knows everything). The master aggregates the votes it
received (missing = abstention), applies the optimizer and returns the update bytes and the
digest of the model after the update. Both sides are pure: transports move their bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from election.errors import VoteFormatError
from election.training.batches import batch_for
from election.training.partitions import PartitionComputer, with_worker_noise
from election.training.replica import Replica
from election.training.round import attack_generator, byzantine_message
from election.training.schemes import Vote
from election.training.setup import Setup


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
        cfg, scheme = self.setup.cfg, self.setup.scheme
        batch = batch_for(cfg, step, self.setup.dataset.n_train)
        signals = self.computer.signals(step, batch, self.partitions)
        if not self.byzantine and cfg.worker_noise_std > 0:  # docs/paper.md: per-worker noise
            signals = with_worker_noise(cfg, step, self.slot, signals)
        signs = scheme.signs(signals)
        honest = scheme.honest(self.partitions, signals, signs, dim=self.replica.dim)
        if not self.byzantine:
            return honest

        target = scheme.lazy_target(
            cfg.n, signals, lambda missing: self.computer.signals(step, batch, missing)
        )
        gen = attack_generator(cfg.seed, step, self.slot)
        return byzantine_message(self.setup.attack, honest, target, gen)

    def vote_bytes(self, step: int) -> bytes | None:
        message = self.vote(step)
        scheme = self.setup.scheme
        return None if message is None else scheme.encode_vote(scheme.as_vote(message))

    def apply_update_bytes(self, step: int, data: bytes, digest: str | None = None) -> None:
        """Apply the master's update; raise DigestMismatch if the replicas diverged."""
        update = self.setup.scheme.decode_update(data, self.replica.dim, self.setup.device)
        self.replica.apply_update(update, epoch=self.setup.epoch_of(step))
        if digest is not None and self.replica.digest() != digest:
            raise DigestMismatch(f"slot {self.slot}: replica digest differs after step {step}")


class MasterNode:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.replica = Replica(setup.cfg, setup.dataset, setup.device)

    def decode(self, data: bytes | None) -> Vote | None:
        """A vote's bytes -> a vote, or None for a missing or malformed one (an abstention)."""
        if data is None:
            return None
        try:
            return self.setup.scheme.decode_vote(data, self.replica.dim)
        except VoteFormatError:
            return None

    def round(self, step: int, votes: Sequence[Vote | None]) -> bytes:
        """Aggregate, step the optimizer, and return the update's bytes."""
        scheme = self.setup.scheme
        update = scheme.aggregate(votes, self.replica.dim)
        tensor = scheme.update_tensor(update, self.setup.device)
        self.replica.apply_update(tensor, epoch=self.setup.epoch_of(step))
        return scheme.encode_update(update)
