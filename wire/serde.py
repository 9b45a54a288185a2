"""The one symmetric serde module: ``x_to_proto`` / ``x_from_proto`` for every wire message.

Streams (votes, updates, snapshots) are chunked (:mod:`wire.options`): ``x_to_chunks`` yields the
messages of a stream, the first carrying the header; ``x_from_chunks`` reassembles and checks
that the concatenated ``data`` is exactly ``total_nbytes`` long. Every ``*_from_*`` raises a
:class:`wire.errors.ProtocolError` (MalformedMessage, PayloadTooLarge) on bad input, never
anything else, so the servicer can answer with a status code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from election.errors import VoteFormatError
from election.votes import PackedVote, ZeroKind
from wire.errors import MalformedMessage, PayloadTooLarge, Undecodable
from wire.gen.election.v1 import election_pb2 as pb
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
)
from wire.options import CHUNK_BYTES
from wire.snapshot import TensorSpec

_ENCODING_TO_PB = {"INT16_LE": pb.INT16_LE, "FLOAT32_LE": pb.FLOAT32_LE}
_ENCODING_FROM_PB = {v: k for k, v in _ENCODING_TO_PB.items()}


class _Chunk(Protocol):
    @property
    def data(self) -> bytes | memoryview: ...


# --- payloads -------------------------------------------------------------------------------


def payload_to_proto(payload: Payload) -> tuple[pb.PayloadHeader, bytes]:
    """A payload -> (its header, its bytes: sign_bits || zero_data, or the raw vector)."""
    if isinstance(payload, PackedVote):
        data = payload.sign_bits.tobytes() + payload.zero_data.tobytes()
        header = pb.PayloadHeader(
            encoding=pb.PACKED_TERNARY,
            length=payload.length,
            zero_kind=int(payload.zero_kind),  # type: ignore[arg-type]
            sign_nbytes=payload.sign_bits.size,
            zero_nbytes=payload.zero_data.size,
            total_nbytes=len(data),
        )
        return header, data
    header = pb.PayloadHeader(
        encoding=_ENCODING_TO_PB[payload.encoding],
        length=payload.length,
        total_nbytes=len(payload.data),
    )
    return header, payload.data


def payload_from_proto(header: pb.PayloadHeader, data: bytes | memoryview) -> Payload:
    """The inverse of :func:`payload_to_proto`; validates the layout (MalformedMessage).

    A packed payload is a view of ``data`` (no copy: the majority reads the bytes as received)."""
    if len(data) != header.total_nbytes:
        raise MalformedMessage(f"payload has {len(data)} B, header says {header.total_nbytes}")
    if header.encoding == pb.PACKED_TERNARY:
        if header.sign_nbytes + header.zero_nbytes != header.total_nbytes:
            raise MalformedMessage("sign_nbytes + zero_nbytes must equal total_nbytes")
        buf = np.frombuffer(data, dtype=np.uint8)  # (total_nbytes,) uint8, read-only view
        try:
            return PackedVote(
                length=int(header.length),
                sign_bits=buf[: header.sign_nbytes],
                zero_kind=ZeroKind(header.zero_kind),
                zero_data=buf[header.sign_nbytes :],
            )
        except (VoteFormatError, ValueError) as exc:
            raise MalformedMessage(f"packed payload: {exc}") from None
    if header.encoding in _ENCODING_FROM_PB:
        raw = RawPayload(_ENCODING_FROM_PB[header.encoding], bytes(data))
        if raw.length != header.length:
            raise MalformedMessage(f"raw payload has {raw.length} values, header {header.length}")
        return raw
    raise MalformedMessage(f"payload encoding {header.encoding} is not supported")


def declared_payload(header: pb.PayloadHeader) -> tuple[str, int, int]:
    """(encoding name, length d, total bytes) a header declares, before the data is read."""
    try:
        encoding = pb.Encoding.Name(header.encoding)
    except ValueError:
        encoding = f"encoding {int(header.encoding)}"
    return encoding, int(header.length), int(header.total_nbytes)


def _split(data: bytes, chunk_bytes: int) -> list[bytes]:
    if len(data) <= chunk_bytes:
        return [data]
    view = memoryview(data)
    return [bytes(view[i : i + chunk_bytes]) for i in range(0, len(data), chunk_bytes)]


def _join(first: _Chunk, rest: Iterator[_Chunk], total: int, max_nbytes: int) -> bytes | memoryview:
    """Concatenate the data of a stream; stop reading as soon as it exceeds ``total``."""
    if total > max_nbytes:
        raise PayloadTooLarge(f"declared payload of {total} B exceeds the limit of {max_nbytes} B")
    data = first.data  # each access of a bytes field copies it: read it once
    parts, size = [data], len(data)
    if size > total:
        raise PayloadTooLarge(f"stream carries more than the declared {total} B")
    for chunk in rest:
        if chunk.HasField("header"):  # type: ignore[attr-defined]
            raise MalformedMessage("only the first message of a stream may carry a header")
        data = chunk.data
        parts.append(data)
        size += len(data)
        if size > total:
            raise PayloadTooLarge(f"stream carries more than the declared {total} B")
    if size != total:
        raise MalformedMessage(f"stream carried {size} B, header declared {total} B")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _first(chunks: Iterable[_Chunk]) -> tuple[_Chunk, Iterator[_Chunk]]:
    it = iter(chunks)
    first = next(it, None)
    if first is None or not first.HasField("header"):  # type: ignore[attr-defined]
        raise MalformedMessage("a stream must start with a header")
    return first, it


# --- votes ----------------------------------------------------------------------------------


def vote_to_chunks(vote: Vote, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[pb.VoteChunk]:
    header, data = payload_to_proto(vote.payload)
    cred = vote.credentials
    vote_header = pb.VoteHeader(
        run_id=cred.run_id,
        round=vote.round,
        slot=cred.slot,
        token=cred.token,
        payload=header,
        partition_losses=vote.losses,
    )
    for k, part in enumerate(_split(data, chunk_bytes)):
        yield pb.VoteChunk(header=vote_header, data=part) if k == 0 else pb.VoteChunk(data=part)


def vote_credentials(header: pb.VoteHeader) -> Credentials:
    return Credentials(header.run_id, header.slot, header.token)


@dataclass(frozen=True)
class ChunkView:
    """A serialized VoteChunk read in place: its header (None when absent) and its data, a view
    of the received bytes (the vote's bytes are never copied on the master's hot path)."""

    header: pb.VoteHeader | None
    data: memoryview

    def HasField(self, name: str) -> bool:  # noqa: N802 - the protobuf message's spelling
        assert name == "header"
        return self.header is not None


_HEADER_TAG = (1 << 3) | 2  # VoteChunk.header: field 1, length-delimited
_DATA_TAG = (2 << 3) | 2  # VoteChunk.data: field 2, length-delimited (0x12)


def _varint(buf: memoryview, at: int) -> tuple[int, int]:
    """(value, next offset) of the protobuf varint at ``at``; IndexError past the end."""
    value = shift = 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80 or shift > 63:
            return value, at
        shift += 7


def vote_chunk_from_bytes(raw: bytes) -> ChunkView:
    """A serialized VoteChunk as a :class:`ChunkView`, without copying its data.

    The common shape (header and data, each at most once, in either order) is read in place;
    anything else (unknown or repeated fields, other wire types) is parsed by protobuf itself,
    so the result is always what ``VoteChunk.FromString`` means. Bytes that are not a VoteChunk
    raise Undecodable."""
    view = memoryview(raw)
    spans: dict[int, tuple[int, int]] = {}
    at = 0
    try:
        while at < len(view):
            tag, at = _varint(view, at)
            size, at = _varint(view, at)
            if tag not in (_HEADER_TAG, _DATA_TAG) or tag in spans or at + size > len(view):
                spans = {}
                break
            spans[tag] = (at, at + size)
            at += size
        else:
            header = None
            if _HEADER_TAG in spans:
                lo, hi = spans[_HEADER_TAG]
                header = pb.VoteHeader.FromString(view[lo:hi])
            lo, hi = spans.get(_DATA_TAG, (0, 0))
            return ChunkView(header, view[lo:hi])
    except IndexError:
        pass  # a truncated varint: protobuf says what is wrong
    except Exception as exc:  # protobuf's DecodeError on a header that does not parse
        raise Undecodable(f"not a valid protobuf message: {str(exc)[:120]}") from None
    try:
        message = pb.VoteChunk.FromString(raw)
    except Exception as exc:
        raise Undecodable(f"not a valid protobuf message: {str(exc)[:120]}") from None
    return ChunkView(
        message.header if message.HasField("header") else None, memoryview(message.data)
    )


def vote_from_header(header: pb.VoteHeader, data: bytes | memoryview) -> Vote:
    """A vote from its header and the stream's concatenated data (layout validated)."""
    return Vote(
        credentials=vote_credentials(header),
        round=header.round,
        payload=payload_from_proto(header.payload, data),
        losses=tuple(header.partition_losses),
    )


