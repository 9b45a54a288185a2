"""The gRPC master's rounds: the one master loop over :class:`master.transport.GrpcMaster`
(docs/design.md, Sec. 3 Architecture and one round, step 4), with the service's features plugged in:

    checkpoint every K rounds (atomic)      # before publishing: a restart re-serves r
    after every round: metrics, a log line, the optional pace
    fewer than min_votes even after the wait: checkpoint, stop (TooFewVotes, resumable)
    then wait (linger) until every slot fetched the last update; write summary.json

The same configuration gives the same ``model_sha256`` as the in-process loop.
"""

from __future__ import annotations

import time
from typing import Any

from election.training.accusing import WINDOW_COLUMNS
from election.training.distributed import MasterFeatures, RoundRecord, run_master
from election.training.recorder import RunRecorder
from election.training.schemes import Update
from master import checkpoint
from master.peers import ShardPeers
from master.rounds import TooFewVotes
from master.service import MasterService
from master.transport import GrpcMaster
from wire.messages import RoundUpdate, payload_to_core


def make_checkpoint(
    service: MasterService,
    recorder: RunRecorder,
    update: RoundUpdate | None,
    history: list[tuple[int, dict[str, float]]],
    accusation: dict[str, Any] | None = None,
) -> checkpoint.MasterCheckpoint:
    """Everything to resume after round ``service.model_round - 1`` (call under model_lock)."""
    last = None
    if update is not None:
        last = (
            update.round,
            update.digest,
            payload_to_core(update.payload),
            update.votes,
            update.abstentions,
        )
    return checkpoint.MasterCheckpoint(
        run_id=service.run_id,
        secret=service.secret,
        config_json=service.config_json,
        next_round=service.model_round,
        replica_state=service.node.replica.state_bytes(),
        run_dir=str(recorder.run_dir),
        last_update=last,
        evals=list(history),
        counters=service.metrics.snapshot(),
        accusation=accusation or {},
    )


class _Features:
    """The service's side of the loop: checkpoints and per-round bookkeeping."""

    def __init__(
        self,
        service: MasterService,
        transport: GrpcMaster,
        recorder: RunRecorder,
        history: list[tuple[int, dict[str, float]]],
    ) -> None:
        self.service = service
        self.transport = transport
        self.recorder = recorder
        self.history = history
        self.proven: set[int] = set()  # workers proven Byzantine so far (accusation on)
        self.features: MasterFeatures | None = None  # the loop's features (its accusation state)

    def save(self, update: RoundUpdate | None) -> None:
        with self.service.model_lock:
            watch = None if self.features is None else self.features.watch
            state = None if watch is None else watch.state()
            ckpt = make_checkpoint(self.service, self.recorder, update, self.history, state)
        checkpoint.save(self.service.options.checkpoint_dir, ckpt)

    def checkpoint(self, done: int, update: Update, digest: str) -> None:
        self.save(self.transport.round_update(done - 1, update, digest))

    def on_proof(self, step: int, worker: int, line: str) -> None:
        """The one log event of a worker's first proof."""
        self.service.log.event("proven_byzantine", round=step, worker=worker, detail=line)

    def observe_accusation(self, record: RoundRecord) -> None:
        metrics, evidence = self.service.metrics, record.evidence
        assert evidence is not None
        if record.quarantined:
            metrics.inc("votes_quarantined", record.quarantined)
        tele, verdict = evidence.telemetry, evidence.accusation
        self.proven.update(evidence.newly_proven)
        shares = {
            "dead_share": tele.dead_share,
            "tie_share": tele.tie_share,
            "movable_share": tele.movable_share,
            "min_liars": float(verdict.min_liars or 0),
        }
        held = len(self.proven) if self.service.setup.cfg.quarantine == "proven" else 0
        metrics.observe_accusation(self.proven, [float(x) for x in evidence.score], held, shares)

    def on_round(self, record: RoundRecord) -> None:
        service, metrics = self.service, self.service.metrics
        if record.evaluation is not None:
            metrics.set("accuracy", record.evaluation[self.recorder.metric_name])
        metrics.inc("rounds")
        metrics.inc("abstentions", record.abstentions)
        metrics.set("current_round", record.round + 1)
        metrics.observe_round(record.seconds)
        if record.evidence is not None:
            self.observe_accusation(record)
        service.log.event(
            "round",
            round=record.round,
            votes=record.votes,
            abstentions=record.abstentions,
            ms=round(record.seconds * 1000, 2),
            digest=record.digest[:16],
        )
        pace = service.options.pace_s
        if pace > 0:
            time.sleep(max(0.0, pace - record.seconds))


def run_rounds(
    service: MasterService,
    recorder: RunRecorder,
    *,
    history: list[tuple[int, dict[str, float]]],
    progress: bool = False,
    accusation: dict[str, Any] | None = None,
    peers: ShardPeers | None = None,
) -> dict[str, Any]:
    """Run every remaining round, then write and return the summary; ``accusation`` is a
    checkpoint's accusation state (resume); ``peers``: this master is one of k shards."""
    setup, opts = service.setup, service.options
    transport = GrpcMaster(service, peers)
    hooks = _Features(service, transport, recorder, history)
    features = MasterFeatures(
        recorder=recorder,
        first_round=service.rounds.open_round,
        history=history,
        checkpoint=hooks.checkpoint if opts.checkpoint_dir else None,
        checkpoint_every=opts.checkpoint_every,
        on_round=hooks.on_round,
        on_proof=hooks.on_proof,
        progress=progress,
        label=f"master/grpc {setup.cfg.code}",
        resume_accusation=accusation,
    )
    hooks.features = features
    try:
        return run_master(
            setup,
            transport,
            node=service.node,
            features=features,
            round_deadline_s=opts.round_deadline_s,
        )
    except TooFewVotes as exc:  # resumable: checkpoint the state the round started from
        if opts.checkpoint_dir:
            hooks.save(service.rounds.latest_update())
        service.log.event(
            "stopped",
            reason="too_few_votes",
            round=exc.round,
            votes=exc.votes,
            min_votes=service.rounds.min_votes,
            checkpoint=opts.checkpoint_dir,
        )
        raise
    finally:
        transport.close()


def resume_recorder(
    recorder: RunRecorder,
    history: list[tuple[int, dict[str, float]]],
    previous: list[dict[str, str]] | None = None,
) -> None:
    """Replay the evaluations of a checkpoint into a fresh recorder (same run folder), with the
    train loss, wall time and accusation columns of ``previous`` (the metrics.csv rows the
    master wrote before it stopped) where a row of that step is there."""
    rows = {row.get("step"): row for row in previous or ()}
    for step, values in history:
        row = rows.get(str(step), {})
        try:
            loss = float(row.get("train_loss") or "nan")
        except ValueError:  # a row torn by the crash
            loss = float("nan")
        kept = {c: row[c] for c in ("wall_s", *WINDOW_COLUMNS) if row.get(c) is not None}
        recorder.log_eval(step, loss, values, kept)
