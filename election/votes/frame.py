"""Self-describing byte frame of a PackedVote (used where there is no proto, e.g. MPI).

Frame = 16-byte header, then the payload (all integers little-endian):

    offset  size  field
    0       2     magic b"EV"
    2       1     version (1)
    3       1     zero_kind (0 NONE, 1 MASK, 2 INDICES)
    4       8     length d (uint64, 1 <= d < 2**32)
    12      4     zero_nbytes (uint32): bytes of the zero encoding
    16      ceil(d/8)      sign_bits
    ...     zero_nbytes    zero_data

The frame's size must be exactly 16 + ceil(d/8) + zero_nbytes. A dense vote therefore costs
ceil(d/8) + 16 bytes (docs/design.md section 8, "at most d/8 bytes + a small header").
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np

from election.errors import VoteFormatError

if TYPE_CHECKING:
    from election.votes.packed import PackedVote

MAGIC = b"EV"
VERSION = 1
HEADER = struct.Struct("<2sBBQI")  # magic, version, zero_kind, length, zero_nbytes
HEADER_SIZE = HEADER.size  # 16


def encode_frame(vote: PackedVote) -> bytes:
    """Header followed by sign_bits and zero_data."""
    header = HEADER.pack(MAGIC, VERSION, int(vote.zero_kind), vote.length, vote.zero_data.size)
    return b"".join((header, vote.sign_bits.tobytes(), vote.zero_data.tobytes()))


def decode_frame(data: bytes | bytearray | memoryview) -> PackedVote:
    """Parse and validate a frame; the arrays are read-only views of ``data`` when it is bytes."""
    from election.votes.packed import PackedVote, ZeroKind, sign_nbytes

    buf = memoryview(data).cast("B")
    if len(buf) < HEADER_SIZE:
        raise VoteFormatError(f"vote frame has {len(buf)} bytes, shorter than the 16-byte header")
    magic, version, kind, length, zero_nbytes = HEADER.unpack_from(buf)
    if magic != MAGIC:
        raise VoteFormatError(f"vote frame magic {magic!r} is not {MAGIC!r}")
    if version != VERSION:
        raise VoteFormatError(f"vote frame version {version} is not supported (expected 1)")
    if kind not in {k.value for k in ZeroKind}:
        raise VoteFormatError(f"vote frame zero_kind {kind} is not one of 0, 1, 2")
    if not 1 <= length < 2**32:
        raise VoteFormatError(f"vote frame length {length} must be in [1, 2**32)")
    nb = sign_nbytes(length)
    expected = HEADER_SIZE + nb + zero_nbytes
    if len(buf) != expected:
        raise VoteFormatError(
            f"vote frame has {len(buf)} bytes, header (d={length}, zero_nbytes={zero_nbytes}) "
            f"implies {expected}"
        )
    payload = np.frombuffer(buf, dtype=np.uint8, offset=HEADER_SIZE)  # (nb + zero_nbytes,) uint8
    return PackedVote(
        length=int(length),
        sign_bits=payload[:nb],
        zero_kind=ZeroKind(kind),
        zero_data=payload[nb:],
    )
