"""The master's aggregation, word-parallel on packed votes: out = sign(sum_j E_j) coordinate-wise.

DESIGN.md section 2 (Sohn et al. 2020, section 2: the master outputs the majority of the workers'
votes E_j in {-1, 0, +1}^d; an abstaining worker contributes 0 everywhere).

Per coordinate, with m present votes, N = #(-1), Z = #(0) and P = m - N - Z = #(+1):

    P - N = m - (2N + Z),   so   out = +1 if T < m, -1 if T > m, 0 if T = m,   T = 2N + Z.

T is counted bit-sliced: every vote's sign plane (bit 1 = negative) enters a carry-save counter
with weight 2 and its zero plane, if any, with weight 1; then T is compared with the constant m
(:mod:`election.votes.bitslice`). Dense votes (no zeros, the common case) take a fast path:
T' = N with weight 1, out = -1 iff N > floor(m/2) and, for even m only, 0 iff N = m/2.
Votes are processed in chunks of ``CHUNK_WORDS`` uint64 words so that the counter's planes stay
in L2 cache. Nothing is unpacked to a byte per coordinate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from election.errors import VoteFormatError
from election.votes.circuit import compile_majority, run
from election.votes.packed import PackedVote, ZeroKind, choose_zero_encoding, sign_nbytes

# Words per chunk: 4096 x 8 B = 32 KiB per plane; ~10 live planes fit the 512 KiB L2 per core
# of the development machine (measured fastest among 1K..32K by `election bench votes`).
CHUNK_WORDS = 4096


def _words(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a (nb,) uint8 plane into its full uint64 words and a zero-padded last word."""
    nb = plane.size
    full = nb // 8
    head = plane[: full * 8].view(np.uint64)  # (nb // 8,) uint64
    head.flags.writeable = False  # the counter must never recycle a caller's plane
    tail = np.zeros(8, dtype=np.uint8)
    tail[: nb - full * 8] = plane[full * 8 :]
    tail_word = tail.view(np.uint64)  # (1,) uint64
    tail_word.flags.writeable = False
    return head, tail_word


def _all_zero(length: int) -> PackedVote:
    mask = np.zeros(sign_nbytes(length), dtype=np.uint8)
    mask[: length // 8] = 0xFF
    if length % 8:
        mask[-1] = (1 << (length % 8)) - 1
    kind, data = choose_zero_encoding(length, mask, length)
    return PackedVote(length=length, sign_bits=np.zeros_like(mask), zero_kind=kind, zero_data=data)


def majority(votes: Sequence[PackedVote | None], *, length: int | None = None) -> PackedVote:
    """sign(sum_j E_j) over the present votes; ``None`` is an abstention (contributes 0).

    ``length`` is needed only when every vote abstains (the result is then all zeros); when
    given it must match every vote. Raises VoteFormatError if the lengths differ or there is
    no vote slot at all.
    """
    if len(votes) == 0:
        raise VoteFormatError("majority needs at least one vote slot (got an empty sequence)")
    present = [v for v in votes if v is not None]
    lengths = {v.length for v in present} | ({length} if length is not None else set())
    if len(lengths) > 1:
        raise VoteFormatError(f"all votes must have the same length, got lengths {sorted(lengths)}")
    if not lengths:
        raise VoteFormatError("every vote abstained; pass length= to get the all-zero result")
    d = lengths.pop()
    if not present:
        return _all_zero(d)
    nb = sign_nbytes(d)
    prog, _ = compile_majority(tuple(v.zero_kind != ZeroKind.NONE for v in present))
    planes = []  # per input plane: ((nb // 8,), (1,)) uint64, in the program's input order
    for v in present:
        planes.append(_words(v.sign_bits))
        if (z := v.zero_mask()) is not None:
            planes.append(_words(z))

    n_words = (nb + 7) // 8
    out_neg = np.empty(n_words, dtype=np.uint64)  # (ceil(d/64),) uint64
    out_zero = np.zeros(n_words, dtype=np.uint64)  # (ceil(d/64),) uint64, stays 0 if unwritten
    full = nb // 8
    scratch: dict[int, list[np.ndarray]] = {}
    spans = [(lo, min(lo + CHUNK_WORDS, full), 0) for lo in range(0, full, CHUNK_WORDS)]
    if full < n_words:
        spans.append((0, 1, 1))  # the zero-padded last word
    for lo, hi, part in spans:
        size = hi - lo
        if size not in scratch:
            scratch[size] = [np.empty(size, dtype=np.uint64) for _ in range(prog.n_scratch)]
        at = slice(full, full + 1) if part else slice(lo, hi)
        run(prog, [p[part][lo:hi] for p in planes], out_neg[at], out_zero[at], scratch[size])

    sign_bits = out_neg.view(np.uint8)[:nb]  # (ceil(d/8),) uint8
    sign_bits.flags.writeable = False
    zero_count = int(np.bitwise_count(out_zero).sum(dtype=np.int64))
    kind, data = choose_zero_encoding(d, out_zero.view(np.uint8)[:nb], zero_count)
    data.flags.writeable = False
    return PackedVote(length=d, sign_bits=sign_bits, zero_kind=kind, zero_data=data)
