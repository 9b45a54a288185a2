"""``python -m worker`` / ``election worker``: flags and ELECTION_* variables -> WorkerLoop.

Every setting is listed in docs/grpc.md. The run's configuration comes from the master; only
machine-local settings (data folder, device, threads) are overridden here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from election.errors import ConfigError
from wire.flags import add_settings, check_retired, config_from, settings_of
from worker.config import WorkerConfig

CLIENT_SETTINGS = settings_of(WorkerConfig)


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    add_settings(parser.add_argument_group("connection"), CLIENT_SETTINGS)
    parser.add_argument("--json", action="store_true", help="print the final counters as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worker", description="Election Coding worker service.")
    add_client_flags(parser)
    return parser


def worker_config(args: argparse.Namespace, env: Mapping[str, str], service: str) -> WorkerConfig:
    """The resolved config: the join secret loaded from its file, the name defaulted."""
    from wire.security import load_join_secret

    check_retired(env)
    wc = config_from(WorkerConfig, args, env)
    return replace(
        wc,
        name=wc.name or service,
        join_secret=load_join_secret(wc.join_secret, wc.join_secret_file),
    )


def run_client(
    args: argparse.Namespace,
    service: str,
    *,
    byzantine: bool = False,
    attack: str = "",
    hooks: Any = None,
) -> int:
    """Shared by the worker and the adversary: build the client and the loop, run, report."""
    from wire.jsonlog import JsonLog
    from worker.client import MasterClient, Rejected, Unreachable
    from worker.loop import GaveUp, WorkerLoop

    wc = worker_config(args, os.environ, service)
    log = JsonLog(service)
    tls = wc.tls_files()
    clients = [MasterClient(t, tls=tls, server_name=wc.tls_server_name) for t in wc.targets]
    client: Any = clients[0]
    if len(clients) > 1:  # k master shards (docs/grpc.md "Sharded masters")
        from worker.shards import ShardedClient

        client = ShardedClient(clients)
    loop = WorkerLoop(client, wc, log=log, hooks=hooks, byzantine=byzantine, attack=attack)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        summary = loop.run()
    except (Unreachable, GaveUp) as exc:
        raise ConfigError(f"{service}: {exc}") from None
    except Rejected as exc:
        if exc.reason != "unauthenticated":
            raise
        raise ConfigError(
            f"{service}: the master refused to let this client join ({exc}); give the run's "
            "join secret (ELECTION_JOIN_SECRET_FILE, ELECTION_JOIN_SECRET or --join-secret-file)"
        ) from None
    finally:
        client.close()
    answers = getattr(hooks, "answers", None)
    if answers is not None:
        summary["fault_answers"] = dict(answers)
    log.event("done", **summary)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)  # SIGTERM: stop between RPCs; the master counts an abstention


def run(args: argparse.Namespace) -> int:
    return run_client(args, "worker")


def main(argv: list[str] | None = None) -> int:
    from election_cli.main import main as election_main

    return election_main(["worker", *(sys.argv[1:] if argv is None else argv)])
