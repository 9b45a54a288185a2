"""Sign-native attacks (issue 15): margin-targeted, stochastic flip, mimic, label flipping,
optimal colluding (plain and quorum decoder). Registered by name in :mod:`election.attacks`;
the mobile adversary is :func:`election.attacks.byzantine_set`.

Attacks with ``needs_round = True`` read :class:`RoundView` from ``AttackContext.round``.
"""

from __future__ import annotations

from collections.abc import Callable

from election.attacks import Attack
from election.sign_attacks.colluding import OptimalColluding, decode_counts, optimal_messages
from election.sign_attacks.context import RoundView
from election.sign_attacks.simple import (
    LabelFlip,
    MarginTargeted,
    Mimic,
    StochasticFlip,
    flip_labels,
    poisoned_dataset,
)

FACTORIES: dict[str, Callable[[], Attack]] = {
    "margin": MarginTargeted,
    "stochastic": StochasticFlip,
    "mimic": Mimic,
    "label-flip": LabelFlip,
    "collude": OptimalColluding,
    "collude-quorum": lambda: OptimalColluding(decoder="quorum"),
}

__all__ = [
    "FACTORIES",
    "LabelFlip",
    "MarginTargeted",
    "Mimic",
    "OptimalColluding",
    "RoundView",
    "StochasticFlip",
    "decode_counts",
    "flip_labels",
    "optimal_messages",
    "poisoned_dataset",
]
