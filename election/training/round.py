"""The scheme-free parts of a round: what a Byzantine worker sends, the RNG it draws from and
the round view (every honest message) that the sign-native attacks read.

The scheme-specific parts (honest message, all-partition target, aggregate, codec) are methods of
the scheme objects in :mod:`election.training.schemes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import torch

from election.attacks import Attack, AttackContext, apply_attack
from election.seeds import ATTACK_STREAM
from election.sign_attacks.context import RoundView
from election.training.batches import mix_seed
from election.training.partitions import with_worker_noise

if TYPE_CHECKING:
    from election.training.setup import Setup


def attack_generator(seed: int, step: int, worker: int) -> torch.Generator:
    """The RNG a Byzantine worker uses in a round; the same in every transport."""
    return torch.Generator().manual_seed(mix_seed(seed, ATTACK_STREAM, step, worker))


def byzantine_message(
    attack: Attack,
    honest: torch.Tensor,
    target: Callable[[], torch.Tensor],
    generator: torch.Generator,
    *,
    view: RoundView | None = None,
    labels_flipped: bool = False,
) -> torch.Tensor | None:
    """What a Byzantine worker sends: the attack applied to its honest message (``view``: the
    round as it sees it, for attacks with ``needs_round``)."""
    ctx = AttackContext(
        honest=honest,
        target=target,
        generator=generator,
        round=view,
        labels_flipped=labels_flipped,
    )
    return apply_attack(attack, ctx)


def honest_message(
    setup: Setup, step: int, worker: int, signals: Mapping[int, torch.Tensor], noisy: bool
) -> torch.Tensor:
    """Worker ``worker``'s honest message from the clean partition signals ``signals`` (its
    row at least), with its own noise draw when ``noisy`` and worker noise is on."""
    cfg, scheme = setup.cfg, setup.scheme
    row = setup.partitions_of(worker)
    own = {i: signals[i] for i in row}
    if noisy and cfg.worker_noise_std > 0:
        own = with_worker_noise(cfg, step, worker, own)
    return scheme.honest(row, own, scheme.signs(own), dim=_dim(signals))


def round_view(
    setup: Setup, step: int, byzantine: Sequence[int], honest: Sequence[torch.Tensor]
) -> RoundView:
    """The round as the omniscient adversary sees it: ``honest`` is every worker's honest
    message (what it sends if honest: Byzantine workers' without their noise draw)."""
    return RoundView(
        step=step,
        byzantine=tuple(sorted(byzantine)),
        honest=torch.stack(list(honest)),  # (n, d) int8 votes, int16 sums or float32
        matrix=setup.matrix,
        b=setup.cfg.b,
    )


def view_from_signals(
    setup: Setup, step: int, byzantine: Sequence[int], signals: Mapping[int, torch.Tensor]
) -> RoundView:
    """:func:`round_view` with every honest message computed from the clean signals of every
    held partition (what a worker that knows everything does)."""
    messages = [
        honest_message(setup, step, j, signals, noisy=j not in byzantine)
        for j in range(setup.cfg.n)
    ]
    return round_view(setup, step, byzantine, messages)


def _dim(signals: Mapping[int, torch.Tensor]) -> int | None:
    """The model dimension from any signal (None without one)."""
    for x in signals.values():
        return int(x.numel())
    return None
