"""Large-n construction: minimum-redundancy codes within a block-structured family (odd n).

Split [n] into g consecutive blocks of sizes n_1 >= ... >= n_g (an integer partition of n).
Allowed rows, chosen by a small ILP (HiGHS) that is exact *within the family*:
- x_T copies of the union of blocks T (2^g - 1 choices; T = all blocks is the all-ones row);
- s_t copies of the identity on block t (n_t singleton rows, vote sum d_t);
- q_t copies of a perfect matching of block t, n_t even (n_t/2 pair rows, vote sum d_t / 2);
where p_t = #(+1 in block t) and d_t = 2 p_t - n_t (see :mod:`election.codes.blocks`).
Constraints: n workers in total and, for every count vector p with sum_t p_t = (n+1)/2
(patterns with more pluses are dominated, every row's vote being monotone in u),

    2 sum_T x_T sign(sum_{t in T} d_t) + 2 sum_t s_t d_t + sum_t q_t d_t >= 2 (2b + 1).

The search runs that ILP for every partition of n into at most ``max_blocks`` parts and keeps the
cheapest code. The family contains the paper-style baseline (2b+1 all-ones rows plus pairs
{i} / (n-2)-set, blocks (n-2, 1, 1)), the optimal n=7 code (blocks (6, 1), matching on the 6)
and the optimal n=9, b=2 code, so the result is never worse than the baseline. Every returned
code is re-checked with the exact block-count verifier.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from election.errors import CodeError

from .blocks import count_vectors, verify_blocks
from .bounds import check_odd


@dataclass(frozen=True, eq=False)
class BlockCode:
    matrix: np.ndarray  # (n, n) uint8
    blocks: tuple[tuple[int, ...], ...]
    ones: int


def integer_partitions(n: int, parts: int, largest: int | None = None) -> Iterator[tuple[int, ...]]:
    """Partitions of n into exactly ``parts`` non-increasing positive parts."""
    largest = n if largest is None else largest
    if parts == 1:
        if 1 <= n <= largest:
            yield (n,)
        return
    for first in range(min(n - parts + 1, largest), 0, -1):
        for rest in integer_partitions(n - first, parts - 1, first):
            yield (first, *rest)


def solve_family(sizes: tuple[int, ...], b: int) -> BlockCode | None:
    """Cheapest code whose rows are unions of blocks, block identities or block matchings."""
    n, g = sum(sizes), len(sizes)
    size = np.array(sizes, dtype=np.int64)
    subsets = np.array(
        [[(mask >> t) & 1 for t in range(g)] for mask in range(1, 1 << g)], dtype=np.int64
    )  # (2^g - 1, g)
    identity = [t for t in range(g) if sizes[t] >= 2]
    matching = [t for t in range(g) if sizes[t] % 2 == 0]
    counts = count_vectors(sizes)
    counts = counts[counts.sum(axis=1) == (n + 1) // 2]  # (P, g)
    d = 2 * counts - size  # (P, g)
    columns = [2 * np.sign(d @ subsets.T)]  # (P, 2^g - 1)
    columns += [2 * d[:, [t]] for t in identity] + [d[:, [t]] for t in matching]
    coeff = np.hstack(columns).astype(float)  # (P, n_vars)
    workers = np.concatenate([np.ones(len(subsets)), size[identity], size[matching] // 2])
    cost = np.concatenate([subsets @ size, size[identity], size[matching]]).astype(float)
    res = milp(
        cost,
        integrality=np.ones(cost.size),
        bounds=Bounds(0, n),
        constraints=[
            LinearConstraint(coeff, 2 * (2 * b + 1), np.inf),
            LinearConstraint(workers[None, :], n, n),
        ],
    )
    if res.x is None:
        return None
    x = np.rint(res.x).astype(int)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    blocks = tuple(tuple(range(s, s + k)) for s, k in zip(starts, sizes, strict=True))
    rows: list[np.ndarray] = []
    for mask, copies in zip(subsets, x[: len(subsets)], strict=True):
        row = np.zeros(n, dtype=np.uint8)
        for block_id in np.flatnonzero(mask):
            row[list(blocks[int(block_id)])] = 1
        rows += [row] * copies
    offset = len(subsets)
    for t, copies in zip(identity, x[offset : offset + len(identity)], strict=True):
        rows += [np.eye(n, dtype=np.uint8)[i] for i in blocks[t]] * copies
    offset += len(identity)
    for t, copies in zip(matching, x[offset:], strict=True):
        for _ in range(copies):
            for a in blocks[t][::2]:
                row = np.zeros(n, dtype=np.uint8)
                row[[a, a + 1]] = 1
                rows.append(row)
    matrix = np.array(rows, dtype=np.uint8)  # (n, n)
    return BlockCode(
        matrix[np.argsort(-matrix.sum(axis=1), kind="stable")], blocks, int(matrix.sum())
    )


def construct_code(n: int, b: int, *, max_blocks: int = 4, stop_at: int | None = None) -> BlockCode:
    """Search block partitions of n with up to ``max_blocks`` parts; stop early at ``stop_at``."""
    check_odd(n, b)
    best: BlockCode | None = None
    for parts in range(1, max_blocks + 1):
        for sizes in integer_partitions(n, parts):
            found = solve_family(sizes, b)
            if found is not None and (best is None or found.ones < best.ones):
                best = found
            if best is not None and stop_at is not None and best.ones <= stop_at:
                break
    if best is None:  # unreachable: all-ones rows (one block) are always feasible
        raise CodeError(f"no block code found for n={n}, b={b}")
    check = verify_blocks(best.matrix, best.blocks, b)
    if not check.perfect:
        raise CodeError(f"internal error: constructed code for n={n}, b={b} fails verification")
    return best


def baseline_ones(n: int, b: int) -> int:
    """Identity for b = 0; otherwise 2b+1 all-ones rows plus (n-2b-1)/2 pairs ({i}, an (n-2)-set
    avoiding i): each pair's votes sum to >= 0, so the code is perfect.
    ones = (2b+1) n + (n-2b-1)(n-1)/2."""
    check_odd(n, b)
    if b == 0:
        return n
    return (2 * b + 1) * n + (n - 2 * b - 1) * (n - 1) // 2
