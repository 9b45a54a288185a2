"""Bit-sliced majority as a compiled straight-line program over uint64 bit-planes.

A *plane* is a (C,) uint64 array whose bit b of word w belongs to coordinate 64 * w + b. The
count T of weighted input planes is built with carry-save full adders,

    s = a ^ b ^ c,    carry = (a & b) | (c & (a ^ b))        (5 word operations),

keeping at most two pending planes per weight, then compared with a constant K from the most
significant bit down:  lt |= eq & ~T_i where K_i = 1;  gt |= eq & T_i where K_i = 0;
eq &= (T_i == K_i).  Outputs: neg = (T > K) and zero = ~(T < K | T > K).
The quorum decoder adds a band (zero = ~(T < K_lo | T > K)) for dense votes and, for ternary
votes, a second counter and two ripple-carry adders (:class:`QuorumForm`).

The circuit depends only on the threshold form (m, which votes carry a zero plane), so it is
built once, constant-folded, pruned of dead operations (e.g. count bits a threshold never reads)
and register-allocated into a few scratch planes; :func:`run` then replays it on every chunk
with one numpy call per operation. (The native executor, election/votes/_planes.c, computes the
same threshold with the counter in registers instead.) Adding n weight-1 planes costs
n - ceil(log2(n + 1)) full adders.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

ZERO, ONE = -1, -2  # constant all-zero / all-one planes (virtual register ids)
_AND, _OR, _XOR, _NOT, _COPY, _FILL = range(6)


class _Builder:
    """Emits SSA operations on virtual registers with constant folding."""

    def __init__(self, n_inputs: int) -> None:
        self.n_inputs = n_inputs
        self.ops: list[tuple[int, int, int, int]] = []  # (code, a, b, out)
        self.next = n_inputs

    def _emit(self, code: int, a: int, b: int = ZERO) -> int:
        out = self.next
        self.next += 1
        self.ops.append((code, a, b, out))
        return out

    def and_(self, a: int, b: int) -> int:
        if ZERO in (a, b):
            return ZERO
        if a == ONE or b == ONE:
            return b if a == ONE else a
        return self._emit(_AND, a, b)

    def or_(self, a: int, b: int) -> int:
        if ONE in (a, b):
            return ONE
        if a == ZERO or b == ZERO:
            return b if a == ZERO else a
        return self._emit(_OR, a, b)

    def xor(self, a: int, b: int) -> int:
        if a == ZERO or b == ZERO:
            return b if a == ZERO else a
        if a == ONE or b == ONE:
            return self.not_(b if a == ONE else a)
        return self._emit(_XOR, a, b)

    def not_(self, a: int) -> int:
        if a in (ZERO, ONE):
            return ONE if a == ZERO else ZERO
        return self._emit(_NOT, a)

    def andnot(self, a: int, b: int) -> int:
        """a & ~b as a ^ (a & b) (numpy has no and-not)."""
        if a == ONE:
            return self.not_(b)
        return self.xor(a, self.and_(a, b))


def _count(bld: _Builder, weighted: Sequence[tuple[int, int]]) -> list[int]:
    """Bit-sliced sum of (register, weight_log2) planes; one register per bit, LSB first."""
    pending: list[list[int]] = []

    def push(reg: int, i: int) -> None:
        while True:
            while len(pending) <= i:
                pending.append([])
            if len(pending[i]) < 2:
                pending[i].append(reg)
                return
            a, b = pending[i].pop(), pending[i].pop()
            t = bld.xor(a, b)
            pending[i].append(bld.xor(t, reg))
            reg = bld.or_(bld.and_(a, b), bld.and_(t, reg))
            i += 1

    for reg, w in weighted:
        push(reg, w)
    bits: list[int] = []
    i = 0
    while i < len(pending):  # half adders resolve leftover pairs; carries may add columns
        col = pending[i]
        if len(col) == 2:
            a, b = col
            col[:] = [bld.xor(a, b)]
            push(bld.and_(a, b), i + 1)
        bits.append(col[0] if col else ZERO)
        i += 1
    return bits


def _compare(bld: _Builder, bits: list[int], k: int) -> tuple[int, int]:
    """(T < k, T > k) registers for the bit-sliced T."""
    eq, lt, gt = ONE, ZERO, ZERO
    for i in reversed(range(max(len(bits), k.bit_length()))):
        t = bits[i] if i < len(bits) else ZERO
        if (k >> i) & 1:
            lt = bld.or_(lt, bld.andnot(eq, t))
            eq = bld.and_(eq, t)
        else:
            gt = bld.or_(gt, bld.and_(eq, t))
            eq = bld.andnot(eq, t)
        if eq == ZERO:
            break
    return lt, gt


@dataclass(frozen=True)
class Program:
    """A register-allocated circuit: buffers = inputs + [neg, zero] + ``n_scratch`` planes."""

    n_inputs: int
    n_scratch: int
    steps: tuple[tuple[int, int, int, int], ...]  # (code, a, b, out) buffer indices


def _allocate(bld: _Builder, outputs: dict[int, int]) -> Program:
    """Dead-code elimination, then linear-scan allocation of scratch planes."""
    live = {r for r in outputs.values() if r >= 0}
    kept = []
    for op in reversed(bld.ops):
        if op[3] in live:
            kept.append(op)
            live.update(r for r in op[1:3] if r >= 0)
    kept.reverse()
    last_use: dict[int, int] = {}
    for i, (_, a, b, _) in enumerate(kept):
        last_use[a] = last_use[b] = i
    n = bld.n_inputs
    where = {r: r for r in range(n)}  # virtual register -> buffer index
    pinned = {reg: n + slot for slot, reg in outputs.items() if reg >= n}
    free: list[int] = []
    n_scratch = 0
    steps = []
    for i, (code, a, b, out) in enumerate(kept):
        src = (where[a], where.get(b, ZERO))
        for r in {a, b}:
            if last_use.get(r) == i and where.get(r, 0) >= n + 2:
                free.append(where[r])
        if out in pinned:
            where[out] = pinned[out]
        else:
            if not free:
                free.append(n + 2 + n_scratch)
                n_scratch += 1
            where[out] = free.pop()
        steps.append((code, src[0], src[1], where[out]))
    for slot, reg in outputs.items():  # outputs that are inputs or constants
        if reg < n:
            steps.append((_COPY, reg, ZERO, n + slot) if reg >= 0 else (_FILL, reg, ZERO, n + slot))
    return Program(n_inputs=n, n_scratch=n_scratch, steps=tuple(steps))


@dataclass(frozen=True)
class ThresholdForm:
    """The majority of m votes as a threshold on a weighted plane count (module docstring).

    Per coordinate T = sum_i 2**shifts[i] * plane_i over the input planes (each sign plane,
    then its zero plane if any); neg = (T > k), zero = (k_lo <= T <= k) with k_lo = k unless
    given (a band: the quorum decoder on dense votes, :func:`quorum_band_form`). Dense votes:
    T = N (negatives), k = floor(m/2); otherwise T = 2N + Z, k = m. ``writes_zero`` is False
    when no coordinate can land in the band (odd m with dense votes under the plain rule).
    """

    shifts: tuple[int, ...]
    k: int
    writes_zero: bool
    k_lo: int | None = None  # None = k (the plain rule: zero iff T == k)

    @property
    def low(self) -> int:
        """The band's lower end: zero iff low <= T <= k."""
        return self.k if self.k_lo is None else self.k_lo


