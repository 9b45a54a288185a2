"""Exhaustive verification over ternary signs u in {-1, 0, +1}^n, with worst-case attackers.

Real gradients have exact zeros, so partition signs are ternary (docs/codes.md, "Zero signs").
Worker j votes E_j(u) = sign(sum_{i in S_j} u_i); mu(u) = sign(sum_i u_i). The master decodes
with q >= 1 (q = 1 is the plain rule sign(sum_j E_j), :mod:`election.votes.decoders`):
output s = sign(P - N) when at least q votes equal s, else 0 (P, N = #(+1), #(-1) votes).
Any b workers are Byzantine and send any ternary message or abstain.

Worst case per u, derived (and checked against :func:`brute_force` for n <= 7 in the tests):

- mu != 0 (exactness). Write c_j = mu E_j and let A+, A0, A- count c_j = +1, 0, -1. To make the
  output differ from mu the attackers want fewer votes for mu (P') and more against it (N').
  Sending -mu is best for both (abstaining or 0 only lose N'), and taking a worker with c_j = +1
  moves P' - N' by 2, one with c_j = 0 by 1, one with c_j = -1 by 0, while P' only falls for
  c_j = +1: so the b workers with the largest c_j, sending -mu, are the worst case for every
  decoder. With t = min(b, A+) of them agreeing and z = min(b - t, A0) neutral:
  P' = A+ - t, N' = A- - (b - t - z) + b, and u is decoded exactly iff P' > N' and P' >= q.
  The same attackers are the worst case for the *opposite* output -mu: it occurs iff N' > P'
  and N' >= q.
- u = 0 (dead coordinate): every honest vote is 0; b attackers sending +1 give P' = b, N' = 0,
  so the output moves iff 1 <= b and b >= q; it never moves iff q >= b + 1 (or b = 0).
- mu = 0, u != 0 (tie): moving the output to +1 is the mirror problem: take the workers with
  E_j = -1 first, then 0, then +1, all sending +1; the tie is *movable* iff that gives +1, or
  the mirror attack gives -1. Ties cannot be protected in general: b attackers shift
  P - N by up to 2b, and a tie has no majority to defend; we report the movable fraction.

Consequence (the ternary-perfect condition). For 1 <= q <= b + 1, u with mu != 0 is decoded
exactly iff A(u) = A+ - A- >= 2b + 1: if A+ >= b then P' - N' = A - 2b and P' = A+ - b >= A - b,
so A >= 2b + 1 gives P' - N' >= 1 and P' >= b + 1 >= q; if A+ < b then P' = 0. So a code is
*ternary-perfect* (exact on every u with mu != 0 and dead coordinates fixed) under the quorum
decoder with q = b + 1 iff A(u) >= 2b + 1 for every ternary u with mu != 0; under the plain rule
no code with b >= 1 is, since dead coordinates move. By E_j(-u) = -E_j(u), A(-u) = A(u).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from election.errors import CodeError

from .matrix import as_binary_matrix
from .verify import check_b

MAX_TERNARY_N = 13  # 3^13 = 1.6 M patterns: about a second; n <= 11 takes well under one
MAX_BRUTE_FORCE_N = 7  # every Byzantine set and message: C(7, 3) * 4^3 attacks per pattern


def ternary_patterns(n: int) -> np.ndarray:
    """Every u in {-1, 0, +1}^n, digit i of the base-3 index giving u_i + 1: (3^n, n) int8."""
    index = np.arange(3**n, dtype=np.int64)[:, None]  # (3^n, 1)
    digits = (index // (3 ** np.arange(n, dtype=np.int64))) % 3  # (3^n, n)
    return (digits - 1).astype(np.int8)


def ternary_votes(matrix: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """E = sign(U G^T): (patterns, n) ternary -> (patterns, n_workers) int8."""
    sums = signs.astype(np.int32) @ matrix.T.astype(np.int32)  # (patterns, n_workers)
    return np.sign(sums).astype(np.int8)


@dataclass(frozen=True)
class Outcomes:
    """Per pattern: mu and what the worst-case attackers achieve (all (patterns,) arrays)."""

    signs: np.ndarray  # (patterns, n) int8
    mu: np.ndarray  # (patterns,) int8
    exact: np.ndarray  # (patterns,) bool: output == mu under every attack (mu != 0 rows)
    opposite: np.ndarray  # (patterns,) bool: some attack gives -mu (mu != 0 rows)
    moved: np.ndarray  # (patterns,) bool: some attack gives output != 0 (mu == 0 rows)


def _decode(p: np.ndarray, n: np.ndarray, q: int) -> np.ndarray:
    """The quorum decoder on vote counts: +1, -1 or 0, elementwise (int8)."""
    out = np.zeros(np.broadcast(p, n).shape, dtype=np.int8)
    out[(p > n) & (p >= q)] = 1
    out[(n > p) & (n >= q)] = -1
    return out


def _greedy(first: np.ndarray, second: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    """How many of b picks come from the ``first`` class, then the ``second`` (per pattern)."""
    take1 = np.minimum(b, first)
    take2 = np.minimum(b - take1, second)
    return take1, take2


def worst_case(matrix: Any, b: int, q: int, signs: np.ndarray | None = None) -> Outcomes:
    """The analytic worst case of the module docstring, for every pattern (default: all 3^n)."""
    g = as_binary_matrix(matrix)
    check_b(b, g.shape[0])
    if q < 1:
        raise CodeError(f"quorum q={q} must be >= 1 (q = 1 is the plain rule)")
    u = ternary_patterns(g.shape[0]) if signs is None else np.asarray(signs, dtype=np.int8)
    mu = np.sign(u.sum(axis=1, dtype=np.int64)).astype(np.int8)  # (patterns,)
    exact, opposite, moved = outcomes_from_votes(ternary_votes(g, u), mu, b, q)
    return Outcomes(signs=u, mu=mu, exact=exact, opposite=opposite, moved=moved)


def outcomes_from_votes(
    votes: np.ndarray, mu: np.ndarray, b: int, q: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact, opposite, moved) per pattern from its honest votes (patterns, workers) int8."""
    plus = (votes > 0).sum(axis=1)  # (patterns,)
    zero = (votes == 0).sum(axis=1)
    minus = (votes < 0).sum(axis=1)
    # mu != 0: counts relative to mu, attackers taken from the agreeing workers first
    agree = np.where(mu > 0, plus, minus)
    oppose = np.where(mu > 0, minus, plus)
    t, z = _greedy(agree, zero, b)
    decoded = _decode(agree - t, oppose - (b - t - z) + b, q)
    # mu == 0: push towards +1 (take -1 voters first) or towards -1 (take +1 voters first)
    t_up, z_up = _greedy(minus, zero, b)
    up = _decode(plus - (b - t_up - z_up) + b, minus - t_up, q) != 0
    t_dn, z_dn = _greedy(plus, zero, b)
    down = _decode(plus - t_dn, minus - (b - t_dn - z_dn) + b, q) != 0
    nonzero = mu != 0
    return nonzero & (decoded == 1), nonzero & (decoded == -1), ~nonzero & (up | down)


