"""Sharded masters: k contiguous, word-aligned coordinate ranges, and packed votes cut and joined.

A sharded master (docs/grpc.md, "Sharded masters") is k processes, shard s owning the
coordinates [lo_s, hi_s) of every vote and update. The master's rules are coordinate-wise
(docs/design.md Sec. 2; Sohn et al. 2020, section 2: out_t = sign(sum_j E_j,t) for every
coordinate t, and the quorum decoder looks only at coordinate t too), so for every range

    aggregate(votes)[lo:hi] = aggregate([v[lo:hi] for v in votes]),

and concatenating the k shards' updates in shard order gives the unsharded update exactly.

Ranges are aligned to the vote layout's word (docs/vote_layout.md, "Aggregation on the packed
form": the majority counts over uint64 words of 64 coordinates): every lo_s is a multiple of
WORD_COORDS, so a slice of a packed vote is a slice of its bytes with no bit shifting, and each
shard's majority runs over whole words. The words ceil(d/64) are split as evenly as possible
(the first ``words % k`` shards get one word more); the last shard ends at d.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from election.errors import ConfigError, VoteFormatError
from election.votes.packed import (
    PackedVote,
    ZeroKind,
    choose_zero_encoding,
    indices_to_mask,
    sign_nbytes,
)

__all__ = ["WORD_COORDS", "join_votes", "shard_ranges", "slice_vote"]

# Coordinates per word of the packed majority: one uint64 of a bit-plane (docs/vote_layout.md).
WORD_COORDS = 64


def shard_ranges(dim: int, k: int) -> tuple[tuple[int, int], ...]:
    """The k ranges [lo_s, hi_s) covering [0, dim): contiguous, word-aligned, balanced.

    With W = ceil(dim / 64) words, shard s owns words [s*q + min(s, r), ...) of q or q + 1
    words (q, r = divmod(W, k)); ConfigError (one line) when k < 1 or k > W, since every shard
    must own at least one word.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"master_shards={k!r} must be an integer >= 1")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"the model dimension {dim!r} must be an integer >= 1")
    words = (dim + WORD_COORDS - 1) // WORD_COORDS
    if k > words:
        raise ConfigError(
            f"master_shards={k} is too many for d={dim}: every shard owns at least one "
            f"{WORD_COORDS}-coordinate word, so at most {words} shards"
        )
    q, r = divmod(words, k)
    bounds = [s * q + min(s, r) for s in range(k + 1)]  # word boundaries, bounds[k] = words
    return tuple((bounds[s] * WORD_COORDS, min(bounds[s + 1] * WORD_COORDS, dim)) for s in range(k))


def _check_range(length: int, lo: int, hi: int) -> None:
    if not 0 <= lo < hi <= length:
        raise VoteFormatError(f"range [{lo}, {hi}) is not a non-empty part of [0, {length})")
    if lo % 8 or (hi % 8 and hi != length):
        raise VoteFormatError(f"range [{lo}, {hi}) of a {length}-vote is not byte-aligned")


def slice_vote(vote: PackedVote, lo: int, hi: int) -> PackedVote:
    """The vote's coordinates [lo, hi) as a (hi - lo)-coordinate packed vote, canonical encoding.

    lo must be a multiple of 8 and hi too unless it is the vote's length (shard_ranges' ranges
    are); the sign bytes are a view, nothing is unpacked. Zero index lists are cut by binary
    search and shifted by -lo; zero masks are sliced like the sign plane.
    """
    _check_range(vote.length, lo, hi)
    d = hi - lo
    at = slice(lo // 8, lo // 8 + sign_nbytes(d))
    sign_bits = vote.sign_bits[at]  # (ceil(d/8),) uint8 view; its padding bits are the vote's
    if vote.zero_kind == ZeroKind.NONE:
        return PackedVote(length=d, sign_bits=sign_bits)
    if vote.zero_kind == ZeroKind.INDICES:
        idx = vote.zero_data.view("<u4")  # (zeros,) uint32, strictly increasing
        a, b = np.searchsorted(idx, [lo, hi])
        part = (idx[a:b] - np.uint32(lo)).astype("<u4")  # (zeros in range,) uint32
        if part.size == 0:
            return PackedVote(length=d, sign_bits=sign_bits)
        if 4 * part.size < sign_nbytes(d):  # the canonical choice (choose_zero_encoding)
            data = part.view(np.uint8)
            return PackedVote(d, sign_bits, zero_kind=ZeroKind.INDICES, zero_data=data)
        mask = indices_to_mask(part.astype(np.int64), d)  # (ceil(d/8),) uint8
        return PackedVote(d, sign_bits, zero_kind=ZeroKind.MASK, zero_data=mask)
    zero_mask = vote.zero_data[at]  # (ceil(d/8),) uint8 view
    count = int(np.bitwise_count(zero_mask).sum(dtype=np.int64))
    kind, data = choose_zero_encoding(d, zero_mask, count)
    return PackedVote(length=d, sign_bits=sign_bits, zero_kind=kind, zero_data=data)


def join_votes(parts: Sequence[PackedVote]) -> PackedVote:
    """The concatenation of packed votes in order, canonical encoding (inverse of slice_vote).

    Every part but the last must have a multiple of 8 coordinates (shard_ranges' ranges do),
    so the planes are joined byte-wise.
    """
    if not parts:
        raise VoteFormatError("join_votes needs at least one part")
    for p in parts[:-1]:
        if p.length % 8:
            raise VoteFormatError(f"a {p.length}-coordinate part is not byte-aligned")
    d = sum(p.length for p in parts)
    sign_bits = np.concatenate([p.sign_bits for p in parts])  # (ceil(d/8),) uint8
    zeros = sum(p.zero_count for p in parts)
    if zeros == 0:
        return PackedVote(length=d, sign_bits=sign_bits)
    planes = [
        z if (z := p.zero_mask()) is not None else np.zeros(p.sign_bits.size, np.uint8)
        for p in parts
    ]
    zero_mask = np.concatenate(planes)  # (ceil(d/8),) uint8
    kind, data = choose_zero_encoding(d, zero_mask, zeros)
    return PackedVote(length=d, sign_bits=sign_bits, zero_kind=kind, zero_data=data)