@dataclass(frozen=True)
class QuorumForm:
    """The quorum decoder on ternary votes: two counters and four comparisons.

    Per coordinate N = sum of the group-0 planes (the sign planes, weight 1) and
    Z = sum_i 2**shifts[i] of the group-1 planes (zero planes, or zero-count planes); with m
    present votes P = m - N - Z. The decoder outputs -1 iff N > P and N >= q, +1 iff P > N
    and P >= q, else 0, i.e. with S = N + Z and T = 2N + Z = N + S:

        neg = (T > m) & (N >= q),   pos = (T < m) & (S <= m - q),   zero = ~(neg | pos).

    Requires 1 <= q <= m (q > m outputs 0 everywhere; the caller handles it).
    """

    shifts: tuple[int, ...]
    groups: tuple[int, ...]  # 0 = sign plane (counts N), 1 = zero plane (counts Z)
    m: int
    q: int


def threshold_form(has_zero: tuple[bool, ...]) -> ThresholdForm:
    """The threshold form of the majority of m = len(has_zero) present votes."""
    m = len(has_zero)
    dense = not any(has_zero)
    shifts: list[int] = []
    for z in has_zero:
        shifts.append(0 if dense else 1)
        if z:
            shifts.append(0)
    return ThresholdForm(
        shifts=tuple(shifts), k=m // 2 if dense else m, writes_zero=not (dense and m % 2 == 1)
    )


