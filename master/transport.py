"""The gRPC master as a :class:`~election.transport.base.MasterTransport` over the round state.

``gather`` is :meth:`master.rounds.RoundState.collect` (every slot, or the deadline with at
least min_votes; votes were validated once, on receipt, by the servicer's ``submit``), turned
into ballots; a master shard (``peers`` given) aggregates its coordinates and joins its
peers' parts in ``complete``; ``broadcast`` publishes the :class:`~wire.messages.RoundUpdate`
the GetUpdate long polls return (a shard's carries its part only). The one master loop
(:func:`election.training.distributed.run_master`) drives it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from election.training.schemes import Update
from election.transport.base import Ballot, MasterTransport
from master.peers import PeerLost, ShardPeers
from master.rounds import RoundsClosed, TooFewVotes
from master.service import MasterService
from wire.messages import (
    Payload,
    RoundUpdate,
    payload_of_update,
    update_of_payload,
    vote_of_payload,
)


class GrpcMaster(MasterTransport):
    resumable = (KeyboardInterrupt, SystemExit, RoundsClosed, TooFewVotes, PeerLost)

    def __init__(self, service: MasterService, peers: ShardPeers | None = None) -> None:
        self.service = service
        self.peers = peers  # the other master shards (None: one master owns every coordinate)
        self.n_workers = service.setup.cfg.n
        self._present = 0  # votes of the round being closed
        self._update: RoundUpdate | None = None  # its published form, built once
        self._part: tuple[int, Payload] | None = None  # a shard's own part of that round

    def coordinates(self, dim: int) -> tuple[int, int]:
        return self.service.shard_range

    def complete(self, round_id: int, part: Update) -> Update:
        """A shard: publish its part to the peers, fetch theirs, join (docs/grpc.md)."""
        if self.peers is None:
            return part
        scheme = self.service.setup.scheme
        own = payload_of_update(scheme, part)
        self._part = (round_id, own)
        self.service.rounds.publish_part(round_id, own)
        whole = self.peers.whole(round_id, own)
        return update_of_payload(scheme, whole, self.service.dim)

    def gather(self, round_id: int, timeout_s: float) -> list[Ballot | None]:
        """The round state's deadline rules apply (``timeout_s`` is the service's option)."""
        service = self.service
        payloads = service.rounds.collect(round_id)
        losses = service.rounds.collected_losses()
        ballots: list[Ballot | None] = []
        for slot, payload in enumerate(payloads):
            if payload is None:
                ballots.append(None)
                continue
            partitions = service.setup.partitions_of(slot)
            reported = losses[slot]
            pairs = (
                tuple(zip(partitions, reported, strict=True))
                if len(reported) == len(partitions)
                else ()
            )  # a client that sends another count of losses reports none
            vote = vote_of_payload(service.setup.scheme, payload, service.width)
            ballots.append(Ballot(vote, pairs))
        self._present = sum(b is not None for b in ballots)
        return ballots

    @contextmanager
    def model_lock(self) -> Iterator[None]:
        with self.service.model_lock:
            yield

    def applied(self, round_id: int) -> None:
        self.service.model_round = round_id + 1  # snapshots now serve the next round's state

    def round_update(self, round_id: int, update: Update, digest: str) -> RoundUpdate:
        """What the long polls of round ``round_id`` return (and a checkpoint keeps)."""
        if self._update is None or self._update.round != round_id:
            part = self._part  # a shard publishes (and checkpoints) its own coordinates only
            payload = (
                part[1]
                if part is not None and part[0] == round_id
                else payload_of_update(self.service.setup.scheme, update)
            )
            self._update = RoundUpdate(
                round=round_id,
                digest=digest,
                payload=payload,
                votes=self._present,
                abstentions=self.n_workers - self._present,
            )
        return self._update

    def broadcast(self, round_id: int, update: Update, digest: str) -> None:
        self.service.rounds.publish(self.round_update(round_id, update, digest))
        self.service.head = (round_id + 1, digest)  # GetStatus: round + 1 is open now

    def close(self) -> None:
        if self.peers is not None:
            self.peers.close()

    def finished(self) -> None:
        service = self.service
        fetched = service.rounds.wait_final_fetched(self.n_workers, service.options.linger_s)
        service.log.event("finished", all_fetched=fetched, rounds=service.setup.total_steps)

    def summary(self) -> dict[str, Any]:
        counters = self.service.metrics.snapshot()
        sharding = {}
        if self.service.master_shards > 1:  # this summary's byte counts are this shard's
            sharding = {"master_shards": self.service.master_shards, "shard": self.service.shard}
        return sharding | {
            "run_id": self.service.run_id,
            "abstentions": int(counters.get("abstentions", 0)),
            "rejected": {
                k[len("rejected_") :]: int(v)
                for k, v in counters.items()
                if k.startswith("rejected_") and v
            },
        }
