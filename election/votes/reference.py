"""Naive unpacked references: the oracles for the packed code and the "unpack-and-sum" baseline.

Formulas (docs/design.md section 2; Sohn et al. 2020, section 2), with sign(0) = 0:

- local majority of worker j over its partitions S_j:  E_j = sign(sum_{i in S_j} u_i);
- master majority over the workers' votes:              out = sign(sum_j E_j);
- quorum decoder with q (election/votes/decoders.py):    out = s = sign(P - N) if the number of
  votes equal to s is >= q, else 0 (P = #(+1), N = #(-1) among the present votes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from election.errors import VoteFormatError
from election.votes.packed import PackedVote, pack_ternary, unpack_ternary


def _check_ternary_matrix(signs: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(signs)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise VoteFormatError(f"{what} must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise VoteFormatError(f"{what} must have an integer dtype, got {arr.dtype}")
    if arr.min() < -1 or arr.max() > 1:
        raise VoteFormatError(f"{what} values must lie in {{-1, 0, 1}}")
    return arr


def majority_ternary(signs: np.ndarray) -> np.ndarray:
    """sign(sum over rows) of an (n, d) ternary array: (d,) int8."""
    arr = _check_ternary_matrix(signs, "signs")
    return np.sign(arr.sum(axis=0, dtype=np.int32)).astype(np.int8)  # (d,) int8


def local_majority(partition_signs: np.ndarray) -> np.ndarray:
    """A worker's vote E_j = sign(sum_i u_i) over its (k, d) partition signs: (d,) int8."""
    return majority_ternary(_check_ternary_matrix(partition_signs, "partition_signs"))


def quorum_ternary(signs: np.ndarray, q: int) -> np.ndarray:
    """The quorum decoder over the rows of an (m, d) ternary array: (d,) int8."""
    arr = _check_ternary_matrix(signs, "signs")
    pos = (arr > 0).sum(axis=0)  # (d,) int64
    neg = (arr < 0).sum(axis=0)  # (d,) int64
    out = np.zeros(arr.shape[1], dtype=np.int8)  # (d,) int8
    out[(pos > neg) & (pos >= q)] = 1
    out[(neg > pos) & (neg >= q)] = -1
    return out


def majority_naive(
    votes: Sequence[PackedVote | None], *, length: int | None = None, quorum: int | None = None
) -> PackedVote:
    """Unpack every vote to int8, count, decide, repack (same contract as ``majority``)."""
    present = [v for v in votes if v is not None]
    if len(votes) == 0:
        raise VoteFormatError("majority needs at least one vote slot (got an empty sequence)")
    lengths = {v.length for v in present} | ({length} if length is not None else set())
    if len(lengths) != 1:
        raise VoteFormatError(f"votes need one common length, got lengths {sorted(lengths)}")
    d = lengths.pop()
    acc = np.int16 if len(present) < 2**15 else np.int32  # |sum| <= n
    pos: np.ndarray = np.zeros(d, dtype=acc)  # (d,) int16: #(+1) per coordinate
    neg: np.ndarray = np.zeros(d, dtype=acc)  # (d,) int16: #(-1) per coordinate
    for v in present:
        e = unpack_ternary(v)  # (d,) int8
        pos += e > 0
        neg += e < 0
    out = np.sign(pos - neg).astype(np.int8)  # (d,) int8, the plain rule
    if quorum is not None:
        out[(out > 0) & (pos < quorum)] = 0
        out[(out < 0) & (neg < quorum)] = 0
    return pack_ternary(out)