def brute_force(matrix: Any, b: int, q: int) -> Outcomes:
    """The same outcomes by enumerating every Byzantine set of size b and every message in
    {-1, 0, +1, abstain}^b for every pattern (n <= MAX_BRUTE_FORCE_N): the derivation's check."""
    g = as_binary_matrix(matrix)
    n = g.shape[0]
    check_b(b, n)
    if n > MAX_BRUTE_FORCE_N:
        raise CodeError(f"brute force needs n <= {MAX_BRUTE_FORCE_N} (got n={n})")
    u = ternary_patterns(n)
    mu = np.sign(u.sum(axis=1, dtype=np.int64)).astype(np.int8)
    votes = ternary_votes(g, u)  # (patterns, workers)
    never_wrong = np.ones(len(u), dtype=bool)
    ever_opposite = np.zeros(len(u), dtype=bool)
    ever_nonzero = np.zeros(len(u), dtype=bool)
    messages = list(itertools.product((-1, 0, 1, None), repeat=b))
    for byz in itertools.combinations(range(n), b):
        honest = np.delete(votes, list(byz), axis=1)  # (patterns, n - b)
        hp, hn = (honest > 0).sum(axis=1), (honest < 0).sum(axis=1)
        for msg in messages:
            out = _decode(hp + sum(m == 1 for m in msg), hn + sum(m == -1 for m in msg), q)
            never_wrong &= out == mu
            ever_opposite |= (out == -mu) & (mu != 0)
            ever_nonzero |= out != 0
    nonzero = mu != 0
    return Outcomes(
        signs=u,
        mu=mu,
        exact=nonzero & never_wrong,
        opposite=ever_opposite,
        moved=~nonzero & ever_nonzero,
    )


