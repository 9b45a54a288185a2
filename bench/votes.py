"""``election bench votes``: packed majority vs unpack-and-sum at the master
(docs/design.md Sec. 8).

Generates n random ternary votes of d coordinates (dense by default; ``--zeros-frac`` makes each
coordinate 0 with that probability), times the bit-sliced :func:`election.votes.majority` (with
``--executor``, default auto = the native kernel when built) and the naive
:func:`election.votes.majority_naive` single-threaded, checks they agree, and prints one JSON
object. Throughput = packed vote payload bytes aggregated per second (best repeat). The numpy
executor is timed too (``numpy_executor_ms``), so both executors are compared in the same run.
``--cold`` streams 64 MiB through the caches before every timed call, so that the votes come
from DRAM as they do at a master that received them a while ago.
The quorum decoder (``majority(..., quorum=q)``, q = ``--quorum``) is timed in the same run on
the same votes (``quorum_ms``, ``quorum_numpy_ms``) and checked against the naive quorum.

The memory yardstick (``read_*``): the single-core streaming-read bandwidth of the same payload
buffers (every vote's sign plane and zero mask or index list), measured in the same run by the
native module's ``stream_read`` (compiled with the kernel: same flags, same ISA clones), which
XORs every 64-bit word into vector accumulators and computes nothing else. ``sequential``
reads buffer after buffer (one stream at a time); ``interleaved`` reads one cache line of every
plane per step, the kernel's own access pattern (planes of equal length only, so not for
index lists). ``fraction_of_read`` = majority GB/s / the faster read's GB/s. Every timed call
is interleaved with the others repeat by repeat, so all see the same machine load; each is
timed by the wall clock (best and median) and by the thread's CPU time (``cpu_*``, median:
time the thread was descheduled on a loaded machine drops out).
Targets: >= 1.5 GB/s per core and >= 30x faster than unpack-and-sum at n=15, d=11,173,962;
the quorum decoder within 1.5x of the plain majority's time (``quorum_vs_plain``); the majority
at >= 70 % of the streaming-read bandwidth (``fraction_of_read``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from election.errors import ConfigError, VoteFormatError
from election.votes import PackedVote, ZeroKind, majority, majority_naive, native, pack_ternary
from election.votes.majority import EXECUTORS, Executor, resolve_executor

# Larger than the last-level cache of common servers (32 MiB L3 on the development VM).
EVICT_BYTES = 64 * 2**20
# q of the timed quorum decoder: b + 1 for the paper's Amazon setting n = 15, b = 5 (the circuit's
# cost does not depend on q).
DEFAULT_QUORUM = 6
# Timed repeats of unpack-and-sum (~150 ms each at the default size; its best is stable).
NAIVE_REPEATS = 3

Timings = dict[str, tuple[list[float], list[float]]]  # name -> (wall s, thread CPU s) per repeat


def _time_interleaved(
    fns: dict[str, Callable[[], object]], repeat: int, evict: np.ndarray | None
) -> tuple[Timings, dict[str, object]]:
    """Wall and CPU times of ``repeat`` rounds, each round calling every fn once in turn.

    One warm-up call each first (page faults, allocator); with ``evict``, the caches are
    flushed before every timed call. Returns the timings and every fn's last result.
    """
    out = {name: fn() for name, fn in fns.items()}
    times: Timings = {name: ([], []) for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if evict is not None:
                evict += 1  # streams EVICT_BYTES through the caches: the votes come from DRAM
            w0, c0 = time.perf_counter(), time.thread_time()
            out[name] = fn()
            c1, w1 = time.thread_time(), time.perf_counter()
            times[name][0].append(w1 - w0)
            times[name][1].append(c1 - c0)
    return times, out


def make_votes(*, n: int, d: int, zeros_frac: float, seed: int) -> list[PackedVote]:
    """n packed random votes: +-1 uniformly, each coordinate 0 with probability zeros_frac."""
    rng = np.random.default_rng(seed)
    votes = []
    for _ in range(n):
        signs = (1 - 2 * rng.integers(0, 2, size=d, dtype=np.int8)).astype(np.int8)  # (d,) int8
        if zeros_frac > 0:
            signs[rng.random(d, dtype=np.float32) < zeros_frac] = 0
        votes.append(pack_ternary(signs))
    return votes


def payload_buffers(votes: list[PackedVote]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The votes' payload as bytes buffers: (planes: sign planes and zero masks, index lists)."""
    planes, lists = [], []
    for v in votes:
        planes.append(v.sign_bits)  # (ceil(d/8),) uint8
        if v.zero_kind == ZeroKind.MASK:
            planes.append(v.zero_data)  # (ceil(d/8),) uint8
        elif v.zero_kind == ZeroKind.INDICES:
            lists.append(v.zero_data)  # (zeros,) uint32
    return planes, lists


