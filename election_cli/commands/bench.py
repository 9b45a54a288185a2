"""``election bench {votes,train,grpc,...}``: benchmarks that print one JSON object."""

from __future__ import annotations

import argparse
import importlib

from election.errors import ElectionError

BENCH_MODULES = (
    "bench.votes",
    "bench.train",
    "bench.grpc",
    "bench.cluster",
    "bench.packer",
    "bench.accusation",
    "bench.byzfl",
    "bench.hostile",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print JSON")
    bench_subparsers = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    for name in BENCH_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # a missing optional piece must not break other commands
            if isinstance(exc, ModuleNotFoundError) and exc.name == name:
                continue
            _register_unavailable(bench_subparsers, name.rsplit(".", 1)[-1], exc)
            continue
        module.register(bench_subparsers)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _register_unavailable(
    subparsers: argparse._SubParsersAction, name: str, exc: Exception
) -> None:
    parser = subparsers.add_parser(name, help=f"(unavailable: {exc})")

    def fail(args: argparse.Namespace) -> int:
        raise ElectionError(f"benchmark {name!r} cannot run here: {exc}")

    parser.set_defaults(func=fail)
