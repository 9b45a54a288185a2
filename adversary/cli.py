"""``python -m adversary`` / ``election adversary``: a worker with ``byzantine=True``.

Same connection flags as the worker, plus the attack (default: the run's attack; ``reverse``
when the run has none) and optional malformed traffic (``--fault``, see adversary.faults).
"""

from __future__ import annotations

import argparse
import os
import sys

from wire.flags import Setting, add_settings, at_least, resolve
from worker.cli import add_client_flags, run_client


def _faults(text: str) -> tuple[str, ...]:
    from adversary.faults import EXPECTED_CODES

    names = tuple(f.strip() for f in text.split(",") if f.strip() and f.strip() != "none")
    if names == ("all",):
        return tuple(EXPECTED_CODES)
    for name in names:
        if name not in EXPECTED_CODES:
            raise ValueError(f"unknown fault {name!r}; known: all, {', '.join(EXPECTED_CODES)}")
    return names


ADVERSARY_SETTINGS = (
    Setting("--attack", "ELECTION_ATTACK", "", str, "core attack name ('' = the run's attack)"),
    Setting(
        "--fault",
        "ELECTION_FAULT",
        (),
        _faults,
        "malformed traffic per round: comma-separated faults or 'all'",
    ),
    Setting(
        "--fault-repeat",
        "ELECTION_FAULT_REPEAT",
        1,
        int,
        "copies of each fault per round",
        at_least(0),
    ),
)


def add_flags(parser: argparse.ArgumentParser) -> None:
    add_client_flags(parser)
    add_settings(parser.add_argument_group("adversary"), ADVERSARY_SETTINGS)


def run(args: argparse.Namespace) -> int:
    from adversary.faults import FaultInjector

    values = resolve(args, ADVERSARY_SETTINGS, os.environ)
    hooks = FaultInjector(values["fault"], repeat=values["fault_repeat"])
    return run_client(
        args, "adversary", byzantine=True, extra={"attack": values["attack"], "hooks": hooks}
    )


def main(argv: list[str] | None = None) -> int:
    from election_cli.main import main as election_main

    return election_main(["adversary", *(sys.argv[1:] if argv is None else argv)])
