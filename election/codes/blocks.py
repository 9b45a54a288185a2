"""Exact verification of block-structured codes by counting +1s per block (no 2^n loop).

Split the partitions into blocks B_1..B_g (sizes n_t) and let p_t be the number of +1 entries of u
in B_t, d_t = 2 p_t - n_t. Two kinds of rows have votes that depend on u only through p:
- a union of blocks T: E = sign(sum_{t in T} d_t);
- a row with |S| <= 2 is *linear*: E = u_i for S = {i}, and E = (u_a + u_b)/2 for S = {a, b}
  (the sum is -2, 0 or 2). If the linear rows give every partition of a block the same total
  weight w_t (a singleton adds 1, a pair adds 1/2 to each end), they add sum_t w_t d_t.
So A(u) = sum_j mu E_j is a function of the count vector p, and checking A >= 2b + 1 over all
prod_t (n_t + 1) count vectors is exactly the exhaustive check of :mod:`election.codes.verify`
(same margin, same counting argument). Used for 23 <= n <= 31 where 2^(n-1) patterns are slow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from election.errors import CodeError

from .matrix import as_binary_matrix
from .verify import Verification, check_b, counterexample_for


def check_blocks(blocks: Sequence[Sequence[int]], n: int) -> list[list[int]]:
    flat = sorted(int(i) for block in blocks for i in block)
    if flat != list(range(n)) or any(len(block) == 0 for block in blocks):
        raise CodeError(f"blocks {blocks!r} must partition range({n}) into non-empty blocks")
    return [sorted(int(i) for i in block) for block in blocks]


def block_structure(g: np.ndarray, blocks: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(union rows over blocks (k, n_blocks) int64, doubled linear weight per block (n_blocks,))."""
    n = g.shape[0]
    block_of = np.empty(n, dtype=np.int64)
    for t, block in enumerate(blocks):
        block_of[block] = t
    unions: list[np.ndarray] = []
    weight2 = np.zeros(n, dtype=np.int64)  # doubled linear weight per partition
    for j, row in enumerate(g):
        support = np.flatnonzero(row)
        hit = np.zeros(len(blocks), dtype=np.int64)
        hit[np.unique(block_of[support])] = 1
        covered = sum(len(blocks[t]) for t in np.flatnonzero(hit))
        if covered == support.size:
            unions.append(hit)
        elif support.size <= 2:
            weight2[support] += 2 // support.size
        else:
            raise CodeError(f"row {j} is neither a union of blocks nor a row of size <= 2")
    per_block = np.zeros(len(blocks), dtype=np.int64)
    for t, block in enumerate(blocks):
        if np.unique(weight2[block]).size != 1:
            raise CodeError(f"linear rows give block {t} unequal weights {weight2[block].tolist()}")
        per_block[t] = weight2[block[0]]
    union_rows = np.array(unions, dtype=np.int64).reshape(-1, len(blocks))
    return union_rows, per_block


def count_vectors(sizes: Sequence[int]) -> np.ndarray:
    """Every p with 0 <= p_t <= n_t, as rows."""
    grids = np.meshgrid(*[np.arange(s + 1) for s in sizes], indexing="ij")
    return np.stack([grid.ravel() for grid in grids], axis=1).astype(np.int64)  # (P, g)


def verify_blocks(matrix: Any, blocks: Sequence[Sequence[int]], b: int) -> Verification:
    """Exact perfect-tolerance check of a block-structured code; see the module docstring."""
    g = as_binary_matrix(matrix)
    n = g.shape[0]
    check_b(b, n)
    parts = check_blocks(blocks, n)
    sizes = np.array([len(block) for block in parts], dtype=np.int64)
    union_rows, weight2 = block_structure(g, parts)
    counts = count_vectors(sizes.tolist())  # (P, g)
    d = 2 * counts - sizes  # (P, g): sum of u over each block
    mu = np.sign(d.sum(axis=1))  # (P,)
    union_votes = np.sign(d @ union_rows.T).sum(axis=1)  # (P,)
    linear2 = d @ weight2  # (P,) doubled linear contribution
    agree2 = mu * (2 * union_votes + linear2)
    agree2 = np.where(mu == 0, np.iinfo(np.int64).max, agree2)
    k = int(np.argmin(agree2))
    if mu[k] == 0:
        return Verification(perfect=True, margin=0, b=b, method="block-count")
    margin = int(agree2[k]) // 2 - (2 * b + 1)
    if margin >= 0:
        return Verification(perfect=True, margin=margin, b=b, method="block-count")
    signs = -np.ones(n, dtype=np.int8)
    for t, block in enumerate(parts):
        signs[block[: counts[k, t]]] = 1
    return Verification(
        perfect=False,
        margin=margin,
        b=b,
        method="block-count",
        counterexample=counterexample_for(g, signs, b),
    )
