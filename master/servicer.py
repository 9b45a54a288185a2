"""The gRPC servicer: serde in, a :class:`master.service.MasterService` call, serde out.

Every ProtocolError becomes a status code in :func:`abort_with` (the one mapping helper), is
counted by reason and logged; nothing a client sends can crash the master. The standard
``grpc.health.v1`` service is registered beside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import NoReturn, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from master.rounds import RoundsClosed
from master.service import MasterService
from wire import serde
from wire.errors import MalformedMessage, ProtocolError, details
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.messages import RoundUpdate, payload_nbytes
from wire.options import CHUNK_BYTES, MAX_MESSAGE_BYTES, server_options
from wire.security import TlsFiles, server_credentials

SERVICE_NAME = "election.v1.Election"
LONG_POLL_SLICE_S = 1.0  # GetUpdate re-checks that its client is still there this often
T = TypeVar("T")


def abort_with(
    context: grpc.ServicerContext,
    error: ProtocolError,
    service: MasterService,
    method: str,
) -> NoReturn:
    """Count, log and answer a refused message with its status code."""
    service.metrics.reject(error.reason)
    service.log.event(
        "rejected",
        method=method,
        reason=error.reason,
        code=error.code,
        peer=context.peer(),
        detail=str(error)[:200],
    )
    context.abort(grpc.StatusCode[error.code], details(error))
    raise AssertionError("unreachable")  # context.abort raises


class ElectionServicer(pb_grpc.ElectionServicer):
    def __init__(self, service: MasterService, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.service = service
        self.chunk_bytes = chunk_bytes
        self._cache_lock = threading.Lock()
        self._cache: tuple[RoundUpdate, list[pb.UpdateChunk], int] | None = None

    def _call(self, context: grpc.ServicerContext, method: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ProtocolError as exc:
            abort_with(context, exc, self.service, method)
        except RoundsClosed:
            context.abort(grpc.StatusCode.UNAVAILABLE, "master is shutting down")
        raise AssertionError("unreachable")

    def Join(self, request: pb.JoinRequest, context: grpc.ServicerContext) -> pb.JoinResponse:
        claim = serde.join_claim_from_proto(request)
        return self._call(
            context, "Join", lambda: serde.assignment_to_proto(self.service.join(claim))
        )

    def SubmitVote(
        self,
        request_iterator: Iterator[pb.VoteChunk],
        context: grpc.ServicerContext,
    ) -> pb.VoteAck:
        def submit() -> pb.VoteAck:
            try:
                vote = serde.vote_from_chunks(
                    request_iterator, max_nbytes=self.service.max_vote_nbytes
                )
            except grpc.RpcError as exc:  # the client's stream broke (e.g. oversized message)
                raise MalformedMessage(f"vote stream failed: {exc}") from None
            held = self.service.submit(vote)
            return pb.VoteAck(round=vote.round, accepted_votes=held)

        return self._call(context, "SubmitVote", submit)

    def GetUpdate(
        self,
        request: pb.UpdateRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[pb.UpdateChunk]:
        query = serde.update_query_from_proto(request)

        def wait() -> object:
            self.service.check_update_query(query)  # authenticate before anything else
            while context.is_active():
                update = self.service.update(query, LONG_POLL_SLICE_S)
                if update is not None:
                    return update
            return None

        update = self._call(context, "GetUpdate", wait)
        if update is None:
            return
        chunks, nbytes = self._update_chunks(update)  # type: ignore[arg-type]
        yield from chunks
        self.service.metrics.inc("bytes_sent", nbytes)

    def _update_chunks(self, update: RoundUpdate) -> tuple[list[pb.UpdateChunk], int]:
        """The update's messages, built once per round and shared by every worker's stream."""
        with self._cache_lock:
            if self._cache is None or self._cache[0] is not update:
                chunks = list(serde.update_to_chunks(update, chunk_bytes=self.chunk_bytes))
                self._cache = (update, chunks, payload_nbytes(update.payload))
            return self._cache[1], self._cache[2]

    def GetSnapshot(
        self,
        request: pb.SnapshotRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[pb.SnapshotChunk]:
        cred = serde.snapshot_request_from_proto(request)
        snap = self._call(context, "GetSnapshot", lambda: self.service.snapshot(cred))
        for chunk in serde.snapshot_to_chunks(snap, chunk_bytes=self.chunk_bytes):
            self.service.metrics.inc("bytes_sent", len(chunk.data))
            yield chunk

    def GetStatus(
        self,
        request: pb.StatusRequest,
        context: grpc.ServicerContext,
    ) -> pb.StatusResponse:
        return serde.status_to_proto(self.service.status())


def start_server(
    service: MasterService,
    *,
    bind: str = "0.0.0.0",
    port: int = 0,
    tls: TlsFiles | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """Start serving; returns (server, bound port, health servicer)."""
    n = service.setup.cfg.n
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max(16, 4 * n + 8), thread_name_prefix="rpc"),
        options=server_options(max_message_bytes=max_message_bytes),
    )
    pb_grpc.add_ElectionServicer_to_server(ElectionServicer(service), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"{bind}:{port}"
    creds = server_credentials(tls or TlsFiles())
    bound = server.add_secure_port(address, creds) if creds else server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health_servicer


def set_not_serving(health_servicer: health.HealthServicer) -> None:
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
