"""A sample of coordinates read straight out of packed votes (for accusation and telemetry).

The master's evidence about its workers (docs/accusation.md) and the robustness telemetry are
computed on a sample of coordinates, so that their cost does not grow with d. The sample is a
few *windows* of whole bytes of the packed layout (:mod:`election.votes.packed`: coordinate k
in byte k // 8, bit k % 8): a window of w bytes at byte s covers coordinates 8s .. 8(s+w) - 1
of every vote, read as a slice of each sign plane and zero encoding (an index list is cut with
two binary searches), so nothing else of the vote is touched. Window starts are drawn
uniformly; windows may overlap (a coordinate is then sampled twice); coordinates >= d (the
padding of the last byte) are dropped.

``neg[j, k] = 1`` iff worker j voted -1 at sampled coordinate k, ``zero[j, k] = 1`` iff it
voted 0; both 0 means +1. A worker that abstained (``None``) has ``present[j] = False`` and all
bits 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from election.errors import VoteFormatError
from election.votes.packed import PackedVote, ZeroKind, sign_nbytes


@dataclass(frozen=True, eq=False)
class VoteSample:
    """The votes of one round at the sampled coordinates (module docstring)."""

    length: int  # d of the full votes
    coords: np.ndarray  # (k,) int64 sampled coordinates, each < d
    neg: np.ndarray  # (n, k) uint8 in {0, 1}: vote -1
    zero: np.ndarray  # (n, k) uint8 in {0, 1}: vote 0
    present: np.ndarray  # (n,) bool: the worker sent a vote

    @property
    def n(self) -> int:
        return int(self.neg.shape[0])

    @property
    def k(self) -> int:
        return int(self.coords.size)

    def values(self) -> np.ndarray:
        """The sampled votes as (n, k) int8 in {-1, 0, +1} (0 for absent workers)."""
        vals = (1 - 2 * self.neg.astype(np.int8)) * (1 - self.zero.astype(np.int8))
        return vals * self.present[:, None].astype(np.int8)  # (n, k) int8


@dataclass(frozen=True)
class Windows:
    """Byte windows [start, start + width) of the packed layout."""

    starts: tuple[int, ...]
    width: int  # bytes per window


def draw_windows(length: int, n_windows: int, width: int, rng: np.random.Generator) -> Windows:
    """``n_windows`` windows of ``width`` bytes at uniform starts; the whole vote when they
    would cover at least ceil(d/8) bytes (the exact, unsampled case)."""
    total = sign_nbytes(length)
    if n_windows < 1 or width < 1:
        raise VoteFormatError(f"need >= 1 window of >= 1 byte, got {n_windows} x {width}")
    if n_windows * width >= total:
        return Windows(starts=(0,), width=total)
    starts = rng.integers(0, total - width + 1, size=n_windows)
    return Windows(starts=tuple(sorted(int(s) for s in starts)), width=width)


def _index_hits(vote: PackedVote, queries: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Positions in the sample of an index-list vote's zeros inside the windows.

    ``queries`` = (first, end) coordinate of every window, flattened; ``shift`` maps a
    coordinate of window w to its sample position (w * 8 * width - first_w).
    """
    zi = vote.zero_data.view("<u4")  # (zeros,) sorted coordinates
    bounds = np.searchsorted(zi, queries).tolist()
    pieces = [zi[lo:hi] for lo, hi in zip(bounds[0::2], bounds[1::2], strict=True)]
    hits = np.concatenate(pieces).astype(np.int64)
    return hits + np.repeat(shift, [p.size for p in pieces])


def sample_votes(votes: Sequence[PackedVote | None], windows: Windows) -> VoteSample:
    """Read the coordinates of ``windows`` (from :func:`draw_windows`) out of every vote.

    Raises VoteFormatError when the votes' lengths differ or every vote is absent.
    """
    lengths = {v.length for v in votes if v is not None}
    if len(lengths) != 1:
        raise VoteFormatError(f"sampling needs one common vote length, got {sorted(lengths)}")
    d = lengths.pop()
    width = windows.width
    if max(windows.starts) + width > sign_nbytes(d):
        raise VoteFormatError(f"window {windows} runs past the {sign_nbytes(d)}-byte vote")
    at = (np.asarray(windows.starts)[:, None] + np.arange(width)).ravel()  # (bytes,) int64
    n = len(votes)
    signs = np.zeros((n, at.size), dtype=np.uint8)  # (n, bytes) uint8
    masks = np.zeros((n, at.size), dtype=np.uint8)  # (n, bytes) uint8 zero planes
    first = 8 * np.asarray(windows.starts, dtype=np.int64)  # (w,) first coordinate per window
    queries = np.stack([first, first + 8 * width], axis=1).ravel()  # (2w,) int64
    shift = np.arange(first.size) * 8 * width - first  # (w,) coordinate -> sample position
    listed: list[tuple[int, np.ndarray]] = []  # (worker, positions) of index-list zeros
    for j, v in enumerate(votes):
        if v is None:
            continue
        np.take(v.sign_bits, at, out=signs[j])
        if v.zero_kind == ZeroKind.MASK:
            np.take(v.zero_data, at, out=masks[j])
        elif v.zero_kind == ZeroKind.INDICES:
            listed.append((j, _index_hits(v, queries, shift)))
    neg = np.unpackbits(signs, axis=1, bitorder="little")  # (n, 8 bytes) uint8
    zero = np.unpackbits(masks, axis=1, bitorder="little")  # (n, 8 bytes) uint8
    for j, positions in listed:
        zero[j, positions] = 1
    coords = (at[:, None] * 8 + np.arange(8)).ravel()  # (8 bytes,) int64
    present = np.array([v is not None for v in votes], dtype=bool)  # (n,) bool
    if coords[-1] >= d:  # the padding bits of the last byte
        keep = coords < d
        coords, neg, zero = coords[keep], neg[:, keep], zero[:, keep]
    return VoteSample(length=d, coords=coords, neg=neg, zero=zero, present=present)
