"""Monte Carlo failure probability of a code under attack, and a Bernoulli-code upper bound.

Model (Sohn et al. 2020, §4): each partition sign is u_i = +1 (correct, w.l.o.g.) independently
with probability q, else -1. Honest worker j votes E_j = sign(sum_{i in S_j} u_i); b Byzantine
workers replace their votes by an attack; the master outputs sign(sum_j E'_j). We estimate
P_fail = P(master output != mu), mu = sign(sum_i u_i).

Attacks (sign level): reverse (-E_j), directional (a fixed sign, -1 = against the true gradient
sign, the paper's all-ones vector seen from the w.l.o.g. frame), random (uniform ±1),
omniscient (-mu). Selection: random (a fresh seeded b-subset per trial), heaviest (rows with the
most ones first, ties by index), or an explicit worker list.

Bernoulli upper bound. Let G have i.i.d. Bernoulli(p = r/n) entries conditioned on non-empty rows
(rejecting the whole matrix is the same as rejecting each independent row). Given u with k pluses,
rows are independent, so the votes E_j are i.i.d. with mean m_k = E[sign(X - Y) | X + Y >= 1],
X ~ Bin(k, p), Y ~ Bin(n-k, p) independent (computed exactly). Whatever the b Byzantine workers are
and send, they move the vote sum by at most 2b relative to sum_j E_j (their own honest votes
count at most b, their messages at least -b), so for k > n/2 an error needs sum_j E_j <= 2b, and by
Hoeffding for n variables of range 2, P(sum_j E_j <= 2b | k) <= exp(-(n m_k - 2b)^2 / (2n)) when
n m_k > 2b. The case k < n/2 is the mirror image; k = n/2 is bounded by 1. Hence

    P_fail <= sum_k C(n,k) q^k (1-q)^(n-k) min(1, exp(-(n |m_k| - 2b)_+^2 / (2n))),

valid for every attack and every selection rule (random code and random signs together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb, exp, sqrt

import numpy as np

from election.errors import CodeError

ATTACKS = ("reverse", "directional", "random", "omniscient")
SELECTIONS = ("random", "heaviest", "explicit")
CHUNK = 8192  # trials per vectorized chunk


@dataclass(frozen=True)
class Estimate:
    p_fail: float
    stderr: float
    failures: int
    trials: int

    def to_json_dict(self) -> dict[str, float | int]:
        return {
            "p_fail": self.p_fail,
            "stderr": self.stderr,
            "failures": self.failures,
            "trials": self.trials,
        }


def attack_votes(
    attack: str,
    honest: np.ndarray,
    mu: np.ndarray,
    rng: np.random.Generator,
    *,
    direction: int = -1,
) -> np.ndarray:
    """Byzantine messages (trials, n) for every worker; the caller keeps only Byzantine ones."""
    if attack == "reverse":
        return -honest
    if attack == "directional":
        return np.full_like(honest, direction)
    if attack == "random":
        return (2 * rng.integers(0, 2, size=honest.shape) - 1).astype(honest.dtype)
    if attack == "omniscient":
        return np.broadcast_to(-mu[:, None], honest.shape).astype(honest.dtype)
    raise CodeError(f"unknown attack {attack!r}; known attacks: {', '.join(ATTACKS)}")


def byzantine_mask(
    select: str,
    matrices: np.ndarray,
    b: int,
    rng: np.random.Generator,
    workers: Sequence[int] | None,
) -> np.ndarray:
    """(trials, n) bool mask of Byzantine workers."""
    trials, n, _ = matrices.shape
    mask = np.zeros((trials, n), dtype=bool)
    if b == 0:
        return mask
    if select == "random":
        picks = np.argsort(rng.random((trials, n)), axis=1)[:, :b]  # (trials, b)
    elif select == "heaviest":
        picks = np.argsort(-matrices.sum(axis=2), axis=1, kind="stable")[:, :b]
    elif select == "explicit":
        if workers is None or len(set(workers)) != b or not all(0 <= w < n for w in workers):
            raise CodeError(
                f"explicit selection needs {b} distinct worker ids in [0, {n}), got {workers!r}"
            )
        picks = np.broadcast_to(np.array(sorted(workers)), (trials, b))
    else:
        raise CodeError(f"unknown selection {select!r}; known selections: {', '.join(SELECTIONS)}")
    np.put_along_axis(mask, picks, True, axis=1)
    return mask


def bernoulli_codes(n: int, r: float, trials: int, rng: np.random.Generator) -> np.ndarray:
    """(trials, n, n) uint8 Bernoulli(r/n) codes, each empty row redrawn until non-empty."""
    g = (rng.random((trials, n, n)) < r / n).astype(np.uint8)
    empty = g.sum(axis=2) == 0
    while empty.any():
        g[empty] = (rng.random((int(empty.sum()), n)) < r / n).astype(np.uint8)
        empty = g.sum(axis=2) == 0
    return g


def failure_probability(
    *,
    n: int,
    b: int,
    q: float,
    attack: str = "reverse",
    select: str = "random",
    trials: int = 10_000,
    seed: int = 0,
    matrix: np.ndarray | None = None,
    r: float | None = None,
    workers: Sequence[int] | None = None,
    direction: int = -1,
) -> Estimate:
    """Estimate P(output != mu) for a fixed ``matrix`` or, if None, fresh Bernoulli(r/n) codes."""
    if not 0.0 <= q <= 1.0:
        raise CodeError(f"q={q} must be a probability in [0, 1]")
    if not 0 <= b <= n or trials < 1:
        raise CodeError(f"need 0 <= b={b} <= n={n} and trials={trials} >= 1")
    if matrix is None and (r is None or not 0 < r <= n):
        raise CodeError(f"a random Bernoulli code needs 0 < r <= n, got r={r}")
    rng = np.random.default_rng(seed)
    failures = 0
    for start in range(0, trials, CHUNK):
        t = min(CHUNK, trials - start)
        if matrix is None:
            g = bernoulli_codes(n, float(r), t, rng)  # type: ignore[arg-type]
        else:
            g = np.broadcast_to(np.asarray(matrix, dtype=np.uint8), (t, n, n))
        u = np.where(rng.random((t, n)) < q, 1, -1).astype(np.int64)  # (t, n) partition signs
        honest = np.sign(np.einsum("tji,ti->tj", g.astype(np.int64), u))  # (t, n) ternary votes
        mu = np.sign(u.sum(axis=1))  # (t,)
        mask = byzantine_mask(select, g, b, rng, workers)
        sent = np.where(mask, attack_votes(attack, honest, mu, rng, direction=direction), honest)
        failures += int((np.sign(sent.sum(axis=1)) != mu).sum())
    p = failures / trials
    return Estimate(p, sqrt(max(p * (1 - p), 1e-12) / trials), failures, trials)


def mean_vote_given_pluses(n: int, k: int, p: float) -> float:
    """m_k = E[sign(X - Y) | X + Y >= 1], X ~ Bin(k, p), Y ~ Bin(n - k, p)."""
    px = [comb(k, x) * p**x * (1 - p) ** (k - x) for x in range(k + 1)]
    py = [comb(n - k, y) * p**y * (1 - p) ** (n - k - y) for y in range(n - k + 1)]
    total = sum(px[x] * py[y] * ((x > y) - (x < y)) for x in range(k + 1) for y in range(n - k + 1))
    return total / (1 - (1 - p) ** n)


def bernoulli_failure_bound(*, n: int, b: int, r: float, q: float) -> float:
    """The Hoeffding upper bound on P_fail derived in the module docstring."""
    p = r / n
    bound = 0.0
    for k in range(n + 1):
        weight = comb(n, k) * q**k * (1 - q) ** (n - k)
        slack = n * abs(mean_vote_given_pluses(n, k, p)) - 2 * b
        tail = 1.0 if 2 * k == n or slack <= 0 else min(1.0, exp(-(slack**2) / (2 * n)))
        bound += weight * tail
    return min(1.0, bound)
