"""Shipped deterministic codes: ``data/nXX.json``, one file per odd n in [3, 31].

Each file holds, for every b with 2b+1 <= n: the rows (strings of 0/1), ones(G), the proven
lower bound on ones(G), the method ("optimal" = exact ILP proved it, "ilp" = best ILP incumbent
within a time limit, "constructed" = block-family construction, see :mod:`.construct`), the
block partition for block-count verification, and how the code was verified. Regenerate with
``election codes design --all --write`` (about 30 minutes on 2 cores: n <= 9 runs the exact
ILP, n = 11 a time-limited ILP and the block search, n >= 13 the block search).
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from election.errors import CodeError

from .blocks import verify_blocks
from .bounds import check_odd, lower_bound_ones
from .construct import construct_code
from .design import minimum_redundancy_code
from .verify import verify

DATA_DIR = Path(__file__).with_name("data")
SHIPPED_NS = tuple(range(3, 32, 2))
EXACT_UP_TO = 9  # the ILP proves optimality in minutes up to here
ILP_BEST_N = 11  # time-limited ILP, then compared with the construction
ILP_SECONDS = 60.0  # per b at n = 11; the construction usually wins anyway
EXHAUSTIVE_UP_TO = 21  # beyond this the block-count verifier is used


def construction_blocks(n: int, b: int) -> int:
    """Block-search depth: 4 blocks pay off most for small b, 3 keep n = 31 at seconds per b."""
    return 4 if n <= 15 or b == 1 else 3


def data_path(n: int) -> Path:
    return DATA_DIR / f"n{n:02d}.json"


@lru_cache(maxsize=64)
def _load(n: int) -> dict[int, dict[str, Any]]:
    path = data_path(n)
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {int(entry["b"]): entry for entry in data["codes"]}


def shipped_entry(n: int, b: int) -> dict[str, Any] | None:
    """The stored record for (n, b), or None when none is shipped."""
    check_odd(n, b)
    return _load(n).get(b)


def shipped_matrix(entry: dict[str, Any]) -> np.ndarray:
    return np.array([[int(c) for c in row] for row in entry["rows"]], dtype=np.uint8)  # (n, n)


def design_entry(n: int, b: int, *, log: Any = None) -> dict[str, Any]:
    """Design, verify and describe the code for (n, b) as the shipped record."""
    started = time.perf_counter()
    bound = lower_bound_ones(n, b)
    method, blocks = "constructed", None
    matrix: np.ndarray | None = None
    if n <= ILP_BEST_N:
        result = minimum_redundancy_code(n, b, time_limit=None if n <= EXACT_UP_TO else ILP_SECONDS)
        bound = max(bound, result.lower_bound)
        if result.code is not None:
            matrix, method = result.code.matrix, "optimal" if result.optimal else "ilp"
    if n > EXACT_UP_TO:
        built = construct_code(n, b, max_blocks=construction_blocks(n, b), stop_at=bound)
        if matrix is None or built.ones < int(matrix.sum()):
            matrix, method = built.matrix, "constructed"
            blocks = [list(block) for block in built.blocks]
    assert matrix is not None
    ones = int(matrix.sum())
    if n <= EXHAUSTIVE_UP_TO:
        check, verified_by = verify(matrix, b), "exhaustive"
    else:
        if blocks is None:
            raise CodeError(f"n={n}, b={b}: no block structure to verify with")
        check, verified_by = verify_blocks(matrix, blocks, b), "block-count"
    if not check.perfect:
        raise CodeError(f"internal error: designed code for n={n}, b={b} fails verification")
    if ones == bound:
        method = "optimal"
    entry = {
        "b": b,
        "ones": ones,
        "redundancy": ones / n,
        "lower_bound_ones": bound,
        "optimal": ones == bound,
        "method": method,
        "verified": verified_by,
        "blocks": blocks,
        "rows": ["".join(str(int(v)) for v in row) for row in matrix],
        "seconds": round(time.perf_counter() - started, 2),
    }
    if log is not None:
        log(f"n={n} b={b} ones={ones} bound={bound} method={method} {entry['seconds']}s")
    return entry


def write_shipped(n: int, *, log: Any = None) -> Path:
    check_odd(n, 0)
    entries = [design_entry(n, b, log=log) for b in range((n + 1) // 2)]
    path = data_path(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"n": n, "codes": entries}, indent=1) + "\n", encoding="utf-8")
    _load.cache_clear()
    return path
