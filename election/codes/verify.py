"""Exhaustive verification of perfect b-Byzantine tolerance (Sohn et al. 2020, §3, Def. 1).

Worker j votes E_j(u) = sign(sum_{i in S_j} u_i) in {-1, 0, +1} for partition signs
u in {±1}^n; the master outputs sign(sum_j E'_j) where b Byzantine workers replace E_j by
anything. The code is perfectly b-tolerant iff the output equals mu(u) = sign(sum_i u_i) for
every u, every Byzantine set of size b and every message they send.

Counting argument. Write c_j = mu * E_j in {-1, 0, 1} and A(u) = sum_j c_j. A Byzantine worker
that sends -mu lowers A by c_j + 1 <= 2, and no message lowers it more; so the adversary's best
move is to take the b workers with the largest c_j and send -mu, leaving
A' = A - sum_{j in B}(c_j + 1). The master is right iff A' >= 1.
- If at least b workers have c_j = +1, then A' = A - 2b, so the condition is A >= 2b + 1.
- Otherwise only p < b workers agree, A <= p, and A' <= p - 2p - (b - p) < 1: the code fails,
  and A <= p < 2b + 1 fails too.
Hence perfect tolerance <=> A(u) >= 2b + 1 for every u with mu(u) != 0. Since E_j(-u) = -E_j(u)
and mu(-u) = -mu(u), A(-u) = A(u), so patterns with u_{n-1} = +1 suffice (2^(n-1) of them).

Even n: patterns with a tie (mu = 0) have no majority to protect and are skipped; the
condition above is checked on every other pattern. ``margin`` = min_u A(u) - (2b + 1), so
``perfect`` <=> margin >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from election.errors import CodeError

from .matrix import as_binary_matrix

MAX_EXHAUSTIVE_N = 25  # 2^24 patterns; n = 21 takes about a second
CHUNK_BITS = 15  # patterns per chunk = 2^15 keeps each chunk's arrays near 10 MB


@dataclass(frozen=True)
class Counterexample:
    """A concrete attack that breaks the code: partition signs and the Byzantine workers."""

    signs: tuple[int, ...]  # u in {±1}^n
    byzantine: tuple[int, ...]  # worker ids; each sends -honest_majority
    honest_majority: int  # mu(u)
    output: int  # the master's (wrong) output under that attack

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "signs": list(self.signs),
            "byzantine": list(self.byzantine),
            "honest_majority": self.honest_majority,
            "output": self.output,
        }


@dataclass(frozen=True)
class Verification:
    perfect: bool
    margin: int  # min_u sum_j mu(u) E_j(u) - (2b + 1); >= 0 iff perfect
    b: int
    counterexample: Counterexample | None = None
    method: str = "exhaustive"

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "perfect": self.perfect,
            "margin": self.margin,
            "b": self.b,
            "method": self.method,
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_json_dict(),
        }


def check_b(b: int, n: int) -> None:
    if not 0 <= b <= n:
        raise CodeError(f"b={b} must satisfy 0 <= b <= n={n}")


def votes(matrix: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """E = sign(U G^T): (patterns, n) ±1 signs -> (patterns, n_workers) int8 ternary votes."""
    sums = signs.astype(np.float32) @ matrix.T.astype(np.float32)  # (patterns, n_workers)
    return np.sign(sums).astype(np.int8)


def counterexample_for(matrix: np.ndarray, signs: np.ndarray, b: int) -> Counterexample:
    """The worst attack on pattern ``signs``: the b most-agreeing workers send -mu."""
    mu = int(np.sign(signs.sum()))
    agree = mu * votes(matrix, signs[None, :])[0].astype(np.int64)  # (n_workers,)
    byzantine = np.argsort(-agree, kind="stable")[:b]
    sent = agree.copy()
    sent[byzantine] = -1
    return Counterexample(
        signs=tuple(int(s) for s in signs),
        byzantine=tuple(sorted(int(j) for j in byzantine)),
        honest_majority=mu,
        output=int(np.sign(mu * sent.sum())),
    )


def pattern_chunk(n: int, start: int, stop: int) -> np.ndarray:
    """Patterns start..stop-1 as ±1 rows; bit i of the index gives u_i, u_{n-1} = +1."""
    index = np.arange(start, stop, dtype=np.int64)[:, None]  # (chunk, 1)
    bits = (index >> np.arange(n - 1, dtype=np.int64)) & 1  # (chunk, n-1)
    signs = np.ones((stop - start, n), dtype=np.int8)  # (chunk, n) ±1
    signs[:, : n - 1] = 2 * bits - 1
    return signs


def verify(matrix: Any, b: int) -> Verification:
    """Exhaustively check A(u) >= 2b + 1 over all u in {±1}^n (half of them, by symmetry)."""
    g = as_binary_matrix(matrix)
    n = g.shape[0]
    check_b(b, n)
    if n > MAX_EXHAUSTIVE_N:
        raise CodeError(
            f"exhaustive verification needs n <= {MAX_EXHAUSTIVE_N} (got n={n}); "
            "use election.codes.blocks.verify_blocks for block-structured codes"
        )
    total = 1 << (n - 1)
    step = 1 << CHUNK_BITS
    best_value, best_signs = None, None
    for start in range(0, total, step):
        signs = pattern_chunk(n, start, min(total, start + step))  # (chunk, n) int8
        mu = np.sign(signs.sum(axis=1, dtype=np.int64))  # (chunk,)
        agree = (mu[:, None] * votes(g, signs)).sum(axis=1, dtype=np.int64)  # (chunk,)
        agree = np.where(mu == 0, np.iinfo(np.int64).max, agree)
        k = int(np.argmin(agree))
        if mu[k] != 0 and (best_value is None or agree[k] < best_value):
            best_value, best_signs = int(agree[k]), signs[k].copy()
    if best_value is None or best_signs is None:  # n = 2 with only tie patterns, say
        return Verification(perfect=True, margin=0, b=b)
    margin = best_value - (2 * b + 1)
    if margin >= 0:
        return Verification(perfect=True, margin=margin, b=b)
    return Verification(
        perfect=False, margin=margin, b=b, counterexample=counterexample_for(g, best_signs, b)
    )
