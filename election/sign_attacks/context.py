"""The extended attack context: what an omniscient, colluding adversary sees in one round.

Today's :class:`election.attacks.AttackContext` gives an attack its own honest message and the
all-partition target. The sign-native attacks of :mod:`election.sign_attacks` need more: every
worker's honest message (margin-targeted, mimic, optimal colluding), the round's Byzantine set
and the code. For attacks with ``needs_round`` the round loop builds one :class:`RoundView` per
round (:mod:`election.training.round`: in one process from the shared partition signals, in a
worker node from every partition it computes itself) and hands each Byzantine worker
``view.for_worker(j)`` as ``AttackContext.round``; the views of one round share ``shared``, so
colluding workers of one process compute their joint message once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from election.errors import ConfigError


@dataclass(frozen=True, eq=False)
class RoundView:
    """One round as the omniscient adversary sees it."""

    step: int  # the round
    byzantine: tuple[int, ...]  # this round's Byzantine workers, sorted
    honest: torch.Tensor  # (n, d) every worker's honest message: int8 votes or float32
    matrix: np.ndarray  # (n, n_partitions) uint8, the code G
    b: int  # the run's b (the quorum decoder's default q = b + 1)
    worker: int = -1  # the Byzantine worker this view is handed to (-1: not yet)
    shared: dict[str, Any] = field(default_factory=dict, repr=False)  # per-round cache

    def for_worker(self, worker: int) -> RoundView:
        """The same round for Byzantine worker ``worker`` (the cache stays shared)."""
        if worker not in self.byzantine:
            raise ConfigError(f"worker {worker} is not Byzantine in round {self.step}")
        return dataclasses.replace(self, worker=worker)

    def votes(self, attack: str) -> torch.Tensor:
        """The honest messages as ternary votes, or a one-line error for float schemes."""
        if self.honest.is_floating_point():
            raise ConfigError(f"attack {attack!r} acts on sign votes; this scheme sends floats")
        return self.honest


def require_view(view: RoundView | None, attack: str) -> RoundView:
    """The round view, or a one-line error naming what the loop must supply."""
    if view is None:
        raise ConfigError(
            f"attack {attack!r} needs the round's honest messages (AttackContext.round); "
            "this round loop does not supply them"
        )
    if view.worker < 0:
        raise ConfigError(f"attack {attack!r}: RoundView.for_worker(j) was not called")
    return view
