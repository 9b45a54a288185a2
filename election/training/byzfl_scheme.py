"""``--scheme byzfl:NAME``: a ByzFL robust aggregator as the master's rule (a float baseline).

Each worker sends m_j = mean_{i in S_j} g_i, its partitions' mean float32 gradient (as the median
baseline does), and the master's update is ``AGG({m_j : j voted})`` with ByzFL's aggregator NAME,
f = b (:mod:`election.baselines.byzfl` lists them and their formulas; nothing is reimplemented).
Votes and updates are FLOAT32_LE on the wire: 32 d bits per worker per round against the packed
vote's d (or fewer). ``byzfl`` is imported when a node builds the scheme, not at config time.

Centered clipping keeps state (the previous round's output) in the aggregator: a master that
restarts from a checkpoint starts it from 0 again, so a resumed run differs from an
uninterrupted one for that aggregator only (docs/attacks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import torch

from election.baselines.byzfl import AGGREGATORS, ByzflAggregator
from election.errors import ConfigError
from election.training.schemes import BYZFL_PREFIX, GradientScheme, Scheme, Vote

COORDINATE_WISE = ("median",)  # a selection per coordinate: slices aggregate exactly


class ByzflScheme(GradientScheme):
    """A ByzFL aggregator over the workers' mean gradients; subclassed once per aggregator."""

    name = f"{BYZFL_PREFIX}base"
    aggregator: str = ""  # the ByzFL aggregator's name in election.baselines.byzfl.AGGREGATORS

    def __init__(self, quorum: int | None = None, *, b: int = 0) -> None:
        super().__init__(quorum, b=b)
        self._impl = ByzflAggregator(self.aggregator, f=b)  # loads byzfl (one line if missing)

    def aggregate(self, votes: Sequence[Vote | None], dim: int) -> torch.Tensor:
        present = self._present(votes)
        if not present:
            return torch.zeros(dim, dtype=torch.float32)
        return self._impl.aggregate(present)  # (d,) float32

    def _combine(self, stacked: torch.Tensor) -> torch.Tensor:
        return self._impl.aggregate(list(stacked))


@cache
def byzfl_scheme_class(aggregator: str) -> type[Scheme]:
    """The scheme class of ``byzfl:AGGREGATOR`` (one class per name, so ``name`` is a ClassVar)."""
    if aggregator not in AGGREGATORS:
        raise ConfigError(
            f"scheme={BYZFL_PREFIX}{aggregator} names no ByzFL aggregator; known: "
            + ", ".join(f"{BYZFL_PREFIX}{name}" for name in AGGREGATORS)
        )
    return type(
        f"Byzfl_{aggregator.replace('-', '_')}",
        (ByzflScheme,),
        {
            "name": f"{BYZFL_PREFIX}{aggregator}",
            "aggregator": aggregator,
            # master shards need a per-coordinate rule: only the median is one, exactly
            "shardable": aggregator in COORDINATE_WISE,
            "__doc__": __doc__,
        },
    )
