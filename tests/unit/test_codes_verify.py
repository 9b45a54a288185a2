"""The exhaustive verifier against a naive per-pattern, per-Byzantine-set, per-message oracle."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from election.codes import make_code, verify
from election.codes.blocks import verify_blocks
from election.codes.construct import construct_code
from election.errors import CodeError


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def naive_perfect(matrix: np.ndarray, b: int) -> bool:
    """Try every u, every b-subset and every ternary message of the Byzantine workers."""
    n = matrix.shape[0]
    supports = [np.flatnonzero(row) for row in matrix]
    for u in itertools.product((-1, 1), repeat=n):
        mu = sign(sum(u))
        if mu == 0:
            continue
        honest = [sign(sum(u[i] for i in s)) for s in supports]
        for byz in itertools.combinations(range(n), b):
            rest = sum(e for j, e in enumerate(honest) if j not in byz)
            for msg in itertools.product((-1, 0, 1), repeat=b):
                if sign(rest + sum(msg)) != mu:
                    return False
    return True


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7])
def test_verifier_matches_naive_oracle_on_random_matrices(n: int) -> None:
    rng = np.random.default_rng(n)
    for trial in range(12):
        p = rng.uniform(0.3, 0.95)
        g = (rng.random((n, n)) < p).astype(np.uint8)
        g[g.sum(axis=1) == 0, trial % n] = 1
        for b in range(0, min(2, n) + 1):
            assert verify(g, b).perfect == naive_perfect(g, b), (g, b)


def test_counterexample_really_breaks_the_code() -> None:
    g = np.eye(5, dtype=np.uint8)
    result = verify(g, 1)
    ce = result.counterexample
    assert not result.perfect and ce is not None
    signs = np.array(ce.signs)
    honest = np.sign(g.astype(int) @ signs)
    honest[list(ce.byzantine)] = -ce.honest_majority
    assert ce.honest_majority == np.sign(signs.sum())
    assert np.sign(honest.sum()) == ce.output != ce.honest_majority


def test_uncoded_has_the_known_counterexample_and_margin() -> None:
    result = verify(np.eye(7, dtype=np.uint8), 1)
    assert not result.perfect and result.margin == 1 - 3
    assert result.counterexample is not None and len(result.counterexample.byzantine) == 1
    assert (
        result.to_json_dict()["counterexample"]["output"] != result.counterexample.honest_majority
    )


def test_paper_code_for_five_workers_is_perfect_with_zero_margin() -> None:
    g = np.array([[1, 0, 0, 0, 0], [0, 1, 1, 1, 0]] + [[1] * 5] * 3)
    result = verify(g, 1)
    assert result.perfect and result.margin == 0 and result.counterexample is None
    assert not verify(g, 2).perfect


def test_even_n_skips_ties_and_matches_oracle() -> None:
    g = np.ones((4, 4), dtype=np.uint8)
    assert verify(g, 1).perfect == naive_perfect(g, 1)


def test_verify_rejects_b_out_of_range() -> None:
    with pytest.raises(CodeError, match="b=9"):
        verify(np.eye(3), 9)


@pytest.mark.parametrize("n", [7, 9, 11, 13, 15])
def test_block_counting_agrees_with_exhaustive_verifier(n: int) -> None:
    for b in (1, 2, (n - 1) // 2):
        built = construct_code(n, b, max_blocks=3)
        exact = verify(built.matrix, b)
        counted = verify_blocks(built.matrix, built.blocks, b)
        assert exact.perfect and counted.perfect and exact.margin == counted.margin
        broken = built.matrix.copy()
        broken[0] = 0
        broken[0, 0] = 1  # a singleton: still block/linear structured only if blocks allow it
        blocks = [[i] for i in range(n)]
        assert verify(broken, b).margin == verify_blocks(broken, blocks, b).margin


def test_block_counting_rejects_rows_that_break_the_block_structure() -> None:
    g = make_code("uncoded", n=5).matrix.copy()
    g[0, :3] = 1
    with pytest.raises(CodeError, match="neither a union"):
        verify_blocks(g, [[0, 1], [2, 3, 4]], 1)
