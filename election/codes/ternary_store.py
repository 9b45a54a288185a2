"""Shipped ternary-perfect codes: ``data/ternary.json``, every odd n in [3, 31], 2b + 1 <= n.

A ternary-perfect code gives A(u) = sum_j mu E_j(u) >= 2b + 1 for every u in {-1, 0, +1}^n with
mu(u) != 0, so under the quorum decoder with q = b + 1 the master outputs mu on every such u and
0 on every dead coordinate, whatever b workers send (:mod:`election.codes.ternary`).

Each record: the rows, ones(G), the proven lower bound, the method ("optimal" = ones(G) equals
the proven bound: the exact ILP of :mod:`election.codes.design` with ``ternary=True`` proved it,
or a cheap bound matches; "ilp" = the best incumbent of a time-limited ILP, cheaper than the
construction, with the ILP's dual bound as the lower bound; "constructed" = the union-of-blocks
family of :mod:`election.codes.ternary_blocks`; the table prints the gap of the last two), the
blocks, how it was verified ("exhaustive" over all
3^n patterns for n <= 13, else "block-count", or "analytic" for the b = 0 identity) and the
movable-tie fraction under q = b + 1.
Regenerate with ``election codes design --ternary --all --write``.
"""

from __future__ import annotations

import fcntl
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from election.errors import CodeError

from .bounds import check_odd, ternary_lower_bound_ones
from .design import minimum_redundancy_code
from .store import shipped_entry
from .ternary import MAX_TERNARY_N, verify_ternary
from .ternary_blocks import construct_ternary_code, verify_union_blocks

DATA_PATH = Path(__file__).with_name("data") / "ternary.json"
SHIPPED_NS = tuple(range(3, 32, 2))
EXACT_UP_TO = 9  # the ternary ILP proves optimality up to here (minutes to an hour on 2 cores)
ILP_BEST_N = 11  # time-limited ILP, compared with the construction
ILP_SECONDS = 600.0  # per b at n = 11


def construction_blocks(n: int) -> int:
    """Block-search depth: 6 blocks at n <= 11 (minutes per b: (11, 1) drops from 63 to 61
    ones), 5 while the per-partition ILPs stay small (n = 15: minutes per b), 4 beyond."""
    return 6 if n <= 11 else 5 if n <= 15 else 4


@lru_cache(maxsize=1)
def _load() -> dict[tuple[int, int], dict[str, Any]]:
    text = DATA_PATH.read_text(encoding="utf-8") if DATA_PATH.exists() else ""
    if not text.strip():
        return {}
    data = json.loads(text)
    return {(int(e["n"]), int(e["b"])): e for e in data["codes"]}


def shipped_ternary_entry(n: int, b: int) -> dict[str, Any] | None:
    """The stored record for (n, b), or None when none is shipped."""
    check_odd(n, b)
    return _load().get((n, b))


def entry_matrix(entry: dict[str, Any]) -> np.ndarray:
    return np.array([[int(c) for c in row] for row in entry["rows"]], dtype=np.uint8)  # (n, n)


def _trivial(n: int, b: int) -> np.ndarray | None:
    """b = 0: the identity (A(u) = |sum u| >= 1); 2b + 1 = n: all ones. Both meet n (2b + 1)."""
    if b == 0:
        return np.eye(n, dtype=np.uint8)
    if 2 * b + 1 == n:
        return np.ones((n, n), dtype=np.uint8)
    return None


def _verify(
    matrix: np.ndarray, blocks: list[list[int]] | None, n: int, b: int
) -> tuple[bool, float, str]:
    """(ternary-perfect, movable-tie fraction under q = b + 1, how it was verified).

    Exhaustive over 3^n patterns up to MAX_TERNARY_N, else the exact block count; the identity
    with b = 0 beyond that is analytic: A(u) = |sum_i u_i| >= 1 whenever mu != 0, and with no
    attacker nothing moves.
    """
    if n <= MAX_TERNARY_N:
        check = verify_ternary(matrix, b, b + 1)
    elif blocks is not None:
        check = verify_union_blocks(matrix, blocks, b, b + 1)
    elif b == 0 and np.array_equal(matrix, np.eye(n, dtype=matrix.dtype)):
        return True, 0.0, "analytic"
    else:
        raise CodeError(f"n={n}, b={b}: no block structure to verify with")
    kind = "exhaustive" if n <= MAX_TERNARY_N else "block-count"
    return check.ternary_perfect, check.movable_tie_fraction, kind


