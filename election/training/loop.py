"""The single-machine loop: the whole system in one process (the paper's main.py, done right).

One round, as docs/design.md, Sec. 3 traces it:
    step batch (seed, epoch, step) -> partition signals, each computed ONCE -> partition signs
    -> each worker's local majority over its row of G -> Byzantine workers apply the attack
    -> packed votes -> packed majority (or quorum decoder) at the master -> optimizer step.
With ``audit=True`` every step also compares the update with mu = sign(sum_i u_i) over all
partitions (:mod:`election.training.audit`).
With ``recompute=True`` every worker recomputes each of its partitions (the paper's cost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from election.training.audit import Audit, step_counts
from election.training.batches import batch_for
from election.training.partitions import PartitionComputer, with_worker_noise
from election.training.recorder import RunRecorder
from election.training.replica import Replica
from election.training.round import attack_generator, byzantine_message
from election.training.runs import Progress
from election.training.schemes import partition_signs
from election.training.setup import Setup


def _only(signals: dict[int, torch.Tensor], row: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """The signals of one worker's partitions."""
    return {i: signals[i] for i in row}


@dataclass
class StepResult:
    update: torch.Tensor  # (d,) int8 ternary, or float32 for gradient schemes
    train_loss: float
    wire_bytes: int  # bytes of the votes the master received this round
    audit: dict[str, int] | None = None  # with cfg.audit: election.training.audit.step_counts


class InProcessSystem:
    """Master, workers and adversaries of one run, in one process, sharing partition work."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        cfg = setup.cfg
        self.replica = Replica(cfg, setup.dataset, setup.device)
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

    def step(self, step: int) -> StepResult:
        setup, cfg, scheme = self.setup, self.setup.cfg, self.setup.scheme
        batch = batch_for(cfg, step, setup.dataset.n_train)
        signs: list[dict[int, torch.Tensor] | None]  # per worker: partition -> (d,) int8
        shared: dict[int, torch.Tensor] = {}
        if cfg.recompute:
            per_worker = [
                comp.signals(step, batch, row)
                for comp, row in zip(self.worker_computers, self.rows, strict=True)
            ]
            losses = [v for comp in self.worker_computers for v in comp.last_losses.values()]
        else:
            held = sorted({i for row in self.rows for i in row})
            shared = self.computer.signals(step, batch, held)
            per_worker = [shared] * cfg.n
            losses = list(self.computer.last_losses.values())
        if cfg.worker_noise_std > 0:  # honest workers' own noise draws (docs/paper.md)
            per_worker = [
                s if j in setup.byzantine else with_worker_noise(cfg, step, j, _only(s, row))
                for j, (s, row) in enumerate(zip(per_worker, self.rows, strict=True))
            ]
        if cfg.recompute or cfg.worker_noise_std > 0:
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

        messages: list[torch.Tensor | None] = []
        for j, row in enumerate(self.rows):
            honest = scheme.honest(row, per_worker[j], signs[j], dim=self.replica.dim)
            if j in setup.byzantine:
                gen = attack_generator(cfg.seed, step, j)
                messages.append(byzantine_message(setup.attack, honest, target, gen))
            else:
                messages.append(honest)
        update, wire = self._aggregate(messages)
        audit = None
        if cfg.audit:  # the same all-partition signs the omniscient attacker's target uses
            everything = dict(known) | compute([i for i in range(cfg.n) if i not in known])
            audit = step_counts(partition_signs(everything), update)
        self.replica.apply_update(update, epoch=setup.epoch_of(step))
        return StepResult(update, sum(losses) / max(1, len(losses)), wire, audit)

    def _aggregate(self, messages: list[torch.Tensor | None]) -> tuple[torch.Tensor, int]:
        """The master's update and the bytes of the votes it received."""
        scheme = self.setup.scheme
        votes = [None if m is None else scheme.as_vote(m) for m in messages]
        wire = sum(scheme.vote_nbytes(v) for v in votes if v is not None)
        update = scheme.aggregate(votes, self.replica.dim)
        return scheme.update_tensor(update, self.setup.device), wire


def train_inprocess(
    setup: Setup,
    *,
    progress: bool = True,
    on_step: Callable[[int, StepResult], None] | None = None,
) -> dict[str, Any]:
    """Run the configured training in this process; returns the summary (also on disk)."""
    system = InProcessSystem(setup)
    recorder = RunRecorder(setup)
    bar = Progress(setup.total_steps, f"{setup.cfg.scheme}/{setup.cfg.code}", enabled=progress)
    audit = Audit(recorder.run_dir / "audit.csv") if setup.cfg.audit else None
    wire_total, step, losses = 0, 0, []
    try:
        for step in range(setup.total_steps):
            result = system.step(step)
            wire_total += result.wire_bytes
            losses.append(result.train_loss)
            if audit is not None and result.audit is not None:
                audit.add(step + 1, result.audit)
            if on_step is not None:
                on_step(step, result)
            done = step + 1
            if done % setup.cfg.eval_every == 0 or done == setup.total_steps:
                metrics = system.replica.evaluate()
                recorder.log_eval(done, sum(losses) / len(losses), metrics)
                if audit is not None:
                    audit.close_window(done)
                losses = []
            last = recorder.values[-1] if recorder.values else float("nan")
            bar.update(done, f"{recorder.metric_name} {last:.4f}")
    except BaseException as exc:
        bar.close()
        recorder.fail(exc, step)
        raise
    bar.close()
    d = system.replica.dim
    per_round = wire_total / max(1, setup.total_steps)
    extra: dict[str, Any] = {
        "dim": d,
        "wire_bytes_per_round": per_round,
        "wire_bytes_per_coord_per_vote": per_round / max(1, setup.cfg.n) / d,
    }
    if audit is not None:
        extra["audit"] = audit.summary(setup.total_steps)
        audit.plot(recorder.run_dir / "audit.png", f"{setup.cfg.dataset}: {recorder.label()}")
    return recorder.finish(system.replica, setup.total_steps, extra)
