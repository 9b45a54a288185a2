"""The ``election`` command line: one subcommand per module in :mod:`election_cli.commands`.

User mistakes raise :class:`election.errors.ElectionError`; they are printed as one line
(``election: error: ...``) with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from election.errors import ElectionError
from election.votes.native import use_executor

# Subcommand modules, in the order `election --help` lists them. A module missing from a
# partial install is skipped so the rest of the CLI keeps working.
COMMAND_MODULES = (
    "election_cli.commands.train",
    "election_cli.commands.compare",
    "election_cli.commands.grid",
    "election_cli.commands.paper",
    "election_cli.commands.codes",
    "election_cli.commands.bench",
    "election_cli.commands.mpi",
    "election_cli.commands.services",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="election",
        description="Election Coding: Byzantine-robust SignSGD with coded data partitions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        # a bad ELECTION_VOTE_EXECUTOR fails now, not at the first vote
        use_executor(os.environ.get("ELECTION_VOTE_EXECUTOR", "") or "auto")
        return int(args.func(args) or 0)
    except ElectionError as exc:
        print(f"election: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("election: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