def _read_fns(votes: list[PackedVote]) -> tuple[dict[str, Callable[[], object]], int, int]:
    """The yardstick's timed calls and their bytes (sequential: all, interleaved: planes)."""
    if native.planes is None:
        return {}, 0, 0
    stream_read = native.planes.stream_read
    planes, lists = payload_buffers(votes)
    everything = [*planes, *lists]
    seq_bytes = sum(b.nbytes // 8 * 8 for b in everything)  # whole words
    fns: dict[str, Callable[[], object]] = {
        "read_sequential": lambda: stream_read(everything, False),
        "read_interleaved": lambda: stream_read(planes, True),
    }
    return fns, seq_bytes, sum(b.nbytes // 8 * 8 for b in planes)


def _xor_words(buffers: list[np.ndarray]) -> int:
    """The XOR of the whole 64-bit words of the buffers (what stream_read must return)."""
    acc = np.uint64(0)
    for b in buffers:
        words = b[: b.nbytes // 8 * 8].view(np.uint64)  # (len // 8,) uint64
        acc ^= np.bitwise_xor.reduce(words, initial=np.uint64(0))
    return int(acc)


def _ms(seconds: list[float], fn: Callable[[list[float]], float] = min) -> float:
    return round(fn(seconds) * 1e3, 3)


def _gbs(nbytes: int, seconds: list[float], fn: Callable[[list[float]], float] = min) -> float:
    return round(nbytes / fn(seconds) / 1e9, 3)


def _cpu_model() -> tuple[str, list[str]]:
    """The CPU's model name and which of the vector ISA flags that matter here it has."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:  # not Linux
        pass
    return model, sorted(flags & {"sse2", "avx2", "avx512f", "avx512vl", "avx512bw"})


def _yardstick(times: Timings, read_bytes: tuple[int, int], plain_bytes: int) -> dict:
    """read_* GB/s of both reads and the fractions the majority and quorum decoder reach."""
    if "read_sequential" not in times:
        return {"read_executor": None}
    seq_b, int_b = read_bytes
    result: dict[str, object] = {"read_executor": "native", "read_bytes": seq_b}
    for stat, fn in (("", min), ("_median", statistics.median)):
        reads = {
            "sequential": _gbs(seq_b, times["read_sequential"][0], fn),
            "interleaved": _gbs(int_b, times["read_interleaved"][0], fn),
        }
        best_read = max(reads.values())
        for kind, gbs in reads.items():
            result[f"read_{kind}_gbytes_per_s{stat}"] = gbs
        for key, name in (("majority", "fraction_of_read"), ("quorum", "quorum_fraction_of_read")):
            result[f"{name}{stat}"] = round(_gbs(plain_bytes, times[key][0], fn) / best_read, 3)
    cpu = statistics.median
    cpu_read = max(
        _gbs(seq_b, times["read_sequential"][1], cpu),
        _gbs(int_b, times["read_interleaved"][1], cpu),
    )
    result["cpu_read_gbytes_per_s_median"] = cpu_read
    cpu_gbs = _gbs(plain_bytes, times["majority"][1], cpu)
    result["cpu_gbytes_per_s_median"] = cpu_gbs
    result["cpu_fraction_of_read_median"] = round(cpu_gbs / cpu_read, 3)
    return result


def _check_args(args: argparse.Namespace) -> Executor:
    """The resolved executor; ConfigError (one line) for every bad argument."""
    if args.n < 1 or args.d < 1 or args.repeat < 1:
        raise ConfigError(f"--n {args.n}, --d {args.d}, --repeat {args.repeat} must all be >= 1")
    if not 0.0 <= args.zeros_frac <= 1.0:
        raise ConfigError(f"--zeros-frac {args.zeros_frac} must lie in [0, 1]")
    if args.quorum < 1:
        raise ConfigError(f"--quorum {args.quorum} must be >= 1")
    try:
        return resolve_executor(args.executor)
    except VoteFormatError as err:
        raise ConfigError(str(err)) from None


@dataclass(frozen=True)
class _Timings:
    """One interleaved measurement: wall times (s) and outputs per timed function."""

    wall: dict[str, list[float]]
    outputs: dict[str, Any]
    naive_wall: list[float]
    yardstick: dict[str, Any]
    load_average: tuple[float, float]


def _measure(args: argparse.Namespace, executor: Executor, votes: list) -> _Timings:
    """Time the executors, the reads and the naive oracle, interleaved (same caches, same load)."""
    evict = np.zeros(EVICT_BYTES // 8, dtype=np.uint64) if args.cold else None
    q = args.quorum
    reads, seq_bytes, int_bytes = _read_fns(votes)
    load_before = os.getloadavg()[0]
    times, out = _time_interleaved(
        {
            "majority": lambda: majority(votes, executor=executor),
            **reads,
            "quorum": lambda: majority(votes, executor=executor, quorum=q),
            "numpy": lambda: majority(votes, executor="numpy"),
            "quorum_numpy": lambda: majority(votes, executor="numpy", quorum=q),
        },
        args.repeat,
        evict,
    )
    naive_times, naive_out = _time_interleaved(
        {"naive": lambda: majority_naive(votes)}, min(args.repeat, NAIVE_REPEATS), evict
    )
    packed_bytes = sum(v.nbytes for v in votes)
    return _Timings(
        wall={name: t[0] for name, t in times.items()},
        outputs={**out, "naive": naive_out["naive"]},
        naive_wall=naive_times["naive"][0],
        yardstick=_yardstick(times, (seq_bytes, int_bytes), packed_bytes),
        load_average=(round(load_before, 2), round(os.getloadavg()[0], 2)),
    )


def _agreement(votes: list, quorum: int, out: dict[str, Any]) -> dict[str, bool]:
    """Every executor against the naive oracle; the reads against numpy's XOR of the words."""
    quorum_naive = majority_naive(votes, quorum=quorum)
    planes, lists = payload_buffers(votes)
    reads_ok = "read_sequential" not in out or (
        out["read_sequential"] == _xor_words(planes + lists)
        and out["read_interleaved"] == _xor_words(planes)
    )
    return {
        "same_result": bool(out["majority"] == out["naive"] and out["numpy"] == out["naive"]),
        "same_quorum_result": bool(
            out["quorum"] == quorum_naive and out["quorum_numpy"] == quorum_naive
        ),
        "read_result_checked": bool(reads_ok),
    }


def _figures(args: argparse.Namespace, packed_bytes: int, timing: _Timings) -> dict[str, Any]:
    """The timed figures of one run (ms, GB/s, ratios)."""
    wall, t_naive = timing.wall, timing.naive_wall
    best = min(wall["majority"])
    return {
        "majority_ms": _ms(wall["majority"]),
        "majority_median_ms": _ms(wall["majority"], statistics.median),
        "numpy_executor_ms": _ms(wall["numpy"]),
        "naive_ms": _ms(t_naive),
        "naive_median_ms": _ms(t_naive, statistics.median),
        "gbytes_per_s": _gbs(packed_bytes, wall["majority"]),
        "gbytes_per_s_median": _gbs(packed_bytes, wall["majority"], statistics.median),
        "speedup_vs_naive": round(min(t_naive) / best, 1),
        "quorum": args.quorum,
        "quorum_ms": _ms(wall["quorum"]),
        "quorum_median_ms": _ms(wall["quorum"], statistics.median),
        "quorum_numpy_ms": _ms(wall["quorum_numpy"]),
        "quorum_vs_plain": round(min(wall["quorum"]) / best, 3),
        "quorum_gbytes_per_s": _gbs(packed_bytes, wall["quorum"]),
        **timing.yardstick,
    }


def _single_threaded_torch() -> None:
    """The packed path is numpy-only; keep torch (if loaded elsewhere) single-threaded too."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def run(args: argparse.Namespace) -> int:
    executor = _check_args(args)
    _single_threaded_torch()
    votes = make_votes(n=args.n, d=args.d, zeros_frac=args.zeros_frac, seed=args.seed)
    packed_bytes = sum(v.nbytes for v in votes)
    timing = _measure(args, executor, votes)
    agreement = _agreement(votes, args.quorum, timing.outputs)
    model, isa_flags = _cpu_model()
    result = {
        "n": args.n,
        "d": args.d,
        "zeros_frac": args.zeros_frac,
        "packed_bytes": packed_bytes,
        "executor": executor,
        **_figures(args, packed_bytes, timing),
        **agreement,
        "output_zero_kind": timing.outputs["majority"].zero_kind.name,
        "threads": 1,
        "repeat": args.repeat,
        "cold_caches": bool(args.cold),
        "load_average": list(timing.load_average),
        "numpy": np.__version__,
        "machine": model,
        "cpu_isa_flags": isa_flags,
        "kernel_isa": native.planes.isa() if native.planes is not None else None,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    if not agreement["same_result"]:
        raise AssertionError("packed majority (native or numpy) and unpack-and-sum disagree")
    if not agreement["same_quorum_result"]:
        raise AssertionError("packed quorum decoder (native or numpy) and the naive one disagree")
    if not agreement["read_result_checked"]:
        raise AssertionError("stream_read returned a different XOR of the words than numpy")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "votes", help="packed majority and quorum decoder vs unpack-and-sum and a read (JSON)"
    )
    parser.add_argument("--n", type=int, default=15, help="number of votes (workers)")
    parser.add_argument("--d", type=int, default=11_173_962, help="coordinates (ResNet-18)")
    parser.add_argument("--zeros-frac", type=float, default=0.0, help="P(coordinate is 0)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats (best and median)")
    parser.add_argument("--seed", type=int, default=0, help="vote generator seed")
    parser.add_argument(
        "--quorum", type=int, default=DEFAULT_QUORUM, help="q of the timed quorum decoder"
    )
    parser.add_argument(
        "--executor", choices=EXECUTORS, default="auto", help="who runs the packed majority"
    )
    parser.add_argument(
        "--cold", action="store_true", help="flush the caches before every timed call"
    )
    parser.add_argument("--json", action="store_true", help="one-line JSON (default: indented)")
    parser.set_defaults(func=run)
