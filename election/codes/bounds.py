"""Cheap, proven lower bounds on the number of ones of a perfectly b-tolerant code (odd n).

(Ternary-perfect codes, :func:`ternary_lower_bound_ones`, are bounded the same way; see there.)

Let m = (n+1)/2 and average the tolerance constraint sum_j mu(u) E_j(u) >= 2b+1 (see
:mod:`election.codes.verify`) over the C(n, m) patterns u with exactly m entries +1 (mu = +1).
For a worker whose support has size k, the number h of +1 partitions it sees is
hypergeometric(n, m, k), so its average vote is

    e_k = sum_h C(m, h) C(n-m, k-h) sign(2h - k) / C(n, k)      (exact rational).

Every feasible code therefore satisfies, with y_k = #workers of support size k,

    (1)  sum_k y_k = n,   (2)  sum_k y_k e_k >= 2b + 1,   y_k >= 0 integer,
    ones(G) = sum_k k y_k.

LP bound. The LP relaxation of the full integer program (one x_S per support S) is invariant
under permutations of the partitions, so averaging an optimal LP point over all permutations
gives an optimal point with x_S depending on |S| only; its constraints are exactly (1)-(2) with
one constraint per number of +1s (patterns with more than m pluses are implied: E_j is monotone
in u). We solve that n-variable LP's dual with HiGHS and re-derive the objective in exact
rational arithmetic (nu := min_k (k - lambda . e_k(m)), lambda >= 0, is dual feasible), so the
bound is rigorous; ceil() of it bounds the integer number of ones. It evaluates to (2b+1) n,
i.e. r >= 2b + 1 (Sohn et al. 2020, §3).

Knapsack bound (stronger). Keep integrality in (1)-(2): the minimum of sum k y_k over integer
y is a small exact knapsack solved by dynamic programming over (workers, ones); any feasible code
satisfies (1)-(2), so this minimum is a valid lower bound. It is >= the LP bound.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import lru_cache
from math import ceil, comb, lcm

import numpy as np
from scipy.optimize import linprog

from election.errors import CodeError


def check_odd(n: int, b: int) -> None:
    if n < 1 or n % 2 == 0:
        raise CodeError(f"n={n} must be odd (ties in the majority have no perfect code)")
    if b < 0 or 2 * b + 1 > n:
        raise CodeError(f"b={b} must satisfy 0 <= b and 2b+1 <= n={n}")


def mean_vote(n: int, k: int, m: int) -> Fraction:
    """e_k(m): average of sign(sum_S u) over k-subsets S when u has m pluses."""
    total = 0
    for h in range(max(0, k - (n - m)), min(k, m) + 1):
        total += comb(m, h) * comb(n - m, k - h) * ((2 * h > k) - (2 * h < k))
    return Fraction(total, comb(n, k))


def lp_lower_bound(n: int, b: int) -> Fraction:
    """Exact value of a dual-feasible point of the symmetric LP: a lower bound on ones(G)."""
    check_odd(n, b)
    ms = list(range((n + 1) // 2, n + 1))
    e = [[mean_vote(n, k, m) for m in ms] for k in range(1, n + 1)]  # (n, len(ms))
    # dual: max n*nu + (2b+1)*sum(lam)  s.t.  nu + sum_m lam_m e_k(m) <= k,  lam >= 0
    cost = -np.array([n] + [2 * b + 1] * len(ms), dtype=float)
    a_ub = np.array([[1.0] + [float(v) for v in row] for row in e])
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.arange(1, n + 1, dtype=float),
        bounds=[(None, None)] + [(0, None)] * len(ms),
        method="highs",
    )
    if res.status != 0:
        raise CodeError(f"LP bound for n={n}, b={b} failed: {res.message}")
    lam = [Fraction(max(0.0, float(v))).limit_denominator(10**9) for v in res.x[1:]]
    nu = min(
        k + 1 - sum((l * v for l, v in zip(lam, e[k], strict=True)), Fraction(0)) for k in range(n)
    )
    return n * nu + (2 * b + 1) * sum(lam, Fraction(0))


@lru_cache(maxsize=64)
def _knapsack_table(n: int) -> tuple[int, tuple[int, ...]]:
    """(D, best) where best[c] = max D * sum_k y_k e_k over n workers with c ones in total."""
    m = (n + 1) // 2
    values = [mean_vote(n, k, m) for k in range(1, n + 1)]
    denom = lcm(*(v.denominator for v in values))
    scaled = [int(v * denom) for v in values]
    none = -(1 << 200)
    best = [0] + [none] * (n * n)  # best[c] after w workers, c = total ones
    for _ in range(n):
        nxt = [none] * (n * n + 1)
        for c, val in enumerate(best):
            if val == none:
                continue
            for k, v in enumerate(scaled, start=1):
                if c + k <= n * n and val + v > nxt[c + k]:
                    nxt[c + k] = val + v
        best = nxt
    return denom, tuple(best)


def knapsack_lower_bound(n: int, b: int) -> int:
    """min sum k y_k s.t. (1)-(2) with y integer: a lower bound on ones(G)."""
    check_odd(n, b)
    denom, best = _knapsack_table(n)
    need = (2 * b + 1) * denom
    for c, val in enumerate(best):
        if val >= need:
            return c
    raise CodeError(f"no size profile reaches 2b+1={2 * b + 1} for n={n}")  # unreachable


def lower_bound_ones(n: int, b: int) -> int:
    """The best cheap proven lower bound on ones(G) (max of the LP and knapsack bounds)."""
    return max(ceil(lp_lower_bound(n, b)), knapsack_lower_bound(n, b))


MAX_PROFILE_N = 11  # C(2n - 1, n - 1) size profiles: 352,716 at n = 11, 5.2 M at n = 13


def ternary_mean_vote(n: int, k: int, p: int) -> Fraction:
    """Average of sign(sum_S u) over k-subsets S when u has p entries +1, p - 1 entries -1."""
    zeros = n - 2 * p + 1
    total = 0
    for hp in range(min(k, p) + 1):
        for hm in range(min(k - hp, p - 1) + 1):
            h0 = k - hp - hm
            if h0 <= zeros:
                total += comb(p, hp) * comb(p - 1, hm) * comb(zeros, h0) * ((hp > hm) - (hp < hm))
    return Fraction(total, comb(n, k))


@lru_cache(maxsize=16)
def _profile_table(n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(size profiles (P, n) int64, their scaled mean agreement (P, (n+1)/2) int64, scale D)."""
    values = [
        [ternary_mean_vote(n, k, p) for p in range(1, (n + 1) // 2 + 1)] for k in range(1, n + 1)
    ]
    denom = lcm(*(v.denominator for row in values for v in row))
    scaled = np.array([[int(v * denom) for v in row] for row in values], dtype=np.int64)
    bars = np.array(list(itertools.combinations(range(2 * n - 1), n - 1)), dtype=np.int64)
    edges = np.hstack([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), 2 * n - 1)])
    profiles = np.diff(edges, axis=1) - 1  # (P, n): y_k = workers of support size k + 1
    return profiles, profiles @ scaled, denom


