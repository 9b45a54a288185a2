"""The master's and a worker's side of a round, for every transport.

A worker holds its own replica and computes only its row of G (plus, for an omniscient
attacker, every partition, since it knows everything); it hands its transport a
:class:`~election.transport.base.Ballot` (its vote and its partitions' train losses). The master
aggregates the votes it received (missing = abstention) with the scheme's rule and applies the
optimizer. Both sides are pure: transports move their objects (and own any bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from election.training.batches import batch_for
from election.training.partitions import PartitionComputer, with_worker_noise
from election.training.replica import Replica
from election.training.round import attack_generator, byzantine_message
from election.training.schemes import Update, Vote
from election.training.setup import Setup
from election.transport.base import Ballot


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
        self._ballot: tuple[int, Ballot] | None = None  # computed once per round
        self.losses: tuple[tuple[int, float], ...] = ()  # of the last vote's partitions

    def vote(self, step: int) -> torch.Tensor | None:
        """This slot's message for ``step`` (None = send nothing)."""
        cfg, scheme = self.setup.cfg, self.setup.scheme
        batch = batch_for(cfg, step, self.setup.dataset.n_train)
        signals = self.computer.signals(step, batch, self.partitions)
        self.losses = tuple((i, self.computer.last_losses[i]) for i in self.partitions)
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

    def ballot(self, step: int) -> Ballot:
        """This slot's ballot for ``step``, computed once even if it is sent again."""
        if self._ballot is None or self._ballot[0] != step:
            message = self.vote(step)
            vote = None if message is None else self.setup.scheme.as_vote(message)
            self._ballot = (step, Ballot(vote, self.losses))
        return self._ballot[1]

    def forget_ballot(self) -> None:
        """After a resync the replica changed: the round's ballot must be computed again."""
        self._ballot = None

    def apply(self, step: int, update: Update, digest: str | None = None) -> None:
        """Apply the master's update; raise DigestMismatch if the replicas diverged."""
        tensor = self.setup.scheme.update_tensor(update, self.setup.device)
        self.replica.apply_update(tensor, epoch=self.setup.epoch_of(step))
        if digest is not None and self.replica.digest() != digest:
            raise DigestMismatch(f"slot {self.slot}: replica digest differs after step {step}")


class MasterNode:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.replica = Replica(setup.cfg, setup.dataset, setup.device)

    def round(self, step: int, votes: Sequence[Vote | None]) -> Update:
        """Aggregate the votes with the scheme's rule, step the optimizer; the update."""
        scheme = self.setup.scheme
        update = scheme.aggregate(votes, self.replica.dim)
        self.replica.apply_update(
            scheme.update_tensor(update, self.setup.device), epoch=self.setup.epoch_of(step)
        )
        return update
