"""Byzantine attacks and Byzantine-worker selection (the core registry).

An attack turns what an honest worker would send into what a Byzantine worker sends. The
single-machine loop, the adversary service and the MPI ranks all use this registry.

Paper attacks (Sohn et al. 2020, Sec. 5):
- ``reverse``:      E'_j = -E_j                      (send the negated honest vote)
- ``directional``:  E'_j = s * 1, s = +1 by default  (all coordinates the same sign)
- ``random``:       E'_j ~ Uniform{-1, +1}^d
Beyond the paper:
- ``omniscient``:   E'_j = -mu, mu = sign(sum_i u_i) (the all-partition majority: the attacker
                    knows every partition's sign and opposes the target output)
- ``abstain``:      E'_j = 0                         (a vote of all zeros)
- ``crash``:        nothing is sent (the master counts an abstention at the deadline)
- ``garbage``:      malformed bytes on the wire; the master rejects them, which in-process is the
                    same as ``crash``
Sign-native attacks (:mod:`election.sign_attacks`, loaded on first use; formulas there):
``margin`` (ALIE-style), ``stochastic``, ``mimic``, ``label-flip``, ``collude`` and
``collude-quorum``. Those with ``needs_round`` read every honest message of the round from
``AttackContext.round``; the mobile adversary is the selection :func:`byzantine_set`.
For float payloads (the coordinate-median baseline) the same names act on the gradient:
reverse -g, directional s*max|g|, random +-mean|g|, omniscient -(mean of honest partitions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from election.errors import ConfigError
from election.seeds import BYZANTINE_STREAM, MOBILE_STREAM

if TYPE_CHECKING:
    from election.sign_attacks.context import RoundView


@dataclass(frozen=True)
class AttackContext:
    """What a Byzantine worker knows in one round.

    ``honest`` is what this worker would send if it were honest: an int8 ternary vote (d,) for
    sign schemes, or a float gradient (d,) for the median scheme. ``target`` lazily returns the
    honest all-partition aggregate (mu for votes; the mean partition gradient for gradients).
    ``round`` is the extended context (every honest message, the Byzantine set, the code) for
    attacks with ``needs_round``; None where the loop does not build it. ``labels_flipped``
    says that ``honest`` was computed on the poisoned dataset (attacks with ``poisons_labels``).
    """

    honest: torch.Tensor
    target: Callable[[], torch.Tensor]
    generator: torch.Generator
    round: RoundView | None = None
    labels_flipped: bool = False


class Attack:
    """Base class and the ``none`` attack: E'_j = E_j (the honest message, unchanged).

    ``__call__`` returns the message to send, or None to send nothing.
    """

    name = "none"
    wire_fault: str | None = None  # set for attacks that only exist on the wire
    needs_round = False  # True: reads AttackContext.round (every honest message of the round)
    poisons_labels = False  # True: the loop computes its honest message on flipped labels

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        return ctx.honest


class Reverse(Attack):
    """Reverse (Sohn et al. 2020, Sec. 5): E'_j = -E_j; on a float gradient, g' = -g."""

    name = "reverse"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        return -ctx.honest


class Directional(Attack):
    """Directional (Sohn et al. 2020, Sec. 5): E'_j = s * 1 (every coordinate s, s = +1 unless
    ``sign=-1``: ``directional-neg``); on a float gradient, g' = s * max_k |g_k| * 1.
    """

    name = "directional"

    def __init__(self, *, sign: int = 1) -> None:
        if sign not in (-1, 1):
            raise ConfigError(f"directional sign={sign!r} must be +1 or -1")
        self.sign = sign

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        if ctx.honest.is_floating_point():
            return torch.full_like(ctx.honest, self.sign * float(ctx.honest.abs().max()))
        return torch.full_like(ctx.honest, self.sign)


class RandomSigns(Attack):
    """Random (Sohn et al. 2020, Sec. 5): E'_jk ~ Uniform{-1, +1}, independently per coordinate,
    from the attack's seeded generator; on a float gradient, g'_k = E'_jk * mean_l |g_l|.
    """

    name = "random"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        coins = torch.randint(0, 2, ctx.honest.shape, generator=ctx.generator)
        signs = (coins * 2 - 1).to(ctx.honest.dtype)  # (d,) values in {-1, +1}
        if ctx.honest.is_floating_point():
            return signs * ctx.honest.abs().mean()
        return signs


class Omniscient(Attack):
    """Omniscient: E'_j = -t, t the round's all-partition target the attacker knows and opposes
    (mu = sign(sum_i u_i) for sign votes; the mean partition gradient (1/n) sum_i g_i for float
    gradients, so g' = -(1/n) sum_i g_i).
    """

    name = "omniscient"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        return -ctx.target()


class Abstain(Attack):
    """Abstain: E'_j = 0 (a well-formed vote of all zeros; g' = 0 for float gradients)."""

    name = "abstain"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        return torch.zeros_like(ctx.honest)


class Crash(Attack):
    """Crash: no message (None); the master counts E'_j = 0 at the round deadline."""

    name = "crash"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        return None


class Garbage(Crash):
    """Garbage: malformed bytes on the wire, which the master rejects, so E'_j = 0 as for
    ``crash``; in one process there is no wire and it is ``crash``.
    """

    name = "garbage"
    wire_fault = "garbage"


