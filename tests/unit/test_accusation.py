"""Accusation: the pattern table against brute force, proofs sound and complete exhaustively."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from election.accusation import Accuser, Prover, build_table
from election.accusation import table as table_mod
from election.accusation.proofs import EARLY_PATTERNS, sample_keys
from election.accusation.table import decode, encode
from election.codes.registry import make_code
from election.votes import pack_ternary
from election.votes.sample import VoteSample, Windows, draw_windows, sample_votes

SMALL_CODES = {
    "rep3": np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]]),
    "ring4": np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]]),
    "dup4": np.array([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 1, 1]]),
    "zerocol4": np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 1]]),
    "det5b1": np.asarray(make_code("deterministic", n=5, b=1).matrix),
    "uncoded4": np.eye(4, dtype=np.uint8),
}


def brute_patterns(g: np.ndarray) -> set[tuple[int, ...]]:
    """Every sign(G u) for u in {-1, 0, +1}^n, by direct enumeration."""
    us = np.array(list(itertools.product((-1, 0, 1), repeat=g.shape[1])))  # (3^n, n)
    return {tuple(r) for r in np.sign(us @ g.T.astype(int)).tolist()}


def oracle(g: np.ndarray, votes: np.ndarray, present: tuple[bool, ...], b: int) -> dict:
    """Definition-level accusation: every set L of present workers, every coordinate, every u."""
    achievable = brute_patterns(g)
    n = g.shape[0]
    workers = [j for j in range(n) if present[j]]
    explaining = []
    for size in range(len(workers) + 1):
        for combo in itertools.combinations(workers, size):
            keep = [j for j in workers if j not in combo]
            if all(
                any(all(a[j] == votes[j, k] for j in keep) for a in achievable)
                for k in range(votes.shape[1])
            ):
                explaining.append(set(combo))
    min_liars = min(len(s) for s in explaining)
    within = [s for s in explaining if len(s) <= b]
    proven = set.intersection(*within) if within else set()
    suspects = sorted(tuple(sorted(s)) for s in explaining if len(s) == min_liars)
    return {"min_liars": min_liars, "holds": bool(within), "proven": proven, "suspects": suspects}


def make_sample(values: np.ndarray, present: tuple[bool, ...]) -> VoteSample:
    """A VoteSample of (n, k) ternary values (absent rows are zeroed)."""
    pres = np.array(present, dtype=bool)
    vals = values * pres[:, None]
    return VoteSample(
        length=values.shape[1],
        coords=np.arange(values.shape[1]),
        neg=(vals < 0).astype(np.uint8),
        zero=((vals == 0) & pres[:, None]).astype(np.uint8),
        present=pres,
    )


@pytest.mark.parametrize("name", sorted(SMALL_CODES))
def test_table_equals_brute_force_enumeration(name: str) -> None:
    g = SMALL_CODES[name]
    table = build_table(g)
    assert table.exact
    got = {tuple(r) for r in decode(table.keys, g.shape[0]).tolist()}
    assert got == brute_patterns(g)
    assert np.array_equal(encode(decode(table.keys, g.shape[0])), table.keys)


def test_relaxed_table_contains_the_exact_one(monkeypatch: pytest.MonkeyPatch) -> None:
    g = SMALL_CODES["zerocol4"]  # rows u0+u1, u1+u3, u0+u3 cannot vote (+, +, -)
    exact = set(build_table(g).keys.tolist())
    monkeypatch.setattr(table_mod, "MAX_COMBINATIONS", 1)
    table_mod._build_cached.cache_clear()
    relaxed = table_mod.build_table(g)
    table_mod._build_cached.cache_clear()
    assert not relaxed.exact
    assert exact < set(relaxed.keys.tolist())  # strictly weaker, never missing a pattern


@pytest.mark.parametrize("name", ["ring4", "dup4", "det5b1"])
def test_expected_disagreement_matches_enumeration(name: str) -> None:
    g = SMALL_CODES[name].astype(int)
    us = np.array(list(itertools.product((-1, 1), repeat=g.shape[1])))  # (2^n, n)
    votes = np.sign(us @ g.T)  # (2^n, n)
    out = np.sign(votes.sum(axis=1))
    expected = (votes != out[:, None]).mean(axis=0)
    assert np.allclose(build_table(g).expected, expected)


@pytest.mark.parametrize("name", ["rep3", "ring4", "dup4", "zerocol4", "det5b1", "uncoded4"])
@pytest.mark.parametrize("b", [1, 2])
def test_single_coordinate_proofs_equal_the_definition_exhaustively(name: str, b: int) -> None:
    """Every pattern (and one absent worker): proofs, min_liars, suspects equal the oracle."""
    g = SMALL_CODES[name]
    n = g.shape[0]
    prover = Prover(build_table(g), b=b)
    presents = [(True,) * n, tuple(j != 1 for j in range(n))]
    for present in presents:
        for pattern in itertools.product((-1, 0, 1), repeat=n):
            votes = np.array(pattern, dtype=np.int8)[:, None]
            got = prover.accuse(make_sample(votes, present))
            want = oracle(g, votes * np.array(present)[:, None], present, b)
            assert got.min_liars == want["min_liars"], pattern
            assert got.assumption_holds == want["holds"]
            assert set(got.proven) == want["proven"], (pattern, present)
            assert sorted(got.suspects) == want["suspects"]


@pytest.mark.parametrize("name", ["ring4", "dup4", "det5b1"])
def test_no_world_with_at_most_b_liars_gets_an_honest_worker_proven(name: str) -> None:
    """Soundness by worlds: every u, every Byzantine set |B| <= b, every lie they tell."""
    g = SMALL_CODES[name].astype(int)
    n, b = g.shape[0], 2
    prover = Prover(build_table(g), b=b)
    verdicts: dict[tuple[int, ...], set[int]] = {}
    for u in itertools.product((-1, 0, 1), repeat=n):
        honest = np.sign(g @ np.array(u))
        for size in range(b + 1):
            for byz in itertools.combinations(range(n), size):
                for lie in itertools.product((-1, 0, 1), repeat=size):
                    votes = honest.copy()
                    votes[list(byz)] = lie
                    key = tuple(votes.tolist())
                    if key not in verdicts:
                        sample = make_sample(votes[:, None].astype(np.int8), (True,) * n)
                        verdicts[key] = set(prover.accuse(sample).proven)
                    assert verdicts[key] <= set(byz), (u, byz, lie)


@pytest.mark.parametrize("seed", range(6))
def test_multi_coordinate_rounds_equal_the_definition(seed: int) -> None:
    """Random rounds of 3 coordinates with random and adversarial liars vs the oracle."""
    rng = np.random.default_rng(seed)
    name = ["ring4", "dup4", "det5b1"][seed % 3]
    g = SMALL_CODES[name].astype(int)
    n, b = g.shape[0], 1 + seed % 2
    u = rng.integers(-1, 2, size=(n, 3))
    votes = np.sign(g @ u).astype(np.int8)  # (n, 3)
    byz = rng.choice(n, size=b, replace=False)
    votes[byz] = -votes[byz] if seed % 2 else rng.integers(-1, 2, size=(b, 3))
    present = (True,) * n
    got = Prover(build_table(g), b=b).accuse(make_sample(votes, present))
    want = oracle(g, votes, present, b)
    assert set(got.proven) == want["proven"] and set(got.proven) <= set(byz.tolist())
    assert got.min_liars == want["min_liars"]


def test_relaxed_table_stays_sound(monkeypatch: pytest.MonkeyPatch) -> None:
    g = SMALL_CODES["dup4"].astype(int)
    monkeypatch.setattr(table_mod, "MAX_COMBINATIONS", 1)
    table_mod._build_cached.cache_clear()
    prover = Prover(table_mod.build_table(g), b=1)
    table_mod._build_cached.cache_clear()
    for u in itertools.product((-1, 0, 1), repeat=4):
        honest = np.sign(g @ np.array(u))
        for j, lie in itertools.product(range(4), (-1, 0, 1)):
            votes = honest.copy()
            votes[j] = lie
            verdict = prover.accuse(make_sample(votes[:, None].astype(np.int8), (True,) * 4))
            assert set(verdict.proven) <= {j}


def packed_round(
    g: np.ndarray, d: int, byz: list[int], attack: str, seed: int
) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(seed)
    # correlated partition signs, as real gradients: a common direction, flipped per partition
    common = rng.choice([-1, 1], size=d)
    flips = rng.random((g.shape[1], d)) < 0.2
    u = np.where(flips, -common, common) * (rng.random((g.shape[1], d)) > 0.02)
    votes = np.sign(g.astype(int) @ u).astype(np.int8)  # (n, d)
    for j in byz:
        votes[j] = {"reverse": -votes[j], "directional": np.ones(d, np.int8)}.get(
            attack, rng.integers(-1, 2, size=d).astype(np.int8)
        )
    return [pack_ternary(v) for v in votes], votes


@pytest.mark.parametrize("attack", ["reverse", "directional", "random"])
def test_accuser_proves_only_attackers_on_packed_votes(attack: str) -> None:
    g = np.asarray(make_code("deterministic", n=9, b=2).matrix)
    byz = [0, 7]
    packed, values = packed_round(g, 50_003, byz, attack, seed=1)
    accuser = Accuser(g, b=2, seed=3, windows=4, window_bytes=32)
    decoded = pack_ternary(np.sign(values.sum(axis=0)).astype(np.int8))
    evidence = accuser.observe(0, packed, decoded)
    verdict = evidence.accusation
    assert set(verdict.proven) <= set(byz)
    assert verdict.proven, "both attackers' rows are replicated: the votes must convict"
    assert evidence.newly_proven == verdict.proven
    honest = [j for j in range(9) if j not in byz]
    assert np.nanmax(evidence.score[byz]) > np.nanmax(evidence.score[honest])
    again = accuser.observe(1, packed, decoded)
    assert again.newly_proven == ()  # already proven in round 0


def test_honest_round_proves_nothing_and_abstentions_are_not_lies() -> None:
    g = np.asarray(make_code("deterministic", n=9, b=2).matrix)
    packed, values = packed_round(g, 20_000, [], "none", seed=2)
    packed[4] = None
    decoded = pack_ternary(np.sign(values.sum(axis=0)).astype(np.int8))
    evidence = Accuser(g, b=2, windows=1, window_bytes=2_500).observe(0, packed, decoded)
    assert evidence.accusation.inconsistent == 0 and evidence.accusation.min_liars == 0
    assert evidence.accusation.proven == ()
    assert np.isnan(evidence.disagreement[4]) and np.isnan(evidence.score[4])


def test_sampled_bits_equal_the_unpacked_votes_for_every_zero_encoding() -> None:
    rng = np.random.default_rng(5)
    d = 10_003
    dense = rng.choice([-1, 1], size=d).astype(np.int8)
    masky = dense.copy()
    masky[rng.random(d) < 0.3] = 0
    sparse = dense.copy()
    sparse[rng.choice(d, size=40, replace=False)] = 0
    sparse[d - 1] = 0  # a zero in the padded last byte
    votes = [pack_ternary(v) for v in (dense, masky, sparse)]
    assert [v.zero_kind.name for v in votes] == ["NONE", "MASK", "INDICES"]
    whole = draw_windows(d, 2, 700, rng)  # 1,400 bytes cover the 1,251-byte vote: all of it
    assert whole == Windows(starts=(0,), width=(d + 7) // 8)
    sample = sample_votes([*votes, None], whole)
    assert np.array_equal(sample.coords, np.arange(d))
    expected = np.stack([dense, masky, sparse, np.zeros(d, np.int8)])
    assert np.array_equal(sample.values(), expected)
    for width in (1, 7, 64):
        part = draw_windows(d, 3, width, rng)
        sub = sample_votes(votes, part)
        assert sub.k == 3 * 8 * width or part.starts[-1] + width == (d + 7) // 8
        assert np.array_equal(sub.values(), expected[:3][:, sub.coords])
    tail = sample_votes(votes, Windows(starts=((d + 7) // 8 - 2,), width=2))
    assert tail.coords[-1] == d - 1 and np.array_equal(tail.values(), expected[:3][:, tail.coords])


@pytest.mark.parametrize("seed", range(3))
def test_many_coordinate_rounds_equal_the_definition(seed: int) -> None:
    """200 coordinates: the staged checks (a spread of patterns first, then all) stay exact."""
    rng = np.random.default_rng(100 + seed)
    g = SMALL_CODES["det5b1"].astype(int)
    u = rng.integers(-1, 2, size=(5, 200))
    votes = np.sign(g @ u).astype(np.int8)
    liars = rng.choice(5, size=2, replace=False)
    votes[liars] = rng.integers(-1, 2, size=(2, 200))
    present = (True,) * 5
    prover = Prover(build_table(g), b=2)
    sample = make_sample(votes, present)
    bad, _ = prover.inconsistent_patterns(sample_keys(sample), 0b11111)
    assert bad.size >= 2 * EARLY_PATTERNS  # enough distinct patterns for a staged check
    got = prover.accuse(sample)
    want = oracle(g, votes, present, 2)
    assert set(got.proven) == want["proven"] and got.min_liars == want["min_liars"]
    assert sorted(got.suspects) == want["suspects"]
