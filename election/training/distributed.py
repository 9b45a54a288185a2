"""The one master loop and the one worker loop; every transport is driven by them.

master, for r = first .. total-1 (docs/design.md, Sec. 3 Architecture and one round):
    ballots = transport.gather(r, deadline)          # validated on receipt; None = abstention
    update  = transport.complete(r, aggregate(votes))  # the scheme's rule over the master's
                                                     # coordinates (a shard joins its peers')
    apply(update)                                    # -> optimizer step
    evaluate every K rounds and at the end           # RunRecorder -> metrics.csv
    checkpoint every K rounds (feature, optional)    # before broadcasting: a restart re-serves r
    transport.broadcast(r, update, digest)           # digest of the model after the update
    accusation (feature, on by default for majority): proofs, scores, telemetry of the round's
    votes (election.training.accusing); with quarantine, later votes of a proven worker abstain
worker, for r = transport.start(node) .. total-1:
    transport.send(r, ballot) -> transport.receive(r) -> apply -> compare the digest; a failure
    the transport can recover from (reconnect, resync) continues at the round it returns.

Counted the same on every transport (the single-process fast path included): the wire bytes of
a round are the scheme's payload bytes of the votes the master received (no frame header), and
the train loss of a round is the mean over the distinct partitions whose losses arrived with a
vote. The same configuration gives the same ``model_sha256`` over any transport.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from election.accusation import RoundEvidence
from election.errors import ConfigError
from election.notices import warn
from election.training.accusing import ACCUSATION_PLOT, AccusationWatch
from election.training.nodes import MasterNode, WorkerNode
from election.training.recorder import RunRecorder
from election.training.runs import Progress
from election.training.schemes import Update, Vote
from election.training.setup import Setup
from election.transport.base import (
    ROUND_DEADLINE_S,
    UPDATE_WAIT_S,
    Ballot,
    MasterTransport,
    WorkerTransport,
)


def train_loss(ballots: Sequence[Ballot | None]) -> float:
    """Mean train loss over the distinct partitions reported with a vote in ``ballots`` (NaN if
    none): a partition held by several slots has the same loss on every replica, counted once;
    a ballot without a vote counts for nothing (a transport need not carry it)."""
    seen: dict[int, float] = {}
    for ballot in ballots:
        for partition, loss in () if ballot is None or ballot.vote is None else ballot.losses:
            seen.setdefault(partition, loss)
    if not seen:
        return float("nan")
    return sum(seen[i] for i in sorted(seen)) / len(seen)


@dataclass(frozen=True)
class RoundRecord:
    """What one closed round looked like (handed to ``on_round``)."""

    round: int
    update: Update
    digest: str
    votes: int  # ballots with a vote
    abstentions: int
    wire_bytes: int
    train_loss: float
    seconds: float  # from the ballots' arrival to the broadcast
    evaluation: dict[str, float] | None  # the test metrics, when this round evaluated
    evidence: RoundEvidence | None = None  # the accusation's view of the round (None: off)
    quarantined: int = 0  # received votes counted as abstentions (quarantine proven)


@dataclass
class MasterFeatures:
    """Optional features of the master loop (all off by default)."""

    recorder: RunRecorder | None = None  # None: a fresh run folder
    first_round: int = 0  # resume: the round to start with
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # evaluations
    checkpoint: Callable[[int, Update, str], None] | None = None  # (rounds done, update, digest)
    checkpoint_every: int = 1  # rounds between checkpoints (and one at the end)
    on_round: Callable[[RoundRecord], None] | None = None  # after every broadcast
    progress: bool = False
    label: str = ""  # progress bar label ("" = scheme/code)
    on_proof: Callable[[int, int, str], None] | None = None  # (round, worker, line); None: stderr
    resume_accusation: dict[str, Any] | None = None  # a checkpoint's accusation state
    watch: AccusationWatch | None = None  # set by run_master: its state goes into checkpoints


def _print_proof(step: int, worker: int, line: str) -> None:
    print(f"election: {line}", file=sys.stderr, flush=True)


def make_watch(setup: Setup, recorder: RunRecorder) -> AccusationWatch | None:
    """The run's accusation state, or None when it is off (or, in auto mode, cannot run)."""
    cfg = setup.cfg
    if not cfg.accusation_active:
        return None
    try:
        return AccusationWatch(setup, recorder.run_dir)
    except ConfigError as exc:  # a code beyond the pattern table's bounds
        if cfg.accusation == "on" or cfg.quarantine != "off":
            raise
        warn(f"accusation is off for this run: {exc}")
        return None


