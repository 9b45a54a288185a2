"""The quorum decoder on packed votes, both executors, against naive unpacked oracles.

out = s = sign(P - N) where at least q present votes equal s, else 0 (election/votes/decoders.py).
The oracles count +1 and -1 per coordinate in int64 after unpacking every vote: exactly what the
bit-sliced executors (the native C kernel and the numpy gate program) must never do.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from election.errors import ConfigError, VoteFormatError
from election.votes import (
    PackedVote,
    ZeroKind,
    majority,
    majority_naive,
    pack_ternary,
    quorum_ternary,
    resolve_quorum,
    unpack_ternary,
)
from election.votes.circuit import QuorumForm, compile_majority, quorum_band_form, run
from election.votes.majority import NATIVE_AVAILABLE

if NATIVE_AVAILABLE:
    from election.votes import _planes  # type: ignore[attr-defined]

LENGTHS = (1, 7, 8, 9, 63, 64, 65, 257, 1001, 64 * 4 * 3 + 5)


def naive_quorum(signs: list[np.ndarray | None], q: int) -> np.ndarray:
    """Per coordinate, by a Python-level count over the present rows: (d,) int8."""
    rows = [s for s in signs if s is not None]
    d = len(next(s for s in signs if s is not None)) if rows else 0
    out = np.zeros(d, dtype=np.int8)
    for k in range(d):
        pos = sum(1 for r in rows if r[k] == 1)
        neg = sum(1 for r in rows if r[k] == -1)
        if pos > neg and pos >= q:
            out[k] = 1
        elif neg > pos and neg >= q:
            out[k] = -1
    return out


def random_votes(
    rng: np.random.Generator, m: int, d: int
) -> tuple[list[np.ndarray | None], list[PackedVote | None]]:
    """m vote slots: dense, sparse (index lists), mask-encoded, all-zero, or abstaining."""
    signs: list[np.ndarray | None] = []
    for _ in range(m):
        kind = rng.choice(
            ["dense", "sparse", "half", "zero", "abstain"], p=[0.3, 0.25, 0.25, 0.1, 0.1]
        )
        if kind == "abstain":
            signs.append(None)
            continue
        s = rng.choice(np.array([-1, 1], np.int8), size=d)  # (d,) int8
        if kind == "sparse":
            s[rng.random(d) < 0.02] = 0
        elif kind == "half":
            s[rng.random(d) < 0.5] = 0
        elif kind == "zero":
            s[:] = 0
        signs.append(s)
    return signs, [None if s is None else pack_ternary(s) for s in signs]


@pytest.mark.parametrize("d", LENGTHS)
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 9, 15])
def test_quorum_matches_the_naive_count_for_every_q(executor: str, m: int, d: int) -> None:
    rng = np.random.default_rng(1000 * m + d)
    signs, votes = random_votes(rng, m, d)
    if all(v is None for v in votes):
        signs[0], votes[0] = np.zeros(d, np.int8), pack_ternary(np.zeros(d, np.int8))
    for q in range(1, m + 2):  # q = m + 1: more than there are votes, so all zero
        want = (
            naive_quorum(signs, q)
            if d <= 257
            else quorum_ternary(np.array([s for s in signs if s is not None]), q)
        )
        got = majority(votes, quorum=q)
        np.testing.assert_array_equal(unpack_ternary(got), want)
        assert got == pack_ternary(want)  # canonical encoding, clean padding
        assert got == majority_naive(votes, quorum=q)


@pytest.mark.parametrize("d", [8, 65, 1001])
@pytest.mark.parametrize("m", [1, 2, 5, 6, 15])
def test_dense_votes_take_the_band_and_agree_with_the_oracle(executor: str, m: int, d: int) -> None:
    rng = np.random.default_rng(m + d)
    signs = rng.choice(np.array([-1, 1], np.int8), size=(m, d))  # (m, d) int8, no zeros
    votes = [pack_ternary(s) for s in signs]
    assert all(v.zero_kind == ZeroKind.NONE for v in votes)
    for q in range(1, m + 2):
        np.testing.assert_array_equal(
            unpack_ternary(majority(votes, quorum=q)), quorum_ternary(signs, q)
        )


def test_q1_is_the_plain_rule_and_ties_give_zero(executor: str) -> None:
    rng = np.random.default_rng(3)
    for m in (2, 4, 6, 7):
        signs, votes = random_votes(rng, m, 333)
        if all(v is None for v in votes):
            continue
        assert majority(votes, quorum=1) == majority(votes)
    tie = [pack_ternary(np.array(r, np.int8)) for r in ([1, -1, 0, 1], [-1, 1, 0, 1])]
    assert unpack_ternary(majority(tie, quorum=1)).tolist() == [0, 0, 0, 1]
    assert unpack_ternary(majority(tie, quorum=2)).tolist() == [0, 0, 0, 1]
    assert unpack_ternary(majority(tie, quorum=3)).tolist() == [0, 0, 0, 0]


def test_dead_coordinates_need_q_votes(executor: str) -> None:
    """b = 2 attackers voting +1 on an all-zero honest coordinate: plain moves it, q = 3 not."""
    d = 70
    honest = [pack_ternary(np.zeros(d, np.int8)) for _ in range(7)]
    attack = [pack_ternary(np.ones(d, np.int8))] * 2
    assert unpack_ternary(majority(honest + attack)).tolist() == [1] * d
    assert unpack_ternary(majority(honest + attack, quorum=3)).tolist() == [0] * d
    assert majority([None, None], length=d, quorum=1).zero_count == d


@pytest.mark.parametrize("n_sparse", [2, 3, 15, 16, 200, 256])  # 256: too many counter planes
def test_many_sparse_votes_use_the_counter_planes_and_agree(executor: str, n_sparse: int) -> None:
    rng = np.random.default_rng(n_sparse)
    d = 64 * 40 + 5
    signs = rng.choice(np.array([-1, 1], np.int8), size=(n_sparse + 3, d))  # (m, d) int8
    for row in signs[:n_sparse]:
        row[rng.choice(d, size=3, replace=False)] = 0
    signs[n_sparse, : d // 2] = 0
    votes = [pack_ternary(s) for s in signs]
    assert votes[0].zero_kind == ZeroKind.INDICES
    for q in (1, 2, n_sparse // 2 + 1, n_sparse + 3):
        assert majority(votes, quorum=q) == majority_naive(votes, quorum=q)


def test_bad_quorum_values_are_rejected() -> None:
    vote = pack_ternary(np.ones(3, np.int8))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(VoteFormatError, match="quorum"):
            majority([vote], quorum=bad)  # type: ignore[arg-type]
    assert resolve_quorum("plain", 0, 3) is None
    assert resolve_quorum("quorum", 0, 3) == 4
    assert resolve_quorum("quorum", 2, 3) == 2
    with pytest.raises(ConfigError, match="decoder"):
        resolve_quorum("median", 0, 1)
    with pytest.raises(ConfigError, match="quorum"):
        resolve_quorum("quorum", -1, 1)


# --- the executors' entry points directly, on random plane sets ---------------------------------


def _bits(plane: np.ndarray) -> np.ndarray:
    return np.unpackbits(plane.view(np.uint8), bitorder="little").astype(np.int64)  # (64 W,)


def _pack(b: np.ndarray) -> np.ndarray:
    return np.packbits(b, bitorder="little").view(np.uint64)


def quorum_oracle(planes: list[np.ndarray], form: QuorumForm) -> tuple[np.ndarray, np.ndarray]:
    n_count = sum(_bits(p) for p, g in zip(planes, form.groups, strict=True) if g == 0)
    z_count = sum(
        (_bits(p) << s for p, s, g in zip(planes, form.shifts, form.groups, strict=True) if g == 1),
        np.zeros(planes[0].size * 64, np.int64),
    )
    t, s = 2 * n_count + z_count, n_count + z_count
    neg = (t > form.m) & (n_count >= form.q)
    pos = (t < form.m) & (s <= form.m - form.q)
    return _pack(neg), _pack(~(neg | pos))


def random_quorum_case(
    rng: np.random.Generator, n_words: int
) -> tuple[list[np.ndarray], QuorumForm]:
    """Arbitrary planes (not necessarily valid votes: the circuit is a function of counts)."""
    n_sign = int(rng.integers(1, 10))
    n_zero = int(rng.integers(0, 6))
    shifts = (0,) * n_sign + tuple(int(s) for s in rng.integers(0, 3, size=n_zero))
    groups = (0,) * n_sign + (1,) * n_zero
    m = int(rng.integers(1, 2 * n_sign + 2))
    q = int(rng.integers(1, m + 1))
    density = float(rng.choice([0.05, 0.5, 0.95]))
    planes = [
        np.packbits(rng.random(64 * n_words) < density, bitorder="little").view(np.uint64)
        for _ in shifts
    ]
    return planes, QuorumForm(shifts=shifts, groups=groups, m=m, q=q)


@pytest.mark.parametrize("seed", range(30))
def test_numpy_quorum_program_matches_the_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    planes, form = random_quorum_case(rng, int(rng.integers(1, 7)))
    prog = compile_majority(form)
    w = planes[0].size
    neg, zero = np.empty(w, np.uint64), np.empty(w, np.uint64)
    run(prog, planes, neg, zero, [np.empty(w, np.uint64) for _ in range(prog.n_scratch)])
    want_neg, want_zero = quorum_oracle(planes, form)
    np.testing.assert_array_equal(neg, want_neg)
    np.testing.assert_array_equal(zero, want_zero)


@pytest.mark.skipif(not NATIVE_AVAILABLE, reason="native vote kernel not built")
@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("n_words", [1, 3, 4, 5, 13])
def test_native_quorum_and_band_match_the_oracles(seed: int, n_words: int) -> None:
    rng = np.random.default_rng(100 * seed + n_words)
    planes, form = random_quorum_case(rng, n_words)
    neg, zero = np.full(n_words, 7, np.uint64), np.full(n_words, 7, np.uint64)
    _planes.quorum(
        planes, bytes(form.shifts), bytes(form.groups), form.m, form.q, neg, zero, n_words
    )
    want_neg, want_zero = quorum_oracle(planes, form)
    np.testing.assert_array_equal(neg, want_neg)
    np.testing.assert_array_equal(zero, want_zero)
    # the band on the sign planes alone
    signs = planes[: form.groups.count(0)]
    band = quorum_band_form(len(signs), min(form.q, len(signs)))
    total = sum(_bits(p) for p in signs)
    _planes.band(signs, bytes(band.shifts), band.low, band.k, neg, zero, n_words)
    np.testing.assert_array_equal(neg, _pack(total > band.k))
    np.testing.assert_array_equal(zero, _pack((total >= band.low) & (total <= band.k)))


@pytest.mark.skipif(not NATIVE_AVAILABLE, reason="native vote kernel not built")
def test_native_quorum_rejects_bad_arguments() -> None:
    plane, out = np.zeros(4, np.uint64), np.empty(4, np.uint64)
    with pytest.raises(ValueError, match="1 <= q <= m"):
        _planes.quorum([plane], b"\0", b"\0", 1, 0, out, None, 4)
    with pytest.raises(ValueError, match="1 <= q <= m"):
        _planes.quorum([plane], b"\0", b"\0", 1, 2, out, None, 4)
    with pytest.raises(ValueError, match="group"):
        _planes.quorum([plane], b"\0", b"\2", 1, 1, out, None, 4)
    with pytest.raises(ValueError, match="shifts or groups"):
        _planes.quorum([plane], b"\0", b"", 1, 1, out, None, 4)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the SSE2 baseline is x86-64 only")
def test_baseline_sse2_build_runs_the_quorum_kernels(tmp_path: object) -> None:
    from pathlib import Path

    from tests.unit.test_votes_kernel import _build_baseline_kernel

    baseline = _build_baseline_kernel(Path(str(tmp_path)))
    rng = np.random.default_rng(41)
    for n_words in (1, 4, 5, 13, 64, 257):
        planes, form = random_quorum_case(rng, n_words)
        neg, zero = np.empty(n_words, np.uint64), np.empty(n_words, np.uint64)
        baseline.quorum(
            planes, bytes(form.shifts), bytes(form.groups), form.m, form.q, neg, zero, n_words
        )
        want_neg, want_zero = quorum_oracle(planes, form)
        np.testing.assert_array_equal(neg, want_neg)
        np.testing.assert_array_equal(zero, want_zero)
