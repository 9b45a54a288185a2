"""``python -m adversary`` / ``election adversary``: a worker with ``byzantine=True``.

Same connection flags as the worker, plus the attack (default: the run's attack; ``reverse``
when the run has none) and optional malformed traffic (``--fault``, see adversary.faults).
"""

from __future__ import annotations

import argparse
import os
import sys

from adversary.config import AdversaryConfig
from wire.flags import add_settings, config_from, settings_of
from worker.cli import add_client_flags, run_client

ADVERSARY_SETTINGS = settings_of(AdversaryConfig)


def add_flags(parser: argparse.ArgumentParser) -> None:
    add_client_flags(parser)
    add_settings(parser.add_argument_group("adversary"), ADVERSARY_SETTINGS)


def run(args: argparse.Namespace) -> int:
    from adversary.faults import FaultInjector

    ac = config_from(AdversaryConfig, args, os.environ)
    hooks = FaultInjector(ac.fault, repeat=ac.fault_repeat)
    return run_client(args, "adversary", byzantine=True, attack=ac.attack, hooks=hooks)


def main(argv: list[str] | None = None) -> int:
    from election_cli.main import main as election_main

    return election_main(["adversary", *(sys.argv[1:] if argv is None else argv)])
