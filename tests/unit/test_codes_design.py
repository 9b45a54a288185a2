"""Exact optimum, lower bounds, the construction and every shipped code."""

from __future__ import annotations

import numpy as np
import pytest

from election.codes import make_code, minimum_redundancy_code, verify
from election.codes.blocks import verify_blocks
from election.codes.bounds import knapsack_lower_bound, lower_bound_ones, lp_lower_bound
from election.codes.construct import baseline_ones, construct_code
from election.codes.store import SHIPPED_NS, shipped_entry, shipped_matrix
from election.errors import CodeError

KNOWN_OPTIMUM = {(3, 1): 9, (5, 1): 19, (5, 2): 25, (7, 1): 27, (7, 2): 41, (7, 3): 49}


def test_five_workers_one_byzantine_needs_redundancy_3_8() -> None:
    result = minimum_redundancy_code(5, 1)
    assert result.optimal and result.ones == 19 and result.redundancy == pytest.approx(3.8)
    assert result.code is not None and verify(result.code.matrix, 1).perfect


@pytest.mark.parametrize("n,b", sorted(KNOWN_OPTIMUM))
def test_exact_ilp_proves_optimum_up_to_seven_workers(n: int, b: int) -> None:
    result = minimum_redundancy_code(n, b)
    assert result.optimal and result.ones == KNOWN_OPTIMUM[(n, b)] == result.lower_bound
    assert result.code is not None and verify(result.code.matrix, b).perfect
    assert not verify(result.code.matrix, b + 1).perfect if 2 * b + 3 <= n else True


@pytest.mark.slow
@pytest.mark.parametrize("b,ones", [(1, 41), (2, 53), (3, 71)])
def test_exact_ilp_proves_optimum_for_nine_workers(b: int, ones: int) -> None:
    result = minimum_redundancy_code(9, b)
    assert result.optimal and result.ones == ones


@pytest.mark.slow
def test_eleven_workers_best_code_and_bound_are_consistent() -> None:
    result = minimum_redundancy_code(11, 1, time_limit=60)
    assert result.code is not None and result.ones is not None
    assert verify(result.code.matrix, 1).perfect
    assert (
        37 <= result.lower_bound <= result.ones and result.gap == result.ones - result.lower_bound
    )


def test_lp_bound_is_two_b_plus_one_and_knapsack_is_no_weaker() -> None:
    for n in (5, 9, 15, 31):
        for b in range((n + 1) // 2):
            assert lp_lower_bound(n, b) == (2 * b + 1) * n
            assert knapsack_lower_bound(n, b) >= (2 * b + 1) * n


def test_lower_bound_never_exceeds_a_proven_optimum() -> None:
    for (n, b), ones in KNOWN_OPTIMUM.items():
        assert lower_bound_ones(n, b) <= ones


def test_construction_beats_the_baseline_for_small_b() -> None:
    for n in (11, 13, 15):
        built = construct_code(n, 1, max_blocks=3)
        assert built.ones < baseline_ones(n, 1)
        assert verify_blocks(built.matrix, built.blocks, 1).perfect


def test_every_shipped_code_up_to_fifteen_is_perfect_by_exhaustive_check() -> None:
    for n in (n for n in SHIPPED_NS if n <= 15):
        for b in range((n + 1) // 2):
            entry = shipped_entry(n, b)
            assert entry is not None, (n, b)
            g = shipped_matrix(entry)
            assert g.shape == (n, n) and int(g.sum()) == entry["ones"]
            assert verify(g, b).perfect, (n, b)
            assert entry["lower_bound_ones"] <= entry["ones"]


def test_every_shipped_code_above_fifteen_is_perfect_by_block_count() -> None:
    for n in (n for n in SHIPPED_NS if n > 15):
        for b in range((n + 1) // 2):
            entry = shipped_entry(n, b)
            assert entry is not None, (n, b)
            assert entry["ones"] <= baseline_ones(n, b)
            if entry["blocks"] is not None:
                assert verify_blocks(shipped_matrix(entry), entry["blocks"], b).perfect


def test_deterministic_registry_rejects_even_n_and_large_b() -> None:
    with pytest.raises(CodeError, match="odd"):
        make_code("deterministic", n=6, b=1)
    with pytest.raises(CodeError, match="2b\\+1"):
        make_code("deterministic", n=5, b=3)
    assert np.array_equal(make_code("deterministic", n=5, b=0).matrix, np.eye(5))
