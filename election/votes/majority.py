"""The master's aggregation, word-parallel on packed votes: out = sign(sum_j E_j) coordinate-wise.

docs/design.md Sec. 2 (Sohn et al. 2020, section 2: the master outputs the majority of the
workers' votes E_j in {-1, 0, +1}^d; an abstaining worker contributes 0 everywhere).

Per coordinate, with m present votes, N = #(-1), Z = #(0) and P = m - N - Z = #(+1):

    P - N = m - (2N + Z),   so   out = +1 if T < m, -1 if T > m, 0 if T = m,   T = 2N + Z.

T is counted bit-sliced: every vote's sign plane (bit 1 = negative) enters with weight 2 and its
zero plane, if any, with weight 1; then T is compared with the constant m. Dense votes (no zeros,
the common case) take a fast path: T = N with weight 1, out = -1 iff N > floor(m/2) and, for
even m only, 0 iff N = m/2. :func:`election.votes.circuit.threshold_form` states both forms.

Two executors compute the same threshold, bit-identically:

- ``native``: the C kernel ``election.votes._planes`` keeps the bit-sliced counter in vector
  registers, one 64-byte cache line of every plane per step, so each vote plane is read once
  and the outputs are written once; it also counts the zero output's set bits in that pass
  (the count picks the result's zero encoding, so the plane is not read again). ``election
  bench votes`` reports its GB/s as a fraction of a plain streaming read of the same buffers
  in the same run (BENCHMARKS.md). The zero index lists of sparse votes are first summed into
  a few counter planes (weights 1, 2, 4, ...) instead of one zero plane per vote;
- ``numpy``: :mod:`election.votes.circuit` compiles the threshold to a gate program replayed with
  one ufunc call per gate on chunks of ``CHUNK_WORDS`` words (the counter stays in L2).

``auto`` (the default; overridable with ELECTION_VOTE_EXECUTOR) takes native when it was built:
``pip install`` compiles it when a C compiler is present and skips it otherwise.
Nothing is unpacked to a byte per coordinate.

The quorum decoder (``quorum=q``; :mod:`election.votes.decoders`) outputs s = sign(P - N) only
when at least q votes equal s, else 0. Dense votes: a band on the same count T = N,
-1 iff N > max(floor(m/2), q - 1), +1 iff N < min(ceil(m/2), m - q + 1)
(:func:`~election.votes.circuit.quorum_band_form`). Ternary votes: two bit-sliced counters N and
Z (P = m - N - Z), S = N + Z and T = 2N + Z by ripple-carry adders, and
-1 iff T > m and N >= q, +1 iff T < m and S <= m - q (:class:`~election.votes.circuit.QuorumForm`).
q = 1 is exactly the plain rule (P > N already implies P >= 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from election.errors import VoteFormatError
from election.votes import native
from election.votes.circuit import (
    QuorumForm,
    ThresholdForm,
    compile_majority,
    quorum_band_form,
    quorum_form,
    run,
    threshold_form,
)
from election.votes.native import EXECUTORS, NATIVE_AVAILABLE, Executor, resolve_executor
from election.votes.packed import PackedVote, ZeroKind, choose_zero_encoding, sign_nbytes

__all__ = [
    "CHUNK_WORDS",
    "EXECUTORS",
    "NATIVE_AVAILABLE",
    "Executor",
    "majority",
    "resolve_executor",
]

# Words per chunk: 4096 x 8 B = 32 KiB per plane; ~10 live planes fit the 512 KiB L2 per core
# of the development machine (measured fastest among 1K..32K by `election bench votes`).
CHUNK_WORDS = 4096


def _words(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a (nb,) uint8 plane into its full uint64 words and a zero-padded last word."""
    nb = plane.size
    full = nb // 8
    head = plane[: full * 8].view(np.uint64)  # (nb // 8,) uint64
    if not head.flags.aligned:  # e.g. a plane sliced out of a wire message at an odd offset
        head = np.require(head, requirements="A")
    head.flags.writeable = False  # the counter must never recycle a caller's plane
    tail = np.zeros(8, dtype=np.uint8)
    tail[: nb - full * 8] = plane[full * 8 :]
    tail_word = tail.view(np.uint64)  # (1,) uint64
    tail_word.flags.writeable = False
    return head, tail_word


