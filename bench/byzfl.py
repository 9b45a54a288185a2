"""ByzFL's aggregators vs the packed majority at the master, and bytes per worker, same run.

``python -m bench.byzfl --json`` makes n float32 gradients of d coordinates (Gaussian, seeded)
and their sign votes, then times per round, best and median of ``--repeat`` calls, ByzFL's
median, trimmed mean, Krum, geometric median and centered clipping (through
:mod:`election.baselines.byzfl`, f = ``--f``) on the n float messages, and the packed majority
(:func:`election.votes.majority`) on the n packed votes. Bytes per worker per round: a float32
message is 4 d bytes, a dense packed vote ceil(d/8) bytes (each plus its frame header).
Needs the optional extra (``pip install -e '.[byzfl]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from bench import standalone_main
from election.baselines.byzfl import AGGREGATORS, PINNED, ByzflAggregator, load_byzfl
from election.errors import ConfigError
from election.votes import majority, pack_ternary
from election.votes.frame import HEADER_SIZE


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def measure(args: argparse.Namespace) -> dict:
    load_byzfl()
    gen = torch.Generator().manual_seed(args.seed)
    grads = [torch.randn(args.d, generator=gen) for _ in range(args.n)]  # n x (d,) float32
    votes = [pack_ternary(torch.sign(g).to(torch.int8).numpy()) for g in grads]
    t_major = _times(lambda: majority(votes), args.repeat)
    result: dict = {
        "n": args.n,
        "d": args.d,
        "f": args.f,
        "majority_ms": round(min(t_major) * 1e3, 3),
        "majority_median_ms": round(statistics.median(t_major) * 1e3, 3),
        "aggregators": {},
    }
    for name in args.aggregators:
        agg = ByzflAggregator(name, f=args.f)
        times = _times(lambda: agg(grads), args.repeat)  # noqa: B023 (called right here)
        result["aggregators"][name] = {
            "best_ms": round(min(times) * 1e3, 1),
            "median_ms": round(statistics.median(times) * 1e3, 1),
            "vs_majority": round(min(times) / min(t_major), 1),
        }
    float_bytes = 4 * args.d
    packed_bytes = votes[0].nbytes
    result.update(
        {
            "bytes_per_worker_float32": float_bytes + HEADER_SIZE,
            "bytes_per_worker_packed": packed_bytes + HEADER_SIZE,
            "bytes_ratio": round(float_bytes / packed_bytes, 2),
            "byzfl": PINNED,
            "torch_threads": torch.get_num_threads(),
            "repeat": args.repeat,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "machine": platform.processor() or platform.machine(),
            "numpy": np.__version__,
        }
    )
    return result


def run(args: argparse.Namespace) -> int:
    if args.n < 1 or args.d < 1 or args.repeat < 1 or args.f < 0:
        raise ConfigError("--n, --d, --repeat must be >= 1 and --f >= 0")
    unknown = [a for a in args.aggregators if a not in AGGREGATORS]
    if unknown:
        raise ConfigError(f"unknown aggregators {unknown}; known: {', '.join(AGGREGATORS)}")
    torch.set_num_threads(args.threads)
    result = measure(args)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=15, help="workers")
    parser.add_argument("--d", type=int, default=11_173_962, help="coordinates (ResNet-18)")
    parser.add_argument("--f", type=int, default=3, help="Byzantine workers tolerated (b)")
    parser.add_argument("--aggregators", nargs="+", default=list(AGGREGATORS))
    parser.add_argument("--repeat", type=int, default=3, help="timed calls (best and median)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = as majority)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one-line JSON")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("byzfl", help="ByzFL aggregators vs packed majority (JSON)")
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("python -m bench.byzfl", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
