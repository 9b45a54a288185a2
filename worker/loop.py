"""A gRPC worker's life (docs/design.md, Sec. 3 Architecture and one round, steps 3 and 5):

    wait for the master (GetStatus, exponential backoff) -> build the Setup from its config
    -> Join (slot, token) -> the one worker loop (:func:`election.training.distributed.run_worker`)
       over this class as its transport: resync from a snapshot if the run is past round 0
       (``start``), SubmitVote (``send``), GetUpdate long poll (``receive``); on a digest
       mismatch, a stale round or a lost master: resync / reconnect and carry on (``recover``).

An adversary is the same loop with ``byzantine=True`` (the core attack registry decides what
it sends) plus optional malformed traffic (:mod:`adversary.faults`) through ``hooks``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any, Protocol

from election.config import build_config
from election.training.distributed import run_worker
from election.training.nodes import DigestMismatch, WorkerNode
from election.training.schemes import Update
from election.training.setup import Setup, prepare
from election.transport.base import Ballot, WorkerTransport
from wire import snapshot as snapshot_layout
from wire.errors import MalformedMessage
from wire.jsonlog import JsonLog
from wire.messages import (
    Assignment,
    Credentials,
    JoinClaim,
    RoundUpdate,
    UpdateQuery,
    Vote,
    payload_nbytes,
    payload_of_vote,
    update_of_payload,
)
from worker.client import MasterClient, Rejected, Unreachable, backoff_delays
from worker.config import WorkerConfig

UPDATE_MAX_FACTOR = 4  # an update is at most 4 bytes per coordinate (float32 baselines)
MAX_RECOVERIES = 100  # consecutive failed recoveries before the worker gives up


class GaveUp(RuntimeError):
    """The master stayed unreachable past the connect timeout, or recovery kept failing."""


class Hooks(Protocol):
    """Extension points for the adversary's malformed traffic."""

    def before_vote(self, loop: WorkerLoop, step: int) -> None: ...

    def after_vote(self, loop: WorkerLoop, step: int) -> None: ...


