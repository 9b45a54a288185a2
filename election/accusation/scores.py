"""Per-worker disagreement scores (Sohn et al. 2020, Sec. 2-3 model of honest votes).

Round t, worker j, sampled coordinates K (:mod:`election.votes.sample`), decoded output o:

    D_jt = (1/|K|) sum_{k in K} [E_jk != o_k]                       (disagreement)
    r_jt = D_jt / max(p_j, EXPECTATION_FLOOR)                       (normalised)
    s_jt = SCORE_DECAY * s_j,t-1 + (1 - SCORE_DECAY) * r_jt          (exponentially weighted)

p_j is what an honest worker with row j is expected to show: P_u[E_j(u) != sign(sum_l E_l(u))]
for u uniform on {-1, +1}^n with every worker honest (computed exactly in
:func:`election.accusation.table.expected_disagreement`). An honest worker scores about 1 or
less (real gradients agree more than uniform signs); an attacker that opposes the output scores
about 1 / p_j. The floor keeps rows that never disagree under the model (e.g. a row holding
every partition of a perfect code) from dividing by zero. A worker absent in a round has no
D_jt; its weighted score is carried over unchanged. s_j starts at its first r_jt.
"""

from __future__ import annotations

import numpy as np

from election.votes.sample import VoteSample

SCORE_DECAY = 0.9  # lambda: a round's weight halves after log(0.5) / log(0.9) ~ 6.6 rounds
EXPECTATION_FLOOR = 0.05  # smallest p_j divided by (rows that the model says never disagree)


def disagreement(sample: VoteSample, decoded: VoteSample) -> np.ndarray:
    """D_jt for every worker: (n,) float64, NaN for absent workers."""
    differs = (sample.neg ^ decoded.neg[0]) | (sample.zero ^ decoded.zero[0])  # (n, k) uint8
    rate = np.count_nonzero(differs, axis=1) / max(sample.k, 1)
    return np.where(sample.present, rate, np.nan)


def normalised(disagree: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """r_jt = D_jt / max(p_j, EXPECTATION_FLOOR): (n,) float64 (NaN stays NaN)."""
    return disagree / np.maximum(np.nan_to_num(expected, nan=1.0), EXPECTATION_FLOOR)


class ScoreTracker:
    """The exponentially weighted score s_jt of the module docstring."""

    def __init__(self, n: int, *, decay: float = SCORE_DECAY) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"score decay {decay} must lie in [0, 1)")
        self.decay = decay
        self.scores = np.full(n, np.nan)  # (n,) float64, NaN until a worker is first seen

    def update(self, ratio: np.ndarray) -> np.ndarray:
        """Fold one round's r_jt in; returns a copy of s_t: (n,) float64."""
        seen = ~np.isnan(ratio)
        first = seen & np.isnan(self.scores)
        blended = self.decay * self.scores + (1.0 - self.decay) * ratio
        self.scores = np.where(first, ratio, np.where(seen, blended, self.scores))
        return self.scores.copy()
