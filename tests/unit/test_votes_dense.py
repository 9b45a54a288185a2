"""The native kernel's dense specialisation against a naive numpy oracle.

m dense votes (every input a sign plane of weight 1: no abstention, zero plane or mask) take
kernels of their own in election/votes/_planes.c, one per m = 1 .. DENSE_MAX with m (and, for
the plain majority, k = floor(m/2)) a compile-time constant; every other call takes the general
kernels. These tests hit that path for every m up to DENSE_MAX and one past it (the general
kernel again), at lengths that are neither a multiple of 64 bits nor of the kernel's step
(8 words): the planes are ceil(d/8) bytes, so the kernel reads a partial last word. The outputs
are pre-filled with garbage (a word the kernel skipped shows up), even m have ties (zero plane =
N == m/2), and the dense quorum decoder is the band k_lo <= N <= k_hi of quorum_band_form. The
oracle unpacks every bit and counts in int64, which the kernel must never do.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from election.votes import majority, pack_ternary, unpack_ternary
from election.votes.circuit import quorum_band_form
from election.votes.majority import NATIVE_AVAILABLE

if NATIVE_AVAILABLE:
    from election.votes import _planes  # type: ignore[attr-defined]

needs_native = pytest.mark.skipif(
    not NATIVE_AVAILABLE and os.environ.get("ELECTION_REQUIRE_NATIVE") != "1",
    reason="native vote kernel not built (no C compiler at install time)",
)

DENSE_MAX = 32  # _planes.DENSE_MAX; checked below, so that a change there shows here
# coordinates: inside one word, across the step (8 words = 512), across the byte-count flush
# (120 words = 7680); none a multiple of 8 either, so the last byte is partial too
LENGTHS = (37, 517, 7_691)
GARBAGE = np.uint64(0xA5A5_5A5A_F00F_0FF0)  # no all-0 or all-1 word: skipped words show


def _signs(rng: np.random.Generator, m: int, d: int, tie_frac: float) -> np.ndarray:
    """(m, d) int8 +-1 votes; at even m a tie_frac share of the coordinates split exactly."""
    signs = (1 - 2 * rng.integers(0, 2, size=(m, d))).astype(np.int8)  # (m, d) int8
    if m % 2 == 0 and tie_frac > 0:
        tied = rng.random(d) < tie_frac  # (d,) bool
        half = np.array([1] * (m // 2) + [-1] * (m // 2), dtype=np.int8)  # (m,) int8
        for j in np.flatnonzero(tied):
            signs[:, j] = rng.permutation(half)
    return signs


def _sign_plane(row: np.ndarray) -> np.ndarray:
    """The sign plane of one (d,) int8 vote: bit j set iff row[j] < 0; (ceil(d/8),) uint8."""
    return np.packbits(row < 0, bitorder="little")


def _words(bits: np.ndarray, n_words: int) -> np.ndarray:
    """(d,) bool -> (n_words,) uint64, padding bits 0."""
    out = np.zeros(8 * n_words, dtype=np.uint8)
    packed = np.packbits(bits, bitorder="little")
    out[: packed.size] = packed
    return out.view(np.uint64)


def _negatives(signs: np.ndarray, n_words: int) -> np.ndarray:
    """N per coordinate, padded to 64 n_words coordinates with 0: (64 n_words,) int64."""
    n = np.zeros(64 * n_words, dtype=np.int64)
    n[: signs.shape[1]] = (signs < 0).sum(axis=0)
    return n


def _popcount(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum(dtype=np.int64))


@needs_native
def test_the_module_reports_the_dense_range() -> None:
    assert _planes.DENSE_MAX == DENSE_MAX


@needs_native
@pytest.mark.parametrize("d", LENGTHS)
@pytest.mark.parametrize("m", range(1, DENSE_MAX + 2))
def test_dense_threshold_is_the_majority_of_the_sign_planes(m: int, d: int) -> None:
    rng = np.random.default_rng(100 * m + d)
    signs = _signs(rng, m, d, tie_frac=0.3)
    n_words = (d + 63) // 64
    planes = [_sign_plane(row) for row in signs]  # m x (ceil(d/8),) uint8, last word partial
    big_n = _negatives(signs, n_words)
    k = m // 2
    neg = np.full(n_words, GARBAGE, np.uint64)
    zero = np.full(n_words, GARBAGE, np.uint64) if m % 2 == 0 else None
    count = _planes.threshold(planes, bytes(m), k, neg, zero, n_words)
    np.testing.assert_array_equal(neg, _words(big_n > k, n_words))
    if zero is None:
        assert count == 0
    else:  # the ties; padding coordinates (N = 0) are ties only at m = 0, never here
        want_zero = _words(big_n == k, n_words)
        np.testing.assert_array_equal(zero, want_zero)
        assert count == _popcount(want_zero)
        assert count == int(((signs < 0).sum(axis=0) == k).sum())


@needs_native
@pytest.mark.parametrize("m", range(1, DENSE_MAX + 2, 2))
def test_dense_threshold_at_odd_m_with_a_zero_plane_asked_for(m: int) -> None:
    """At odd m the dense kernel writes no zero plane; a caller asking for N == k still gets it."""
    d = 517
    rng = np.random.default_rng(7 * m)
    signs = _signs(rng, m, d, tie_frac=0.0)
    n_words = (d + 63) // 64
    big_n = _negatives(signs, n_words)
    neg, zero = np.full(n_words, GARBAGE, np.uint64), np.full(n_words, GARBAGE, np.uint64)
    planes = [_sign_plane(row) for row in signs]
    count = _planes.threshold(planes, bytes(m), m // 2, neg, zero, n_words)
    np.testing.assert_array_equal(neg, _words(big_n > m // 2, n_words))
    np.testing.assert_array_equal(zero, _words(big_n == m // 2, n_words))
    assert count == _popcount(zero)


@needs_native
@pytest.mark.parametrize("d", LENGTHS)
@pytest.mark.parametrize("m", range(1, DENSE_MAX + 2))
def test_dense_band_is_the_quorum_decoder(m: int, d: int) -> None:
    rng = np.random.default_rng(200 * m + d)
    signs = _signs(rng, m, d, tie_frac=0.3)
    n_words = (d + 63) // 64
    planes = [_sign_plane(row) for row in signs]
    big_n = _negatives(signs, n_words)
    for q in sorted({1, 2, (m + 1) // 2, m // 2 + 1, m}):
        form = quorum_band_form(m, q)
        assert form.k_lo is not None
        neg = np.full(n_words, GARBAGE, np.uint64)
        zero = np.full(n_words, GARBAGE, np.uint64)
        count = _planes.band(planes, bytes(m), form.k_lo, form.k, neg, zero, n_words)
        want_zero = _words((big_n >= form.k_lo) & (big_n <= form.k), n_words)
        np.testing.assert_array_equal(neg, _words(big_n > form.k, n_words))
        np.testing.assert_array_equal(zero, want_zero)
        assert count == _popcount(want_zero)


@needs_native
def test_dense_threshold_with_another_k_takes_the_general_kernel() -> None:
    """Thresholds other than floor(m/2) on m weight-1 planes still compare with their own k."""
    m, d = 9, 517
    rng = np.random.default_rng(3)
    signs = _signs(rng, m, d, tie_frac=0.0)
    n_words = (d + 63) // 64
    planes = [_sign_plane(row) for row in signs]
    big_n = _negatives(signs, n_words)
    for k in range(m + 1):
        neg, zero = np.full(n_words, GARBAGE, np.uint64), np.full(n_words, GARBAGE, np.uint64)
        _planes.threshold(planes, bytes(m), k, neg, zero, n_words)
        np.testing.assert_array_equal(neg, _words(big_n > k, n_words))
        np.testing.assert_array_equal(zero, _words(big_n == k, n_words))


def _naive_majority(signs: np.ndarray, quorum: int | None) -> np.ndarray:
    """sign(sum) per coordinate; 0 where under quorum votes carry the winning sign: (d,) int8."""
    pos, neg = (signs > 0).sum(axis=0), (signs < 0).sum(axis=0)  # (d,) int64 each
    out = np.sign(pos - neg).astype(np.int8)
    if quorum is not None:
        out[((out > 0) & (pos < quorum)) | ((out < 0) & (neg < quorum))] = 0
    return out


@pytest.mark.parametrize("m", [*range(1, 18), DENSE_MAX, DENSE_MAX + 1])
def test_majority_of_dense_votes_against_the_naive_count(executor: str, m: int) -> None:
    """majority() on m dense votes, plain and quorum, under both executors."""
    d = 7_691
    signs = _signs(np.random.default_rng(m), m, d, tie_frac=0.3)
    votes = [pack_ternary(row) for row in signs]
    got = unpack_ternary(majority(votes, executor=executor))  # (d,) int8
    np.testing.assert_array_equal(got, _naive_majority(signs, None))
    if m % 2 == 0:
        assert (got == 0).any()  # the ties came through as 0
    for q in sorted({1, m // 2 + 1, m}):
        got = unpack_ternary(majority(votes, executor=executor, quorum=q))
        np.testing.assert_array_equal(got, _naive_majority(signs, q))
