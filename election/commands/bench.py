"""``election bench {votes,train,grpc,...}``: benchmarks that print one JSON object."""

from __future__ import annotations

import argparse
import importlib

BENCH_MODULES = ("bench.votes", "bench.train", "bench.grpc", "bench.mpi")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print JSON")
    bench_subparsers = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    for name in BENCH_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(bench_subparsers)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
