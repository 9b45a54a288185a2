"""One call per round: proofs, suspects, scores and telemetry from the round's packed votes.

The master hands :meth:`Accuser.observe` the round's votes (None = abstention) and its decoded
output; one seeded sample of coordinates (:mod:`election.votes.sample`) feeds the proofs
(:mod:`election.accusation.proofs`), the scores (:mod:`election.accusation.scores`) and the
robustness telemetry (:mod:`election.telemetry`). The cost is fixed per round (it does not
grow with d); measured against the packed majority at n = 15, d = 11,173,962 by ``python -m
bench.accusation`` (BENCHMARKS.md: 0.10-0.16 of the majority's time for the shipped codes, above
the 10 % target). Proofs are per round (a mobile adversary may change its set
between rounds); ``ever_proven`` collects every worker proven in some round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from election.accusation.proofs import Accusation, Prover
from election.accusation.scores import SCORE_DECAY, ScoreTracker, disagreement, normalised
from election.accusation.table import build_table
from election.errors import ConfigError
from election.seeds import ACCUSATION_STREAM
from election.telemetry import RobustnessTelemetry, telemetry_from_sample
from election.votes.packed import PackedVote
from election.votes.sample import VoteSample, draw_windows, sample_votes

DEFAULT_WINDOWS = 4  # byte windows sampled per round (sized by `python -m bench.accusation`)
DEFAULT_WINDOW_BYTES = 32  # bytes per window: 4 x 32 x 8 = 1,024 coordinates per round


def _split_last(both: VoteSample) -> tuple[VoteSample, VoteSample]:
    """(the first n rows, the last row) of a sample as two samples."""

    def rows(at: slice) -> VoteSample:
        return VoteSample(
            length=both.length,
            coords=both.coords,
            neg=both.neg[at],
            zero=both.zero[at],
            present=both.present[at],
        )

    return rows(slice(0, -1)), rows(slice(-1, None))


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(x) else round(float(x), 6) for x in values]


@dataclass(frozen=True)
class RoundEvidence:
    """Everything :meth:`Accuser.observe` learned in one round."""

    step: int
    accusation: Accusation
    telemetry: RobustnessTelemetry
    disagreement: np.ndarray  # (n,) float64 D_jt (NaN: absent)
    ratio: np.ndarray  # (n,) float64 r_jt
    score: np.ndarray  # (n,) float64 s_jt (exponentially weighted)
    newly_proven: tuple[int, ...] = field(default=())  # proven now and in no earlier round

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "accusation": self.accusation.to_json_dict(),
            "telemetry": self.telemetry.to_json_dict(),
            "disagreement": _floats(self.disagreement),
            "ratio": _floats(self.ratio),
            "score": _floats(self.score),
            "newly_proven": list(self.newly_proven),
        }


class Accuser:
    """Per-run state: the code's pattern table, the removal-set cache and the scores."""

    def __init__(
        self,
        matrix: np.ndarray,
        *,
        b: int,
        seed: int = 0,
        windows: int = DEFAULT_WINDOWS,
        window_bytes: int = DEFAULT_WINDOW_BYTES,
        decay: float = SCORE_DECAY,
    ) -> None:
        if windows < 1 or window_bytes < 1:
            raise ConfigError(
                f"accusation needs >= 1 window of >= 1 byte, got {windows} x {window_bytes}"
            )
        self.table = build_table(matrix)
        self.prover = Prover(self.table, b=b)
        self.scores = ScoreTracker(self.table.n, decay=decay)
        self.seed = seed
        self.windows = windows
        self.window_bytes = window_bytes
        self.ever_proven: set[int] = set()

    def observe(
        self, step: int, votes: Sequence[PackedVote | None], decoded: PackedVote
    ) -> RoundEvidence:
        """The round's evidence; ``decoded`` is the master's output for these votes."""
        if len(votes) != self.table.n:
            raise ConfigError(f"accusation: {len(votes)} vote slots, code has n={self.table.n}")
        rng = np.random.default_rng([self.seed, ACCUSATION_STREAM, step])
        at = draw_windows(decoded.length, self.windows, self.window_bytes, rng)
        both = sample_votes([*votes, decoded], at)  # one pass: the votes, then the output
        sample, output = _split_last(both)
        verdict = self.prover.accuse(sample)
        d = disagreement(sample, output)
        ratio = normalised(d, self.table.expected)
        new = tuple(j for j in verdict.proven if j not in self.ever_proven)
        self.ever_proven.update(verdict.proven)
        return RoundEvidence(
            step=step,
            accusation=verdict,
            telemetry=telemetry_from_sample(sample, b=self.prover.b),
            disagreement=d,
            ratio=ratio,
            score=self.scores.update(ratio),
            newly_proven=new,
        )
