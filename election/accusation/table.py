"""Every vote pattern an honest round can produce under a code, as one sorted key table.

Sohn et al. 2020, Sec. 2: worker j votes E_j = sign(sum_{i in S_j} u_i) with partition signs
u in {-1, 0, +1}^n (sign(0) = 0; real gradients have exact zeros). At one coordinate the honest
round therefore produces the pattern a(u) = (E_1(u), ..., E_n(u)), and the set of achievable
patterns is A = {a(u) : u in {-1, 0, +1}^n}. A pattern is encoded as the key

    key(e) = sum_j [e_j = -1] 2^j  +  sum_j [e_j = 0] 2^(n + j)      (n <= 32, uint64).

Structure used to enumerate A without 3^n matrix products:
- partitions with identical columns of G enter every worker's sum together, so only their sum
  s_c = sum_{i in class c} u_i in [-m_c, m_c] matters (every value is reachable); all-zero
  columns are dropped. That leaves prod_c (2 m_c + 1) combinations;
- workers with identical rows always vote identically; the votes are computed for the distinct
  rows only and then copied.
When the combinations exceed ``MAX_COMBINATIONS`` the table falls back to the relaxation "rows
in a group of identical rows vote the same" (every group-constant pattern, 3^groups keys):
it contains A, so every inference drawn from it stays sound but may prove less
(``exact = False``).

The table also holds each row's expected honest disagreement with the decoded output (see
:func:`expected_disagreement`), used to normalise the scores.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from election.errors import ConfigError

MAX_WORKERS = 32  # two bits per worker must fit a uint64 key
MAX_COMBINATIONS = 3**15  # exact enumeration bound (n = 15 with no repeated column: ~2-4 s)
MAX_RELAXED_PATTERNS = 3**13  # group-constant patterns of the fallback (13 distinct rows)
MAX_PROJECTIONS = 64  # projected tables kept (one per set of workers left)
CHUNK = 2**19  # combinations per enumeration chunk (arrays of ~10-60 MB)
MAX_EXPECTATION_COMBINATIONS = 2**22  # u in {-1,+1}^n enumeration bound for the expectation


@dataclass(frozen=True, eq=False)
class PatternTable:
    """The achievable honest patterns of a code, plus what the scores need."""

    n: int
    keys: np.ndarray  # (|A|,) uint64, sorted: every achievable pattern's key
    exact: bool  # False: the identical-rows relaxation (a superset of A)
    expected: np.ndarray  # (n,) float64: honest P[E_j != decoded output], uniform +-1 model
    _projections: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def project(self, present: int) -> np.ndarray:
        """Keys of A with absent workers' bits cleared: sorted unique (m,) uint64 (cached)."""
        if present == (1 << self.n) - 1:
            return self.keys
        cached = self._projections.pop(present, None)
        if cached is None:
            cached = np.unique(self.keys & np.uint64(present | (present << self.n)))
            if len(self._projections) >= MAX_PROJECTIONS:
                self._projections.pop(next(iter(self._projections)))  # least recently used
        self._projections[present] = cached
        return cached


def encode(values: np.ndarray) -> np.ndarray:
    """Keys of patterns given as (m, n) int8 in {-1, 0, +1}: (m,) uint64."""
    n = values.shape[1]
    weights = np.left_shift(np.uint64(1), np.arange(n, dtype=np.uint64))  # (n,) uint64
    neg = (values < 0).astype(np.uint64) @ weights  # (m,) uint64
    zero = (values == 0).astype(np.uint64) @ weights
    return neg | (zero << np.uint64(n))


