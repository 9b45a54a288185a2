"""Every wire.serde pair round-trips, and malformed streams raise ProtocolErrors."""

from __future__ import annotations

import numpy as np
import pytest

from election.votes import PackedVote, pack_ternary
from wire import serde
from wire.errors import MalformedMessage, PayloadTooLarge
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

CRED = Credentials("run-1", 3, "ab" * 32)


def ternary(d: int, zeros: float, seed: int = 0) -> PackedVote:
    rng = np.random.default_rng(seed)
    values = rng.choice(np.array([-1, 1], dtype=np.int8), size=d)
    values[rng.random(d) < zeros] = 0
    return pack_ternary(values)


PAYLOADS: dict[str, Payload] = {
    "dense": ternary(1001, 0.0),  # ZERO_NONE, d not a multiple of 8
    "few-zeros": ternary(4096, 0.001),  # ZERO_INDICES
    "many-zeros": ternary(333, 0.4),  # ZERO_MASK
    "int16": RawPayload("INT16_LE", np.arange(-5, 5, dtype="<i2").tobytes()),
    "float32": RawPayload("FLOAT32_LE", np.linspace(-1, 1, 7, dtype="<f4").tobytes()),
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_payload_round_trips_through_its_header_and_bytes(name: str) -> None:
    payload = PAYLOADS[name]
    header, data = serde.payload_to_proto(payload)
    assert serde.payload_from_proto(header, data) == payload


def test_dense_vote_costs_one_bit_per_coordinate_plus_a_small_header() -> None:
    d = 1_000_000
    chunks = list(serde.vote_to_chunks(Vote(CRED, 7, ternary(d, 0.0))))
    wire_bytes = sum(c.ByteSize() for c in chunks)
    assert d / 8 <= wire_bytes <= d / 8 + 200


@pytest.mark.parametrize("chunk_bytes", [1, 10, 1 << 22])
@pytest.mark.parametrize("name", PAYLOADS)
def test_vote_round_trips_through_chunks_of_any_size(name: str, chunk_bytes: int) -> None:
    vote = Vote(CRED, 12, PAYLOADS[name])
    chunks = list(serde.vote_to_chunks(vote, chunk_bytes=chunk_bytes))
    assert chunks[0].HasField("header") and not any(c.HasField("header") for c in chunks[1:])
    assert serde.vote_from_chunks(chunks, max_nbytes=1 << 20) == vote


@pytest.mark.parametrize("chunk_bytes", [5, 1 << 22])
def test_update_round_trips_through_chunks(chunk_bytes: int) -> None:
    update = RoundUpdate(
        round=4, digest="f" * 64, payload=PAYLOADS["many-zeros"], votes=4, abstentions=1
    )
    chunks = serde.update_to_chunks(update, chunk_bytes=chunk_bytes)
    assert serde.update_from_chunks(chunks, max_nbytes=1 << 20) == update


def test_snapshot_round_trips_through_chunks() -> None:
    snap = Snapshot(round=9, digest="0" * 64, state=bytes(range(256)) * 41)
    chunks = list(serde.snapshot_to_chunks(snap, chunk_bytes=1000))
    assert len(chunks) == 11
    assert serde.snapshot_from_chunks(chunks, max_nbytes=1 << 20) == snap


def test_small_messages_round_trip() -> None:
    claim = JoinClaim(slot=-1, worker_name="worker-2")
    assert serde.join_claim_from_proto(serde.join_claim_to_proto(claim)) == claim
    assignment = Assignment("run-1", 2, (1, 2, 3), '{"n": 5}', "t" * 64, 7, 30, 4810)
    assert serde.assignment_from_proto(serde.assignment_to_proto(assignment)) == assignment
    status = RunStatus("run-1", 7, 30, False, 5, 4, '{"n": 5}', 4810, "d" * 64)
    assert serde.status_from_proto(serde.status_to_proto(status)) == status
    query = UpdateQuery(CRED, 11)
    assert serde.update_query_from_proto(serde.update_query_to_proto(query)) == query
    assert serde.snapshot_request_from_proto(serde.snapshot_request_to_proto(CRED)) == CRED


def _chunks(vote: Vote) -> list[pb.VoteChunk]:
    return list(serde.vote_to_chunks(vote, chunk_bytes=64))


def test_stream_without_a_header_is_malformed() -> None:
    chunks = _chunks(Vote(CRED, 1, PAYLOADS["dense"]))
    with pytest.raises(MalformedMessage):
        serde.vote_from_chunks(chunks[1:], max_nbytes=1 << 20)
    with pytest.raises(MalformedMessage):
        serde.vote_from_chunks([], max_nbytes=1 << 20)


def test_short_stream_is_malformed_and_long_stream_is_oversized() -> None:
    chunks = _chunks(Vote(CRED, 1, PAYLOADS["dense"]))
    with pytest.raises(MalformedMessage, match="declared"):
        serde.vote_from_chunks(chunks[:-1], max_nbytes=1 << 20)
    with pytest.raises(PayloadTooLarge):
        serde.vote_from_chunks([*chunks, pb.VoteChunk(data=b"x")], max_nbytes=1 << 20)


def test_declared_size_above_the_limit_is_refused_before_reading_the_data() -> None:
    chunks = _chunks(Vote(CRED, 1, PAYLOADS["dense"]))

    def stream():  # type: ignore[no-untyped-def]
        yield chunks[0]
        raise AssertionError("the data must not be read")

    with pytest.raises(PayloadTooLarge):
        serde.vote_from_chunks(stream(), max_nbytes=10)


def test_garbage_payload_bits_are_malformed() -> None:
    header, data = serde.payload_to_proto(PAYLOADS["dense"])
    header.zero_kind = pb.ZERO_MASK  # type: ignore[assignment]
    header.zero_nbytes = 3
    header.total_nbytes = len(data) + 3
    with pytest.raises(MalformedMessage):
        serde.payload_from_proto(header, data + b"\xff\xff\xff")
    header, data = serde.payload_to_proto(PAYLOADS["dense"])
    header.encoding = pb.ENCODING_UNSPECIFIED  # type: ignore[assignment]
    with pytest.raises(MalformedMessage, match="encoding"):
        serde.payload_from_proto(header, data)


def test_second_header_inside_a_stream_is_malformed() -> None:
    chunks = _chunks(Vote(CRED, 1, PAYLOADS["dense"]))
    chunks[1].header.CopyFrom(chunks[0].header)
    with pytest.raises(MalformedMessage, match="first message"):
        serde.vote_from_chunks(chunks, max_nbytes=1 << 20)
