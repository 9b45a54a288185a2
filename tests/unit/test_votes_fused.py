"""The fused native kernel's extras against numpy oracles: its zero-bit count, partial last words,
outputs written in full, and the bandwidth yardstick ``stream_read``.

Every entry point (threshold, band, quorum) returns the number of set bits it wrote to the zero
output (election/votes/_planes.c), which majority.py uses instead of counting the plane again;
the count is checked against numpy's popcount of the plane the kernel wrote, at lengths around
the kernel's step (8 words) and its byte-counter flush (15 steps = 120 words). The outputs are
pre-filled with garbage, so a word the kernel skipped shows up as a mismatch; majority() itself
is run with an ``np.empty`` that returns garbage, so its result may not depend on what a fresh
allocation happens to hold.
"""

from __future__ import annotations

import importlib
import os
import types

import numpy as np
import pytest

from election.votes import PackedVote, majority, majority_naive, pack_ternary
from election.votes.circuit import ThresholdForm, quorum_band_form
from election.votes.majority import NATIVE_AVAILABLE
from tests.unit.test_votes_kernel import oracle, random_case
from tests.unit.test_votes_quorum import quorum_oracle, random_quorum_case

majority_module = importlib.import_module("election.votes.majority")  # the module, not the fn

if NATIVE_AVAILABLE:
    from election.votes import _planes  # type: ignore[attr-defined]

needs_native = pytest.mark.skipif(
    not NATIVE_AVAILABLE and os.environ.get("ELECTION_REQUIRE_NATIVE") != "1",
    reason="native vote kernel not built (no C compiler at install time)",
)

# around the step (8 words), the byte-counter flush (120 words) and several flushes
N_WORDS = (1, 7, 8, 9, 16, 119, 120, 121, 241, 1000)
GARBAGE = np.uint64(0xA5A5_5A5A_F00F_0FF0)  # no all-0 or all-1 word: skipped words show


def _popcount(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum(dtype=np.int64))


def _outputs(n_words: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n_words, GARBAGE, np.uint64), np.full(n_words, GARBAGE, np.uint64)


@needs_native
@pytest.mark.parametrize("n_words", N_WORDS)
@pytest.mark.parametrize("seed", range(6))
def test_threshold_and_band_return_the_zero_planes_popcount(n_words: int, seed: int) -> None:
    planes, form = random_case(np.random.default_rng(1000 * seed + n_words), n_words)
    neg, zero = _outputs(n_words)
    count = _planes.threshold(planes, bytes(form.shifts), form.k, neg, zero, n_words)
    want_neg, want_zero = oracle(planes, form)
    np.testing.assert_array_equal(neg, want_neg)
    np.testing.assert_array_equal(zero, want_zero)
    assert count == _popcount(want_zero)
    neg[:] = GARBAGE
    assert _planes.threshold(planes, bytes(form.shifts), form.k, neg, None, n_words) == 0
    np.testing.assert_array_equal(neg, want_neg)
    # a band [k_lo, k] on the same sums
    k_lo = max(0, form.k - 2)
    total = sum(
        np.unpackbits(p.view(np.uint8), bitorder="little").astype(np.int64) << s
        for p, s in zip(planes, form.shifts, strict=True)
    )
    neg, zero = _outputs(n_words)
    count = _planes.band(planes, bytes(form.shifts), k_lo, form.k, neg, zero, n_words)
    band_zero = np.packbits((total >= k_lo) & (total <= form.k), bitorder="little").view(np.uint64)
    np.testing.assert_array_equal(neg, want_neg)
    np.testing.assert_array_equal(zero, band_zero)
    assert count == _popcount(band_zero)


@needs_native
@pytest.mark.parametrize("n_words", N_WORDS)
@pytest.mark.parametrize("seed", range(6))
def test_quorum_returns_the_zero_planes_popcount(n_words: int, seed: int) -> None:
    planes, form = random_quorum_case(np.random.default_rng(2000 * seed + n_words), n_words)
    neg, zero = _outputs(n_words)
    count = _planes.quorum(
        planes, bytes(form.shifts), bytes(form.groups), form.m, form.q, neg, zero, n_words
    )
    want_neg, want_zero = quorum_oracle(planes, form)
    np.testing.assert_array_equal(neg, want_neg)
    np.testing.assert_array_equal(zero, want_zero)
    assert count == _popcount(want_zero)


@needs_native
@pytest.mark.parametrize("n_words", [1, 8, 9, 121])
@pytest.mark.parametrize("short", range(1, 8))
def test_inputs_may_end_inside_their_last_word(n_words: int, short: int) -> None:
    """An input of 8 * n_words - short bytes reads as if zero-padded to whole words."""
    rng = np.random.default_rng(31 * n_words + short)
    planes, form = random_case(rng, n_words)
    padded = []
    for p in planes:
        q = p.copy()
        q.view(np.uint8)[8 * n_words - short :] = 0
        padded.append(q)
    cut = [p.view(np.uint8)[: 8 * n_words - short] for p in planes]  # (8W - short,) uint8
    neg, zero = _outputs(n_words)
    count = _planes.threshold(cut, bytes(form.shifts), form.k, neg, zero, n_words)
    want_neg, want_zero = oracle(padded, form)
    np.testing.assert_array_equal(neg, want_neg)
    np.testing.assert_array_equal(zero, want_zero)
    assert count == _popcount(want_zero)
    with pytest.raises(ValueError, match="shorter"):
        _planes.threshold(
            [p.view(np.uint8)[: 8 * n_words - 8] for p in planes],
            bytes(form.shifts),
            form.k,
            neg,
            zero,
            n_words,
        )


