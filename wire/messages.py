"""Plain protocol objects: what the services exchange, without grpc or generated code.

A payload is either a :class:`election.votes.PackedVote` (votes and updates of the sign schemes,
1 bit per coordinate plus a zero encoding) or a :class:`RawPayload` (int16 signed-sum votes,
float32 vectors of the median/sgd baselines); which one a message is, the run's scheme object
says (:mod:`election.training.schemes`). :func:`payload_from_core` and :func:`payload_to_core`
convert to and from the scheme codec's bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from election.training.schemes import PACKED_TERNARY, RAW_DTYPES, Scheme, Update
from election.training.schemes import Vote as CoreVote
from election.votes import PackedVote
from election.votes.shards import join_votes, slice_vote
from wire.errors import MalformedMessage
from wire.limits import max_packed_nbytes
from wire.snapshot import TensorSpec

RAW_ENCODINGS: dict[str, np.dtype[Any]] = RAW_DTYPES  # encoding name -> little-endian dtype


@dataclass(frozen=True)
class RawPayload:
    """An uncompressed little-endian vector: (d,) int16 or float32 as bytes."""

    encoding: str  # "INT16_LE" | "FLOAT32_LE"
    data: bytes

    def __post_init__(self) -> None:
        if self.encoding not in RAW_ENCODINGS:
            raise MalformedMessage(
                f"encoding {self.encoding!r} must be one of {', '.join(RAW_ENCODINGS)}"
            )
        size = RAW_ENCODINGS[self.encoding].itemsize
        if len(self.data) % size:
            raise MalformedMessage(f"{self.encoding} payload of {len(self.data)} B is not whole")

    @property
    def length(self) -> int:
        return len(self.data) // RAW_ENCODINGS[self.encoding].itemsize


Payload = PackedVote | RawPayload


def payload_nbytes(payload: Payload) -> int:
    return payload.nbytes if isinstance(payload, PackedVote) else len(payload.data)


def payload_from_core(scheme: Scheme, data: bytes, *, update: bool = False) -> Payload:
    """Core message bytes (a PackedVote frame or a raw vector) -> a payload."""
    encoding = scheme.update_encoding if update else scheme.vote_encoding
    if encoding == PACKED_TERNARY:
        return PackedVote.from_bytes(data)
    return RawPayload(encoding, bytes(data))


def payload_to_core(payload: Payload) -> bytes:
    """The inverse of :func:`payload_from_core`."""
    return payload.to_bytes() if isinstance(payload, PackedVote) else payload.data


def payload_of_vote(scheme: Scheme, vote: CoreVote) -> Payload:
    """A core vote -> its payload (packed votes are payloads already)."""
    if isinstance(vote, PackedVote):
        return vote
    return RawPayload(scheme.vote_encoding, scheme.encode_vote(vote))


def vote_of_payload(scheme: Scheme, payload: Payload, dim: int) -> CoreVote:
    """A validated payload -> the core vote the master aggregates."""
    if isinstance(payload, PackedVote):
        return payload
    return scheme.decode_vote(payload.data, dim)


def payload_of_update(scheme: Scheme, update: Update) -> Payload:
    """A core update -> its payload (the scheme's update encoding)."""
    if isinstance(update, PackedVote):
        return update
    return payload_from_core(scheme, scheme.encode_update(update), update=True)


def update_of_payload(scheme: Scheme, payload: Payload, dim: int) -> Update:
    """A received update payload -> the core update a worker applies (length checked)."""
    return scheme.decode_update(payload_to_core(payload), dim)


def max_vote_nbytes(scheme: Scheme, dim: int) -> int:
    """The largest valid vote payload for ``dim`` coordinates.

    Sign schemes: any valid PACKED_TERNARY encoding is accepted (docs/vote_layout.md), so the
    limit is that of an INDICES vote listing every coordinate, ceil(d/8) + 4 d bytes; raw
    baselines: d values of their dtype.
    """
    if scheme.vote_encoding == PACKED_TERNARY:
        return max_packed_nbytes(dim)
    return dim * RAW_ENCODINGS[scheme.vote_encoding].itemsize


@dataclass(frozen=True)
class Credentials:
    """Who speaks: every vote, update and snapshot request carries these."""

    run_id: str
    slot: int
    token: str


@dataclass(frozen=True)
class Vote:
    """One slot's vote for one round."""

    credentials: Credentials
    round: int
    payload: Payload
    losses: tuple[float, ...] = ()  # train loss of each of the slot's partitions, in order


@dataclass(frozen=True)
class UpdateQuery:
    credentials: Credentials
    round: int


@dataclass(frozen=True)
class RoundUpdate:
    """The master's output for a closed round and the model digest after applying it."""

    round: int
    digest: str  # SHA-256 hex of the parameters after the update
    payload: Payload
    votes: int = 0
    abstentions: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The replica's state at the start of ``round`` in the layout of :mod:`wire.snapshot`."""

    round: int
    digest: str
    state: bytes  # the tensors of ``tensors``, back to back
    tensors: tuple[TensorSpec, ...] = ()


@dataclass(frozen=True)
class JoinClaim:
    slot: int  # -1 = any free slot
    worker_name: str = ""
    join_secret: str = ""  # the run's join secret ("" for a master in open mode)


@dataclass(frozen=True)
class Assignment:
    run_id: str
    slot: int
    partitions: tuple[int, ...]
    config_json: str
    token: str
    round: int
    total_rounds: int
    dim: int


@dataclass(frozen=True)
class RunStatus:
    run_id: str
    round: int
    total_rounds: int
    finished: bool
    n_slots: int
    joined_slots: int
    config_json: str
    dim: int
    digest: str  # model digest at the start of `round`
    master_shards: int = 1  # k master shards serve the run (docs/grpc.md "Sharded masters")
    shard: int = 0  # this master's shard index


def slice_payload(payload: Payload, lo: int, hi: int) -> Payload:
    """A vote or update payload's coordinates [lo, hi) (what master shard [lo, hi) receives)."""
    if isinstance(payload, PackedVote):
        return slice_vote(payload, lo, hi)
    size = RAW_ENCODINGS[payload.encoding].itemsize
    return RawPayload(payload.encoding, payload.data[lo * size : hi * size])


def join_payloads(parts: Sequence[Payload]) -> Payload:
    """The k shards' payload parts, in shard order, as one payload (the inverse of slicing)."""
    packed = [p for p in parts if isinstance(p, PackedVote)]
    if len(packed) == len(parts):
        return join_votes(packed)
    raws = [p for p in parts if isinstance(p, RawPayload)]
    if len(raws) != len(parts) or len({p.encoding for p in raws}) != 1:
        raise MalformedMessage("the shards' update parts have different encodings")
    return RawPayload(raws[0].encoding, b"".join(p.data for p in raws))