def ternary_lower_bound_ones(n: int, b: int) -> int:
    """A proven lower bound on ones(G) of a ternary-perfect code (A(u) >= 2b + 1 for every
    u in {-1, 0, +1}^n with mu(u) != 0; :mod:`election.codes.ternary`).

    Degree bound: u = e_i gives every partition at least 2b + 1 holders, ones >= n (2b + 1).
    {±1} bound: every u in {-1, +1}^n (n odd) has mu != 0, so a ternary-perfect code is
    perfectly b-tolerant and :func:`lower_bound_ones` bounds it too.
    Profile bound (n <= MAX_PROFILE_N): average the constraint over the u with p pluses and
    p - 1 minuses (p = 1 .. (n+1)/2): with y_k workers of support size k,
    sum_k y_k t_k(p) >= 2b + 1, t_k(p) = :func:`ternary_mean_vote` (exact rationals). Every
    feasible code satisfies these, so the least sum_k k y_k over all integer profiles y
    (enumerated exhaustively, sum_k y_k = n) that satisfy them bounds ones(G) from below.
    """
    check_odd(n, b)
    cheap = max(n * (2 * b + 1), lower_bound_ones(n, b))
    if n > MAX_PROFILE_N:
        return cheap
    profiles, agreement, denom = _profile_table(n)
    feasible = np.all(agreement >= (2 * b + 1) * denom, axis=1)  # (P,)
    ones = profiles @ np.arange(1, n + 1, dtype=np.int64)  # (P,)
    return max(cheap, int(ones[feasible].min()))
