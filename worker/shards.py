"""A worker's side of sharded masters (docs/grpc.md, "Sharded masters").

With k master shards, shard s owning the coordinates [lo_s, hi_s) of
:func:`election.votes.shards.shard_ranges` (d, k), a worker

    joins every shard with the same slot (shard 0 picks it when the slot is "any"),
    sends shard s the coordinates [lo_s, hi_s) of its vote, to all k shards in parallel,
    fetches the k parts of the round's update in parallel and joins them in shard order,
    checks that every shard reports the same model digest (each keeps a full replica).

:class:`ShardedClient` does this behind the methods of :class:`worker.client.MasterClient`, so
the one worker loop and its recovery (:mod:`worker.loop`) are the same for k = 1 and k > 1.
Credentials are per shard (each shard issues its own token); the loop sees shard 0's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

import grpc

from election.errors import ConfigError
from election.votes.shards import shard_ranges
from wire.gen.election.v1 import election_pb2 as pb
from wire.messages import (
    Assignment,
    Credentials,
    JoinClaim,
    RoundUpdate,
    RunStatus,
    Snapshot,
    UpdateQuery,
    Vote,
    join_payloads,
    slice_payload,
)
from worker.client import MasterClient, Rejected, Unreachable

T = TypeVar("T")
# One shard's GetUpdate long poll: shorter than the loop's, so that a shard that went away is
# noticed (and its votes resent) within this even while the other shards' polls still wait.
SHARD_POLL_S = 5.0
BENIGN = ("duplicate", "stale_round")  # the vote is in already, or its round closed without it
FAILED = grpc.StatusCode.FAILED_PRECONDITION  # the code of a refusal made up here
DISAGREE = "shards-disagree"  # the digest handed on when the shards' digests differ
# where a shard keeps its files, which may differ between shards (compose: runs/shard1/)
LOCAL_FIELDS = ("runs_dir", "run_name", "data_root")


def _severity(error: BaseException) -> int:
    """Which of several shards' failures the loop hears: a lost shard (reconnect), then a
    refusal, then a long poll that merely timed out (ask again)."""
    if isinstance(error, Unreachable):
        return 2 if error.deadline else 0
    return 1


def _training_part(config_json: str) -> dict[str, object]:
    """A shard's run configuration without the fields that name its own folders."""
    values = dict(json.loads(config_json))
    for name in LOCAL_FIELDS:
        values.pop(name, None)
    return values


