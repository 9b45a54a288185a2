"""``election master``, ``election worker``, ``election adversary``: the gRPC services.

The same entry points as ``python -m master|worker|adversary`` (containers use those). The
service packages are imported only when a command runs, so the core never imports grpc.
"""

from __future__ import annotations

import argparse
import importlib


def _runner(module: str) -> object:
    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run(args))

    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    try:
        from adversary.cli import add_flags as add_adversary_flags
        from master.cli import add_flags as add_master_flags
        from worker.cli import add_client_flags
    except ModuleNotFoundError:  # a core-only install: no service packages
        return
    for name, help_text, add, module in (
        (
            "master",
            "serve a training run over gRPC (the parameter server)",
            add_master_flags,
            "master.cli",
        ),
        ("worker", "join a gRPC master as a worker slot", add_client_flags, "worker.cli"),
        (
            "adversary",
            "join a gRPC master as a Byzantine worker (attacks, malformed traffic)",
            add_adversary_flags,
            "adversary.cli",
        ),
    ):
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        add(parser)
        parser.set_defaults(func=_runner(module))
