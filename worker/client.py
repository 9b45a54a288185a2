"""A thin client of the master: serde around the stub, retries with exponential backoff.

Errors (what each method raises):
    Rejected      the master refused the message; ``reason`` is a wire.errors reason
    Unreachable   UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED: retry after a backoff
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from wire import serde
from wire.errors import reason_of
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.messages import (
    Assignment,
    Credentials,
    JoinClaim,
    RoundUpdate,
    RunStatus,
    Snapshot,
    UpdateQuery,
    Vote,
)
from wire.options import CHUNK_BYTES
from wire.security import TlsFiles, open_channel

BACKOFF_START_S = 0.1  # first retry delay
BACKOFF_MAX_S = 5.0  # delays double up to this
RPC_TIMEOUT_S = 30.0  # deadline of short RPCs
MAX_SNAPSHOT_BYTES = 1 << 40  # snapshots are as large as the model needs
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
}
T = TypeVar("T")


class Rejected(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.reason = reason_of(details)


class Unreachable(Exception):
    """The master did not answer (not up yet, restarting, or gone).

    ``deadline`` is True for DEADLINE_EXCEEDED: for a long poll that only means "ask again".
    """

    def __init__(self, message: str, *, deadline: bool = False) -> None:
        super().__init__(message)
        self.deadline = deadline


def backoff_delays(*, start: float = BACKOFF_START_S, cap: float = BACKOFF_MAX_S):  # type: ignore[no-untyped-def]
    """0.1, 0.2, 0.4 ... capped at 5 s, each with +-20% jitter."""
    delay = start
    while True:
        yield delay * random.uniform(0.8, 1.2)
        delay = min(cap, delay * 2)


class MasterClient:
    def __init__(
        self,
        target: str,
        *,
        tls: TlsFiles | None = None,
        server_name: str = "",
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.target = target
        self.channel = open_channel(target, tls or TlsFiles(), server_name=server_name)
        self.stub = pb_grpc.ElectionStub(self.channel)
        self.chunk_bytes = chunk_bytes

    def close(self) -> None:
        self.channel.close()

    def _rpc(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            text = exc.details() if hasattr(exc, "details") else str(exc)
            if code in RETRYABLE:
                deadline = code == grpc.StatusCode.DEADLINE_EXCEEDED
                raise Unreachable(f"{code.name}: {text}", deadline=deadline) from None
            raise Rejected(code, text or "") from None

    def status(self, timeout_s: float = RPC_TIMEOUT_S) -> RunStatus:
        return self._rpc(
            lambda: serde.status_from_proto(
                self.stub.GetStatus(pb.StatusRequest(), timeout=timeout_s)
            )
        )

    def wait_ready(
        self, timeout_s: float, on_retry: Callable[[str], None] | None = None
    ) -> RunStatus:
        """GetStatus until the master answers, backing off exponentially; Unreachable at the end."""
        deadline = time.monotonic() + timeout_s
        for delay in backoff_delays():
            try:
                return self.status(
                    timeout_s=min(RPC_TIMEOUT_S, max(0.5, deadline - time.monotonic()))
                )
            except Unreachable as exc:
                if time.monotonic() + delay > deadline:
                    raise Unreachable(
                        f"master {self.target} not ready after {timeout_s:g}s: {exc}"
                    ) from None
                if on_retry is not None:
                    on_retry(str(exc))
                time.sleep(delay)
        raise AssertionError("unreachable")

    def join(self, claim: JoinClaim) -> Assignment:
        msg = serde.join_claim_to_proto(claim)
        return self._rpc(
            lambda: serde.assignment_from_proto(self.stub.Join(msg, timeout=RPC_TIMEOUT_S))
        )

    def submit(self, vote: Vote) -> int:
        chunks = serde.vote_to_chunks(vote, chunk_bytes=self.chunk_bytes)
        ack = self._rpc(lambda: self.stub.SubmitVote(chunks, timeout=RPC_TIMEOUT_S))
        return int(ack.accepted_votes)

    def submit_raw(self, chunks: list[pb.VoteChunk]) -> int:
        """Send hand-made chunks (the adversary's malformed traffic)."""
        ack = self._rpc(lambda: self.stub.SubmitVote(iter(chunks), timeout=RPC_TIMEOUT_S))
        return int(ack.accepted_votes)

    def get_update(self, query: UpdateQuery, *, timeout_s: float, max_nbytes: int) -> RoundUpdate:
        msg = serde.update_query_to_proto(query)
        return self._rpc(
            lambda: serde.update_from_chunks(
                self.stub.GetUpdate(msg, timeout=timeout_s), max_nbytes=max_nbytes
            )
        )

    def snapshot(self, cred: Credentials) -> Snapshot:
        msg = serde.snapshot_request_to_proto(cred)
        return self._rpc(
            lambda: serde.snapshot_from_chunks(
                self.stub.GetSnapshot(msg, timeout=10 * RPC_TIMEOUT_S),
                max_nbytes=MAX_SNAPSHOT_BYTES,
            )
        )
