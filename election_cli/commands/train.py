"""``election train``: one training run (the paper's main.py), on any transport.

The flags are :func:`election.flags.add_training_flags` (TrainConfig's fields and the paper's
flags with the official code's meaning, docs/paper.md).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from election.config import TrainConfig
from election.errors import ConfigError
from election.flags import add_training_flags, config_from_args, print_summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one configuration (single machine, gRPC cluster or MPI)",
        description="Train with Election Coding (or a baseline); writes a run folder.",
    )
    add_training_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--master-shards",
        type=int,
        default=1,
        metavar="K",
        help="with --transport grpc: K master shards, each owning a coordinate range "
        "(docs/grpc.md 'Sharded masters'); the model is that of one master [default 1]",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, env=os.environ)
    if args.master_shards < 1:
        raise ConfigError(f"--master-shards={args.master_shards} must be at least 1")
    if args.master_shards > 1 and cfg.transport != "grpc":
        raise ConfigError("--master-shards > 1 needs --transport grpc (or `election master`)")
    summary = run_training(cfg, progress=not args.quiet, master_shards=args.master_shards)
    print_summary(summary, as_json=args.json)
    return 0


def run_training(
    cfg: TrainConfig, *, progress: bool = True, master_shards: int = 1
) -> dict[str, Any]:
    """Dispatch on the transport; every transport returns the same summary shape."""
    from election.training.setup import prepare

    if cfg.transport == "inprocess":
        from election.training.loop import train_inprocess

        return train_inprocess(prepare(cfg), progress=progress)
    if cfg.transport == "grpc":
        try:
            from master.cluster import train_grpc_cluster
        except ModuleNotFoundError as exc:
            raise ConfigError(f"transport=grpc is not available: {exc}") from exc
        return train_grpc_cluster(cfg, progress=progress, master_shards=master_shards)
    raise ConfigError(
        "transport=mpi runs under mpirun: `mpirun -n N+1 election mpi <the same flags>`"
    )
