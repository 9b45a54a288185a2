"""Both threshold executors against a naive per-coordinate oracle, on arbitrary threshold forms.

The executors compute neg = (T > k), zero = (T == k) with T = sum_i 2**shifts[i] * plane_i
(election/votes/circuit.py ThresholdForm). The oracle unpacks every plane to one byte per bit
and sums in int64, which is exactly what the executors must never do. The zero-plane codecs
(mask <-> sorted indices) are checked the same way for both implementations.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from election.errors import VoteFormatError
from election.votes import ZeroKind, majority, majority_naive, native, pack_ternary
from election.votes.circuit import ThresholdForm, compile_majority, run
from election.votes.majority import NATIVE_AVAILABLE, resolve_executor
from election.votes.native import use_executor
from election.votes.packed import indices_to_mask, mask_to_indices
from election_cli import main as cli

if NATIVE_AVAILABLE:
    from election.votes import _planes  # type: ignore[attr-defined]

needs_native = pytest.mark.skipif(
    not NATIVE_AVAILABLE and os.environ.get("ELECTION_REQUIRE_NATIVE") != "1",
    reason="native vote kernel not built (no C compiler at install time)",
)


def oracle(planes: list[np.ndarray], form: ThresholdForm) -> tuple[np.ndarray, np.ndarray]:
    """(neg, zero) as (W,) uint64 from (W,) uint64 planes, by unpacking every bit."""
    total = np.zeros(planes[0].size * 64, dtype=np.int64)  # (64 W,) int64
    for plane, shift in zip(planes, form.shifts, strict=True):
        bits = np.unpackbits(plane.view(np.uint8), bitorder="little")  # (64 W,) uint8
        total += bits.astype(np.int64) << shift
    pack = lambda b: np.packbits(b, bitorder="little").view(np.uint64)  # noqa: E731
    return pack(total > form.k), pack(total == form.k)


def random_case(rng: np.random.Generator, n_words: int) -> tuple[list[np.ndarray], ThresholdForm]:
    n_in = int(rng.integers(1, 12))
    shifts = tuple(int(s) for s in rng.integers(0, 3, size=n_in))
    total = sum(1 << s for s in shifts)
    # thresholds around the middle hit every comparison outcome; also the extremes
    k = int(rng.choice([0, total, total // 2, int(rng.integers(0, total + 1))]))
    density = float(rng.choice([0.02, 0.5, 0.98]))
    planes = [
        np.packbits(rng.random(64 * n_words) < density, bitorder="little").view(np.uint64)
        for _ in range(n_in)
    ]  # n_in x (n_words,) uint64
    return planes, ThresholdForm(shifts=shifts, k=k, writes_zero=True)


def run_numpy(planes: list[np.ndarray], form: ThresholdForm) -> tuple[np.ndarray, np.ndarray]:
    prog = compile_majority(form)
    w = planes[0].size
    neg, zero = np.empty(w, np.uint64), np.empty(w, np.uint64)
    run(prog, planes, neg, zero, [np.empty(w, np.uint64) for _ in range(prog.n_scratch)])
    return neg, zero


def run_native(planes: list[np.ndarray], form: ThresholdForm) -> tuple[np.ndarray, np.ndarray]:
    w = planes[0].size
    neg, zero = np.full(w, 7, np.uint64), np.full(w, 7, np.uint64)
    _planes.threshold(planes, bytes(form.shifts), form.k, neg, zero, w)
    return neg, zero


@pytest.mark.parametrize("seed", range(40))
def test_numpy_gate_program_matches_the_oracle_on_random_threshold_forms(seed: int) -> None:
    rng = np.random.default_rng(seed)
    planes, form = random_case(rng, int(rng.integers(1, 9)))
    for got, want in zip(run_numpy(planes, form), oracle(planes, form), strict=True):
        np.testing.assert_array_equal(got, want)


@needs_native
@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("n_words", [1, 3, 4, 5, 8, 13])  # around the 4-word vector width
def test_native_kernel_matches_the_oracle_on_random_threshold_forms(
    seed: int, n_words: int
) -> None:
    planes, form = random_case(np.random.default_rng(100 * seed + n_words), n_words)
    for got, want in zip(run_native(planes, form), oracle(planes, form), strict=True):
        np.testing.assert_array_equal(got, want)


@needs_native
def test_native_kernel_reads_unaligned_planes_and_skips_the_zero_output_when_none() -> None:
    rng = np.random.default_rng(5)
    planes, form = random_case(rng, 9)
    raw = [np.empty(8 * 9 + 1, np.uint8) for _ in planes]
    unaligned = []
    for buf, plane in zip(raw, planes, strict=True):
        buf[1:] = plane.view(np.uint8)
        unaligned.append(buf[1:].view(np.uint64))  # (9,) uint64 at an odd address
    assert not all(p.flags.aligned for p in unaligned)
    neg = np.empty(9, np.uint64)
    _planes.threshold(unaligned, bytes(form.shifts), form.k, neg, None, 9)
    np.testing.assert_array_equal(neg, oracle(planes, form)[0])


@needs_native
def test_native_kernel_counts_wide_sums_without_overflow() -> None:
    """300 planes of weight 2 need a 10-bit counter; k near the top exercises every bit."""
    rng = np.random.default_rng(9)
    planes = [rng.integers(0, 2**63, size=5, dtype=np.uint64) for _ in range(300)]
    for k in (0, 299, 300, 301, 599, 600):
        form = ThresholdForm(shifts=(1,) * 300, k=k, writes_zero=True)
        for got, want in zip(run_native(planes, form), oracle(planes, form), strict=True):
            np.testing.assert_array_equal(got, want)


@needs_native
def test_native_kernel_rejects_malformed_calls() -> None:
    plane = np.zeros(4, np.uint64)
    out = np.empty(4, np.uint64)
    with pytest.raises(ValueError, match="inputs but"):
        _planes.threshold([plane, plane], b"\0", 1, out, None, 4)
    with pytest.raises(ValueError, match="shorter"):
        _planes.threshold([plane[:2]], b"\0", 0, out, None, 4)
    with pytest.raises(ValueError, match="output buffer is short"):
        _planes.threshold([plane], b"\0", 0, out[:2], None, 4)
    with pytest.raises(ValueError, match="shift"):
        _planes.threshold([plane], b"\x10", 0, out, None, 4)
    with pytest.raises(ValueError, match="bits"):
        _planes.threshold([plane], b"\0", 2**20, out, None, 4)
    readonly = np.empty(4, np.uint64)
    readonly.flags.writeable = False
    with pytest.raises((TypeError, BufferError, ValueError)):
        _planes.threshold([plane], b"\0", 0, readonly, None, 4)


def test_executor_choice_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(VoteFormatError, match="ELECTION_VOTE_EXECUTOR='gpu'"):
        use_executor("gpu")
    assert native.default_executor == "auto"  # a refused name changes nothing
    monkeypatch.setattr(native, "default_executor", "numpy")
    assert resolve_executor() == "numpy"
    monkeypatch.setattr(native, "default_executor", "auto")
    assert resolve_executor("numpy") == "numpy"
    assert resolve_executor() == ("native" if NATIVE_AVAILABLE else "numpy")
    module = importlib.import_module("election.votes.native")
    monkeypatch.setattr(module, "NATIVE_AVAILABLE", False)
    assert resolve_executor() == "numpy"
    with pytest.raises(VoteFormatError, match="not built"):
        resolve_executor("native")


@pytest.mark.parametrize("executor", ["native", "numpy"])
@pytest.mark.parametrize("length", [1, 7, 8, 9, 63, 64, 65, 1001, 70_003])
@pytest.mark.parametrize("density", [0.0, 0.003, 0.3, 1.0])
def test_zero_plane_codecs_match_the_unpacked_oracle(
    executor: str, length: int, density: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    if executor == "native" and not NATIVE_AVAILABLE:
        pytest.skip("native vote kernel not built")
    monkeypatch.setattr(native, "default_executor", executor)
    rng = np.random.default_rng(length)
    bits = rng.random(length) < density  # (length,) bool
    mask = np.packbits(bits, bitorder="little")  # (ceil(length/8),) uint8
    expected = np.flatnonzero(bits)  # (zeros,) int64
    got = mask_to_indices(mask, length)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(indices_to_mask(expected, length), mask)


@needs_native
def test_native_codecs_ignore_padding_bits_and_reject_bad_indices() -> None:
    mask = np.array([0b1000_0001, 0xFF], dtype=np.uint8)  # 16 bits, length 10 keeps 0, 7, 8, 9
    out = np.empty(16, np.uint32)
    count = _planes.mask_to_indices(mask, out, 10)
    assert out[:count].tolist() == [0, 7, 8, 9]
    with pytest.raises(ValueError, match="too small"):
        _planes.mask_to_indices(mask, np.empty(2, np.uint32), 16)
    with pytest.raises(ValueError, match="past the end"):
        _planes.indices_to_mask(np.array([3, 16], np.uint32), np.zeros(2, np.uint8))


def _build_baseline_kernel(tmp_path: Path) -> ModuleType:
    """Compile _planes.c without multiversioning and without AVX: the SSE2 path old CPUs take."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    source = Path(__file__).resolve().parents[2] / "election" / "votes" / "_planes.c"
    target = tmp_path / f"_planes{sysconfig.get_config_var('EXT_SUFFIX')}"
    cmd = [cc, "-O3", "-shared", "-fPIC", "-mno-avx", "-DELECTION_NO_MULTIVERSION"]
    cmd += [f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(target)]
    subprocess.run(cmd, check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("_planes", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the SSE2 baseline is x86-64 only")
def test_baseline_sse2_build_of_the_kernel_matches_the_oracle(tmp_path: Path) -> None:
    baseline = _build_baseline_kernel(tmp_path)
    rng = np.random.default_rng(77)
    for n_words in (1, 4, 5, 13, 64, 257):
        planes, form = random_case(rng, n_words)
        neg, zero = np.empty(n_words, np.uint64), np.empty(n_words, np.uint64)
        baseline.threshold(planes, bytes(form.shifts), form.k, neg, zero, n_words)
        want_neg, want_zero = oracle(planes, form)
        np.testing.assert_array_equal(neg, want_neg)
        np.testing.assert_array_equal(zero, want_zero)


@needs_native
@pytest.mark.parametrize("n_lists", [1, 2, 3, 7, 15, 16, 100])
def test_count_indices_builds_the_bit_sliced_count_of_the_lists(n_lists: int) -> None:
    rng = np.random.default_rng(n_lists)
    d = 64 * 9 + 13
    lists = [
        np.sort(rng.choice(d, size=int(rng.integers(0, 60)), replace=False)) for _ in range(n_lists)
    ]
    q = n_lists.bit_length()
    counter = np.zeros((q, (d + 63) // 64), dtype=np.uint64)  # (q, W) uint64
    _planes.count_indices([idx.astype("<u4") for idx in lists], list(counter))
    counts = np.bincount(
        np.concatenate([*lists, np.zeros(0, np.int64)]).astype(np.int64), minlength=d
    )
    for bit in range(q):
        plane_bits = np.unpackbits(counter[bit].view(np.uint8), bitorder="little")[:d]
        np.testing.assert_array_equal(plane_bits, (counts >> bit) & 1)


@needs_native
def test_count_indices_rejects_out_of_range_indices_and_overflow() -> None:
    planes = [np.zeros(2, np.uint64)]
    with pytest.raises(ValueError, match="past the planes"):
        _planes.count_indices([np.array([128], "<u4")], planes)
    with pytest.raises(ValueError, match="overflows"):
        _planes.count_indices([np.array([5], "<u4")] * 2, [np.zeros(2, np.uint64)])
    with pytest.raises(ValueError, match="counter planes"):
        _planes.count_indices([], [])


@pytest.mark.parametrize("executor", ["native", "numpy"])
@pytest.mark.parametrize("n_sparse", [2, 15, 16, 255, 256])  # 256 needs 9 counter planes: fallback
def test_majority_of_many_sparse_votes_matches_the_naive_reference(
    executor: str, n_sparse: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if executor == "native" and not NATIVE_AVAILABLE:
        pytest.skip("native vote kernel not built")
    monkeypatch.setattr(native, "default_executor", executor)
    rng = np.random.default_rng(n_sparse)
    d = 64 * 40 + 5
    signs = rng.choice(np.array([-1, 1], np.int8), size=(n_sparse + 3, d))  # (m, d) int8
    for row in signs[:n_sparse]:
        row[rng.choice(d, size=3, replace=False)] = 0  # 3 zeros: an index list
    signs[n_sparse, : d // 2] = 0  # one mask vote; the last two stay dense
    votes = [pack_ternary(s) for s in signs]
    assert votes[0].zero_kind == ZeroKind.INDICES and votes[n_sparse].zero_kind == ZeroKind.MASK
    assert majority(votes) == majority_naive(votes)


def test_cli_rejects_a_bad_executor_before_running_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTION_VOTE_EXECUTOR", "gpu")
    assert cli.main(["bench", "votes", "--n", "3", "--d", "10", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    assert captured.err.strip().splitlines() == [
        "election: error: ELECTION_VOTE_EXECUTOR='gpu'; expected one of auto, native, numpy"
    ]
