"""Sign-native attacks that act on one worker's message (formulas in each class).

Notation: E_j in {-1, 0, +1}^d is worker j's honest vote, S = sum_{l=1..n} E_l the honest
vote sum of the round (every worker's honest vote, the Byzantine workers' included: what the
omniscient attacker of :class:`election.attacks.Omniscient` also sees), B the round's Byzantine
set.
"""

from __future__ import annotations

import dataclasses

import torch

from election.attacks import Attack, AttackContext
from election.data.base import Dataset
from election.errors import ConfigError
from election.sign_attacks.context import require_view

DEFAULT_FLIP_PROBABILITY = 0.75  # rho: reverse on 3/4 of the coordinates, honest elsewhere


class MarginTargeted(Attack):
    """ALIE-style (Baruch, Baruch and Goldberg 2019, "A Little Is Enough"): attack only where
    the honest majority is weak, look honest elsewhere.

        E'_jk = -sign(S_k)   if 0 < |S_k| <= t,        E'_jk = E_jk   otherwise,

    with threshold t (default 2 |B|: the coordinates that |B| workers can move, see
    :mod:`election.telemetry`). Ties (S_k = 0) have no direction to oppose and stay honest.
    """

    name = "margin"
    needs_round = True

    def __init__(self, *, threshold: int | None = None) -> None:
        if threshold is not None and threshold < 0:
            raise ConfigError(f"margin threshold={threshold} must be >= 0")
        self.threshold = threshold

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        view = require_view(ctx.round, self.name)
        votes = view.votes(self.name)  # (n, d) int8
        t = 2 * len(view.byzantine) if self.threshold is None else self.threshold
        total = votes.sum(dim=0, dtype=torch.int32)  # (d,) S
        weak = (total != 0) & (total.abs() <= t)
        return torch.where(weak, -torch.sign(total).to(torch.int8), ctx.honest)


class StochasticFlip(Attack):
    """Stochastic sign flip (the sign-flipping adversary of Bernstein et al. 2019, made random):

        E'_jk = -E_jk with probability rho, E_jk otherwise, independently per coordinate,

    the coins drawn from the attack's seeded generator (default rho = 0.75). On float messages
    the same coins negate gradient coordinates.
    """

    name = "stochastic"

    def __init__(self, *, rho: float = DEFAULT_FLIP_PROBABILITY) -> None:
        if not 0.0 <= rho <= 1.0:
            raise ConfigError(f"stochastic flip rho={rho} must lie in [0, 1]")
        self.rho = rho

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        coins = torch.rand(ctx.honest.shape, generator=ctx.generator) < self.rho  # (d,) bool
        return torch.where(coins.to(ctx.honest.device), -ctx.honest, ctx.honest)


class Mimic(Attack):
    """Mimic (Karimireddy, He and Jaggi 2022, "Byzantine-robust learning on heterogeneous
    datasets via bucketing"): send a chosen honest worker's message, E'_j = E_m.

    Default m: the lowest-index honest worker whose row of G differs from j's (copying an
    identical row would be honest behaviour); the lowest-index honest worker if none differs.
    Works for votes and float messages alike.
    """

    name = "mimic"
    needs_round = True

    def __init__(self, *, target: int | None = None) -> None:
        self.target = target

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        view = require_view(ctx.round, self.name)
        honest = [j for j in range(view.honest.shape[0]) if j not in view.byzantine]
        if not honest:
            return ctx.honest
        target = self.target
        if target is None:
            own = view.matrix[view.worker]
            differing = [j for j in honest if (view.matrix[j] != own).any()]
            target = (differing or honest)[0]
        if target not in honest:
            raise ConfigError(f"mimic target {target} is not an honest worker")
        return view.honest[target].clone()


def flip_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The label map of the label-flipping attack: y -> C - 1 - y (int64, same shape)."""
    return (num_classes - 1) - y


def poisoned_dataset(dataset: Dataset) -> Dataset:
    """The dataset a label-flipping worker trains on: train labels mapped by :func:`flip_labels`.

    The hook for the round loop: Byzantine workers' partitions are computed by a second
    ``PartitionComputer`` built on this dataset (test data untouched).
    """
    return dataclasses.replace(dataset, train_y=flip_labels(dataset.train_y, dataset.num_classes))


class LabelFlip(Attack):
    """Label flipping (data poisoning, e.g. Biggio, Nelson and Laskov 2012; ByzFL's LF): the
    worker runs the honest protocol on its partitions with labels y -> C - 1 - y,

        E'_j = sign( sum_{i in S_j} sign(g_i~) ),   g_i~ = partition i's gradient on flipped labels,

    so its message passes every wire check. The poisoned honest message is computed by the loop
    (its partitions on :func:`poisoned_dataset`, ``poisons_labels``); the attack passes it on
    and insists that it was (``AttackContext.labels_flipped``).
    """

    name = "label-flip"
    poisons_labels = True

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        if not ctx.labels_flipped:
            raise ConfigError(
                "attack 'label-flip' needs the Byzantine partitions computed on "
                "poisoned_dataset(...); this round loop computed them on clean labels"
            )
        return ctx.honest
