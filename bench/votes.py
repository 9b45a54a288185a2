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
Targets: >= 1.5 GB/s per core and >= 30x faster than unpack-and-sum at n=15, d=11,173,962;
the quorum decoder within 1.5x of the plain majority's time (``quorum_vs_plain``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from election.errors import ConfigError, VoteFormatError
from election.votes import PackedVote, majority, majority_naive, pack_ternary
from election.votes.majority import EXECUTORS, resolve_executor

# Larger than the last-level cache of common servers (32 MiB L3 on the development VM).
EVICT_BYTES = 64 * 2**20
# q of the timed quorum decoder: b + 1 for the paper's Amazon setting n = 15, b = 5 (the circuit's
# cost does not depend on q).
DEFAULT_QUORUM = 6


def _time(
    fn: Callable[[], PackedVote], repeat: int, evict: np.ndarray | None = None
) -> tuple[list[float], PackedVote]:
    """Wall times of ``repeat`` calls after a warm-up; with ``evict``, caches are flushed first."""
    out = fn()  # warm-up (page faults, allocator)
    times = []
    for _ in range(repeat):
        if evict is not None:
            evict += 1  # streams EVICT_BYTES through the caches: the votes come from DRAM
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
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


def run(args: argparse.Namespace) -> int:
    if args.n < 1 or args.d < 1 or args.repeat < 1:
        raise ConfigError(f"--n {args.n}, --d {args.d}, --repeat {args.repeat} must all be >= 1")
    if not 0.0 <= args.zeros_frac <= 1.0:
        raise ConfigError(f"--zeros-frac {args.zeros_frac} must lie in [0, 1]")
    if args.quorum < 1:
        raise ConfigError(f"--quorum {args.quorum} must be >= 1")
    try:  # the packed path is numpy-only; keep torch (if loaded elsewhere) single-threaded too
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        executor = resolve_executor(args.executor)
    except VoteFormatError as err:
        raise ConfigError(str(err)) from None
    votes = make_votes(n=args.n, d=args.d, zeros_frac=args.zeros_frac, seed=args.seed)
    packed_bytes = sum(v.nbytes for v in votes)
    evict = np.zeros(EVICT_BYTES // 8, dtype=np.uint64) if args.cold else None
    t_packed, out_packed = _time(lambda: majority(votes, executor=executor), args.repeat, evict)
    t_numpy, out_numpy = _time(lambda: majority(votes, executor="numpy"), args.repeat, evict)
    t_naive, out_naive = _time(lambda: majority_naive(votes), max(1, min(args.repeat, 3)), evict)
    q = args.quorum
    t_quorum, out_quorum = _time(
        lambda: majority(votes, executor=executor, quorum=q), args.repeat, evict
    )
    t_qnumpy, out_qnumpy = _time(
        lambda: majority(votes, executor="numpy", quorum=q), args.repeat, evict
    )
    quorum_naive = majority_naive(votes, quorum=q)
    same = out_packed == out_naive and out_numpy == out_naive
    same_quorum = out_quorum == quorum_naive and out_qnumpy == quorum_naive
    best, naive_best = min(t_packed), min(t_naive)
    result = {
        "n": args.n,
        "d": args.d,
        "zeros_frac": args.zeros_frac,
        "packed_bytes": packed_bytes,
        "majority_ms": round(best * 1e3, 3),
        "majority_median_ms": round(statistics.median(t_packed) * 1e3, 3),
        "executor": executor,
        "numpy_executor_ms": round(min(t_numpy) * 1e3, 3),
        "naive_ms": round(naive_best * 1e3, 3),
        "naive_median_ms": round(statistics.median(t_naive) * 1e3, 3),
        "gbytes_per_s": round(packed_bytes / best / 1e9, 3),
        "speedup_vs_naive": round(naive_best / best, 1),
        "same_result": bool(same),
        "quorum": q,
        "quorum_ms": round(min(t_quorum) * 1e3, 3),
        "quorum_median_ms": round(statistics.median(t_quorum) * 1e3, 3),
        "quorum_numpy_ms": round(min(t_qnumpy) * 1e3, 3),
        "quorum_vs_plain": round(min(t_quorum) / best, 3),
        "same_quorum_result": bool(same_quorum),
        "output_zero_kind": out_packed.zero_kind.name,
        "threads": 1,
        "repeat": args.repeat,
        "cold_caches": bool(args.cold),
        "numpy": np.__version__,
        "machine": platform.processor() or platform.machine(),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    if not same:
        raise AssertionError("packed majority (native or numpy) and unpack-and-sum disagree")
    if not same_quorum:
        raise AssertionError("packed quorum decoder (native or numpy) and the naive one disagree")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "votes", help="packed majority and quorum decoder vs unpack-and-sum (JSON)"
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
