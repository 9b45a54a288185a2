"""Bit-packed ternary sign vectors: the vote a worker sends and the update the master returns.

A vote is E in {-1, 0, +1}^d with sign(0) = 0 (docs/design.md Sec. 2; Sohn et al. 2020,
section 2: E_j = sign(sum_{i in S_j} u_i)). It travels as one sign bit per coordinate plus an
encoding of the zero coordinates, whichever of a bit-plane or an index list is smaller.

Layout (copied verbatim into the gRPC proto and docs/vote_layout.md):

- Coordinate k lives in byte k // 8, bit k % 8, least significant bit first ("little" bit
  order, ``numpy.packbits(..., bitorder="little")``).
- ``sign_bits``: ceil(d/8) bytes; bit 1 = negative (-1), bit 0 = positive (+1) or zero. The sign
  bit of a zero coordinate is 0. Padding bits in the last byte are 0.
- ``zero_kind`` NONE: no zero coordinates; ``zero_data`` is empty (exactly 1 bit/coordinate).
- ``zero_kind`` MASK: ``zero_data`` is a second bit-plane of ceil(d/8) bytes, same bit order,
  bit 1 = the coordinate is 0; padding bits are 0.
- ``zero_kind`` INDICES: ``zero_data`` holds the zero coordinates as little-endian uint32,
  strictly increasing, each < d (4 bytes per zero).
- The packer picks NONE when there are no zeros, INDICES when 4 * zeros < ceil(d/8), else MASK.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from election.errors import VoteFormatError
from election.votes import native
from election.votes.native import resolve_executor

# Largest length an INDICES encoding (uint32 indices) and the frame header can describe.
MAX_LENGTH = 2**32 - 1


class ZeroKind(enum.IntEnum):
    """How a vote's zero coordinates are encoded (the value is the frame's zero_kind byte)."""

    NONE = 0
    MASK = 1
    INDICES = 2


def sign_nbytes(length: int) -> int:
    """Bytes of one bit-plane for ``length`` coordinates: ceil(d/8)."""
    return (length + 7) // 8


def _readonly_bytes(data: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(data)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise VoteFormatError(f"{name} must be a 1-D uint8 array, got {arr.dtype} {arr.shape}")
    if arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, dtype=np.uint8, copy=True)
        arr.flags.writeable = False
    return arr


def _padding_is_zero(plane: np.ndarray, length: int) -> bool:
    used = length % 8
    return used == 0 or int(plane[-1]) >> used == 0


@dataclass(frozen=True, eq=False)
class PackedVote:
    """A ternary vector of ``length`` coordinates in the packed layout of the module docstring.

    Validates itself on construction (raises VoteFormatError naming the broken rule). The
    arrays are stored read-only. Equality compares length, encoding and payload bytes; the
    packer's encoding choice is canonical, so equal vectors packed by it compare equal.
    """

    length: int  # d, number of coordinates
    sign_bits: np.ndarray  # (ceil(d/8),) uint8, 1 = negative
    zero_kind: ZeroKind = ZeroKind.NONE
    # uint8 payload of the zero encoding (empty for NONE)
    zero_data: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))

    def __post_init__(self) -> None:
        object.__setattr__(self, "sign_bits", _readonly_bytes(self.sign_bits, "sign_bits"))
        object.__setattr__(self, "zero_data", _readonly_bytes(self.zero_data, "zero_data"))
        try:
            object.__setattr__(self, "zero_kind", ZeroKind(self.zero_kind))
        except ValueError:
            raise VoteFormatError(f"zero_kind {self.zero_kind!r} is not one of 0, 1, 2") from None
        self.validate()

    def validate(self) -> None:
        """Check the layout rules; raise VoteFormatError naming the first one broken."""
        d = self.length
        if not isinstance(d, int | np.integer) or not 1 <= d <= MAX_LENGTH:
            raise VoteFormatError(f"length {d!r} must be an integer in [1, {MAX_LENGTH}]")
        nb = sign_nbytes(d)
        if self.sign_bits.size != nb:
            raise VoteFormatError(
                f"sign_bits has {self.sign_bits.size} bytes, length {d} needs ceil(d/8) = {nb}"
            )
        if not _padding_is_zero(self.sign_bits, d):
            raise VoteFormatError(f"sign_bits padding bits after coordinate {d} must be 0")
        kind, data = self.zero_kind, self.zero_data
        if kind == ZeroKind.NONE:
            if data.size != 0:
                raise VoteFormatError(f"zero_kind NONE needs empty zero_data, got {data.size} B")
        elif kind == ZeroKind.MASK:
            if data.size != nb:
                raise VoteFormatError(f"zero mask has {data.size} bytes, length {d} needs {nb}")
            if not _padding_is_zero(data, d):
                raise VoteFormatError(f"zero mask padding bits after coordinate {d} must be 0")
            if np.any(data & self.sign_bits):
                raise VoteFormatError("a coordinate marked zero in the mask has sign bit 1")
        else:
            if data.size % 4 != 0:
                raise VoteFormatError(f"zero indices take 4 bytes each, got {data.size} bytes")
            idx = self.zero_indices()
            if idx.size and int(idx[-1]) >= d:
                raise VoteFormatError(f"zero index {int(idx[-1])} out of range for length {d}")
            if idx.size > 1 and not np.all(idx[1:] > idx[:-1]):
                raise VoteFormatError("zero indices must be strictly increasing")
            if np.any((self.sign_bits[idx >> 3] >> (idx & 7).astype(np.uint8)) & 1):
                raise VoteFormatError("a coordinate listed as zero has sign bit 1")

    def zero_indices(self) -> np.ndarray:
        """The zero coordinates, sorted, for any encoding: (zeros,) int64."""
        if self.zero_kind == ZeroKind.INDICES:
            return self.zero_data.view("<u4").astype(np.int64)
        if self.zero_kind == ZeroKind.NONE:
            return np.zeros(0, dtype=np.int64)
        return mask_to_indices(self.zero_data, self.length)

    def zero_mask(self) -> np.ndarray | None:
        """The zero bit-plane ((ceil(d/8),) uint8), or None when the vote has no zeros."""
        if self.zero_kind == ZeroKind.MASK:
            return self.zero_data
        if self.zero_kind == ZeroKind.NONE:
            return None
        return indices_to_mask(self.zero_indices(), self.length)

    @property
    def zero_count(self) -> int:
        """Number of zero coordinates."""
        if self.zero_kind == ZeroKind.NONE:
            return 0
        if self.zero_kind == ZeroKind.INDICES:
            return self.zero_data.size // 4
        return int(np.bitwise_count(self.zero_data).sum(dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Payload bytes on the wire (sign plane plus zero encoding, no frame header)."""
        return int(self.sign_bits.size + self.zero_data.size)

    def to_bytes(self) -> bytes:
        """The self-describing frame (see :mod:`election.votes.frame`)."""
        from election.votes.frame import encode_frame

        return encode_frame(self)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> PackedVote:
        """Parse a frame made by :meth:`to_bytes`; raise VoteFormatError if malformed."""
        from election.votes.frame import decode_frame

        return decode_frame(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedVote):
            return NotImplemented
        return (
            self.length == other.length
            and self.zero_kind == other.zero_kind
            and np.array_equal(self.sign_bits, other.sign_bits)
            and np.array_equal(self.zero_data, other.zero_data)
        )

    def __hash__(self) -> int:
        return hash((self.length, int(self.zero_kind), self.sign_bits.tobytes()))

    def __repr__(self) -> str:
        return (
            f"PackedVote(length={self.length}, zero_kind={self.zero_kind.name}, "
            f"zero_count={self.zero_count}, nbytes={self.nbytes})"
        )


