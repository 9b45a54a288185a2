"""The single-machine fast path: the whole system in one process, as a transport of the one
master loop (the paper's main.py, done right; docs/design.md, Sec. 3 Architecture and one round).

:class:`InProcessSystem` is the master's transport whose ``gather`` computes every worker's
ballot itself, sharing the partition work:
    step batch (seed, epoch, step) -> partition signals, each computed ONCE -> partition signs
    -> each worker's honest message over its row of G -> Byzantine workers (the round's set,
    ``Setup.byzantine_at``) apply the attack; attacks with ``needs_round`` see every honest
    message (:func:`election.training.round.round_view`), label flipping computes the
    Byzantine workers' partitions once more on flipped labels
and whose ``broadcast`` has nothing to send (the workers compute on the master's replica).
The master loop (:func:`election.training.distributed.run_master`) aggregates, steps the
optimizer, evaluates and records exactly as over any other transport.
With ``audit=True`` every step also compares the update with mu = sign(sum_i u_i) over all
partitions (:mod:`election.training.audit`).
With ``recompute=True`` every worker recomputes each of its partitions (the paper's cost).
"""

from __future__ import annotations

from typing import Any

import torch

from election.sign_attacks.simple import poisoned_dataset
from election.training.audit import Audit, step_counts
from election.training.batches import batch_for
from election.training.distributed import MasterFeatures, run_master
from election.training.nodes import MasterNode
from election.training.partitions import PartitionComputer, with_worker_noise
from election.training.recorder import RunRecorder
from election.training.round import attack_generator, byzantine_message, round_view
from election.training.schemes import Update, partition_signs
from election.training.setup import Setup
from election.transport.base import Ballot, MasterTransport