def quorum_band_form(m: int, q: int) -> ThresholdForm:
    """The quorum decoder on m dense votes as a band on T = N (no zeros: P = m - N).

    -1 iff N > P and N >= q  <=>  N > max(floor(m/2), q - 1) = k;
    +1 iff P > N and P >= q  <=>  N < min(ceil(m/2), m - q + 1) = k_lo;  zero iff k_lo <= N <= k.
    q = 1 gives k = floor(m/2), k_lo = ceil(m/2): the plain rule.
    """
    k = max(m // 2, q - 1)
    k_lo = max(0, min((m + 1) // 2, m - q + 1))
    return ThresholdForm(shifts=(0,) * m, k=k, writes_zero=k_lo <= k, k_lo=k_lo)


def quorum_form(has_zero: tuple[bool, ...], q: int) -> QuorumForm:
    """The quorum form of m = len(has_zero) present votes, planes in threshold_form's order."""
    shifts: list[int] = []
    groups: list[int] = []
    for z in has_zero:
        shifts.append(0)
        groups.append(0)
        if z:
            shifts.append(0)
            groups.append(1)
    return QuorumForm(shifts=tuple(shifts), groups=tuple(groups), m=len(has_zero), q=q)


def _add(bld: _Builder, a: list[int], b: list[int]) -> list[int]:
    """Ripple-carry sum of two bit-sliced numbers (LSB first), one more bit than the longer."""
    out: list[int] = []
    carry = ZERO
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else ZERO
        y = b[i] if i < len(b) else ZERO
        t = bld.xor(x, y)
        out.append(bld.xor(t, carry))
        carry = bld.or_(bld.and_(x, y), bld.and_(carry, t))
    return [*out, carry]


@functools.lru_cache(maxsize=256)
def compile_majority(form: ThresholdForm | QuorumForm) -> Program:
    """Gate program for a threshold or quorum form (inputs in the form's order)."""
    if isinstance(form, QuorumForm):
        return _compile_quorum(form)
    bld = _Builder(len(form.shifts))
    bits = _count(bld, list(enumerate(form.shifts)))
    lt, gt = _compare(bld, bits, form.k)
    outputs = {0: gt}
    if form.writes_zero:
        if form.low != form.k:  # a band: T < k_lo needs its own comparison
            lt, _ = _compare(bld, bits, form.low)
        outputs[1] = bld.not_(bld.or_(lt, gt))
    return _allocate(bld, outputs)


def _compile_quorum(form: QuorumForm) -> Program:
    """neg = (T > m) & (N >= q), zero = ~(neg | pos) with pos = (T < m) & (S <= m - q)."""
    bld = _Builder(len(form.shifts))
    weighted = list(enumerate(form.shifts))
    n_bits = _count(
        bld, [(r, w) for (r, w), g in zip(weighted, form.groups, strict=True) if g == 0]
    )
    z_bits = _count(
        bld, [(r, w) for (r, w), g in zip(weighted, form.groups, strict=True) if g == 1]
    )
    s_bits = _add(bld, n_bits, z_bits)  # S = N + Z
    t_bits = _add(bld, n_bits, s_bits)  # T = 2N + Z
    t_lt, t_gt = _compare(bld, t_bits, form.m)
    _, n_gt = _compare(bld, n_bits, form.q - 1)  # N > q - 1
    _, s_gt = _compare(bld, s_bits, form.m - form.q)  # S > m - q
    neg = bld.and_(t_gt, n_gt)
    pos = bld.andnot(t_lt, s_gt)
    return _allocate(bld, {0: neg, 1: bld.not_(bld.or_(neg, pos))})


_UFUNCS: dict[int, Callable[..., np.ndarray]] = {
    _AND: np.bitwise_and,
    _OR: np.bitwise_or,
    _XOR: np.bitwise_xor,
}


def run(
    prog: Program,
    inputs: list[np.ndarray],
    neg: np.ndarray,
    zero: np.ndarray,
    scratch: list[np.ndarray],
) -> None:
    """Execute ``prog`` on one chunk: inputs and outputs are (C,) uint64 planes."""
    bufs = [*inputs, neg, zero, *scratch]
    for code, a, b, out in prog.steps:
        if code in _UFUNCS:
            _UFUNCS[code](bufs[a], bufs[b], out=bufs[out])
        elif code == _NOT:
            np.invert(bufs[a], out=bufs[out])
        elif code == _COPY:
            np.copyto(bufs[out], bufs[a])
        else:
            bufs[out].fill(np.uint64(0) if a == ZERO else ~np.uint64(0))