def mask_to_indices(mask: np.ndarray, length: int) -> np.ndarray:
    """Set bits of a little-bit-order plane that are < length, sorted: (zeros,) int64."""
    if resolve_executor() == "native":
        assert native.planes is not None
        out = np.empty(int(np.bitwise_count(mask).sum(dtype=np.int64)), dtype=np.uint32)
        count = native.planes.mask_to_indices(mask, out, length)  # word at a time, ctz
        return out[:count].astype(np.int64)
    return _mask_to_indices_numpy(mask, length)


def _mask_to_indices_numpy(mask: np.ndarray, length: int) -> np.ndarray:
    """numpy version of :func:`mask_to_indices`; unpacks only the nonzero bytes."""
    full = mask.size // 8
    nz_words = np.flatnonzero(mask[: full * 8].view(np.uint64))  # scan 8 bytes at a time
    candidates = np.concatenate(
        [(nz_words[:, None] * 8 + np.arange(8)).ravel(), np.arange(full * 8, mask.size)]
    )
    nz = candidates[mask[candidates] != 0]  # (nonzero bytes,) int64, sorted
    bits = np.unpackbits(mask[nz][:, None], axis=1, bitorder="little")  # (nonzero bytes, 8) uint8
    idx = (nz[:, None] * 8 + np.arange(8))[bits.astype(bool)]  # (zeros,) int64
    return idx[idx < length]


