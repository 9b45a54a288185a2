"""Oracle tests: the bit-sliced packed majority against the naive unpacked sign(sum) reference.

Every test runs once per executor (the native C kernel and the numpy gate program) through
ELECTION_VOTE_EXECUTOR, which ``majority``'s default ``auto`` honours.
"""

from __future__ import annotations

import numpy as np
import pytest

from election.errors import VoteFormatError
from election.votes import (
    PackedVote,
    ZeroKind,
    local_majority,
    majority,
    majority_naive,
    majority_ternary,
    pack_ternary,
    unpack_ternary,
)
from election.votes.frame import decode_frame
from election.votes.packed import indices_to_mask


@pytest.fixture(autouse=True)
def _each_executor(executor: str) -> str:
    """Every test of this file runs under both executors (the shared ``executor`` fixture)."""
    return executor


LENGTHS = (1, 7, 8, 9, 63, 64, 65, 1001, 64 * 4096 * 2 + 67)


def random_signs(rng: np.random.Generator, n: int, d: int, zeros_frac: float) -> np.ndarray:
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, d))  # (n, d) int8
    signs[rng.random((n, d)) < zeros_frac] = 0
    return signs


def check_against_reference(signs: np.ndarray, votes: list[PackedVote | None]) -> PackedVote:
    present = np.array([s for s, v in zip(signs, votes, strict=True) if v is not None])
    expected = majority_ternary(present) if len(present) else np.zeros(signs.shape[1], np.int8)
    out = majority(votes, length=signs.shape[1])
    np.testing.assert_array_equal(unpack_ternary(out), expected)
    assert out == pack_ternary(expected)  # canonical zero encoding, clean padding
    return out


@pytest.mark.parametrize("n", range(1, 17))
@pytest.mark.parametrize("d", LENGTHS[:-1])
def test_dense_majority_matches_naive_reference_for_every_n_and_length(n: int, d: int) -> None:
    signs = random_signs(np.random.default_rng(1000 * n + d), n, d, 0.0)
    out = check_against_reference(signs, [pack_ternary(s) for s in signs])
    if n % 2:
        assert out.zero_kind == ZeroKind.NONE  # no ties with an odd number of dense votes


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 15, 16])
@pytest.mark.parametrize("zeros_frac", [0.002, 0.1, 0.5, 0.95])
@pytest.mark.parametrize("d", LENGTHS)
def test_ternary_majority_matches_reference_with_zeros_and_ties(
    n: int, zeros_frac: float, d: int
) -> None:
    signs = random_signs(np.random.default_rng(n + d), n, d, zeros_frac)
    check_against_reference(signs, [pack_ternary(s) for s in signs])


def test_even_split_gives_zero() -> None:
    signs = np.array([[1, -1, 1, 0], [-1, 1, 1, 0]], dtype=np.int8)
    assert unpack_ternary(majority([pack_ternary(s) for s in signs])).tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize("d", [1, 9, 65, 1001])
def test_all_zero_votes_give_an_all_zero_result(d: int) -> None:
    zeros = np.zeros((3, d), dtype=np.int8)
    out = check_against_reference(zeros, [pack_ternary(s) for s in zeros])
    assert out.zero_count == d


