"""The master's plain functions, one per RPC, over injected state (no grpc here).

:class:`MasterService` owns the round state, the slot table, the tokens and the master's
replica (behind ``model_lock``). The servicer translates protos to the arguments of these
methods and their results back; the training loop (:mod:`master.loop`) drives the rounds.
"""

from __future__ import annotations

import json
import threading

from election.errors import ConfigError
from election.training.nodes import MasterNode
from election.training.schemes import PACKED_TERNARY
from election.training.setup import Setup
from election.votes import PackedVote
from master.config import MasterConfig
from master.metrics import Metrics
from master.rounds import RoundState
from master.slots import SlotTable
from wire import snapshot as snapshot_layout
from wire.errors import MalformedMessage, PayloadTooLarge, RunFinished, Unauthenticated, WrongLength
from wire.jsonlog import JsonLog
from wire.limits import MAX_NAME_CHARS, check_length
from wire.messages import (
    Assignment,
    Credentials,
    JoinClaim,
    Payload,
    RawPayload,
    RoundUpdate,
    RunStatus,
    Snapshot,
    UpdateQuery,
    Vote,
    max_vote_nbytes,
    payload_nbytes,
)
from wire.security import SlotTokens, join_secret_matches, peer_token


def min_votes_for(n: int, b: int, requested: int = 0) -> int:
    """The fewest votes a round closes with: ``requested``, or n - b by default.

    A missing vote is an abstention, a 0 vote, which is also what a Byzantine slot may send,
    so an abstention uses up one unit of the code's tolerance b. With more than b slots
    missing, more than b slots are faulty for sure and no code can guarantee the majority;
    with at most b missing the guarantee still holds whenever the missing slots are among
    the Byzantine ones. n - b is therefore the smallest count that keeps it possible.
    """
    value = requested or max(1, n - b)
    if not 1 <= value <= n:
        raise ConfigError(f"min_votes = {value} must be in [1, n = {n}]")
    return value


