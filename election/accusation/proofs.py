"""Which workers the votes of one round prove Byzantine (Sohn et al. 2020, Sec. 2-3).

Setting. At coordinate k an honest worker j sends E_jk = sign(sum_{i in S_j} u_ik) for the
round's partition signs u_k in {-1, 0, +1}^n, identical for every honest worker (they compute
the same partition gradients; docs/accusation.md states when that holds). The votes e_k of a
round are *explained* by a set L of workers if removing L (and the absent workers) leaves a
pattern that some u_k produces, for every examined coordinate k:

    L explains  <=>  for all k: exists u_k with e_jk = sign(G_j u_k) for every present j not in L.

Let B be the true set of workers that deviated this round. B explains the round (the others
are honest). Under the assumption ``|B| <= b``:

- worker w is **proven Byzantine** iff every explaining L with |L| <= b contains w. Sound:
  B is such an L, so w is in B. Complete for the examined coordinates when the pattern table is
  exact: if some explaining L with |L| <= b avoids w, the world "L lied, the rest honest" fits
  every vote, and nothing distinguishes it from the real one;
- the **minimal suspect sets** are the explaining sets of the smallest size ``min_liars``.
  ``min_liars`` is an unconditional lower bound on |B| (no assumption on b needed).
If no L with |L| <= b explains the round, the assumption is false; nothing is proven
(``assumption_holds = False``) and ``min_liars`` says how many lied at least.

Evaluation. Examining fewer coordinates only adds explaining sets, so proofs drawn from a
sample of coordinates are sound. Per coordinate only the pattern matters: the sampled patterns
are keyed (:mod:`election.accusation.table`), deduplicated with ``np.unique``, and looked up in
the sorted table of achievable patterns. Only the inclusion-minimal explaining sets are
computed (the intersection over all explaining sets of size <= b equals the intersection over
the minimal ones; a superset of an explaining set explains): candidates of size 1..b are pruned
by the minimal removal sets of a few frequent patterns (for pattern e, the minimal mismatch
sets {j present : a_j != e_j} over a in A, cached), then checked in size order, skipping
supersets of sets already found, against every inconsistent pattern at once in the table
projected on the workers left (cached per set). Sizes beyond b are searched only when no set
of size <= b explains the round (to report ``min_liars``).
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from election.accusation.table import PatternTable
from election.errors import ConfigError
from election.votes.sample import VoteSample

MAX_SUBSETS = 2**16  # removal sets of size <= b must number at most this (else ConfigError)
EARLY_PATTERNS = 16  # patterns a candidate is checked on before all the others
FILTER_PATTERNS = 8  # most frequent inconsistent patterns whose removal sets prune candidates
SEARCH_SUBSETS = 2**11  # beyond size b, sizes are searched while the sets number at most this
MAX_LISTED_SUSPECTS = 16  # minimal suspect sets reported per round (the count is always exact)


@dataclass(frozen=True)
class Accusation:
    """One round's evidence (module docstring)."""

    b: int  # the assumption: at most b workers deviated this round
    coords: int  # sampled coordinates examined
    inconsistent: int  # of those, coordinates no honest round produces
    min_liars: int | None  # smallest explaining set; None: larger than max_size
    max_size: int  # largest removal set searched
    assumption_holds: bool  # some set of <= b workers explains every examined coordinate
    proven: tuple[int, ...]  # workers in every explaining set of size <= b
    suspects: tuple[tuple[int, ...], ...]  # explaining sets of size min_liars (first few)
    n_suspect_sets: int  # how many explaining sets have size min_liars
    exact: bool  # the table is exact (else the identical-rows relaxation: sound, weaker)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "b": self.b,
            "coords": self.coords,
            "inconsistent": self.inconsistent,
            "min_liars": self.min_liars,
            "max_size": self.max_size,
            "assumption_holds": self.assumption_holds,
            "proven": list(self.proven),
            "suspects": [list(s) for s in self.suspects],
            "n_suspect_sets": self.n_suspect_sets,
            "exact": self.exact,
        }