def decode(keys: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`encode`: (m,) uint64 -> (m, n) int8."""
    bits = np.arange(n, dtype=np.uint64)
    neg = (keys[:, None] >> bits) & np.uint64(1)  # (m, n) uint64
    zero = (keys[:, None] >> (bits + np.uint64(n))) & np.uint64(1)
    return ((1 - 2 * neg.astype(np.int8)) * (1 - zero.astype(np.int8))).astype(np.int8)


def _reduce(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct rows (r, q) int64 over column classes, multiplicities (q,), row of worker (n,))."""
    used = matrix.any(axis=0)
    cols, mult = np.unique(matrix[:, used].T, axis=0, return_counts=True)  # (q, n), (q,)
    rows, row_of = np.unique(cols.T, axis=0, return_inverse=True)  # (r, q), (n,)
    return rows.astype(np.int64), mult.astype(np.int64), row_of.reshape(-1)


def _class_grid(mult: np.ndarray) -> np.ndarray:
    """Every class-sum vector s with s_c in [-m_c, m_c]: (prod(2 m_c + 1), q) float32."""
    axes = [np.arange(-m, m + 1, dtype=np.float32) for m in mult]
    if not axes:
        return np.zeros((1, 0), dtype=np.float32)
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([x.ravel() for x in mesh], axis=1)


def _achievable_rows(rows: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """Distinct-row vote patterns over every s with s_c in [-m_c, m_c]: (m, r) int8, unique.

    Meet in the middle: the classes are split in two halves, rows @ s = P1[a] + P2[b] with the
    partial sums P1, P2 of each half precomputed, so no combination is built digit by digit.
    A pattern is keyed in base 3 (sum_row (E_row + 1) 3^row, exact in float64 for r <= 33).
    """
    half = mult.size // 2
    rows_f = rows.astype(np.float32)
    p1 = _class_grid(mult[:half]) @ rows_f[:, :half].T  # (T1, r) float32 partial sums
    p2 = _class_grid(mult[half:]) @ rows_f[:, half:].T  # (T2, r) float32
    pow3 = 3.0 ** np.arange(rows.shape[0])  # (r,) float64
    block = max(1, CHUNK // p2.shape[0])
    found: list[np.ndarray] = []
    for lo in range(0, p1.shape[0], block):
        sums = p1[lo : lo + block, None, :] + p2[None, :, :]  # (B, T2, r) float32
        digits = np.sign(sums).reshape(-1, rows.shape[0]) + 1.0  # (B * T2, r) in {0, 1, 2}
        found.append(np.unique(digits @ pow3))  # (distinct,) float64 base-3 keys
    keys = np.unique(np.concatenate(found)).astype(np.int64)
    digits_out = (keys[:, None] // np.power(3, np.arange(rows.shape[0]), dtype=np.int64)) % 3
    return (digits_out - 1).astype(np.int8)


def expected_disagreement(rows: np.ndarray, mult: np.ndarray, row_of: np.ndarray) -> np.ndarray:
    """p_j = P_u[E_j(u) != sign(sum_l E_l(u))] for u uniform on {-1, +1}^n: (n,) float64.

    Exact: each class sum s_c = sum of m_c independent +-1 signs equals m_c - 2 t_c with
    probability C(m_c, t_c) / 2^m_c; the votes E_row = sign(rows @ s) and the honest decoded
    output sign(sum_j E_j) are evaluated on every combination (t_c) and weighted. The uniform
    model is the paper's (Sec. 3); real gradients agree more, so honest scores sit below 1.
    NaN when the combinations exceed ``MAX_EXPECTATION_COMBINATIONS``.
    """
    total = int(np.prod(mult + 1))
    if total > MAX_EXPECTATION_COMBINATIONS:
        return np.full(row_of.size, math.nan)
    count = np.bincount(row_of, minlength=rows.shape[0])
    radix = mult + 1
    strides = np.cumprod(np.r_[1, radix[:-1]])
    log_comb = [np.log([math.comb(int(m), t) for t in range(int(m) + 1)]) for m in mult]
    p_rows = np.zeros(rows.shape[0])
    for lo in range(0, total, CHUNK):
        idx = np.arange(lo, min(lo + CHUNK, total), dtype=np.int64)
        t = (idx[:, None] // strides) % radix  # (chunk, q) number of -1 per class
        weight = np.exp(sum(log_comb[c][t[:, c]] for c in range(mult.size)))  # (chunk,)
        votes = np.sign((mult - 2 * t) @ rows.T)  # (chunk, r)
        out = np.sign(votes @ count)  # (chunk,)
        p_rows += weight @ (votes != out[:, None])
    return p_rows[row_of] / 2.0 ** int(mult.sum())


def build_table(matrix: np.ndarray) -> PatternTable:
    """The pattern table of G ((n_workers, n_partitions) 0/1); cached per matrix."""
    g = np.ascontiguousarray(np.asarray(matrix, dtype=np.uint8))
    if g.ndim != 2 or g.shape[0] < 1:
        raise ConfigError(f"accusation needs a 2-D code matrix, got shape {g.shape}")
    if g.shape[0] > MAX_WORKERS:
        raise ConfigError(f"accusation supports n <= {MAX_WORKERS} workers, got n={g.shape[0]}")
    return _build_cached(g.tobytes(), g.shape)


@functools.lru_cache(maxsize=16)
def _build_cached(data: bytes, shape: tuple[int, int]) -> PatternTable:
    g = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    rows, mult, row_of = _reduce(g)
    exact = int(np.prod(2 * mult + 1)) <= MAX_COMBINATIONS
    if exact:
        row_patterns = _achievable_rows(rows, mult)  # (m, r) int8
    else:
        if 3 ** rows.shape[0] > MAX_RELAXED_PATTERNS:
            raise ConfigError(
                f"accusation: {rows.shape[0]} distinct rows and {int(np.prod(2 * mult + 1))} "
                "class-sum combinations exceed the pattern table bound"
            )
        grid = itertools.product((-1, 0, 1), repeat=rows.shape[0])
        row_patterns = np.array(list(grid), dtype=np.int8)  # every group-constant pattern
    keys = np.unique(encode(row_patterns[:, row_of]))
    keys.flags.writeable = False
    return PatternTable(
        n=g.shape[0], keys=keys, exact=exact, expected=expected_disagreement(rows, mult, row_of)
    )