def vote_from_chunks(chunks: Iterable[pb.VoteChunk | ChunkView], *, max_nbytes: int) -> Vote:
    first, rest = _first(chunks)
    header: pb.VoteHeader = first.header  # type: ignore[attr-defined]
    data = _join(first, rest, header.payload.total_nbytes, max_nbytes)
    return vote_from_header(header, data)


# --- updates --------------------------------------------------------------------------------


def update_to_chunks(
    update: RoundUpdate, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[pb.UpdateChunk]:
    header, data = payload_to_proto(update.payload)
    update_header = pb.UpdateHeader(
        round=update.round,
        digest=update.digest,
        payload=header,
        votes=update.votes,
        abstentions=update.abstentions,
    )
    for k, part in enumerate(_split(data, chunk_bytes)):
        yield (
            pb.UpdateChunk(header=update_header, data=part) if k == 0 else pb.UpdateChunk(data=part)
        )


def update_to_wire(update: RoundUpdate, *, chunk_bytes: int = CHUNK_BYTES) -> list[bytes]:
    """The update stream's messages serialized, once: the master sends these same bytes to
    every worker (a GetUpdate handler registered without a response serializer)."""
    return [
        chunk.SerializeToString() for chunk in update_to_chunks(update, chunk_bytes=chunk_bytes)
    ]


def update_from_chunks(chunks: Iterable[pb.UpdateChunk], *, max_nbytes: int) -> RoundUpdate:
    first, rest = _first(chunks)
    header: pb.UpdateHeader = first.header  # type: ignore[attr-defined]
    data = _join(first, rest, header.payload.total_nbytes, max_nbytes)
    return RoundUpdate(
        round=header.round,
        digest=header.digest,
        payload=payload_from_proto(header.payload, data),
        votes=header.votes,
        abstentions=header.abstentions,
    )


def update_query_to_proto(query: UpdateQuery) -> pb.UpdateRequest:
    c = query.credentials
    return pb.UpdateRequest(run_id=c.run_id, round=query.round, slot=c.slot, token=c.token)


def update_query_from_proto(msg: pb.UpdateRequest) -> UpdateQuery:
    return UpdateQuery(Credentials(msg.run_id, msg.slot, msg.token), msg.round)


# --- snapshots ------------------------------------------------------------------------------


def snapshot_to_chunks(
    snapshot: Snapshot, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[pb.SnapshotChunk]:
    header = pb.SnapshotHeader(
        round=snapshot.round,
        digest=snapshot.digest,
        total_nbytes=len(snapshot.state),
        tensors=[
            pb.TensorInfo(
                name=t.name,
                dtype=pb.DType.Value(t.dtype),
                shape=list(t.shape),
                offset=t.offset,
                nbytes=t.nbytes,
            )
            for t in snapshot.tensors
        ],
    )
    for k, part in enumerate(_split(snapshot.state, chunk_bytes)):
        yield pb.SnapshotChunk(header=header, data=part) if k == 0 else pb.SnapshotChunk(data=part)


def snapshot_from_chunks(chunks: Iterable[pb.SnapshotChunk], *, max_nbytes: int) -> Snapshot:
    first, rest = _first(chunks)
    header: pb.SnapshotHeader = first.header  # type: ignore[attr-defined]
    data = _join(first, rest, header.total_nbytes, max_nbytes)
    tensors = tuple(
        TensorSpec(
            name=t.name,
            dtype=pb.DType.Name(t.dtype) if t.dtype in pb.DType.values() else str(t.dtype),
            shape=tuple(int(v) for v in t.shape),
            offset=int(t.offset),
            nbytes=int(t.nbytes),
        )
        for t in header.tensors
    )
    return Snapshot(round=header.round, digest=header.digest, state=bytes(data), tensors=tensors)


def snapshot_request_to_proto(cred: Credentials) -> pb.SnapshotRequest:
    return pb.SnapshotRequest(run_id=cred.run_id, slot=cred.slot, token=cred.token)


def snapshot_request_from_proto(msg: pb.SnapshotRequest) -> Credentials:
    return Credentials(msg.run_id, msg.slot, msg.token)


# --- join and status ------------------------------------------------------------------------


def join_claim_to_proto(claim: JoinClaim) -> pb.JoinRequest:
    return pb.JoinRequest(
        slot=claim.slot, worker_name=claim.worker_name, join_secret=claim.join_secret
    )


def join_claim_from_proto(msg: pb.JoinRequest) -> JoinClaim:
    return JoinClaim(slot=msg.slot, worker_name=msg.worker_name, join_secret=msg.join_secret)


def assignment_to_proto(a: Assignment) -> pb.JoinResponse:
    return pb.JoinResponse(
        run_id=a.run_id,
        slot=a.slot,
        partitions=list(a.partitions),
        config_json=a.config_json,
        token=a.token,
        round=a.round,
        total_rounds=a.total_rounds,
        dim=a.dim,
    )


def assignment_from_proto(msg: pb.JoinResponse) -> Assignment:
    return Assignment(
        run_id=msg.run_id,
        slot=msg.slot,
        partitions=tuple(msg.partitions),
        config_json=msg.config_json,
        token=msg.token,
        round=msg.round,
        total_rounds=msg.total_rounds,
        dim=msg.dim,
    )


def status_to_proto(s: RunStatus) -> pb.StatusResponse:
    return pb.StatusResponse(
        run_id=s.run_id,
        round=s.round,
        total_rounds=s.total_rounds,
        finished=s.finished,
        n_slots=s.n_slots,
        joined_slots=s.joined_slots,
        config_json=s.config_json,
        dim=s.dim,
        digest=s.digest,
        master_shards=s.master_shards,
        shard=s.shard,
    )


def status_from_proto(msg: pb.StatusResponse) -> RunStatus:
    return RunStatus(
        run_id=msg.run_id,
        round=msg.round,
        total_rounds=msg.total_rounds,
        finished=msg.finished,
        n_slots=msg.n_slots,
        joined_slots=msg.joined_slots,
        config_json=msg.config_json,
        dim=msg.dim,
        digest=msg.digest,
        master_shards=max(1, msg.master_shards),  # 0: a master that predates sharding
        shard=msg.shard,
    )
