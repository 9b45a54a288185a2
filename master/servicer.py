"""The asynchronous gRPC servicer: serde in, a MasterService call, serde out.

It runs on the event loop of :mod:`master.server`; a stream waiting for its client costs a
coroutine, never a thread, so stalled streams cannot starve GetStatus, health checks or the
honest workers. Blocking work (decoding and storing a vote, building a snapshot) runs on a
small thread pool, only for authenticated streams within their caps (:mod:`master.admission`).

Every ProtocolError becomes a status code in :meth:`ElectionServicer._refuse` (the one mapping
helper), counted once by reason and logged once. Calls that gRPC itself ends (a message over
the size limit, a client that cancels or whose deadline passes mid-upload) are counted as
``stream_cancelled`` or ``deadline_exceeded`` (see wire.errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from master.admission import Admission, Ticket
from master.rounds import RoundsClosed
from master.service import MasterService
from wire import serde
from wire.errors import (
    MalformedMessage,
    PayloadTooLarge,
    ProtocolError,
    SlowStream,
    Undecodable,
    details,
)
from wire.gen.election.v1 import election_pb2 as pb
from wire.messages import RoundUpdate, payload_nbytes
from wire.options import CHUNK_BYTES

SERVICE_NAME = "election.v1.Election"
LONG_POLL_SLICE_S = 1.0  # a long poll re-checks the round state at least this often
BLOCKING_WORKERS = 4  # threads for vote decoding and snapshot building
ANSWERED_BY_GRPC = "answered by gRPC"  # marks a call gRPC itself ended (already counted)
T = TypeVar("T")


@dataclass(frozen=True)
class BadMessage:
    """What the deserializer hands over instead of raising: the handler answers it."""

    error: str


def safe_deserializer(message: Any) -> Callable[[bytes], Any]:
    """``message.FromString`` that returns BadMessage for bytes that do not parse."""

    def parse(data: bytes) -> Any:
        try:
            return message.FromString(data)
        except Exception as exc:  # protobuf raises DecodeError (or RuntimeWarning subclasses)
            return BadMessage(str(exc)[:120])

    return parse


def vote_chunk_deserializer(raw: bytes) -> serde.ChunkView | BadMessage:
    """A SubmitVote message read in place (serde.vote_chunk_from_bytes): the vote's bytes are
    the bytes gRPC received, never copied; BadMessage for bytes that do not parse."""
    try:
        return serde.vote_chunk_from_bytes(raw)
    except Undecodable as exc:
        return BadMessage(str(exc).removeprefix("not a valid protobuf message: "))


def parsed(request: Any) -> Any:
    if isinstance(request, BadMessage):
        raise Undecodable(f"not a valid protobuf message: {request.error}")
    return request


class ChangeSignal:
    """Wakes coroutines when the round state changes (notified from any thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()

    def notify_threadsafe(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        self.event.set()
        self.event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        event = self.event  # taken before yielding: a change after the caller's check fires it
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):  # wait_for would wrap the wait in a Task
                await event.wait()


class ElectionServicer:
    def __init__(
        self,
        service: MasterService,
        loop: asyncio.AbstractEventLoop,
        *,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.service = service
        self.limits = service.options.limits
        self.admission = Admission(self.limits)
        self.chunk_bytes = chunk_bytes
        self.changed = ChangeSignal(loop)
        service.rounds.add_listener(self.changed.notify_threadsafe)
        self.pool = ThreadPoolExecutor(BLOCKING_WORKERS, thread_name_prefix="rpc-work")
        self._cache_lock = threading.Lock()
        self._cache: tuple[RoundUpdate, list[bytes], int] | None = None

    # --- answering -------------------------------------------------------------------------
    async def _refuse(self, context: Any, error: ProtocolError, method: str) -> None:
        """Count, log and answer a refused call with its status code (raises AbortError)."""
        self._count(context, method, error.reason, error.code, str(error))
        await context.abort(grpc.StatusCode[error.code], details(error))

    def _count(self, context: Any, method: str, reason: str, code: str, detail: str) -> None:
        self.service.metrics.reject(reason)
        self.service.log.event(
            "rejected",
            method=method,
            reason=reason,
            code=code,
            peer=context.peer()[:64],
            detail=detail[:200],
        )

    async def _guard(self, context: Any, method: str, body: Callable[[], Awaitable[T]]) -> T:
        try:
            return await body()
        except ProtocolError as exc:
            await self._refuse(context, exc, method)
        except RoundsClosed:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "master is shutting down")
        raise AssertionError("unreachable")  # context.abort raises

    async def _blocking(self, fn: Callable[[], T], *tickets: Ticket) -> T:
        """Run ``fn`` on the pool; if the call is cancelled, the tickets wait for ``fn``."""
        work = asyncio.get_running_loop().run_in_executor(self.pool, fn)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            for ticket in tickets:
                ticket.hold_until(work)
            raise

    # --- unary RPCs ------------------------------------------------------------------------
    async def Join(self, request: Any, context: Any) -> pb.JoinResponse:
        async def body() -> pb.JoinResponse:
            claim = serde.join_claim_from_proto(parsed(request))
            return serde.assignment_to_proto(self.service.join(claim))

        return await self._guard(context, "Join", body)

    async def GetStatus(self, request: Any, context: Any) -> pb.StatusResponse:
        async def body() -> pb.StatusResponse:
            parsed(request)
            return serde.status_to_proto(self.service.status())

        return await self._guard(context, "GetStatus", body)

    # --- SubmitVote --------------------------------------------------------------------------
    async def SubmitVote(self, request_iterator: Any, context: Any) -> pb.VoteAck:
        try:
            return await self._guard(context, "SubmitVote", lambda: self._submit(context))
        except asyncio.CancelledError as exc:  # the client went away mid-upload
            if exc.args != (ANSWERED_BY_GRPC,):
                self._count_gone(context)
            raise

    async def _submit(self, context: Any) -> pb.VoteAck:
        limits, admission = self.limits, self.admission
        peer = context.peer()
        deadline = time.monotonic() + limits.upload_total_s
        with admission.enter("upload", peer, limits.uploads_per_peer, "this connection"):
            with admission.enter("pending", "all", limits.unauthenticated_streams, "the master"):
                first = await self._read(context, deadline)
            if first is None:
                await self._ended_early(context, MalformedMessage("the stream carried nothing"))
            if not first.HasField("header"):
                raise MalformedMessage("a stream must start with a header")
            header = first.header
            cred = serde.vote_credentials(header)
            self.service.rounds.check_reader(cred)  # authenticate before anything else
            slot_ticket = admission.enter(
                "slot-upload", cred.slot, limits.uploads_per_slot, f"slot {cred.slot}"
            )
            with slot_ticket:
                self.service.rounds.check_open(cred.slot, header.round)
                self.service.check_declared(*serde.declared_payload(header.payload))
                data = await self._read_payload(context, first, deadline)

                def store() -> int:
                    return self.service.submit(serde.vote_from_header(header, data))

                held = await self._blocking(store, slot_ticket)
        return pb.VoteAck(round=header.round, accepted_votes=held)

    async def _read(self, context: Any, deadline: float) -> Any:
        """The next message, None at the end of the stream; SlowStream past the bounds."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise SlowStream(f"an upload may take at most {self.limits.upload_total_s:g} s")
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every read in a Task
            async with asyncio.timeout(min(self.limits.upload_idle_s, left)):
                message = await context.read()
        except TimeoutError:
            raise SlowStream(
                f"no message for {self.limits.upload_idle_s:g} s "
                f"(or the upload passed {self.limits.upload_total_s:g} s)"
            ) from None
        if message is grpc.aio.EOF:
            return None
        return parsed(message)

    async def _read_payload(self, context: Any, first: Any, deadline: float) -> bytes:
        """The stream's concatenated data, read up to the end of the stream."""
        total = int(first.header.payload.total_nbytes)
        parts = [first.data]  # each access of a bytes field copies it: read it once
        size = len(parts[0])
        while True:
            if size > total:
                raise PayloadTooLarge(f"stream carries more than the declared {total} B")
            chunk = await self._read(context, deadline)
            if chunk is None:
                break
            if chunk.HasField("header"):
                raise MalformedMessage("only the first message of a stream may carry a header")
            parts.append(chunk.data)
            size += len(parts[-1])
        if size < total:
            await self._ended_early(
                context, MalformedMessage(f"stream carried {size} B, header declared {total} B")
            )
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _ended_early(self, context: Any, error: ProtocolError) -> None:
        """An upload ended before it was complete: who ended it decides what is counted.

        gRPC's own endings look like an early end of the stream to the handler: a client that
        cancelled, a client deadline, or a message over the size limit (gRPC cancels that call
        itself). Sending the response headers tells a live call from a dead one; only a client
        that really half-closed early gets ``error``.
        """
        try:
            await context.send_initial_metadata(())
        except asyncio.CancelledError:
            raise  # counted by SubmitVote
        except Exception:  # the call is over at gRPC's level
            pass
        else:
            raise error  # the call is alive: the client ended its stream early
        self._count_gone(context)
        raise asyncio.CancelledError(ANSWERED_BY_GRPC)  # nothing is left to answer

    def _count_gone(self, context: Any) -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            reason, code = "deadline_exceeded", "DEADLINE_EXCEEDED"
        else:
            reason, code = "stream_cancelled", "CANCELLED or RESOURCE_EXHAUSTED"
        self._count(context, "SubmitVote", reason, code, f"ended inside gRPC: {code}")

    # --- GetUpdate -----------------------------------------------------------------------------
    async def GetUpdate(self, request: Any, context: Any) -> None:
        await self._guard(context, "GetUpdate", lambda: self._update(request, context))

    async def _update(self, request: Any, context: Any) -> None:
        query = serde.update_query_from_proto(parsed(request))
        self.service.check_update_query(query)  # authenticate before anything else
        slot = query.credentials.slot
        with self.admission.enter("poll", slot, self.limits.polls_per_slot, f"slot {slot}"):
            update = await self._long_poll(lambda: self.service.rounds.wait_update(query.round, 0))
            chunks, nbytes = self._update_chunks(update)
            for chunk in chunks:
                await context.write(chunk)  # raises CancelledError when the client is gone
        self.service.delivered(slot, update, nbytes)

    async def _long_poll(self, look: Callable[[], RoundUpdate | None]) -> RoundUpdate:
        """``look()`` (a non-blocking look at the round state) until it has an answer, waking
        on every change of the round state; its errors end the call."""
        while True:
            found = look()
            if found is not None:
                return found
            await self.changed.wait(LONG_POLL_SLICE_S)

    def _update_chunks(self, update: RoundUpdate) -> tuple[list[bytes], int]:
        """The update's messages, serialized once per round and sent as they are on every
        worker's stream (GetUpdate has no response serializer)."""
        with self._cache_lock:
            if self._cache is None or self._cache[0] is not update:
                chunks = serde.update_to_wire(update, chunk_bytes=self.chunk_bytes)
                self._cache = (update, chunks, payload_nbytes(update.payload))
            return self._cache[1], self._cache[2]

    # --- GetShardUpdate (between master shards) -------------------------------------------------
    async def GetShardUpdate(self, request: Any, context: Any) -> None:
        await self._guard(context, "GetShardUpdate", lambda: self._shard_part(request, context))

    async def _shard_part(self, request: Any, context: Any) -> None:
        query = serde.update_query_from_proto(parsed(request))
        self.service.check_peer(query)  # authenticate before anything else
        peer = query.credentials.slot
        with self.admission.enter("peer-poll", peer, self.limits.polls_per_slot, f"shard {peer}"):
            part = await self._long_poll(lambda: self.service.rounds.wait_part(query.round, 0))
            for chunk in serde.update_to_wire(part, chunk_bytes=self.chunk_bytes):
                await context.write(chunk)
        self.service.metrics.inc("bytes_sent_peers", payload_nbytes(part.payload))

    # --- GetSnapshot ---------------------------------------------------------------------------
    async def GetSnapshot(self, request: Any, context: Any) -> None:
        await self._guard(context, "GetSnapshot", lambda: self._snapshot(request, context))

    async def _snapshot(self, request: Any, context: Any) -> None:
        cred = serde.snapshot_request_from_proto(parsed(request))
        self.service.rounds.check_reader(cred)  # authenticate before anything else
        ticket = self.admission.enter(
            "snapshot", cred.slot, self.limits.snapshots_per_slot, f"slot {cred.slot}"
        )
        with ticket:
            snap = await self._blocking(lambda: self.service.snapshot(cred), ticket)
            for chunk in serde.snapshot_to_chunks(snap, chunk_bytes=self.chunk_bytes):
                await context.write(chunk)
                self.service.metrics.inc("bytes_sent", len(chunk.data))


def method_handlers(servicer: ElectionServicer) -> grpc.GenericRpcHandler:
    """The Election service with deserializers that never raise (see BadMessage)."""
    handlers = {
        "Join": grpc.unary_unary_rpc_method_handler(
            servicer.Join,
            request_deserializer=safe_deserializer(pb.JoinRequest),
            response_serializer=pb.JoinResponse.SerializeToString,
        ),
        "SubmitVote": grpc.stream_unary_rpc_method_handler(
            servicer.SubmitVote,
            request_deserializer=vote_chunk_deserializer,
            response_serializer=pb.VoteAck.SerializeToString,
        ),
        "GetUpdate": grpc.unary_stream_rpc_method_handler(
            servicer.GetUpdate,
            request_deserializer=safe_deserializer(pb.UpdateRequest),
            response_serializer=None,  # the handlers write serialized UpdateChunks
        ),
        "GetShardUpdate": grpc.unary_stream_rpc_method_handler(
            servicer.GetShardUpdate,
            request_deserializer=safe_deserializer(pb.UpdateRequest),
            response_serializer=None,  # the handlers write serialized UpdateChunks
        ),
        "GetSnapshot": grpc.unary_stream_rpc_method_handler(
            servicer.GetSnapshot,
            request_deserializer=safe_deserializer(pb.SnapshotRequest),
            response_serializer=pb.SnapshotChunk.SerializeToString,
        ),
        "GetStatus": grpc.unary_unary_rpc_method_handler(
            servicer.GetStatus,
            request_deserializer=safe_deserializer(pb.StatusRequest),
            response_serializer=pb.StatusResponse.SerializeToString,
        ),
    }
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
