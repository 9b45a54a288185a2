"""Exact minimum-redundancy design by integer programming (HiGHS via scipy.optimize.milp).

Formulation (Sohn et al. 2020, §3; docs/design.md §2). Workers with the same support are
interchangeable, so a code is a multiset of supports: integer x_S >= 0 for every non-empty
S subset of [n], with sum_S x_S = n workers. Minimise ones(G) = sum_S |S| x_S subject to, for
every pattern u with mu(u) = +1 (u and -u give the same constraint),

    sum_S x_S sign(sum_{i in S} u_i) >= 2b + 1.

Reductions, each keeping the true optimum:
- Dominance: for mu = +1, turning a -1 into +1 can only raise every sign(sum_S u), so a pattern
  with more than m = (n+1)/2 pluses is implied by one with exactly m: C(n, m) constraints.
- Symmetry breaking: relabelling partitions maps codes to codes of equal cost, so some optimum
  has non-increasing column degrees d_i = sum_{S ni i} x_S; we add d_0 >= d_1 >= ... >= d_{n-1}.
The objective is integral, so the reported lower bound is ceil() of the solver's dual bound,
combined with the cheap bounds of :mod:`election.codes.bounds`.

Measured on a 2-core machine: n <= 7 in ~3 s, n = 9 in ~3 min (b = 1 is the hard case);
n = 11 (2047 variables) does not finish, so a time limit returns the best code and the gap.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from math import ceil
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from election.errors import CodeError

from .bounds import check_odd, lower_bound_ones, ternary_lower_bound_ones
from .matrix import AllocationCode

MAX_EXACT_N = 13  # 8191 support variables; beyond that the model alone is too large


@dataclass(frozen=True, eq=False)
class DesignResult:
    code: AllocationCode | None  # best code found (None if the solver found none in time)
    ones: int | None  # ones(G) of that code
    lower_bound: int  # proven lower bound on ones(G) for every perfect code
    optimal: bool  # ones == lower_bound
    status: str  # solver status message
    seconds: float

    @property
    def redundancy(self) -> float | None:
        return None if self.code is None else self.code.redundancy

    @property
    def gap(self) -> int | None:
        return None if self.ones is None else self.ones - self.lower_bound

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ones": self.ones,
            "redundancy": self.redundancy,
            "lower_bound_ones": self.lower_bound,
            "optimal": self.optimal,
            "gap": self.gap,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "matrix": None if self.code is None else self.code.matrix.astype(int).tolist(),
        }


def all_supports(n: int) -> np.ndarray:
    """Every non-empty subset of [n] as a 0/1 row, ordered by bitmask."""
    masks = np.arange(1, 1 << n, dtype=np.int64)[:, None]  # (2^n - 1, 1)
    return ((masks >> np.arange(n, dtype=np.int64)) & 1).astype(np.int8)  # (2^n - 1, n)


def minimal_patterns(n: int) -> np.ndarray:
    """All u with exactly (n+1)/2 entries +1, the rest -1."""
    m = (n + 1) // 2
    rows = []
    for plus in itertools.combinations(range(n), m):
        u = -np.ones(n, dtype=np.int8)
        u[list(plus)] = 1
        rows.append(u)
    return np.array(rows)  # (C(n, m), n) int8


def ternary_minimal_patterns(n: int) -> np.ndarray:
    """All u in {-1, 0, +1}^n with sum(u) = 1: (patterns, n) int8.

    For the ternary-perfect ILP (:mod:`election.codes.ternary`): every u with mu(u) = +1 is
    componentwise >= one of these (lower a coordinate one step at a time until the sum is 1),
    and every vote sign(sum_{i in S} u_i) is monotone in u, so these constraints imply the rest.
    """
    rows = []
    for plus in range(1, (n + 1) // 2 + 1):
        for pos in itertools.combinations(range(n), plus):
            rest = [i for i in range(n) if i not in pos]
            for neg in itertools.combinations(rest, plus - 1):
                u = np.zeros(n, dtype=np.int8)
                u[list(pos)] = 1
                u[list(neg)] = -1
                rows.append(u)
    return np.array(rows)  # (patterns, n) int8


def ilp_model(n: int, b: int, *, ternary: bool) -> tuple[np.ndarray, list[LinearConstraint]]:
    """The supports (one variable x_S each) and the constraints of the ILP above: one per
    pattern, n workers, and the degree order (the symmetry breaking)."""
    supports = all_supports(n)  # (n_vars, n) int8
    patterns = ternary_minimal_patterns(n) if ternary else minimal_patterns(n)
    coeff = np.sign(patterns.astype(np.int32) @ supports.T.astype(np.int32))
    degree_steps = np.diff(supports.T.astype(float), axis=0)  # (n-1, n_vars): d_{i+1} - d_i
    return supports, [
        LinearConstraint(coeff.astype(float), 2 * b + 1, np.inf),
        LinearConstraint(np.ones((1, supports.shape[0])), n, n),
        LinearConstraint(degree_steps, -np.inf, 0),
    ]


def minimum_redundancy_code(
    n: int,
    b: int,
    *,
    time_limit: float | None = None,
    verbose: bool = False,
    upper_bound: int | None = None,
    ternary: bool = False,
) -> DesignResult:
    """Solve the ILP above; ``optimal`` tells whether optimality was proven within the limit.

    ``upper_bound`` (the ones of any known perfect code, e.g. from :mod:`.construct`) adds the
    cut ones(G) <= upper_bound, which keeps the optimum and prunes the search. ``ternary``
    designs ternary-perfect codes instead: the same ILP with one constraint per
    u in {-1, 0, +1}^n with sum(u) = 1 (:func:`ternary_minimal_patterns`), i.e.
    sum_S x_S sign(sum_{i in S} u_i) >= 2b + 1 for every ternary u with mu(u) != 0.
    """
    check_odd(n, b)
    if n > MAX_EXACT_N:
        raise CodeError(f"the exact ILP needs n <= {MAX_EXACT_N} (got n={n}); use the construction")
    started = time.perf_counter()
    cheap_bound = ternary_lower_bound_ones(n, b) if ternary else lower_bound_ones(n, b)
    supports, constraints = ilp_model(n, b, ternary=ternary)
    cost = supports.sum(axis=1).astype(float)  # (n_vars,)
    if upper_bound is not None:
        constraints.append(LinearConstraint(cost[None, :], -np.inf, upper_bound))
    options: dict[str, Any] = {"disp": verbose}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(
        cost,
        constraints=constraints,
        integrality=np.ones(cost.size),
        bounds=Bounds(0, n),
        options=options,
    )
    seconds = time.perf_counter() - started
    dual = getattr(res, "mip_dual_bound", None)
    bound = cheap_bound
    if dual is not None and np.isfinite(dual):
        bound = max(bound, ceil(float(dual) - 1e-6))
    if res.x is None:
        return DesignResult(None, None, bound, False, str(res.message), seconds)
    counts = np.rint(res.x).astype(int)  # (n_vars,)
    rows = np.repeat(supports, counts, axis=0).astype(np.uint8)  # (n, n)
    order = np.lexsort((-rows.sum(axis=1),) + tuple(rows.T[::-1]))
    ones = int(rows.sum())
    if res.status == 0:
        bound = max(bound, ones)  # proven optimal by the solver
    code = AllocationCode(rows[order][::-1], kind="ternary" if ternary else "deterministic", b=b)
    return DesignResult(code, ones, bound, ones == bound, str(res.message), seconds)
