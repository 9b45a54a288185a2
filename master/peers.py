"""A master shard's links to its peer shards (docs/grpc.md, "Sharded masters").

Shard s of k aggregates the coordinates [lo_s, hi_s) of every vote. To apply the whole update
to its full replica (so that evaluation, checkpoints, snapshots and the model digest are those
of one master), it fetches the other shards' parts of the round with GetShardUpdate long polls,
in parallel, and joins the k parts in shard order:

    update = join(part_0, ..., part_{k-1})     # election.votes.shards.join_votes

A peer that is restarting or not up yet is asked again until ``wait_s`` has passed; then
:class:`PeerLost` stops the shard (resumable from its checkpoint). A shard that is told to stop
while it waits stops within one poll (RoundsClosed, like every other wait of the master).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc

from election.errors import ElectionError
from master.rounds import RoundsClosed
from wire import serde
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.messages import Payload, join_payloads
from wire.security import TlsFiles, open_channel

PEER_POLL_S = 2.0  # one GetShardUpdate long poll waits this long; then stop? else ask again
PEER_RETRY_S = 0.2  # pause after a peer was unreachable
PART_MAX_BYTES_PER_COORD = 4  # a part is at most 4 bytes per coordinate (float32 baselines)
PART_HEADER_SLACK = 64  # bytes beyond the values a part's stream may carry
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class PeerLost(ElectionError):
    """A peer shard did not serve its part of a round in time (the run can resume)."""


class ShardPeers:
    """Channels to the k - 1 other shards; :meth:`whole` joins a round's k parts."""

    def __init__(
        self,
        addresses: Sequence[str],
        shard: int,
        *,
        token: str,
        tls: TlsFiles,
        wait_s: float,
        dim: int,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.shard = shard
        self.stopping = stopping  # the master is shutting down: stop asking (RoundsClosed)
        self.token = token
        self.wait_s = wait_s
        self.max_part_nbytes = PART_MAX_BYTES_PER_COORD * dim + PART_HEADER_SLACK
        self.stubs: dict[int, pb_grpc.ElectionStub] = {}
        self.channels: list[grpc.Channel] = []
        for s, address in enumerate(addresses):
            if s == shard:
                continue
            channel = open_channel(address, tls)
            self.channels.append(channel)
            self.stubs[s] = pb_grpc.ElectionStub(channel)
        self.pool = ThreadPoolExecutor(max(1, len(self.stubs)), thread_name_prefix="shard-peer")

    def fetch(self, round_id: int, peer: int) -> Payload:
        """Peer shard ``peer``'s part of round ``round_id`` (long polls, retried until wait_s)."""
        request = pb.UpdateRequest(round=round_id, slot=self.shard, token=self.token)
        deadline = time.monotonic() + self.wait_s
        last = ""
        while time.monotonic() < deadline:
            if self.stopping():
                raise RoundsClosed("master is shutting down")
            poll = min(PEER_POLL_S, max(0.1, deadline - time.monotonic()))
            try:
                chunks = self.stubs[peer].GetShardUpdate(request, timeout=poll)
                return serde.update_from_chunks(chunks, max_nbytes=self.max_part_nbytes).payload
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
                if code not in RETRYABLE:
                    detail = exc.details() if hasattr(exc, "details") else str(exc)
                    raise PeerLost(f"shard {peer} refused round {round_id}: {detail}") from None
                last = code.name
                if code == grpc.StatusCode.UNAVAILABLE:
                    time.sleep(PEER_RETRY_S)
        raise PeerLost(
            f"shard {peer} did not serve its part of round {round_id} in {self.wait_s:g} s "
            f"({last or 'no answer'}); resume every shard from its checkpoint"
        )

    def whole(self, round_id: int, own: Payload) -> Payload:
        """The k parts of round ``round_id`` in shard order, joined (``own`` is this shard's)."""
        futures = {p: self.pool.submit(self.fetch, round_id, p) for p in self.stubs}
        k = len(self.stubs) + 1
        parts = [own if s == self.shard else futures[s].result() for s in range(k)]
        return join_payloads(parts)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for channel in self.channels:
            channel.close()
