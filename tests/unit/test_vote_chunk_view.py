"""serde.vote_chunk_from_bytes (the master reads SubmitVote messages in place) means exactly
what protobuf's own VoteChunk.FromString means, on well-formed, unusual and broken bytes."""

from __future__ import annotations

import numpy as np
import pytest

from wire import serde
from wire.errors import Undecodable
from wire.gen.election.v1 import election_pb2 as pb

HEADER = pb.VoteHeader(run_id="run", round=7, slot=2, token="t" * 8)


def field(number: int, payload: bytes) -> bytes:
    """One length-delimited field (the wire format by hand, small sizes and field numbers)."""
    size = len(payload)
    varint = bytearray()
    while True:
        varint.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            break
    return bytes([(number << 3) | 2]) + bytes(varint) + payload


def oracle(raw: bytes) -> tuple[bytes | None, bytes] | None:
    """(serialized header or None, data) as protobuf parses it; None when it cannot."""
    try:
        message = pb.VoteChunk.FromString(raw)
    except Exception:
        return None
    header = message.header.SerializeToString() if message.HasField("header") else None
    return header, message.data


def view(raw: bytes) -> tuple[bytes | None, bytes] | None:
    try:
        chunk = serde.vote_chunk_from_bytes(raw)
    except Undecodable:
        return None
    header = chunk.header.SerializeToString() if chunk.header is not None else None
    return header, bytes(chunk.data)


DATA = bytes(range(256)) * 40  # 10 KiB: a multi-byte length
CASES = {
    "header-then-data": pb.VoteChunk(header=HEADER, data=DATA).SerializeToString(),
    "data-then-header": field(2, DATA) + field(1, HEADER.SerializeToString()),
    "data-only": pb.VoteChunk(data=DATA).SerializeToString(),
    "header-only": pb.VoteChunk(header=HEADER).SerializeToString(),
    "empty-header": field(1, b"") + field(2, b"xy"),
    "empty-message": b"",
    "header-twice-merges": field(1, HEADER.SerializeToString())
    + field(1, pb.VoteHeader(round=9).SerializeToString())
    + field(2, b"ab"),
    "data-twice-last-wins": field(2, b"first") + field(2, b"second"),
    "unknown-field-skipped": field(5, b"zz") + field(2, b"ab"),
    "varint-field": bytes([0x18, 0x05]) + field(2, b"ab"),  # field 3, varint
    "truncated-data": pb.VoteChunk(header=HEADER, data=DATA).SerializeToString()[:-10],
    "truncated-tag": field(2, b"ab") + b"\x8a",
    "bad-header-bytes": field(1, b"\xff\xff\xff") + field(2, b"ab"),
    "garbage": bytes([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reads_what_protobuf_reads(name: str) -> None:
    raw = CASES[name]
    assert view(raw) == oracle(raw)


def test_random_bytes_mean_what_protobuf_says() -> None:
    rng = np.random.default_rng(0)
    good = CASES["header-then-data"]
    for _ in range(400):
        raw = bytearray(good[: int(rng.integers(0, 80))])
        for at in rng.integers(0, max(len(raw), 1), size=3):  # flip a few bytes
            if raw:
                raw[at] = int(rng.integers(0, 256))
        assert view(bytes(raw)) == oracle(bytes(raw)), bytes(raw).hex()


def test_data_is_a_view_of_the_received_bytes() -> None:
    raw = CASES["header-then-data"]
    chunk = serde.vote_chunk_from_bytes(raw)
    assert chunk.data.obj is raw  # no copy: the majority reads the bytes gRPC handed over
    assert chunk.HasField("header")