def sample_keys(sample: VoteSample) -> np.ndarray:
    """Pattern key of every sampled coordinate: (k,) uint64 (absent workers' bits are 0)."""
    # 2^j as floats: the product runs in BLAS and is exact (sums of distinct powers < 2^n,
    # exact in float32 for n <= 24 and in float64 up to n = 53)
    dtype = np.float32 if sample.n <= 24 else np.float64
    weights = np.exp2(np.arange(sample.n)).astype(dtype)  # (n,) 2^j
    neg = (weights @ sample.neg).astype(np.uint64)  # (k,) bit j = worker j voted -1
    zero = (weights @ sample.zero).astype(np.uint64)  # (k,) bit j = worker j voted 0
    return neg | (zero << np.uint64(sample.n))


def minimal_sets(masks: np.ndarray) -> np.ndarray:
    """The inclusion-minimal masks of a (m,) uint64 set of worker masks: sorted by size."""
    uniq = np.unique(masks)
    order = np.argsort(np.bitwise_count(uniq), kind="stable")
    kept: list[int] = []
    for m in (int(x) for x in uniq[order]):
        if not any(m & k == k for k in kept):
            kept.append(m)
    return np.array(kept, dtype=np.uint64)


def removal_sets(table: PatternTable, key: int, present: int, max_size: int) -> np.ndarray:
    """Minimal sets L (|L| <= max_size) whose removal makes pattern ``key`` achievable: (m,)."""
    keys = table.project(present)
    diff = keys ^ np.uint64(key)  # (|A|,) uint64
    low = np.uint64((1 << table.n) - 1)
    mismatch = (diff | (diff >> np.uint64(table.n))) & low  # workers whose vote differs
    small = mismatch[np.bitwise_count(mismatch) <= max_size]
    return minimal_sets(small)


def candidate_sets(present: int, n: int, max_size: int) -> np.ndarray:
    """Every set of present workers of size <= max_size, as (m,) uint64 masks, by size."""
    workers = [j for j in range(n) if present >> j & 1]
    out = [
        sum(1 << j for j in combo)
        for size in range(max_size + 1)
        for combo in itertools.combinations(workers, size)
    ]
    return np.array(out, dtype=np.uint64)


def search_bound(n_present: int, b: int) -> int:
    """Removal-set sizes searched: at least b, and beyond b while the candidates number at most
    ``SEARCH_SUBSETS`` (so that ``min_liars`` is found when the assumption fails)."""
    size, total = 0, 1
    while size < n_present and total + math.comb(n_present, size + 1) <= SEARCH_SUBSETS:
        size += 1
        total += math.comb(n_present, size)
    need = min(b, n_present)
    if sum(math.comb(n_present, t) for t in range(need + 1)) > MAX_SUBSETS:
        raise ConfigError(f"accusation: b={b} with {n_present} workers exceeds {MAX_SUBSETS} sets")
    return max(size, need)


