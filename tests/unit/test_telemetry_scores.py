"""Robustness telemetry and disagreement scores against naive unpacked references."""

from __future__ import annotations

import numpy as np
import pytest

from election.accusation.scores import EXPECTATION_FLOOR, ScoreTracker, disagreement, normalised
from election.telemetry import robustness_telemetry, telemetry_from_sample
from election.votes import pack_ternary
from election.votes.sample import draw_windows, sample_votes


def random_votes(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    common = rng.choice([-1, 1], size=d)
    votes = np.where(rng.random((n, d)) < 0.3, -common, common)
    votes[:, rng.random(d) < 0.05] = 0  # dead coordinates: every vote 0
    votes[rng.random((n, d)) < 0.1] = 0
    return votes.astype(np.int8)


@pytest.mark.parametrize("b", [0, 1, 3])
def test_exact_telemetry_equals_the_naive_count(b: int) -> None:
    n, d = 7, 4_001
    values = random_votes(n, d, seed=b)
    votes: list = [pack_ternary(v) for v in values]
    votes[2] = None
    present = np.array([v is not None for v in votes])
    t = robustness_telemetry(votes, b=b, windows=1, window_bytes=10**6)
    assert t.exact and t.coords == d and t.n_present == n - 1
    s = values[present].astype(int).sum(axis=0)
    m = np.abs(s)
    nonzero = (values[present] != 0).any(axis=0)
    assert t.margin_hist == tuple(np.bincount(m, minlength=n + 1))
    assert t.dead_share == pytest.approx((~nonzero).mean())
    assert t.tie_share == pytest.approx(((s == 0) & nonzero).mean())
    assert t.movable_share == pytest.approx((m <= 2 * b).mean() if b else 0.0)
    assert t.reversible_share == pytest.approx(((m > 0) & (m < 2 * b)).mean())
    assert t.movable_estimate == round(t.movable_share * d)
    assert t.to_json_dict()["margin_hist"] == list(t.margin_hist)


def test_movable_means_b_changed_votes_can_change_the_output() -> None:
    """Definition check by brute force: change any b votes at one coordinate."""
    n, b = 5, 2
    rng = np.random.default_rng(0)
    for _ in range(200):
        col = rng.integers(-1, 2, size=n)
        out = np.sign(col.sum())
        reachable = set()
        for who in np.array(np.meshgrid(*[range(n)] * b)).T.reshape(-1, b):
            for new in np.array(np.meshgrid(*[[-1, 0, 1]] * b)).T.reshape(-1, b):
                changed = col.copy()
                changed[who] = new
                reachable.add(int(np.sign(changed.sum())))
        t = robustness_telemetry(
            [pack_ternary(np.array([v], dtype=np.int8)) for v in col],
            b=b,
            windows=1,
            window_bytes=1,
        )
        assert (t.movable_share == 1.0) == (reachable != {out})
        assert (t.reversible_share == 1.0) == (out != 0 and -out in reachable)


def test_sampled_telemetry_matches_the_sampled_columns() -> None:
    values = random_votes(5, 80_000, seed=9)
    votes = [pack_ternary(v) for v in values]
    rng = np.random.default_rng(1)
    at = draw_windows(80_000, 8, 16, rng)
    sample = sample_votes(votes, at)
    t = telemetry_from_sample(sample, b=1)
    cols = values[:, sample.coords].astype(int)
    assert not t.exact and t.coords == 8 * 16 * 8
    assert t.margin_hist == tuple(np.bincount(np.abs(cols.sum(axis=0)), minlength=6))


def test_disagreement_and_weighted_scores_follow_their_formulas() -> None:
    values = random_votes(4, 3_000, seed=4)
    out = np.sign(values.astype(int).sum(axis=0)).astype(np.int8)
    votes: list = [pack_ternary(v) for v in values]
    votes[1] = None
    at = draw_windows(3_000, 1, 10**6, np.random.default_rng(0))
    d = disagreement(sample_votes(votes, at), sample_votes([pack_ternary(out)], at))
    want = (values != out).mean(axis=1)
    assert np.isnan(d[1]) and np.allclose(np.delete(d, 1), np.delete(want, 1))
    expected = np.array([0.5, 0.0, 0.2, np.nan])
    r = normalised(d, expected)
    assert r[0] == pytest.approx(d[0] / 0.5) and r[3] == pytest.approx(d[3])
    assert r[2] == pytest.approx(d[2] / 0.2)
    tracker = ScoreTracker(4, decay=0.9)
    first = tracker.update(np.array([1.0, np.nan, 2.0, 0.5]))
    assert np.isnan(first[1]) and first[0] == 1.0
    second = tracker.update(np.array([3.0, 4.0, np.nan, 0.5]))
    assert second[0] == pytest.approx(0.9 * 1.0 + 0.1 * 3.0)
    assert second[1] == 4.0 and second[2] == 2.0  # first sight; carried over while absent
    assert EXPECTATION_FLOOR > 0
    with pytest.raises(ValueError):
        ScoreTracker(2, decay=1.0)