def _all_zero(length: int) -> PackedVote:
    mask = np.zeros(sign_nbytes(length), dtype=np.uint8)
    mask[: length // 8] = 0xFF
    if length % 8:
        mask[-1] = (1 << (length % 8)) - 1
    kind, data = choose_zero_encoding(length, mask, length)
    return PackedVote(length=length, sign_bits=np.zeros_like(mask), zero_kind=kind, zero_data=data)


def _plane_inputs(present: list[PackedVote]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every vote's sign plane, then its zero plane if any (threshold_form's input order)."""
    planes = []  # per input plane: ((nb // 8,), (1,)) uint64
    for v in present:
        planes.append(_words(v.sign_bits))
        if (z := v.zero_mask()) is not None:
            planes.append(_words(z))
    return planes


def _native_inputs(
    present: list[PackedVote], form: ThresholdForm | QuorumForm, n_words: int
) -> tuple[list[np.ndarray], tuple[int, ...], tuple[int, ...]]:
    """Planes, their weight shifts and their counter groups for the native kernel.

    The planes go in as they are, (ceil(d/8),) uint8 (the kernel reads their partial last word
    as zero-padded; nothing is copied or split). The same T (threshold form) or the same N and
    Z (quorum form, groups 0 and 1) as ``form``. Sparse votes (zero index lists) do not get one
    1-bit zero plane each: their lists are summed into a bit-sliced counter of
    c = bit_length(#sparse) planes of weights 1, 2, 4, ... (``count_indices``), so the kernel
    reads c planes instead of #sparse.
    """
    assert native.planes is not None
    groups = form.groups if isinstance(form, QuorumForm) else (0,) * len(form.shifts)
    sparse = [v for v in present if v.zero_kind == ZeroKind.INDICES]
    if len(sparse) < 2 or len(sparse).bit_length() > native.planes.MAX_SHIFT + 1:
        planes = []  # threshold_form's order: every sign plane, then its zero plane if any
        for v in present:
            planes.append(v.sign_bits)  # (ceil(d/8),) uint8
            if (z := v.zero_mask()) is not None:
                planes.append(z)  # (ceil(d/8),) uint8
        return planes, form.shifts, groups
    sign_shift = form.shifts[0]  # the same for every sign plane
    zero_group = 1 if isinstance(form, QuorumForm) else 0
    planes, shifts, groups_out = [], [], []
    for v in present:
        planes.append(v.sign_bits)
        shifts.append(sign_shift)
        groups_out.append(0)
        if v.zero_kind == ZeroKind.MASK:
            planes.append(v.zero_data)
            shifts.append(0)
            groups_out.append(zero_group)
    counter = np.zeros((len(sparse).bit_length(), n_words), dtype=np.uint64)  # (c, W) uint64
    native.planes.count_indices([v.zero_data for v in sparse], list(counter))
    for i, plane in enumerate(counter):
        planes.append(plane)  # (W,) uint64
        shifts.append(i)
        groups_out.append(zero_group)
    return planes, tuple(shifts), tuple(groups_out)


def _run_native(
    form: ThresholdForm | QuorumForm,
    shifts: tuple[int, ...],
    groups: tuple[int, ...],
    inputs: list[np.ndarray],
    neg: np.ndarray,
    zero: np.ndarray,
) -> int:
    """The form's neg and zero planes over every word of the planes in C (GIL released).

    Returns the number of set bits written to ``zero`` (counted in the same pass; 0 when the
    form writes no zero plane).
    """
    assert native.planes is not None
    if isinstance(form, QuorumForm):
        return int(
            native.planes.quorum(
                inputs, bytes(shifts), bytes(groups), form.m, form.q, neg, zero, neg.size
            )
        )
    out_zero = zero if form.writes_zero else None
    if form.k_lo is not None:
        return int(
            native.planes.band(inputs, bytes(shifts), form.k_lo, form.k, neg, out_zero, neg.size)
        )
    return int(native.planes.threshold(inputs, bytes(shifts), form.k, neg, out_zero, neg.size))


def _run_numpy(
    form: ThresholdForm | QuorumForm, inputs: list[np.ndarray], neg: np.ndarray, zero: np.ndarray
) -> None:
    """The same threshold as a compiled gate program, one ufunc call per gate per chunk."""
    prog = compile_majority(form)
    scratch = [np.empty(min(CHUNK_WORDS, neg.size), dtype=np.uint64) for _ in range(prog.n_scratch)]
    for lo in range(0, neg.size, CHUNK_WORDS):
        at = slice(lo, min(lo + CHUNK_WORDS, neg.size))
        size = at.stop - lo
        run(prog, [p[at] for p in inputs], neg[at], zero[at], [s[:size] for s in scratch])


def _form(present: list[PackedVote], quorum: int | None) -> ThresholdForm | QuorumForm:
    """The circuit for the plain rule (quorum None) or the quorum decoder with q = quorum."""
    has_zero = tuple(v.zero_kind != ZeroKind.NONE for v in present)
    if quorum is None:
        return threshold_form(has_zero)
    if not any(has_zero):
        return quorum_band_form(len(present), quorum)
    return quorum_form(has_zero, quorum)


def majority(
    votes: Sequence[PackedVote | None],
    *,
    length: int | None = None,
    executor: Executor = "auto",
    quorum: int | None = None,
) -> PackedVote:
    """sign(sum_j E_j) over the present votes; ``None`` is an abstention (contributes 0).

    ``quorum`` = q >= 1 selects the quorum decoder: output s = sign(sum_j E_j) only where at
    least q present votes equal s, else 0 (module docstring); None is the plain rule.
    ``length`` is needed only when every vote abstains (the result is then all zeros); when
    given it must match every vote. ``executor`` picks who runs the circuit (module docstring);
    both give bit-identical results. Raises VoteFormatError if the lengths differ, there is
    no vote slot at all, q < 1, or the native executor is asked for but not built.
    """
    use = resolve_executor(executor)
    if quorum is not None and (isinstance(quorum, bool) or int(quorum) != quorum or quorum < 1):
        raise VoteFormatError(f"quorum={quorum!r} must be an integer >= 1 (or None: plain)")
    if len(votes) == 0:
        raise VoteFormatError("majority needs at least one vote slot (got an empty sequence)")
    present = [v for v in votes if v is not None]
    lengths = {v.length for v in present} | ({length} if length is not None else set())
    if len(lengths) > 1:
        raise VoteFormatError(f"all votes must have the same length, got lengths {sorted(lengths)}")
    if not lengths:
        raise VoteFormatError("every vote abstained; pass length= to get the all-zero result")
    d = lengths.pop()
    if not present or (quorum is not None and quorum > len(present)):
        return _all_zero(d)  # no votes, or fewer votes than the quorum: nothing can pass
    nb = sign_nbytes(d)
    n_words = (nb + 7) // 8
    form = _form(present, None if quorum is None else int(quorum))
    out_neg = np.empty(n_words, dtype=np.uint64)  # (ceil(d/64),) uint64
    # (ceil(d/64),) uint64: written in full by either executor when the form writes zero, else
    # never read (_result takes zero_count = 0 and the NONE encoding). No np.zeros: its memset
    # would be one more pass over the output.
    out_zero = np.empty(n_words, dtype=np.uint64)
    if use == "native":  # one call over every word; it counts the zero plane's bits too
        inputs, shifts, groups = _native_inputs(present, form, n_words)
        zero_bits = _run_native(form, shifts, groups, inputs, out_neg, out_zero)
        return _result(d, out_neg, out_zero, _writes_zero(form), zero_bits)
    planes = _plane_inputs(present)
    full = nb // 8  # words wholly inside the sign planes; the last partial word is padded
    parts = [(0, slice(0, full))] if full else []
    if full < n_words:
        parts.append((1, slice(full, n_words)))
    for part, at in parts:
        _run_numpy(form, [p[part] for p in planes], out_neg[at], out_zero[at])
    return _result(d, out_neg, out_zero, _writes_zero(form), None)


def _writes_zero(form: ThresholdForm | QuorumForm) -> bool:
    return True if isinstance(form, QuorumForm) else form.writes_zero


def _result(
    d: int, out_neg: np.ndarray, out_zero: np.ndarray, writes_zero: bool, zero_bits: int | None
) -> PackedVote:
    """Pack the (W,) uint64 output planes as a vote; padding bits of the zero plane cleared.

    ``zero_bits``: the set bits of every word of ``out_zero`` as the native kernel counted
    them (padding coordinates past d included), or None to count here.
    """
    nb = sign_nbytes(d)
    sign_bits = out_neg.view(np.uint8)[:nb]  # (ceil(d/8),) uint8
    sign_bits.flags.writeable = False
    zero_bytes = out_zero.view(np.uint8)[:nb]  # (ceil(d/8),) uint8
    if not writes_zero:
        zero_count = 0
    elif zero_bits is None:
        if d % 8:
            zero_bytes[-1] &= (1 << (d % 8)) - 1  # bands may mark padding coordinates zero
        zero_count = int(np.bitwise_count(zero_bytes).sum(dtype=np.int64))
    else:
        used = d - 64 * (out_zero.size - 1)  # coordinates in the last word, 1..64
        zero_count = zero_bits - (int(out_zero[-1]) >> used).bit_count()
        if d % 8:
            zero_bytes[-1] &= (1 << (d % 8)) - 1  # bands may mark padding coordinates zero
    kind, data = choose_zero_encoding(d, zero_bytes, zero_count)
    data.flags.writeable = False
    return PackedVote(length=d, sign_bits=sign_bits, zero_kind=kind, zero_data=data)