def _contains(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which ``keys`` occur in the sorted ``table``: (m,) bool."""
    pos = np.minimum(np.searchsorted(table, keys), table.size - 1)
    return table[pos] == keys


def _popcount(mask: int) -> int:
    return bin(mask).count("1")


def _workers(mask: int, n: int) -> tuple[int, ...]:
    return tuple(j for j in range(n) if mask >> j & 1)


class Prover:
    """Accusation over rounds for one code: caches removal sets per (pattern, present set)."""

    def __init__(self, table: PatternTable, *, b: int) -> None:
        if not 0 <= b <= table.n:
            raise ConfigError(f"accusation: b={b} must satisfy 0 <= b <= n={table.n}")
        self.table = table
        self.b = b
        self._removals: dict[tuple[int, int, int], np.ndarray] = {}
        self._candidates: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}

    def _candidate_table(self, present: int) -> tuple[np.ndarray, np.ndarray, int]:
        if present not in self._candidates:
            max_size = search_bound(bin(present).count("1"), self.b)
            sets = candidate_sets(present, self.table.n, max_size)
            self._candidates[present] = (sets, np.bitwise_count(sets), max_size)
        return self._candidates[present]

    def inconsistent_patterns(self, keys: np.ndarray, present: int) -> tuple[np.ndarray, int]:
        """Distinct sampled patterns no honest round produces (most frequent first), and the
        number of sampled coordinates that show them."""
        uniq, counts = np.unique(keys, return_counts=True)
        bad = ~_contains(self.table.project(present), uniq)
        order = np.argsort(-counts[bad], kind="stable")
        return uniq[bad][order], int(counts[bad].sum())

    def _family(self, key: int, present: int, max_size: int) -> np.ndarray:
        cache_key = (key, present, max_size)
        if cache_key not in self._removals:
            self._removals[cache_key] = removal_sets(self.table, key, present, max_size)
        return self._removals[cache_key]

    def _explains(self, removed: int, bad: np.ndarray, present: int) -> bool:
        """Every pattern of ``bad`` is achievable once the workers of ``removed`` are ignored."""
        keep = present & ~removed
        table = self.table.project(keep)
        mask = np.uint64(keep | (keep << self.table.n))
        step = EARLY_PATTERNS
        while 2 * step <= bad.size:  # stages of ~16, ~128, ... spread patterns before all of
            if not _contains(table, bad[:: bad.size // step] & mask).all():  # them: a failing
                return False  # candidate stops early
            step *= 8
        return bool(_contains(table, bad & mask).all())

    def _minimal_in(self, bad: np.ndarray, present: int, lo: int, hi: int) -> list[int]:
        """The inclusion-minimal explaining sets with lo <= size <= hi, by size.

        The candidates are first filtered by the minimal removal sets of the
        ``FILTER_PATTERNS`` most frequent patterns (a set explains a pattern iff it contains
        one of them); each remaining candidate that contains no smaller explaining set is
        then checked on every pattern at once, in the table projected on the workers left.
        """
        sets, sizes, _ = self._candidate_table(present)
        alive = (sizes >= lo) & (sizes <= hi)
        for key in bad[:FILTER_PATTERNS].tolist():
            family = self._family(key, present, hi)
            live = sets[alive]
            hit = ((live[:, None] & family[None, :]) == family[None, :]).any(axis=1)
            alive[np.flatnonzero(alive)[~hit]] = False
        found: list[int] = []
        for removed in sets[alive].tolist():
            if not any(removed & m == m for m in found) and self._explains(removed, bad, present):
                found.append(removed)
        return found

    def explaining_sets(self, bad: np.ndarray, present: int) -> tuple[list[int], int]:
        """The minimal explaining sets of size <= b, or (when there is none) the smallest ones
        up to the search bound; and the largest size searched."""
        _, _, max_size = self._candidate_table(present)
        if bad.size == 0:
            return [0], 0
        bound = min(self.b, max_size)
        found = self._minimal_in(bad, present, 1, bound)
        if found or bound >= max_size:
            return found, bound
        return self._minimal_in(bad, present, bound + 1, max_size), max_size

    def accuse(self, sample: VoteSample) -> Accusation:
        """The round's proofs and suspects from its sampled votes (module docstring)."""
        n = self.table.n
        if sample.n != n:
            raise ConfigError(f"accusation: {sample.n} votes for a code of n={n} workers")
        present = sum(1 << j for j in range(n) if sample.present[j])
        bad, n_bad = self.inconsistent_patterns(sample_keys(sample), present)
        minimal, searched = self.explaining_sets(bad, present)
        return self._verdict(sample.k, n_bad, minimal, searched)

    def _verdict(self, coords: int, n_bad: int, minimal: list[int], searched: int) -> Accusation:
        n = self.table.n
        sizes = [_popcount(m) for m in minimal]
        min_liars = min(sizes) if sizes else None
        holds = min_liars is not None and min_liars <= self.b
        proven = 0
        if holds:  # the intersection of all explaining sets <= b = that of the minimal ones
            proven = functools.reduce(operator.and_, [m for m in minimal if _popcount(m) <= self.b])
        smallest = [m for m, size in zip(minimal, sizes, strict=True) if size == min_liars]
        return Accusation(
            b=self.b,
            coords=coords,
            inconsistent=n_bad,
            min_liars=min_liars,
            max_size=searched,
            assumption_holds=holds,
            proven=_workers(proven, n),
            suspects=tuple(_workers(m, n) for m in smallest[:MAX_LISTED_SUSPECTS]),
            n_suspect_sets=len(smallest),
            exact=self.table.exact,
        )