ATTACKS: dict[str, Callable[[], Attack]] = {
    "none": Attack,
    "reverse": Reverse,
    "directional": Directional,
    "directional-neg": lambda: Directional(sign=-1),
    "random": RandomSigns,
    "omniscient": Omniscient,
    "abstain": Abstain,
    "crash": Crash,
    "garbage": Garbage,
}
MOBILE = "mobile"  # the byzantine_select policy that redraws the set every round
SIGN_NATIVE = ("margin", "stochastic", "mimic", "label-flip", "collude", "collude-quorum")


def _sign_native(name: str) -> Callable[[], Attack]:
    def make() -> Attack:
        from election.sign_attacks import FACTORIES  # imports this module: load it lazily

        return FACTORIES[name]()

    return make


ATTACKS.update({name: _sign_native(name) for name in SIGN_NATIVE})
# ByzFL's float attacks (election/baselines/byzfl_attacks.py; byzfl loads when one first runs)
BYZFL_ATTACKS = ("byzfl:sign-flipping", "byzfl:ipm", "byzfl:alie")


def _byzfl_attack(name: str) -> Callable[[], Attack]:
    def make() -> Attack:
        from election.baselines.byzfl_attacks import ByzflFloatAttack  # imports this module

        return ByzflFloatAttack(name.removeprefix("byzfl:"))

    return make


ATTACKS.update({name: _byzfl_attack(name) for name in BYZFL_ATTACKS})


def make_attack(name: str) -> Attack:
    """Look up an attack by name; unknown names list the known ones."""
    try:
        return ATTACKS[name]()
    except KeyError:
        raise ConfigError(f"unknown attack {name!r}; known: {', '.join(ATTACKS)}") from None


def select_byzantine(policy: str, *, matrix: np.ndarray, b: int, seed: int) -> tuple[int, ...]:
    """Choose the b Byzantine worker slots.

    - ``random``: b distinct slots drawn with numpy's Generator from ``seed`` (as the paper);
    - ``heaviest``: the b rows of G with the most ones (ties: lower index) -- the worst case for
      coded schemes, since those workers' votes carry the most weight;
    - ``"i,j,..."``: an explicit list (must name exactly b distinct valid slots).

    ``mobile`` has no single set (:func:`byzantine_set` draws one per round).
    ``matrix`` is G, (n_workers, n_partitions) uint8.
    """
    n_workers = int(matrix.shape[0])
    if b == 0:
        return ()
    if policy == "random":
        rng = np.random.default_rng([seed, BYZANTINE_STREAM])
        return tuple(sorted(int(i) for i in rng.choice(n_workers, size=b, replace=False)))
    if policy == "heaviest":
        weights = matrix.sum(axis=1)  # (n_workers,) ones per row
        order = sorted(range(n_workers), key=lambda j: (-int(weights[j]), j))
        return tuple(sorted(order[:b]))
    if policy == MOBILE:
        raise ConfigError("byzantine_select=mobile draws a set per round (byzantine_set)")
    return _explicit_ids(policy, n_workers=n_workers, b=b)


def byzantine_set(
    step: int, policy: str, *, matrix: np.ndarray, b: int, seed: int
) -> tuple[int, ...]:
    """The Byzantine workers of round ``step``.

    ``mobile``: b distinct slots redrawn every round, uniformly, from numpy's Generator seeded
    with (seed, MOBILE_STREAM, step) -- a mobile adversary that corrupts a fresh set each
    round (the set of one round is a pure function of the seed and the round). Every other
    policy is :func:`select_byzantine`'s, the same set in every round.
    """
    if policy != MOBILE:
        return select_byzantine(policy, matrix=matrix, b=b, seed=seed)
    if b == 0:
        return ()
    rng = np.random.default_rng([seed, MOBILE_STREAM, step])
    picked = rng.choice(int(matrix.shape[0]), size=b, replace=False)
    return tuple(sorted(int(i) for i in picked))


def ever_byzantine(
    policy: str, *, matrix: np.ndarray, b: int, seed: int, rounds: int
) -> tuple[int, ...]:
    """The slots Byzantine in some round of range(rounds): the union of :func:`byzantine_set`
    (the static set unless ``mobile``; stops early once every slot is in)."""
    if policy != MOBILE:
        return select_byzantine(policy, matrix=matrix, b=b, seed=seed)
    n_workers, seen = int(matrix.shape[0]), set[int]()
    for step in range(rounds):
        if b == 0 or len(seen) == n_workers:
            break
        seen.update(byzantine_set(step, policy, matrix=matrix, b=b, seed=seed))
    return tuple(sorted(seen))


def _explicit_ids(text: str, *, n_workers: int, b: int) -> tuple[int, ...]:
    try:
        ids = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise ConfigError(
            f"byzantine_select={text!r} must be random, heaviest, mobile or comma-separated "
            "worker ids"
        ) from None
    if len(ids) != b or any(not 0 <= i < n_workers for i in ids):
        raise ConfigError(
            f"byzantine_select={text!r} must name exactly b={b} distinct ids in [0, {n_workers})"
        )
    return ids


def apply_attack(attack: Attack, ctx: AttackContext) -> torch.Tensor | None:
    """Run an attack and keep ternary votes ternary (int8 in {-1, 0, +1})."""
    out = attack(ctx)
    if out is None or out.is_floating_point():
        return out
    return out.clamp(-1, 1).to(torch.int8)
