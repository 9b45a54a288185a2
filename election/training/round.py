"""One round's messages and their aggregation, for every scheme (paper Sec. 3 and Sec. 5).

Given partition signals x_i (d,) and a worker's partitions S_j:
    majority    (Election Coding / SignSGD-MV):  E_j = sign(sum_{i in S_j} sign(x_i)),
                master: sign(sum_j E_j)                    -- ternary, bit-packed on the wire
    signed-sum  (paper baseline):  m_j = sum_{i in S_j} sign(x_i), master: sign(sum_j m_j)
    sign-of-sum (the paper's --signed_sum, docs/paper.md):  E_j = sign(sum_{i in S_j} x_i),
                master: sign(sum_j E_j)                    -- ternary, bit-packed like majority
    median      (paper baseline):  m_j = mean_{i in S_j} x_i, master: coordinate-wise median
    sgd         (reference):       m_j = mean_{i in S_j} x_i, master: mean_j m_j
A missing message (crash, rejected garbage, deadline) is an abstention: it adds nothing to sums
and is left out of the median and the mean. A worker holding no partition (an empty row of G)
sends the all-zero vote in the sign schemes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from election.attacks import Attack, AttackContext, apply_attack
from election.training.partitions import sign_ternary

SIGN_SCHEMES = ("majority", "signed-sum", "sign-of-sum")
PACKED_SCHEMES = ("majority", "sign-of-sum")  # ternary votes, bit-packed, packed majority
PARTITION_SIGN_SCHEMES = ("majority", "signed-sum")  # schemes built on the partition signs u_i


def partition_signs(signals: Mapping[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    """u_i = sign(x_i): partition -> (d,) int8."""
    return {i: sign_ternary(x) for i, x in signals.items()}


def honest_message(
    scheme: str,
    partitions: Sequence[int],
    signals: Mapping[int, torch.Tensor],
    signs: Mapping[int, torch.Tensor] | None = None,
    *,
    dim: int | None = None,
) -> torch.Tensor:
    """What an honest worker holding ``partitions`` sends (see module docstring); ``dim`` is
    needed only for a worker with no partition (its vote is (dim,) zeros)."""
    if not partitions:
        if scheme not in SIGN_SCHEMES or dim is None:
            raise ValueError(f"a worker with no partition has no {scheme} message")
        return torch.zeros(dim, dtype=torch.int16 if scheme == "signed-sum" else torch.int8)
    if scheme == "sign-of-sum":
        total = torch.stack([signals[i] for i in partitions]).sum(dim=0)  # (d,) float32
        return sign_ternary(total)
    if scheme in SIGN_SCHEMES:
        assert signs is not None, "sign schemes need the partition signs"
        total = torch.zeros_like(signs[partitions[0]], dtype=torch.int16)  # (d,) int16
        for i in partitions:
            total += signs[i]
        return sign_ternary(total) if scheme == "majority" else total
    stacked = torch.stack([signals[i] for i in partitions])  # (|S_j|, d) float32
    return stacked.mean(dim=0)


def target_aggregate(
    scheme: str, signals: Mapping[int, torch.Tensor], signs: Mapping[int, torch.Tensor] | None
) -> torch.Tensor:
    """The all-partition target: mu = sign(sum_i u_i) (sign-of-sum: sign(sum_i x_i)), or the
    mean partition signal."""
    if scheme == "sign-of-sum":
        return sign_ternary(torch.stack(list(signals.values())).sum(dim=0))
    if scheme in SIGN_SCHEMES:
        assert signs is not None
        total = torch.stack(list(signs.values())).to(torch.int16).sum(dim=0)  # (d,) int16
        return sign_ternary(total)
    return torch.stack(list(signals.values())).mean(dim=0)


def lazy_target(
    scheme: str,
    n: int,
    known: Mapping[int, torch.Tensor],
    compute: Callable[[list[int]], Mapping[int, torch.Tensor]],
) -> Callable[[], torch.Tensor]:
    """The all-partition target as a memoised thunk: partitions missing from ``known`` are
    computed (once) only if an attack asks for the target."""
    cache: list[torch.Tensor] = []

    def target() -> torch.Tensor:
        if not cache:
            everything = dict(known)
            everything.update(compute([i for i in range(n) if i not in everything]))
            signs = partition_signs(everything) if scheme in PARTITION_SIGN_SCHEMES else None
            cache.append(target_aggregate(scheme, everything, signs))
        return cache[0]

    return target


def byzantine_message(
    attack: Attack,
    honest: torch.Tensor,
    target: Callable[[], torch.Tensor],
    generator: torch.Generator,
) -> torch.Tensor | None:
    """What a Byzantine worker sends: the attack applied to its honest message."""
    return apply_attack(attack, AttackContext(honest=honest, target=target, generator=generator))


def aggregate(scheme: str, messages: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """The master's aggregate over present messages (None = abstention)."""
    present = [m for m in messages if m is not None]
    if not present:
        raise ValueError("no messages to aggregate")
    if scheme in SIGN_SCHEMES:
        total = torch.zeros_like(present[0], dtype=torch.int32)  # (d,) int32
        for m in present:
            total += m
        return sign_ternary(total)
    stacked = torch.stack([m.float() for m in present])  # (n_present, d) float32
    if scheme == "median":
        return stacked.median(dim=0).values
    return stacked.mean(dim=0)