class _Window:
    """Train losses since the last evaluation (the mean of the window goes to metrics.csv)."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def take(self) -> float:
        mean = sum(self.losses) / len(self.losses) if self.losses else float("nan")
        self.losses = []
        return mean


def _apply(
    step: int,
    node: MasterNode,
    transport: MasterTransport,
    features: MasterFeatures,
    used: list[Vote | None],
) -> tuple[Update, str, dict[str, float] | None]:
    """Aggregate (outside the model lock: a shard may wait for its peers' parts), then apply
    under the transport's model lock; the update, digest, evaluation."""
    setup, done, evaluation = node.setup, step + 1, None
    lo, hi = transport.coordinates(node.replica.dim)  # a master shard aggregates its slice
    update = transport.complete(step, node.aggregate(used, hi - lo))  # ... and joins the rest
    with transport.model_lock():
        node.apply(step, update)
        digest = node.replica.digest()
        transport.applied(step)
        if done % setup.cfg.eval_every == 0 or done == setup.total_steps:
            evaluation = node.replica.evaluate()
            features.history.append((done, evaluation))
    return update, digest, evaluation


def _announce_proofs(
    step: int, watch: AccusationWatch, evidence: RoundEvidence, features: MasterFeatures
) -> None:
    """One line per worker proven Byzantine for the first time in this round."""
    for worker in evidence.newly_proven:
        (features.on_proof or _print_proof)(step, worker, watch.proof_line(step, worker, evidence))


def _master_round(
    step: int,
    node: MasterNode,
    transport: MasterTransport,
    features: MasterFeatures,
    recorder: RunRecorder,
    window: _Window,
    round_deadline_s: float,
    watch: AccusationWatch | None,
) -> RoundRecord:
    """One round of the master loop (module docstring)."""
    setup = node.setup
    scheme, total = setup.scheme, setup.total_steps
    ballots = transport.gather(step, round_deadline_s)
    started = time.perf_counter()
    votes = [None if b is None else b.vote for b in ballots]
    present = sum(v is not None for v in votes)
    wire = sum(scheme.vote_nbytes(v) for v in votes if v is not None)
    counted = ballots if watch is None else watch.mask(ballots)  # quarantine: proven abstain
    used = [None if b is None else b.vote for b in counted]
    loss = train_loss(counted)
    window.losses.append(loss)
    done = step + 1
    update, digest, evaluation = _apply(step, node, transport, features, used)
    due = features.checkpoint is not None and (
        done % features.checkpoint_every == 0 or done == total
    )
    evidence = None
    if watch is not None and due:  # the checkpoint keeps this round's proofs too
        evidence = watch.observe(step, votes, update)
    if due and features.checkpoint is not None:
        features.checkpoint(done, update, digest)
    transport.broadcast(step, update, digest)
    elapsed = time.perf_counter() - started
    if watch is not None and evidence is None:  # after the broadcast: off the critical path
        evidence = watch.observe(step, votes, update)
    if evidence is not None and watch is not None:
        _announce_proofs(step, watch, evidence, features)
    if evaluation is not None:
        extra = None if watch is None else watch.window_row()
        recorder.log_eval(done, window.take(), evaluation, extra)
    n, quarantined = len(ballots), present - sum(v is not None for v in used)
    return RoundRecord(
        step, update, digest, present, n - present, wire, loss, elapsed, evaluation, evidence,
        quarantined,
    )  # fmt: skip


def run_master(
    setup: Setup,
    transport: MasterTransport,
    *,
    round_deadline_s: float = ROUND_DEADLINE_S,
    node: MasterNode | None = None,
    features: MasterFeatures | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run every remaining round as the master; returns the run summary (also on disk).

    ``node`` may be built beforehand (threads share torch's global RNG, so a threaded cluster
    builds its nodes one after another).
    """
    node = node or MasterNode(setup)
    features = features or MasterFeatures(progress=progress)
    recorder = features.recorder or RunRecorder(setup)
    total, cfg = setup.total_steps, setup.cfg
    label = features.label or f"{cfg.scheme}/{cfg.code}"
    bar = Progress(total, label, enabled=features.progress or progress)
    window, wire_total, abstentions, step = _Window(), 0, 0, features.first_round
    watch = features.watch = make_watch(setup, recorder)
    if watch is not None and features.resume_accusation:
        watch.restore(features.resume_accusation, features.first_round)
    try:
        for step in range(features.first_round, total):
            record = _master_round(
                step, node, transport, features, recorder, window, round_deadline_s, watch
            )
            wire_total += record.wire_bytes
            abstentions += record.abstentions
            if features.on_round is not None:
                features.on_round(record)
            last = recorder.values[-1] if recorder.values else float("nan")
            bar.update(step + 1, f"{recorder.metric_name} {last:.4f}")
    except BaseException as exc:
        bar.close()
        if watch is not None:
            watch.close()
        if not isinstance(exc, transport.resumable):
            recorder.fail(exc, step)
        raise
    bar.close()
    transport.finished()
    per_round = wire_total / max(1, total)
    extra: dict[str, Any] = {
        "dim": node.replica.dim,
        "wire_bytes_per_round": per_round,
        "wire_bytes_per_coord_per_vote": per_round / max(1, cfg.n) / node.replica.dim,
        "abstentions": abstentions,
    }
    if watch is not None:
        watch.close()
        watch.plot(recorder.run_dir / ACCUSATION_PLOT, f"{cfg.dataset}: {recorder.label()}")
        extra |= watch.summary()
    return recorder.finish(node.replica, total, extra | transport.summary())


def run_worker(
    setup: Setup,
    slot: int,
    transport: WorkerTransport,
    *,
    update_wait_s: float = UPDATE_WAIT_S,
    node: WorkerNode | None = None,
) -> dict[str, Any]:
    """Run slot ``slot`` to the end; returns its counters (bytes sent, last digest)."""
    node = node or WorkerNode(setup, slot)
    scheme, sent_bytes, digest = setup.scheme, 0, ""
    step = transport.start(node)
    while 0 <= step < setup.total_steps:
        try:
            ballot = node.ballot(step)
            transport.send(step, ballot)
            update, digest = transport.receive(step, update_wait_s)
            node.apply(step, update, digest)
        except transport.recoverable as exc:
            step = transport.recover(exc, step, node)
            continue
        sent_bytes += 0 if ballot.vote is None else scheme.vote_nbytes(ballot.vote)
        step += 1
    return {"slot": slot, "sent_bytes": sent_bytes, "digest": digest}