@pytest.mark.parametrize("n", [2, 5, 9, 16])
def test_abstentions_contribute_zero_everywhere(n: int) -> None:
    rng = np.random.default_rng(n)
    signs = random_signs(rng, n, 1001, 0.1)
    votes: list[PackedVote | None] = [pack_ternary(s) for s in signs]
    for j in rng.choice(n, size=n // 2, replace=False):
        votes[j] = None
    check_against_reference(signs, votes)


def test_all_abstentions_give_zeros_when_length_is_given_and_fail_otherwise() -> None:
    assert majority([None, None], length=70).zero_count == 70
    with pytest.raises(VoteFormatError, match="abstained"):
        majority([None, None])


def test_mixed_zero_encodings_are_combined_correctly() -> None:
    rng = np.random.default_rng(7)
    d = 8 * 400
    dense = random_signs(rng, 1, d, 0.0)[0]
    sparse = random_signs(rng, 1, d, 0.01)[0]  # INDICES
    heavy = random_signs(rng, 1, d, 0.4)[0]  # MASK
    votes = [pack_ternary(s) for s in (dense, sparse, heavy, sparse, dense)]
    assert [v.zero_kind for v in votes[:3]] == [ZeroKind.NONE, ZeroKind.INDICES, ZeroKind.MASK]
    check_against_reference(np.stack([dense, sparse, heavy, sparse, dense]), list(votes))


@pytest.mark.parametrize("n", [5, 9, 15])
@pytest.mark.parametrize("attack", ["negate", "all_ones", "all_minus", "random"])
def test_byzantine_votes_are_aggregated_exactly_like_the_reference(n: int, attack: str) -> None:
    rng = np.random.default_rng(n)
    d = 1001
    signs = random_signs(rng, n, d, 0.05)
    b = (n - 1) // 2
    for j in rng.choice(n, size=b, replace=False):
        signs[j] = {
            "negate": -signs[j],
            "all_ones": np.ones(d, np.int8),
            "all_minus": -np.ones(d, np.int8),
            "random": random_signs(rng, 1, d, 0.0)[0],
        }[attack]
    check_against_reference(signs, [pack_ternary(s) for s in signs])


def test_randomized_sweep_matches_the_unpack_and_sum_oracle() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(60):
        n, d = int(rng.integers(1, 20)), int(rng.integers(1, 3000))
        signs = random_signs(rng, n, d, float(rng.choice([0.0, 0.001, 0.05, 0.5])))
        votes: list[PackedVote | None] = [
            None if rng.random() < 0.15 else pack_ternary(s) for s in signs
        ]
        if all(v is None for v in votes):
            votes[0] = pack_ternary(signs[0])
        assert majority(votes) == majority_naive(votes)


def test_votes_decoded_from_frames_aggregate_like_the_originals() -> None:
    signs = random_signs(np.random.default_rng(3), 7, 777, 0.02)
    votes = [pack_ternary(s) for s in signs]
    decoded: list[PackedVote | None] = [decode_frame(v.to_bytes()) for v in votes]
    assert majority(decoded) == majority(list(votes))


def test_majority_does_not_modify_its_inputs() -> None:
    signs = random_signs(np.random.default_rng(4), 6, 70_000, 0.3)
    votes = [pack_ternary(s) for s in signs]
    majority(list(votes))
    for s, v in zip(signs, votes, strict=True):
        np.testing.assert_array_equal(unpack_ternary(v), s)


def test_different_lengths_are_rejected() -> None:
    a, b = pack_ternary(np.ones(9, np.int8)), pack_ternary(np.ones(10, np.int8))
    with pytest.raises(VoteFormatError, match="same length"):
        majority([a, b])
    with pytest.raises(VoteFormatError, match="same length"):
        majority([a], length=10)
    with pytest.raises(VoteFormatError, match="at least one"):
        majority([])


def test_local_majority_is_the_sign_of_the_partition_sum() -> None:
    u = np.array([[1, 1, -1, 0, 1], [1, -1, -1, 0, -1], [-1, 0, -1, 0, 0]], dtype=np.int8)
    assert local_majority(u).tolist() == [1, 0, -1, 0, 0]
    assert local_majority(u[:2]).tolist() == [1, 0, -1, 0, 0]
    with pytest.raises(VoteFormatError):
        local_majority(np.full((2, 3), 2, np.int8))


def test_indices_to_mask_sets_exactly_the_listed_bits() -> None:
    idx = np.array([0, 3, 7, 8, 63, 64, 99])
    mask = indices_to_mask(idx, 100)
    bits = np.unpackbits(mask, bitorder="little")
    assert np.flatnonzero(bits).tolist() == idx.tolist()