def proven_lower_bound(n: int, b: int) -> int:
    """:func:`ternary_lower_bound_ones`, raised to the proven lower bound of the shipped {±1}
    code for (n, b) (a ternary-perfect code is perfect on {-1, +1}^n, so it bounds it too)."""
    binary = shipped_entry(n, b)
    shipped = 0 if binary is None else int(binary["lower_bound_ones"])
    return max(ternary_lower_bound_ones(n, b), shipped)


def _ilp_limit(n: int, ilp_seconds: float | None) -> float | None:
    """The ternary ILP's time limit: None = run to optimality (default up to EXACT_UP_TO),
    ILP_SECONDS by default at n = 11, 0 = no ILP (the construction alone)."""
    if n > ILP_BEST_N:
        return 0.0
    if ilp_seconds is None:
        return None if n <= EXACT_UP_TO else ILP_SECONDS
    return float(ilp_seconds)


def _design_matrix(
    n: int, b: int, bound: int, ilp_seconds: float | None
) -> tuple[np.ndarray, int, str, list[list[int]] | None, str]:
    """(matrix, proven bound, method, blocks, ILP status): the cheapest verified-designable code.

    The union-of-blocks construction first (seconds); then, for n <= ILP_BEST_N, the exact ILP
    with the cut ones(G) <= the construction's ones (keeps the optimum, prunes the search),
    under the time limit of :func:`_ilp_limit`. The ILP's incumbent replaces the construction
    only when it is cheaper; its dual bound raises the proven lower bound.
    """
    trivial = _trivial(n, b)
    if trivial is not None:
        return trivial, bound, "optimal", None, ""
    built = construct_ternary_code(n, b, max_blocks=construction_blocks(n), stop_at=bound)
    matrix, method = built.matrix, "constructed"
    blocks: list[list[int]] | None = [list(block) for block in built.blocks]
    limit, status = _ilp_limit(n, ilp_seconds), ""
    if built.ones > bound and limit != 0:
        result = minimum_redundancy_code(
            n, b, ternary=True, time_limit=limit, upper_bound=built.ones
        )
        bound, status = max(bound, result.lower_bound), result.status
        if result.code is not None and int(result.ones or 0) < built.ones:
            matrix, method, blocks = result.code.matrix, "ilp", None
    return matrix, bound, method, blocks, status


def design_ternary_entry(
    n: int, b: int, *, ilp_seconds: float | None = None, log: Any = None
) -> dict[str, Any]:
    """Design, verify and describe the ternary-perfect code for (n, b) as the shipped record.

    ``ilp_seconds``: the ILP's time limit (:func:`_ilp_limit`; 0 = construction only).
    """
    started = time.perf_counter()
    matrix, bound, method, blocks, status = _design_matrix(
        n, b, proven_lower_bound(n, b), ilp_seconds
    )
    assert matrix is not None
    ones = int(matrix.sum())
    if n > MAX_TERNARY_N and blocks is None and matrix.all():
        blocks = [list(range(n))]  # the all-ones code is the union of one block
    perfect, movable, verified = _verify(matrix, blocks, n, b)
    if not perfect:
        raise CodeError(f"internal error: ternary code for n={n}, b={b} fails verification")
    entry = {
        "n": n,
        "b": b,
        "ones": ones,
        "redundancy": ones / n,
        "lower_bound_ones": bound,
        "optimal": ones == bound,
        "method": "optimal" if ones == bound else method,
        "verified": verified,
        "blocks": blocks,
        "movable_tie_fraction": movable,
        "rows": ["".join(str(int(v)) for v in row) for row in matrix],
        "ilp_status": status,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if log is not None:
        log(f"ternary n={n} b={b} ones={ones} bound={bound} {entry['method']} {entry['seconds']}s")
    return entry


def write_ternary_shipped(entries: list[dict[str, Any]]) -> Path:
    """Merge ``entries`` into data/ternary.json (replacing records of the same (n, b)).

    The read-merge-write holds an exclusive lock on the file, so designers run side by side
    (one per b, ``design --ternary --write --n N --b B``) never drop each other's records.
    """
    DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(DATA_PATH, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _load.cache_clear()
        records = dict(_load())
        records.update({(int(e["n"]), int(e["b"])): e for e in entries})
        ordered = [records[key] for key in sorted(records)]
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"codes": ordered}, indent=1) + "\n")
    _load.cache_clear()
    return DATA_PATH
