"""Benchmarks: each module exposes ``register(subparsers)`` for ``election bench NAME`` and
prints one JSON object. Figures are recorded in BENCHMARKS.md with the machine they ran on."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from election.errors import ConfigError


def standalone_main(
    prog: str,
    description: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """``python -m bench.NAME``: the module's own arguments, a user mistake as one line."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ConfigError as err:
        parser.exit(2, f"election: error: {err}\n")