class MasterService:
    def __init__(
        self,
        setup: Setup,
        *,
        run_id: str,
        secret: bytes,
        options: MasterConfig,
        metrics: Metrics,
        log: JsonLog,
        join_secret: str | None,
        first_round: int = 0,
        last_update: RoundUpdate | None = None,
    ) -> None:
        cfg = setup.cfg
        self.setup = setup
        self.run_id = run_id
        self.secret = secret
        self.join_secret = join_secret  # None = open mode: anyone who connects may Join
        self.options = options
        self.min_votes = min_votes_for(cfg.n, cfg.b, options.min_votes)
        self.metrics = metrics
        self.log = log
        self.node = MasterNode(setup)
        self.dim = self.node.replica.dim
        # a master shard receives and aggregates the coordinates [lo, hi) of every vote
        # (docs/grpc.md "Sharded masters"); one master: all d of them
        self.master_shards, self.shard = options.master_shards, options.shard
        self.shard_range = setup.scheme.shard_ranges(self.dim, self.master_shards)[self.shard]
        self.width = self.shard_range[1] - self.shard_range[0]  # coordinates of a vote here
        self.peer_token = peer_token(join_secret or "")
        self.model_lock = threading.Lock()
        self.model_round = first_round  # the round the replica's state is the start of
        # (model_round, digest), replaced as one tuple after every round: GetStatus reads it
        # without the model lock, so it answers at once while a round is being computed
        self.head = (first_round, self.node.replica.digest())
        self._snapshot: Snapshot | None = None  # the open round's snapshot, once built
        self.config_json = json.dumps(cfg.to_json_dict(), sort_keys=True)
        self.tokens = SlotTokens(secret, run_id, cfg.n)
        self.slots = SlotTable(cfg.n, seed=cfg.seed)
        self.max_vote_nbytes = max_vote_nbytes(setup.scheme, self.width)
        self.rounds = RoundState(
            run_id=run_id,
            n_slots=cfg.n,
            total_rounds=setup.total_steps,
            check_token=self.tokens.check,
            check_payload=self.check_payload,
            first_round=first_round,
            round_deadline_s=options.round_deadline_s,
            startup_timeout_s=options.startup_timeout_s,
            min_votes=self.min_votes,
            min_votes_wait_s=options.min_votes_wait_s,
            last_update=last_update,
        )

    # --- one method per RPC ---
    def join(self, claim: JoinClaim) -> Assignment:
        if self.join_secret is not None and not join_secret_matches(
            self.join_secret, claim.join_secret
        ):
            raise Unauthenticated("missing or wrong join secret")
        check_length("worker_name", claim.worker_name, MAX_NAME_CHARS)
        slot = self.slots.claim(claim.slot)
        self.rounds.mark_joined(slot)
        self.metrics.inc("joins")
        self.log.event("joined", slot=slot, requested=claim.slot, worker=claim.worker_name)
        return Assignment(
            run_id=self.run_id,
            slot=slot,
            partitions=self.setup.partitions_of(slot),
            config_json=self.config_json,
            token=self.tokens.issue(slot),
            round=self.rounds.open_round,
            total_rounds=self.setup.total_steps,
            dim=self.dim,
        )

    def submit(self, vote: Vote) -> int:
        held = self.rounds.submit(vote)
        self.metrics.inc("votes_accepted")
        self.metrics.inc("bytes_received", payload_nbytes(vote.payload))
        return held

    def check_update_query(self, query: UpdateQuery) -> None:
        """Credentials first, then whether the round can ever have an update."""
        self.rounds.check_reader(query.credentials)
        if query.round >= self.setup.total_steps:
            raise RunFinished(f"round {query.round} is past the last round")

    def check_peer(self, query: UpdateQuery) -> None:
        """A GetShardUpdate call: another shard of this run, with the peer token."""
        slot = query.credentials.slot
        if self.master_shards == 1 or not 0 <= slot < self.master_shards or slot == self.shard:
            raise Unauthenticated(f"no peer shard {slot} in a run of {self.master_shards}")
        if self.peer_token and not join_secret_matches(self.peer_token, query.credentials.token):
            raise Unauthenticated("missing or wrong peer token")
        if query.round >= self.setup.total_steps:
            raise RunFinished(f"round {query.round} is past the last round")

    def delivered(self, slot: int, update: RoundUpdate, nbytes: int) -> None:
        """The whole update was written to ``slot``'s live stream (only then is it counted)."""
        self.metrics.inc("bytes_sent", nbytes)
        if update.round == self.setup.total_steps - 1:
            self.rounds.mark_fetched_final(slot)

    def check_declared(self, encoding: str, length: int, total_nbytes: int) -> None:
        """A vote header's payload, before any payload byte is read: length, kind, size."""
        if length != self.width:
            raise WrongLength(f"vote has {length} coordinates, {self._owned()}")
        scheme = self.setup.scheme
        if encoding != scheme.vote_encoding:
            raise MalformedMessage(
                f"scheme {scheme.name} needs {scheme.vote_encoding} votes, not {encoding}"
            )
        if total_nbytes > self.max_vote_nbytes:
            raise PayloadTooLarge(
                f"declared payload of {total_nbytes} B exceeds the largest valid vote of "
                f"{self.max_vote_nbytes} B"
            )

    def snapshot(self, cred: Credentials) -> Snapshot:
        """The state at the start of the open round; built once per round, then shared."""
        self.rounds.check_reader(cred)
        with self.model_lock:
            if self._snapshot is None or self._snapshot.round != self.model_round:
                tensors, data = snapshot_layout.from_replica(self.node.replica)
                self._snapshot = Snapshot(
                    round=self.model_round,
                    digest=self.node.replica.digest(),
                    state=data,
                    tensors=tensors,
                )
            snap = self._snapshot
        self.metrics.inc("snapshots")
        self.log.event("snapshot_served", slot=cred.slot, round=snap.round)
        return snap

    def restore_state(self, replica_state: bytes) -> None:
        """Load a checkpointed replica state (resume) and refresh the published head."""
        with self.model_lock:
            self.node.replica.load_state_bytes(replica_state)
            self.head = (self.model_round, self.node.replica.digest())

    def status(self) -> RunStatus:
        model_round, digest = self.head  # never waits for a round in progress
        return RunStatus(
            run_id=self.run_id,
            round=model_round,
            total_rounds=self.setup.total_steps,
            finished=model_round >= self.setup.total_steps,  # consistent with round, digest
            n_slots=self.setup.cfg.n,
            joined_slots=self.rounds.joined(),
            config_json=self.config_json,
            dim=self.dim,
            digest=digest,
            master_shards=self.master_shards,
            shard=self.shard,
        )

    # --- validation injected into the round state ---
    def check_payload(self, payload: Payload) -> None:
        """The payload's kind matches the scheme and its length is the model's d."""
        scheme = self.setup.scheme
        expected = scheme.vote_encoding
        if expected == PACKED_TERNARY:
            if not isinstance(payload, PackedVote):
                raise MalformedMessage(f"scheme {scheme.name} needs {PACKED_TERNARY} votes")
        elif not isinstance(payload, RawPayload) or payload.encoding != expected:
            raise MalformedMessage(f"scheme {scheme.name} needs {expected} votes")
        if payload.length != self.width:
            raise WrongLength(f"vote has {payload.length} coordinates, {self._owned()}")

    def _owned(self) -> str:
        """What a vote's length must be, in words (for WrongLength)."""
        if self.master_shards == 1:
            return f"the model has {self.dim}"
        lo, hi = self.shard_range
        return f"master shard {self.shard} of {self.master_shards} owns {self.width} ([{lo}, {hi}))"