@dataclass(frozen=True)
class TernaryCounterexample:
    """Partition signs, the Byzantine workers and what each sends (None = abstains)."""

    signs: tuple[int, ...]
    byzantine: tuple[int, ...]
    messages: tuple[int | None, ...]
    honest_majority: int  # mu(u)
    output: int  # the master's output under that attack

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "signs": list(self.signs),
            "byzantine": list(self.byzantine),
            "messages": list(self.messages),
            "honest_majority": self.honest_majority,
            "output": self.output,
        }


def attack_for(
    matrix: Any, signs: np.ndarray, b: int, q: int, target: int
) -> TernaryCounterexample:
    """The greedy attack pushing the output of pattern ``signs`` towards ``target`` (+-1):
    the b workers whose votes are furthest from ``target`` send ``target``."""
    g = as_binary_matrix(matrix)
    u = np.asarray(signs, dtype=np.int8)
    votes = ternary_votes(g, u[None, :])[0].astype(np.int64)  # (workers,)
    byz = np.sort(np.argsort(target * votes, kind="stable")[:b])
    sent = votes.copy()
    sent[byz] = target
    out = _decode(np.array((sent > 0).sum()), np.array((sent < 0).sum()), q)
    return TernaryCounterexample(
        signs=tuple(int(v) for v in u),
        byzantine=tuple(int(j) for j in byz),
        messages=(target,) * b,
        honest_majority=int(np.sign(u.sum())),
        output=int(out),
    )


@dataclass(frozen=True)
class Check:
    """One property over a set of patterns: how many fail, and one failing attack."""

    ok: bool
    patterns: int
    failures: int
    counterexample: TernaryCounterexample | None = None

    @property
    def fraction_ok(self) -> float:
        return 1.0 if self.patterns == 0 else 1.0 - self.failures / self.patterns

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "patterns": self.patterns,
            "failures": self.failures,
            "fraction_ok": self.fraction_ok,
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_json_dict(),
        }


@dataclass(frozen=True)
class TernaryVerification:
    """The verifier's report; ``ternary_perfect`` = exact_nonzero and dead_fixed."""

    n: int
    b: int
    q: int  # 1 = the plain rule
    exact_nonzero: Check  # output == mu for every u with mu != 0
    dead_fixed: Check  # output 0 at u = 0
    never_opposite: Check  # output never -mu
    ties: Check  # failures = movable tie patterns (mu = 0, u != 0)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ternary_perfect(self) -> bool:
        return self.exact_nonzero.ok and self.dead_fixed.ok

    @property
    def movable_tie_fraction(self) -> float:
        return 0.0 if self.ties.patterns == 0 else self.ties.failures / self.ties.patterns

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "b": self.b,
            "quorum": self.q,
            "ternary_perfect": self.ternary_perfect,
            "exact_nonzero": self.exact_nonzero.to_json_dict(),
            "dead_fixed": self.dead_fixed.to_json_dict(),
            "never_opposite": self.never_opposite.to_json_dict(),
            "ties": self.ties.to_json_dict(),
            "movable_tie_fraction": self.movable_tie_fraction,
            **self.extra,
        }


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return None if hits.size == 0 else int(hits[0])


def verify_ternary(matrix: Any, b: int, q: int) -> TernaryVerification:
    """Every u in {-1, 0, +1}^n against the worst-case attackers of the module docstring."""
    g = as_binary_matrix(matrix)
    n = g.shape[0]
    if n > MAX_TERNARY_N:
        raise CodeError(f"the ternary verifier needs n <= {MAX_TERNARY_N} (got n={n})")
    out = worst_case(g, b, q)
    nonzero: np.ndarray = out.mu != 0
    dead = np.asarray(~out.signs.any(axis=1), dtype=bool)  # (patterns,): u = 0
    tie = ~nonzero & ~dead

    def check(domain: np.ndarray, failing: np.ndarray, target_of: Any) -> Check:
        fail = domain & failing
        k = _first(fail)
        example = None if k is None else attack_for(g, out.signs[k], b, q, target_of(k))
        return Check(not fail.any(), int(domain.sum()), int(fail.sum()), example)

    def away(k: int) -> int:
        return -int(out.mu[k])

    def tie_target(k: int) -> int:  # whichever direction moves it
        return 1 if attack_for(g, out.signs[k], b, q, 1).output != 0 else -1

    return TernaryVerification(
        n=n,
        b=b,
        q=q,
        exact_nonzero=check(nonzero, ~out.exact, away),
        dead_fixed=check(dead, out.moved, lambda k: 1),
        never_opposite=check(nonzero, out.opposite, away),
        ties=check(tie, out.moved, tie_target),
    )
