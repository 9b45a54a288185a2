"""Registry of allocation-code families: name -> factory.

docs/design.md Sec. 2; Sohn et al. 2020, §3-4.

- ``uncoded``: G = I (SignSGD-MV, r = 1); tolerates no Byzantine worker.
- ``bernoulli``: G[j, i] ~ Bernoulli(r / n) i.i.d. from a seeded numpy Generator, the whole
  matrix redrawn until no row is empty (random Bernoulli codes, §4); ``redraw=False`` keeps
  the first draw, empty rows included (the official Amazon run, docs/paper.md).
- ``deterministic``: perfect b-tolerance with as few ones as we can prove or construct (odd n,
  2b+1 <= n): shipped codes for n <= 31 (exact ILP optimum for n <= 9), else the construction.
- ``ternary``: ternary-perfect (exact on every u in {-1, 0, +1}^n with mu != 0 under the quorum
  decoder q = b + 1, dead coordinates fixed) with as few ones as we can prove or construct:
  shipped for odd n <= 31 (:mod:`.ternary_store`), else the union-of-blocks construction.
- ``file``: a matrix read from a JSON or 0/1 text file (see :func:`.matrix.load_matrix`);
  empty rows (idle workers) and columns nobody holds are accepted.
- ``paper-r3.8``: the official code's n = 5 matrix with r = 3.8 (rows {1}, {2, 3, 4} and three
  times {1..5}; docs/paper.md), perfectly 1-tolerant.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from election.errors import CodeError

from .matrix import AllocationCode, load_matrix

MAX_BERNOULLI_DRAWS = 10_000  # guard against r so small that empty rows are near certain


def uncoded(*, n: int, **_: object) -> AllocationCode:
    return AllocationCode(np.eye(check_n(n), dtype=np.uint8), kind="uncoded", b=0)


def bernoulli(
    *, n: int, r: float = 1.0, seed: int = 0, b: int = 0, redraw: bool = True, **_: object
) -> AllocationCode:
    check_n(n)
    if not 0 < r <= n:
        raise CodeError(f"redundancy r={r} must satisfy 0 < r <= n={n}")
    rng = np.random.default_rng(seed)
    meta = {"r_target": r, "seed": seed, "redraw": redraw}
    for _draw in range(MAX_BERNOULLI_DRAWS):
        matrix = (rng.random((n, n)) < r / n).astype(np.uint8)  # (n_workers, n_partitions)
        if not redraw:
            return AllocationCode(matrix, kind="bernoulli", b=b, meta=meta, allow_empty_rows=True)
        if matrix.sum(axis=1).min() > 0:
            return AllocationCode(matrix, kind="bernoulli", b=b, meta=meta)
    raise CodeError(f"r={r} is too small: {MAX_BERNOULLI_DRAWS} draws all had an empty row")


def deterministic(*, n: int, b: int = 0, **_: object) -> AllocationCode:
    from .bounds import check_odd
    from .construct import construct_code
    from .store import shipped_entry, shipped_matrix

    check_odd(n, b)
    entry = shipped_entry(n, b)
    if entry is not None:
        meta = {k: entry[k] for k in ("method", "lower_bound_ones", "optimal", "blocks")}
        return AllocationCode(shipped_matrix(entry), kind="deterministic", b=b, meta=meta)
    if b == 0:
        return AllocationCode(
            np.eye(n, dtype=np.uint8),
            kind="deterministic",
            b=0,
            meta={"method": "optimal", "optimal": True},
        )
    built = construct_code(n, b, max_blocks=3)
    return AllocationCode(
        built.matrix,
        kind="deterministic",
        b=b,
        meta={"method": "constructed", "blocks": [list(x) for x in built.blocks]},
    )


# The official single-machine code's n = 5 deterministic matrix (docs/paper.md): 19 ones.
PAPER_R38_MATRIX = (
    (1, 0, 0, 0, 0),
    (0, 1, 1, 1, 0),
    (1, 1, 1, 1, 1),
    (1, 1, 1, 1, 1),
    (1, 1, 1, 1, 1),
)


def paper_r38(*, n: int, b: int = 0, **_: object) -> AllocationCode:
    if n != len(PAPER_R38_MATRIX):
        raise CodeError(f"code 'paper-r3.8' is the paper's n = 5 matrix; n={n}")
    return AllocationCode(np.array(PAPER_R38_MATRIX, dtype=np.uint8), kind="paper-r3.8", b=b)


def ternary(*, n: int, b: int = 0, **_: object) -> AllocationCode:
    from .bounds import check_odd
    from .ternary_blocks import construct_ternary_code
    from .ternary_store import entry_matrix, shipped_ternary_entry

    check_odd(n, b)
    entry = shipped_ternary_entry(n, b)
    if entry is not None:
        keys = ("method", "lower_bound_ones", "optimal", "blocks", "movable_tie_fraction")
        meta = {k: entry[k] for k in keys}
        return AllocationCode(entry_matrix(entry), kind="ternary", b=b, meta=meta)
    built = construct_ternary_code(n, b, max_blocks=3)
    return AllocationCode(
        built.matrix,
        kind="ternary",
        b=b,
        meta={"method": "constructed", "blocks": [list(x) for x in built.blocks]},
    )


def from_file(
    *, n: int | None = None, path: str | None = None, b: int = 0, **_: object
) -> AllocationCode:
    if not path:
        raise CodeError("kind 'file' needs path=<matrix file>")
    code = AllocationCode(
        load_matrix(path, allow_empty_rows=True), kind="file", b=b, allow_empty_rows=True
    )
    if n is not None and code.n != n:
        raise CodeError(f"matrix in {path!r} has n={code.n}, expected n={n}")
    return code


CODES: dict[str, Callable[..., AllocationCode]] = {
    "uncoded": uncoded,
    "bernoulli": bernoulli,
    "deterministic": deterministic,
    "ternary": ternary,
    "file": from_file,
    "paper-r3.8": paper_r38,
}
CODE_KINDS = tuple(CODES)


def check_n(n: int) -> int:
    if not isinstance(n, int) or n < 1:
        raise CodeError(f"n={n!r} must be a positive integer number of workers")
    return n


def make_code(
    kind: str,
    *,
    n: int,
    b: int = 0,
    r: float = 1.0,
    seed: int = 0,
    path: str | None = None,
    redraw: bool = True,
) -> AllocationCode:
    """Build a code by registry name; unknown names list the known ones."""
    if kind not in CODES:
        raise CodeError(f"unknown code kind {kind!r}; known kinds: {', '.join(CODE_KINDS)}")
    if b < 0:
        raise CodeError(f"b={b} must be >= 0")
    return CODES[kind](n=n, b=b, r=r, seed=seed, path=path, redraw=redraw)