class WorkerLoop(WorkerTransport):
    """The gRPC worker: the one worker loop's transport, plus joining and recovery."""

    recoverable = (Unreachable, Rejected, DigestMismatch)

    def __init__(
        self,
        client: MasterClient,
        options: WorkerConfig,
        *,
        log: JsonLog,
        hooks: Hooks | None = None,
        byzantine: bool = False,
        attack: str = "",
    ) -> None:
        self.client = client
        self.options = options
        self.byzantine = byzantine  # adversary: send what the configured attack produces
        self.attack = attack  # adversary: local attack override ("" = the run's attack)
        self.log = log
        self.hooks = hooks
        self.counters: Counter[str] = Counter()
        self.setup: Setup | None = None
        self.node: WorkerNode | None = None
        self.assignment: Assignment | None = None
        self.last_vote: Vote | None = None
        self.digest = ""

    # --- setup ---
    def _prepare(self, config_json: str) -> Setup:
        values = json.loads(config_json) | {"transport": "grpc"}
        o = self.options
        if o.data_dir:
            values["data_root"] = o.data_dir
        if o.device:
            values["device"] = o.device
        if o.threads >= 0:
            values["threads"] = o.threads
        if self.attack:
            values["attack"] = self.attack
        return prepare(build_config(values))

    def _join(self) -> Assignment:
        slot = self.assignment.slot if self.assignment is not None else self.options.slot
        claim = JoinClaim(
            slot=slot, worker_name=self.options.name, join_secret=self.options.join_secret
        )
        assignment = self.client.join(claim)
        if self.assignment is not None and assignment.run_id != self.assignment.run_id:
            raise RuntimeError(
                f"the master now runs {assignment.run_id!r}, not {self.assignment.run_id!r}"
            )
        self.assignment = assignment
        self.counters["joins"] += 1
        self.log.event(
            "joined",
            slot=assignment.slot,
            round=assignment.round,
            partitions=list(assignment.partitions),
        )
        return assignment

    @property
    def credentials(self) -> Credentials:
        assert self.assignment is not None
        a = self.assignment
        return Credentials(a.run_id, a.slot, a.token)

    def _reconnect(self) -> None:
        """Wait for the master and re-join this slot; GaveUp after ``connect_timeout_s``."""
        self.counters["reconnects"] += 1
        deadline = time.monotonic() + self.options.connect_timeout_s
        for delay in backoff_delays():
            try:
                self.client.wait_ready(
                    max(0.0, deadline - time.monotonic()),
                    on_retry=lambda e: self.log.event("master_unreachable", error=e),
                )
                self._join()  # the master may go away between GetStatus and Join
                return
            except Unreachable as exc:
                if time.monotonic() + delay > deadline:
                    raise GaveUp(f"master unreachable: {exc}") from None
                time.sleep(delay)

    def _resync(self) -> int:
        assert self.node is not None
        snap = self.client.snapshot(self.credentials)
        if snapshot_layout.digest_of(snap.tensors, snap.state) != snap.digest:
            raise MalformedMessage("the snapshot's parameters do not match its digest")
        snapshot_layout.load_into(self.node.replica, snap.tensors, snap.state)
        self.counters["resyncs"] += 1
        self.node.forget_ballot()
        self.digest = snap.digest
        self.log.event("resynced", round=snap.round, digest=snap.digest[:16])
        return snap.round

    # --- the rounds ---
    def run(self) -> dict[str, Any]:
        status = self.client.wait_ready(
            self.options.connect_timeout_s,
            on_retry=lambda e: self.log.event("waiting_for_master", error=e),
        )
        if status.finished:
            self.log.event("run_already_finished", run_id=status.run_id)
            return self.summary()
        self.setup = self._prepare(status.config_json)
        try:
            self._join()
        except Unreachable:
            self._reconnect()
        assignment = self.assignment
        assert assignment is not None
        self.slot = assignment.slot
        self.node = WorkerNode(
            self.setup, assignment.slot, byzantine=True if self.byzantine else None
        )
        run_worker(
            self.setup,
            assignment.slot,
            self,
            node=self.node,
            update_wait_s=self.options.poll_timeout_s,
        )
        return self.summary()

    # --- the transport ---
    def start(self, node: WorkerNode) -> int:
        assert self.assignment is not None
        return self._resync() if self.assignment.round > 0 else 0

    def send(self, round_id: int, ballot: Ballot) -> None:
        assert self.setup is not None
        if self.hooks is not None:
            self.hooks.before_vote(self, round_id)
        if ballot.vote is not None:
            payload = payload_of_vote(self.setup.scheme, ballot.vote)
            losses = tuple(loss for _, loss in ballot.losses)
            self.last_vote = Vote(self.credentials, round_id, payload, losses)
            try:
                self.client.submit(self.last_vote)
                self.counters["votes_sent"] += 1
                self.counters["bytes_sent"] += payload_nbytes(payload)
            except Rejected as exc:
                if exc.reason not in ("duplicate", "stale_round"):  # already in / round closed
                    raise
        if self.hooks is not None:
            self.hooks.after_vote(self, round_id)

    def receive(self, round_id: int, timeout_s: float) -> tuple[Update, str]:
        assert self.setup is not None and self.node is not None
        update = self._poll_update(round_id)
        self.counters["updates"] += 1
        self.counters["abstentions_seen"] += update.abstentions
        self.digest = update.digest
        return update_of_payload(self.setup.scheme, update.payload, self.node.replica.dim), (
            update.digest
        )

    def recover(self, error: BaseException, round_id: int, node: WorkerNode) -> int:
        assert isinstance(error, Exception)
        return self._recover(error, round_id)

    def _recover(self, exc: Exception, step: int) -> int:
        """Handle a failed round; returns the round to continue with (-1 = the run is over).

        Recovery can itself fail (the master going away again mid-resync): handle that too.
        """
        for _ in range(MAX_RECOVERIES):
            try:
                if isinstance(exc, Unreachable):
                    self.log.event("master_lost", round=step, error=str(exc)[:200])
                    time.sleep(next(backoff_delays()))  # do not hammer a stopping master
                    self._reconnect()
                    return step
                if isinstance(exc, DigestMismatch):
                    self.counters["digest_mismatches"] += 1
                    self.log.event("digest_mismatch", round=step, error=str(exc))
                    return self._resync()
                assert isinstance(exc, Rejected)
                return self._on_rejected(exc, step)
            except (Unreachable, Rejected) as again:
                exc = again
        raise GaveUp(f"could not recover in round {step}: {exc}")

    def _poll_update(self, step: int) -> RoundUpdate:
        """Long-poll GetUpdate; a poll that times out is simply repeated."""
        assert self.node is not None
        while True:
            try:
                return self.client.get_update(
                    UpdateQuery(self.credentials, step),
                    timeout_s=self.options.poll_timeout_s,
                    max_nbytes=UPDATE_MAX_FACTOR * self.node.replica.dim + 64,
                )
            except MalformedMessage as exc:  # empty stream: the master went away mid-poll
                raise Unreachable(str(exc)) from None
            except Unreachable as exc:
                if not exc.deadline:
                    raise
                self.counters["long_polls_repeated"] += 1

    def _on_rejected(self, exc: Rejected, step: int) -> int:
        self.counters[f"rejected_{exc.reason}"] += 1
        self.log.event("rejected", round=step, reason=exc.reason, error=str(exc)[:200])
        if exc.reason == "finished":
            return -1
        if exc.reason in ("future_round", "too_many_streams"):  # not yet / a stream too many
            time.sleep(next(backoff_delays()))
            return step
        if exc.reason == "stale_round":
            return self._resync()
        if exc.reason in ("unauthenticated", "wrong_slot", "wrong_run"):
            self._join()
            return self._resync()
        raise RuntimeError(f"the master refused slot {self.credentials.slot}: {exc}") from exc

    def summary(self) -> dict[str, Any]:
        slot = self.assignment.slot if self.assignment else None
        return {"slot": slot, "digest": self.digest, "counters": dict(self.counters)}