def indices_to_mask(indices: np.ndarray, length: int) -> np.ndarray:
    """Bit-plane with the given sorted, distinct coordinates set: (ceil(d/8),) uint8."""
    in_range = indices.size and int(indices[0]) >= 0 and int(indices[-1]) < length  # sorted
    if resolve_executor() == "native" and in_range:
        assert native.planes is not None
        mask = np.zeros(sign_nbytes(length), dtype=np.uint8)
        native.planes.indices_to_mask(np.ascontiguousarray(indices, dtype=np.uint32), mask)
        return mask
    return _indices_to_mask_numpy(indices, length)


def _indices_to_mask_numpy(indices: np.ndarray, length: int) -> np.ndarray:
    """numpy version of :func:`indices_to_mask` (one reduceat over the distinct bytes)."""
    mask = np.zeros(sign_nbytes(length), dtype=np.uint8)
    if indices.size == 0:
        return mask
    byte = indices >> 3  # (zeros,) int64, non-decreasing
    bit = np.left_shift(1, indices & 7).astype(np.uint8)  # (zeros,) uint8
    starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
    # Bits within one byte are distinct, so their sum is their OR.
    mask[byte[starts]] = np.add.reduceat(bit, starts, dtype=np.uint8)
    return mask


def choose_zero_encoding(
    length: int, zero_mask: np.ndarray, zero_count: int
) -> tuple[ZeroKind, np.ndarray]:
    """Canonical zero encoding for a vote: NONE, INDICES when 4 * zeros < ceil(d/8), else MASK."""
    if zero_count == 0:
        return ZeroKind.NONE, np.zeros(0, dtype=np.uint8)
    if 4 * zero_count < sign_nbytes(length):
        idx = mask_to_indices(zero_mask, length).astype("<u4")  # (zeros,) uint32 LE
        return ZeroKind.INDICES, idx.view(np.uint8)
    return ZeroKind.MASK, zero_mask


def pack_ternary(signs: np.ndarray) -> PackedVote:
    """Pack a (d,) array with values in {-1, 0, +1} (any integer dtype) into a PackedVote."""
    arr = np.asarray(signs)
    if arr.ndim != 1 or arr.size == 0:
        raise VoteFormatError(f"signs must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise VoteFormatError(
            f"signs must have an integer dtype with values -1/0/1, got {arr.dtype}"
        )
    lo, hi = (int(v) for v in (arr.min(), arr.max()))
    if lo < -1 or hi > 1:
        raise VoteFormatError(f"signs must lie in {{-1, 0, 1}}, found values in [{lo}, {hi}]")
    d = arr.size
    sign_bits = np.packbits(arr < 0, bitorder="little")  # (ceil(d/8),) uint8
    zero = arr == 0  # (d,) bool
    zero_count = int(np.count_nonzero(zero))
    zero_mask = np.packbits(zero, bitorder="little") if zero_count else sign_bits[:0]
    kind, data = choose_zero_encoding(d, zero_mask, zero_count)
    return PackedVote(length=d, sign_bits=sign_bits, zero_kind=kind, zero_data=data)


def unpack_ternary(vote: PackedVote) -> np.ndarray:
    """The vote's values: (d,) int8 in {-1, 0, +1}."""
    neg = np.unpackbits(vote.sign_bits, count=vote.length, bitorder="little")  # (d,) uint8
    out = (1 - 2 * neg.view(np.int8)).astype(np.int8, copy=False)  # (d,) int8
    if vote.zero_kind == ZeroKind.MASK:
        out[np.unpackbits(vote.zero_data, count=vote.length, bitorder="little").view(bool)] = 0
    elif vote.zero_kind == ZeroKind.INDICES:
        out[vote.zero_indices()] = 0
    return out
