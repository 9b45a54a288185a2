"""Accusation from redundancy: which workers a round's votes prove Byzantine, and scores.

See docs/accusation.md. :class:`Accuser` is the one per-round call; :mod:`.table` enumerates the
honest vote patterns of a code, :mod:`.proofs` turns a round's sampled votes into proofs and
minimal suspect sets, :mod:`.scores` the disagreement scores.
"""

from __future__ import annotations

from election.accusation.monitor import Accuser, RoundEvidence
from election.accusation.proofs import Accusation, Prover
from election.accusation.scores import SCORE_DECAY, ScoreTracker
from election.accusation.table import PatternTable, build_table

__all__ = [
    "SCORE_DECAY",
    "Accusation",
    "Accuser",
    "PatternTable",
    "Prover",
    "RoundEvidence",
    "ScoreTracker",
    "build_table",
]
