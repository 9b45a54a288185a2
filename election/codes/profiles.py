"""Exact lower bounds on ones(G) by row-size profile: the design ILP split by row sizes.

The ILP of :mod:`election.codes.design` (Sohn et al. 2020, §3; docs/codes.md, "Proving
minimality by profile") chooses a multiset of n supports. Its *profile* is the multiset of the
supports' sizes (the workers' loads), and ones(G) is the profile's sum. To prove that no perfect
code has at most T ones, it is enough to rule out every profile with sum <= T:

1. **LP step, in closed form.** With the profile fixed (sum_{|S| = s} x_S = m_s for every s), the
   LP relaxation is invariant under relabelling the partitions, and the average of a feasible
   point over all relabellings, x_S = m_|S| / C(n, |S|), is feasible too (the degree-order cuts
   hold there with equality). So the LP is feasible iff that symmetric point is, i.e. iff for
   every pattern type t = (p entries +1, q entries -1) the rows' mean votes reach 2b + 1:

       sum_j E_{u of type t} sign(sum_{i in S_j} u_i) >= 2b + 1,

   where the mean over a uniformly placed pattern depends on |S_j| alone (hypergeometric, exact
   in rationals). Types: {±1} codes (m, m - 1) with m = (n + 1) / 2; ternary-perfect codes
   (p, p - 1) for p = 1..m (:func:`election.codes.design.ternary_minimal_patterns`).
2. **MIP step.** Each profile that passes is the ILP with the profile fixed, solved for
   feasibility; any solution is a perfect code with that profile.

No feasible profile with sum <= T, and every MIP decided: every perfect code has > T ones.

A *ledger* (JSON lines, one per decided profile: the profile, its verdict, the seconds and the
time limit) makes a long proof resumable across runs: a rerun skips the profiles the ledger
rules out, and the undecided ones already tried with at least its time limit (reported as
undecided again without solving; ``retry_undecided`` solves them anyway), so that a rerun with
the same limit spends its time on the profiles nobody tried.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from .bounds import check_odd, lower_bound_ones, ternary_lower_bound_ones
from .design import ilp_model
from .matrix import AllocationCode

Profile = tuple[int, ...]  # the n row sizes, non-decreasing
PROFILE_SECONDS = 600.0  # default MIP time limit per profile (a profile left undecided is reported)


def pattern_types(n: int, *, ternary: bool) -> list[tuple[int, int]]:
    """(entries +1, entries -1) of the minimal patterns with mu = +1 (module docstring)."""
    m = (n + 1) // 2
    return [(p, p - 1) for p in range(1, m + 1)] if ternary else [(m, m - 1)]


@cache
def mean_vote(n: int, size: int, plus: int, minus: int) -> Fraction:
    """E sign(sum_{i in S} u_i) for |S| = size and u uniformly placed with ``plus`` +1 and
    ``minus`` -1 entries (the rest 0): sum over a = |S ∩ plus|, c = |S ∩ minus| of the
    hypergeometric weight C(plus, a) C(minus, c) C(n - plus - minus, size - a - c) / C(n, size)."""
    zeros, total = n - plus - minus, 0
    for a in range(min(plus, size) + 1):
        for c in range(min(minus, size - a) + 1):
            rest = size - a - c
            if rest <= zeros:
                total += comb(plus, a) * comb(minus, c) * comb(zeros, rest) * ((a > c) - (a < c))
    return Fraction(total, comb(n, size))


def lp_feasible(profile: Profile, n: int, b: int, *, ternary: bool) -> bool:
    """Whether the design LP with this profile fixed has a solution (module docstring, step 1)."""
    return all(
        sum(mean_vote(n, s, p, q) for s in profile) >= 2 * b + 1
        for p, q in pattern_types(n, ternary=ternary)
    )


def profiles(n: int, low: int, high: int) -> Iterator[Profile]:
    """Every multiset of n row sizes in 1..n with low <= sum <= high, by sum then lexicographic."""
    every = itertools.combinations_with_replacement(range(1, n + 1), n)
    yield from sorted((p for p in every if low <= sum(p) <= high), key=lambda p: (sum(p), p))


def profile_code(
    n: int, b: int, profile: Profile, *, ternary: bool, time_limit: float
) -> tuple[str, AllocationCode | None]:
    """("feasible" with its code | "infeasible" | "undecided") for the ILP with ``profile``."""
    supports, constraints = ilp_model(n, b, ternary=ternary)
    sizes = supports.sum(axis=1)  # (n_vars,)
    counts = np.array([profile.count(s) for s in range(1, n + 1)], dtype=float)  # (n,)
    by_size = np.array([(sizes == s).astype(float) for s in range(1, n + 1)])  # (n, n_vars)
    res = milp(
        np.zeros(sizes.size),
        constraints=[*constraints, LinearConstraint(by_size, counts, counts)],
        integrality=np.ones(sizes.size),
        bounds=Bounds(0, n),
        options={"time_limit": time_limit},
    )
    if res.x is not None:
        rows = np.repeat(supports, np.rint(res.x).astype(int), axis=0).astype(np.uint8)
        kind = "ternary" if ternary else "deterministic"
        return "feasible", AllocationCode(rows, kind=kind, b=b)
    return ("infeasible" if res.status == 2 else "undecided"), None


@dataclass
class ProfileProof:
    """The outcome of :func:`prove_above` (``proven``: every perfect code has > ``ones`` ones)."""

    n: int
    b: int
    ternary: bool
    ones: int  # the profiles checked have sum <= ones
    profiles: int = 0  # profiles with cheap_bound <= sum <= ones
    lp_feasible: list[Profile] = field(default_factory=list)  # those passing the LP step
    infeasible: int = 0  # of lp_feasible, ruled out by the MIP
    undecided: list[Profile] = field(default_factory=list)  # MIP time limit reached
    found: AllocationCode | None = None  # a perfect code with <= ones ones, if any
    from_ledger: int = 0  # of infeasible, read from the ledger instead of solved
    undecided_from_ledger: int = 0  # of undecided, tried before at >= this time limit
    seconds: float = 0.0

    @property
    def proven(self) -> bool:
        return self.found is None and not self.undecided

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "b": self.b,
            "ternary": self.ternary,
            "ones_at_most": self.ones,
            "profiles": self.profiles,
            "lp_feasible_profiles": len(self.lp_feasible),
            "mip_infeasible_profiles": self.infeasible,
            "from_ledger": self.from_ledger,
            "undecided_from_ledger": self.undecided_from_ledger,
            "undecided_profiles": [list(p) for p in self.undecided],
            "found": None if self.found is None else self.found.matrix.astype(int).tolist(),
            "proven_lower_bound": self.ones + 1 if self.proven else None,
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class Ledger:
    """What a ledger says about one problem (n, b, ternary)."""

    ruled_out: frozenset[Profile]  # verdict "infeasible"
    tried: dict[Profile, float]  # verdict "undecided": the longest time limit it was given


def read_ledger(path: Path | None, n: int, b: int, *, ternary: bool) -> Ledger:
    """The verdicts a ledger holds for (n, b, ternary) (a torn last line is ignored)."""
    ruled_out: set[Profile] = set()
    tried: dict[Profile, float] = {}
    lines = path.read_text().splitlines() if path is not None and path.exists() else []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (row.get("n"), row.get("b"), row.get("ternary")) != (n, b, ternary):
            continue
        profile = tuple(row["profile"])
        if row.get("verdict") == "infeasible":
            ruled_out.add(profile)
        elif row.get("verdict") == "undecided":
            limit = float(row.get("time_limit") or 0.0)
            tried[profile] = max(limit, tried.get(profile, 0.0))
    return Ledger(frozenset(ruled_out), {p: t for p, t in tried.items() if p not in ruled_out})


def prove_above(
    n: int,
    b: int,
    ones: int,
    *,
    ternary: bool,
    time_limit: float = PROFILE_SECONDS,
    progress: Callable[[int, int, Profile, str], None] | None = None,
    ledger: Path | None = None,
    retry_undecided: bool = False,
) -> ProfileProof:
    """Rule out every perfect code with at most ``ones`` ones, profile by profile; stops at the
    first code found. ``progress(done, total, profile, verdict)`` after each MIP; ``ledger``:
    skip the profiles it rules out and (unless ``retry_undecided``) those it records undecided
    at ``time_limit`` or more, append every new verdict (module docstring)."""
    check_odd(n, b)
    started = time.perf_counter()
    cheap = ternary_lower_bound_ones(n, b) if ternary else lower_bound_ones(n, b)
    proof = ProfileProof(n, b, ternary, ones)
    for profile in profiles(n, cheap, ones):
        proof.profiles += 1
        if lp_feasible(profile, n, b, ternary=ternary):
            proof.lp_feasible.append(profile)
    known = read_ledger(ledger, n, b, ternary=ternary)
    for done, profile in enumerate(proof.lp_feasible, 1):
        if profile in known.ruled_out:
            proof.infeasible += 1
            proof.from_ledger += 1
            continue
        if not retry_undecided and known.tried.get(profile, -1.0) >= time_limit:
            proof.undecided.append(profile)
            proof.undecided_from_ledger += 1
            continue
        solving = time.perf_counter()
        verdict, code = profile_code(n, b, profile, ternary=ternary, time_limit=time_limit)
        if ledger is not None:
            row = {"n": n, "b": b, "ternary": ternary, "profile": list(profile),
                   "verdict": verdict, "seconds": round(time.perf_counter() - solving, 1),
                   "time_limit": time_limit}  # fmt: skip
            with ledger.open("a") as f:
                f.write(json.dumps(row) + "\n")
        if progress is not None:
            progress(done, len(proof.lp_feasible), profile, verdict)
        if verdict == "infeasible":
            proof.infeasible += 1
        elif verdict == "undecided":
            proof.undecided.append(profile)
        else:
            proof.found = code
            break
    proof.seconds = time.perf_counter() - started
    return proof
