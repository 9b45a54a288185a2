"""The scheme-free parts of a round: what a Byzantine worker sends and the RNG it draws from.

The scheme-specific parts (honest message, all-partition target, aggregate, codec) are methods of
the scheme objects in :mod:`election.training.schemes`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from election.attacks import Attack, AttackContext, apply_attack
from election.seeds import ATTACK_STREAM
from election.training.batches import mix_seed


def attack_generator(seed: int, step: int, worker: int) -> torch.Generator:
    """The RNG a Byzantine worker uses in a round; the same in every transport."""
    return torch.Generator().manual_seed(mix_seed(seed, ATTACK_STREAM, step, worker))


def byzantine_message(
    attack: Attack,
    honest: torch.Tensor,
    target: Callable[[], torch.Tensor],
    generator: torch.Generator,
) -> torch.Tensor | None:
    """What a Byzantine worker sends: the attack applied to its honest message."""
    return apply_attack(attack, AttackContext(honest=honest, target=target, generator=generator))