class ShardedClient:
    """k :class:`MasterClient`, one per master shard in shard order, as one client."""

    def __init__(self, clients: Sequence[MasterClient]) -> None:
        self.clients = list(clients)
        self.k = len(self.clients)
        self.target = ",".join(c.target for c in self.clients)
        self.ranges: tuple[tuple[int, int], ...] = ()  # set by the first status
        self.assignments: list[Assignment | None] = [None] * self.k
        self.pool = ThreadPoolExecutor(self.k, thread_name_prefix="shard-link")
        self._parts: dict[int, dict[int, RoundUpdate]] = {}  # round -> shard -> its part

    def _each(self, call: Callable[[int], T], shards: Sequence[int] | None = None) -> dict[int, T]:
        """``call(s)`` for every shard s (or those given) in parallel; once all have ended, the
        most severe failure is raised (:func:`_severity`)."""
        futures: dict[int, Future[T]] = {
            s: self.pool.submit(call, s) for s in (range(self.k) if shards is None else shards)
        }
        results: dict[int, T] = {}
        errors: list[BaseException] = []
        for s, future in futures.items():
            try:
                results[s] = future.result()
            except (Unreachable, Rejected) as exc:
                errors.append(exc)
        if errors:
            raise min(errors, key=_severity)
        return results

    def credentials(self, shard: int) -> Credentials:
        a = self.assignments[shard]
        if a is None:
            raise Unreachable(f"shard {shard} has not been joined")
        return Credentials(a.run_id, a.slot, a.token)

    # --- MasterClient's methods ---
    def status(self, timeout_s: float = 30.0) -> RunStatus:
        return self.clients[0].status(timeout_s)

    def wait_ready(
        self, timeout_s: float, on_retry: Callable[[str], None] | None = None
    ) -> RunStatus:
        """Every shard answers GetStatus as shard s of k of one configuration; shard 0's."""
        statuses = self._each(lambda s: self.clients[s].wait_ready(timeout_s, on_retry))
        first = statuses[0]
        for s, status in statuses.items():
            if status.master_shards != self.k or status.shard != s:
                raise ConfigError(
                    f"{self.clients[s].target} is shard {status.shard} of "
                    f"{status.master_shards}, but it is address {s} of the {self.k} given "
                    "(--master lists every shard, in shard order)"
                )
            if _training_part(status.config_json) != _training_part(first.config_json) or (
                status.dim != first.dim
            ):
                raise ConfigError(
                    f"master shards 0 and {s} serve different runs (their configurations differ)"
                )
        self.ranges = shard_ranges(first.dim, self.k)
        return first

    def join(self, claim: JoinClaim) -> Assignment:
        """Shard 0 assigns the slot; the others are joined with that slot."""
        first = self.clients[0].join(claim)
        self.assignments[0] = first
        same = replace(claim, slot=first.slot)
        others = self._each(lambda s: self.clients[s].join(same), range(1, self.k))
        for s, a in others.items():
            if a.slot != first.slot:
                raise Rejected(
                    FAILED, f"wrong_slot: shard {s} gave slot {a.slot}, not {first.slot}"
                )
            self.assignments[s] = a
        return first

    def submit(self, vote: Vote) -> int:
        """Shard s gets the coordinates [lo_s, hi_s); a shard that has the vote already, or
        closed its round, is fine as long as no shard failed otherwise."""

        def send(s: int) -> int:
            lo, hi = self.ranges[s]
            part = replace(
                vote, credentials=self.credentials(s), payload=slice_payload(vote.payload, lo, hi)
            )
            try:
                return self.clients[s].submit(part)
            except Rejected as exc:
                if exc.reason in BENIGN:
                    return -1
                raise

        held = self._each(send)
        if all(v < 0 for v in held.values()):
            raise Rejected(FAILED, "stale_round: every shard closed the round")
        return min(v for v in held.values() if v >= 0)

    def submit_raw(self, chunks: list[pb.VoteChunk]) -> int:
        """Hand-made chunks (the adversary's malformed traffic) go to shard 0."""
        return self.clients[0].submit_raw(chunks)

    def get_update(self, query: UpdateQuery, *, timeout_s: float, max_nbytes: int) -> RoundUpdate:
        """The k parts of the round (a part already fetched is not asked for again), joined."""
        r = query.round
        have = self._parts.setdefault(r, {})
        missing = [s for s in range(self.k) if s not in have]

        wait_s = min(timeout_s, SHARD_POLL_S)

        def poll(s: int) -> RoundUpdate:
            update = self.clients[s].get_update(
                UpdateQuery(self.credentials(s), r), timeout_s=wait_s, max_nbytes=max_nbytes
            )
            have[s] = update
            return update

        self._each(poll, missing)
        for old in [x for x in self._parts if x <= r]:
            del self._parts[old]
        parts = [have[s] for s in range(self.k)]
        digests = {p.digest for p in parts}
        digest = parts[0].digest if len(digests) == 1 else DISAGREE  # the loop resyncs
        return RoundUpdate(
            round=r,
            digest=digest,
            payload=join_payloads([p.payload for p in parts]),
            votes=min(p.votes for p in parts),
            abstentions=max(p.abstentions for p in parts),
        )

    def snapshot(self, cred: Credentials) -> Snapshot:
        """Every shard keeps the whole model: shard 0's snapshot."""
        return self.clients[0].snapshot(self.credentials(0))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for client in self.clients:
            client.close()
