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

from election.sign_attacks.simple import poisoned_dataset
from election.training.batches import batch_for
from election.training.partitions import PartitionComputer, with_worker_noise
from election.training.replica import Replica
from election.training.round import attack_generator, byzantine_message, view_from_signals
from election.training.schemes import Update, Vote
from election.training.setup import Setup
from election.transport.base import Ballot


class DigestMismatch(RuntimeError):
    """A worker's replica differs from the master's after an update (it must resync)."""


class WorkerNode:
    """One slot. ``byzantine``: None = as the configuration says (``setup.byzantine_at``);
    True = an adversary process (it attacks in every round, or under a mobile set in the rounds
    whose set holds its slot); False = never attacks."""

    def __init__(self, setup: Setup, slot: int, *, byzantine: bool | None = None) -> None:
        self.setup = setup
        self.slot = slot
        self.partitions = setup.partitions_of(slot)
        self.forced = byzantine is True
        self.byzantine = slot in setup.byzantine if byzantine is None else byzantine  # may attack
        self.replica = Replica(setup.cfg, setup.dataset, setup.device)
        self.computer = PartitionComputer(
            setup.cfg, setup.dataset, self.replica.model, setup.device
        )
        self._poisoned: PartitionComputer | None = None  # label flipping: flipped labels
        self._ballot: tuple[int, Ballot] | None = None  # computed once per round
        self.losses: tuple[tuple[int, float], ...] = ()  # of the last vote's partitions

    def attacks_in(self, step: int) -> bool:
        """Whether this slot sends the attack's message in round ``step``."""
        if not self.byzantine:
            return False
        if self.forced and not self.setup.mobile:
            return True
        return self.slot in self.setup.byzantine_at(step)

    def _computer(self, poisoned: bool) -> PartitionComputer:
        if not poisoned:
            return self.computer
        if self._poisoned is None:
            s = self.setup
            self._poisoned = PartitionComputer(
                s.cfg, poisoned_dataset(s.dataset), self.replica.model, s.device
            )
        return self._poisoned

    def vote(self, step: int) -> torch.Tensor | None:
        """This slot's message for ``step`` (None = send nothing)."""
        cfg, scheme, attack = self.setup.cfg, self.setup.scheme, self.setup.attack
        batch = batch_for(cfg, step, self.setup.dataset.n_train)
        attacking = self.attacks_in(step)
        poisoned = attacking and attack.poisons_labels
        computer = self._computer(poisoned)
        signals = computer.signals(step, batch, self.partitions)
        self.losses = tuple((i, computer.last_losses[i]) for i in self.partitions)
        if not attacking and cfg.worker_noise_std > 0:  # docs/paper.md: per-worker noise
            signals = with_worker_noise(cfg, step, self.slot, signals)
        signs = scheme.signs(signals)
        honest = scheme.honest(self.partitions, signals, signs, dim=self.replica.dim)
        if not attacking:
            return honest
        clean = {} if poisoned else dict(signals)  # partitions computed on clean labels

        def compute(missing: list[int]) -> dict[int, torch.Tensor]:
            todo = [i for i in missing if i not in clean]
            if todo:  # an attacker that knows everything computes every partition itself
                clean.update(self.computer.signals(step, batch, todo))
            return {i: clean[i] for i in missing}

        target = scheme.lazy_target(cfg.n, clean, compute)
        view = None
        if attack.needs_round:
            byzantine = set(self.setup.byzantine_at(step)) | {self.slot}
            compute(sorted({i for j in range(cfg.n) for i in self.setup.partitions_of(j)}))
            view = view_from_signals(self.setup, step, sorted(byzantine), clean)
            view = view.for_worker(self.slot)
        gen = attack_generator(cfg.seed, step, self.slot)
        return byzantine_message(attack, honest, target, gen, view=view, labels_flipped=poisoned)

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
        update = self.aggregate(votes, self.replica.dim)
        self.apply(step, update)
        return update

    def aggregate(self, votes: Sequence[Vote | None], width: int) -> Update:
        """The scheme's rule over votes of ``width`` coordinates (a master shard's slice, or d)."""
        return self.setup.scheme.aggregate(votes, width)

    def apply(self, step: int, update: Update) -> None:
        """Step the optimizer with the whole update of round ``step``."""
        self.replica.apply_update(
            self.setup.scheme.update_tensor(update, self.setup.device),
            epoch=self.setup.epoch_of(step),
        )
