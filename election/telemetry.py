"""Robustness telemetry of one round, from the votes alone (Sohn et al. 2020, Sec. 2).

At coordinate k the master sums the present votes, S_k = sum_j E_jk, and outputs sign(S_k);
the margin is |S_k|. A worker that changes its vote moves S_k by at most 2, and ceil(m/2)
workers voting with the output can bring a margin m to 0 or past it, so under the plain
majority decoder:

- b workers changing their votes can change the output at k  <=>  b >= 1 and |S_k| <= 2b
  (``movable``; the workers needed exist: at least m of them vote with the output);
- they can reverse it (output -sign(S_k))                   <=>  0 < |S_k| < 2b (``reversible``).

Also reported: the share of *dead* coordinates (every present vote 0) and of *ties* (S_k = 0 with
some vote nonzero). The figures are computed on a sample of coordinates
(:mod:`election.votes.sample`); a share p estimated from k coordinates has standard error about
sqrt(p (1 - p) / k), and ``exact`` is True when every coordinate was read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from election.seeds import TELEMETRY_STREAM
from election.votes.packed import PackedVote
from election.votes.sample import VoteSample, draw_windows, sample_votes

DEFAULT_WINDOWS = 16  # byte windows read per round
DEFAULT_WINDOW_BYTES = 32  # 16 x 32 x 8 = 4,096 coordinates: shares to about +-0.8 %


@dataclass(frozen=True)
class RobustnessTelemetry:
    """Margin histogram and the shares of the module docstring for one round."""

    length: int  # d
    coords: int  # coordinates read
    exact: bool  # every coordinate was read
    n_present: int  # votes that arrived
    b: int  # attackers assumed for movable / reversible
    margin_hist: tuple[int, ...]  # margin_hist[m] = #coordinates with |S| = m, m = 0..n
    dead_share: float  # every present vote 0
    tie_share: float  # S = 0 and some vote nonzero
    movable_share: float  # b >= 1 and |S| <= 2b
    reversible_share: float  # 0 < |S| < 2b

    @property
    def movable_estimate(self) -> int:
        """Coordinates of the whole vote that b workers could change: round(share * d)."""
        return round(self.movable_share * self.length)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "coords": self.coords,
            "exact": self.exact,
            "n_present": self.n_present,
            "b": self.b,
            "margin_hist": list(self.margin_hist),
            "dead_share": self.dead_share,
            "tie_share": self.tie_share,
            "movable_share": self.movable_share,
            "reversible_share": self.reversible_share,
            "movable_estimate": self.movable_estimate,
        }


def telemetry_from_sample(sample: VoteSample, *, b: int) -> RobustnessTelemetry:
    """The telemetry of the sampled coordinates (module docstring)."""
    present = sample.present[:, None]  # (n, 1) bool; absent rows are all 0 bits anyway
    n_neg = sample.neg.sum(axis=0, dtype=np.int16)  # (k,) votes -1
    n_zero = (sample.zero & present).sum(axis=0, dtype=np.int16)  # (k,) votes 0
    n_present = int(sample.present.sum())
    total = n_present - n_zero - 2 * n_neg  # (k,) S_k = #(+1) - #(-1)
    margin = np.abs(total)  # (k,) int16
    nonzero = n_zero < n_present  # (k,) bool: some present vote is nonzero
    k = max(sample.k, 1)
    movable = (margin <= 2 * b) if b >= 1 else np.zeros_like(nonzero)
    return RobustnessTelemetry(
        length=sample.length,
        coords=sample.k,
        exact=sample.k == sample.length,
        n_present=n_present,
        b=b,
        margin_hist=tuple(int(c) for c in np.bincount(margin, minlength=sample.n + 1)),
        dead_share=float((~nonzero).sum() / k),
        tie_share=float(((total == 0) & nonzero).sum() / k),
        movable_share=float(movable.sum() / k),
        reversible_share=float(((margin > 0) & (margin < 2 * b)).sum() / k),
    )


def robustness_telemetry(
    votes: Sequence[PackedVote | None],
    *,
    b: int,
    step: int = 0,
    seed: int = 0,
    windows: int = DEFAULT_WINDOWS,
    window_bytes: int = DEFAULT_WINDOW_BYTES,
) -> RobustnessTelemetry:
    """Read ``windows`` windows of the packed votes (seeded by seed and step) and report;
    ``windows * window_bytes >= ceil(d/8)`` reads every coordinate (exact)."""
    length = next(v.length for v in votes if v is not None)
    rng = np.random.default_rng([seed, TELEMETRY_STREAM, step])
    at = draw_windows(length, windows, window_bytes, rng)
    return telemetry_from_sample(sample_votes(votes, at), b=b)