def _only(signals: dict[int, torch.Tensor], row: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """The signals of one worker's partitions."""
    return {i: signals[i] for i in row}


class InProcessSystem(MasterTransport):
    """Workers and adversaries of one run, computed in the master's process on its replica."""

    def __init__(self, setup: Setup, node: MasterNode | None = None, audit: Audit | None = None):
        self.setup = setup
        cfg = setup.cfg
        self.n_workers = cfg.n
        self.node = node or MasterNode(setup)
        self.replica = self.node.replica
        self.rows = [setup.partitions_of(j) for j in range(cfg.n)]
        self.computer = PartitionComputer(cfg, setup.dataset, self.replica.model, setup.device)
        # recompute mode: one computer per worker (own momentum state), as the paper's main.py
        self.worker_computers = (
            [
                PartitionComputer(cfg, setup.dataset, self.replica.model, setup.device)
                for _ in range(cfg.n)
            ]
            if cfg.recompute
            else []
        )
        self.poisoned_computers: dict[int, PartitionComputer] = {}  # label flipping (-1: shared)
        self.audit = audit
        self._all_signs: dict[int, torch.Tensor] = {}  # with an audit: this round's u_i

    def _signals(
        self, step: int, batch: torch.Tensor, byzantine: tuple[int, ...]
    ) -> tuple[list, list, dict]:
        """Per worker: its signals and its partitions' losses; and the shared clean signals."""
        cfg = self.setup.cfg
        shared: dict[int, torch.Tensor] = {}
        if cfg.recompute:
            per_worker = [
                comp.signals(step, batch, row)
                for comp, row in zip(self.worker_computers, self.rows, strict=True)
            ]
            losses = [
                tuple((i, comp.last_losses[i]) for i in row)
                for comp, row in zip(self.worker_computers, self.rows, strict=True)
            ]
        else:
            held = sorted({i for row in self.rows for i in row})
            shared = self.computer.signals(step, batch, held)
            per_worker = [shared] * cfg.n
            losses = [tuple((i, self.computer.last_losses[i]) for i in row) for row in self.rows]
        if self.setup.attack.poisons_labels:  # label flipping: B's partitions on flipped labels
            for j, (signals, lost) in self._poisoned(step, batch, byzantine).items():
                per_worker[j], losses[j] = signals, lost
        if cfg.worker_noise_std > 0:  # honest workers' own noise draws (docs/paper.md)
            per_worker = [
                s if j in byzantine else with_worker_noise(cfg, step, j, _only(s, row))
                for j, (s, row) in enumerate(zip(per_worker, self.rows, strict=True))
            ]
        return per_worker, losses, shared

    def _poisoned(
        self, step: int, batch: torch.Tensor, byzantine: tuple[int, ...]
    ) -> dict[int, tuple[dict[int, torch.Tensor], tuple[tuple[int, float], ...]]]:
        """Byzantine worker -> (its signals, its losses) on the poisoned dataset; each of
        their partitions computed once (recompute: each worker its own)."""
        out = {}
        if self.setup.cfg.recompute:
            for j in byzantine:
                comp = self._poisoned_computer(j)
                signals = comp.signals(step, batch, self.rows[j])
                out[j] = (signals, tuple((i, comp.last_losses[i]) for i in self.rows[j]))
            return out
        comp = self._poisoned_computer(-1)
        signals = comp.signals(step, batch, sorted({i for j in byzantine for i in self.rows[j]}))
        for j in byzantine:
            lost = tuple((i, comp.last_losses[i]) for i in self.rows[j])
            out[j] = (_only(signals, self.rows[j]), lost)
        return out

    def _poisoned_computer(self, worker: int) -> PartitionComputer:
        """The computer on flipped labels: one shared (-1), or one per worker (recompute)."""
        if worker not in self.poisoned_computers:
            s = self.setup
            self.poisoned_computers[worker] = PartitionComputer(
                s.cfg, poisoned_dataset(s.dataset), self.replica.model, s.device
            )
        return self.poisoned_computers[worker]

    def gather(self, round_id: int, timeout_s: float) -> list[Ballot | None]:
        setup, cfg, scheme = self.setup, self.setup.cfg, self.setup.scheme
        step = round_id
        batch = batch_for(cfg, step, setup.dataset.n_train)
        byzantine = setup.byzantine_at(step)
        per_worker, losses, shared = self._signals(step, batch, byzantine)
        if cfg.recompute or cfg.worker_noise_std > 0 or setup.attack.poisons_labels:
            signs = [scheme.signs(s) for s in per_worker]
        else:
            signs = [scheme.signs(shared)] * cfg.n  # signed once

        known = shared  # noise-free partition signals ({} when every worker recomputes)
        computed: dict[int, torch.Tensor] = {}  # partitions computed for the target (or audit)

        def compute(missing: list[int]) -> dict[int, torch.Tensor]:
            todo = [i for i in missing if i not in computed]
            if todo:
                computed.update(self.computer.signals(step, batch, todo))
            return {i: computed[i] for i in missing}

        target = scheme.lazy_target(cfg.n, known, compute)
        messages = [
            scheme.honest(row, per_worker[j], signs[j], dim=self.replica.dim)
            for j, row in enumerate(self.rows)
        ]  # every worker's honest message (label flipping: B's on flipped labels)
        view = None
        if byzantine and setup.attack.needs_round:  # the clean honest messages: shared work
            view = round_view(setup, step, byzantine, messages)
        ballots: list[Ballot | None] = []
        for j, message in enumerate(messages):
            sent: torch.Tensor | None = message
            if j in byzantine:
                gen = attack_generator(cfg.seed, step, j)
                sent = byzantine_message(
                    setup.attack,
                    message,
                    target,
                    gen,
                    view=None if view is None else view.for_worker(j),
                    labels_flipped=setup.attack.poisons_labels,
                )
            vote = None if sent is None else scheme.as_vote(sent)
            ballots.append(Ballot(vote, losses[j]))
        if self.audit is not None:  # the same all-partition signs the omniscient target uses
            everything = dict(known) | compute([i for i in range(cfg.n) if i not in known])
            self._all_signs = partition_signs(everything)
        return ballots

    def broadcast(self, round_id: int, update: Update, digest: str) -> None:
        """Nothing to send: every worker computes on the master's replica. Audits the round."""
        if self.audit is None:
            return
        tensor = self.setup.scheme.update_tensor(update, self.setup.device)
        done = round_id + 1
        self.audit.add(done, step_counts(self._all_signs, tensor))
        if done % self.setup.cfg.eval_every == 0 or done == self.setup.total_steps:
            self.audit.close_window(done)

    def summary(self) -> dict[str, Any]:
        if self.audit is None:
            return {}
        return {"audit": self.audit.summary(self.setup.total_steps)}

    def step(self, step: int) -> Update:
        """One round without recording (benchmarks): gather, aggregate, apply."""
        ballots = self.gather(step, 0.0)
        update = self.node.round(step, [None if b is None else b.vote for b in ballots])
        self.broadcast(step, update, "")
        return update


def train_inprocess(setup: Setup, *, progress: bool = True) -> dict[str, Any]:
    """Run the configured training in this process; returns the summary (also on disk)."""
    node = MasterNode(setup)
    recorder = RunRecorder(setup)
    audit = Audit(recorder.run_dir / "audit.csv") if setup.cfg.audit else None
    system = InProcessSystem(setup, node, audit)
    features = MasterFeatures(recorder=recorder, progress=progress)
    summary = run_master(setup, system, node=node, features=features)
    if audit is not None:
        audit.plot(recorder.run_dir / "audit.png", f"{setup.cfg.dataset}: {recorder.label()}")
    return summary