@needs_native
def test_sixteen_bit_counter_and_the_tree_limit_agree_with_the_oracle() -> None:
    """Counters just below and above the carry-save trees' width (8 bits) and the widest one."""
    rng = np.random.default_rng(12)
    for n_in, shift in ((127, 1), (128, 1), (255, 0), (256, 0), (40_000, 0)):
        planes = [rng.integers(0, 2**63, size=9, dtype=np.uint64) for _ in range(n_in)]
        total = n_in << shift
        for k in (total // 2, total - 1):
            form = ThresholdForm(shifts=(shift,) * n_in, k=k, writes_zero=True)
            neg, zero = _outputs(9)
            count = _planes.threshold(planes, bytes(form.shifts), k, neg, zero, 9)
            want_neg, want_zero = oracle(planes, form)
            np.testing.assert_array_equal(neg, want_neg)
            np.testing.assert_array_equal(zero, want_zero)
            assert count == _popcount(want_zero)


class _GarbageNumpy(types.SimpleNamespace):
    """numpy, except that ``empty`` hands out arrays full of garbage bits."""

    def __getattr__(self, name: str) -> object:
        return getattr(np, name)

    @staticmethod
    def empty(shape: object, dtype: object = float, **kw: object) -> np.ndarray:
        out = np.empty(shape, dtype=dtype, **kw)  # type: ignore[call-overload]
        out.view(np.uint8)[...] = 0xA5
        return out


def _votes(rng: np.random.Generator, n: int, d: int, zeros: float) -> list[PackedVote | None]:
    votes: list[PackedVote | None] = []
    for _ in range(n):
        signs = np.where(rng.random(d) < 0.5, -1, 1).astype(np.int8)
        signs[rng.random(d) < zeros] = 0
        votes.append(pack_ternary(signs))
    return votes


@pytest.mark.parametrize("executor", ["native", "numpy"])
@pytest.mark.parametrize("d", [1, 63, 64, 65, 511, 512, 7689, 64 * 121 + 3])
def test_majority_never_reads_an_unwritten_output_word(
    executor: str, d: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain rule (odd and even n: with and without a zero plane), band and quorum decoder."""
    if executor == "native" and not NATIVE_AVAILABLE:
        pytest.skip("native vote kernel not built")
    monkeypatch.setattr(majority_module, "np", _GarbageNumpy())
    rng = np.random.default_rng(d)
    for n, zeros in ((5, 0.0), (6, 0.0), (5, 0.3), (4, 0.002), (15, 0.0)):
        votes = _votes(rng, n, d, zeros)
        for q in (None, 1, 2, 3):
            got = majority(votes, executor=executor, quorum=q)  # type: ignore[arg-type]
            assert got == majority_naive(votes, quorum=q), (n, zeros, q)


@needs_native
def test_band_form_of_the_quorum_decoder_counts_its_zeros() -> None:
    """Dense votes under a quorum: the band's zero count picks the result's zero encoding."""
    rng = np.random.default_rng(3)
    votes = _votes(rng, 7, 10_007, 0.0)
    for q in (1, 4, 5, 7):
        form = quorum_band_form(7, q)
        got = majority(votes, executor="native", quorum=q)
        want = majority_naive(votes, quorum=q)
        assert got == want and got.zero_kind == want.zero_kind, (q, form)


@needs_native
@pytest.mark.parametrize("sizes", [[0], [7], [8, 8, 8], [1000, 3, 17, 4096 + 5], [64 * 9] * 15])
def test_stream_read_returns_the_xor_of_every_whole_word(sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    bufs = [rng.integers(0, 256, size=s, dtype=np.uint8) for s in sizes]
    want = np.uint64(0)
    for b in bufs:
        want ^= np.bitwise_xor.reduce(b[: b.size // 8 * 8].view(np.uint64), initial=np.uint64(0))
    assert _planes.stream_read(bufs, False) == int(want)
    if len(set(sizes)) == 1:
        assert _planes.stream_read(bufs, True) == int(want)
    else:
        with pytest.raises(ValueError, match="equal length"):
            _planes.stream_read(bufs, True)
    assert _planes.isa() in {"avx2", "sse2", "avx512f", "generic"}


@pytest.mark.parametrize("d", [1, 8, 63, 64, 65, 100, 1000, 4097])
@pytest.mark.parametrize("density", [0.0, 0.001, 0.02, 0.5])
def test_result_discounts_zero_bits_the_kernel_counted_past_d(d: int, density: float) -> None:
    """The kernel's count covers whole words; set padding bits past d must not count as zeros."""
    rng = np.random.default_rng(d)
    n_words = (d + 63) // 64
    out_zero = np.packbits(rng.random(64 * n_words) < density, bitorder="little").view(np.uint64)
    out_zero[-1] |= ~np.uint64(0) << np.uint64(d - 64 * (n_words - 1)) if d % 64 else np.uint64(0)
    out_neg = rng.integers(0, 2**63, size=n_words, dtype=np.uint64) & ~out_zero  # disjoint
    kernel_count = _popcount(out_zero)  # padding bits included, as the kernel counts
    got = majority_module._result(d, out_neg.copy(), out_zero.copy(), True, kernel_count)
    want = majority_module._result(d, out_neg.copy(), out_zero.copy(), True, None)
    assert got == want
    assert got.zero_count == _popcount(out_zero) - (64 * n_words - d if d % 64 else 0)
