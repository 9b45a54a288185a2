"""``python -m worker`` / ``election worker``: flags and ELECTION_* variables -> WorkerLoop.

Every setting is listed in docs/grpc.md. The run's configuration comes from the master; only
machine-local settings (data folder, device, threads) are overridden here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from collections.abc import Mapping
from typing import Any

from election.errors import ConfigError
from wire.flags import (
    JOIN_SECRET_SETTINGS,
    TLS_SETTINGS,
    Setting,
    add_settings,
    at_least,
    host,
    port,
    resolve,
    seconds,
)
from wire.limits import MAX_NAME_CHARS

DEFAULT_PORT = 50051


def parse_slot(text: str) -> int:
    """``any``/``-1`` -> -1; ``3`` -> 3; a StatefulSet pod name ``worker-3`` -> 3."""
    text = text.strip()
    if text in ("", "any", "-1"):
        return -1
    match = re.search(r"(\d+)$", text)
    if match is None:
        raise ValueError("use a slot number, 'any' or a name ending in -<ordinal>")
    return int(match.group(1))


def master_address_problem(value: str) -> str | None:
    """``host`` or ``host:port`` with a port in [1, 65535]."""
    match = re.fullmatch(r"(.*):(\d+)", value)
    if match is not None:
        if not 1 <= int(match.group(2)) <= 65535:
            return "the port after ':' must be in [1, 65535]"
        value = match.group(1)
    return host(value)


CLIENT_SETTINGS = (
    Setting(
        "--master",
        "ELECTION_MASTER_ADDRESS",
        "127.0.0.1",
        str,
        "master host, or host:port",
        master_address_problem,
    ),
    Setting(
        "--port",
        "ELECTION_PORT",
        DEFAULT_PORT,
        int,
        "master port (if --master has none)",
        port(),
    ),
    Setting(
        "--slot",
        "ELECTION_SLOT",
        -1,
        parse_slot,
        "slot to claim: a number, 'any', or a pod name ending in -<ordinal>",
    ),
    Setting(
        "--name",
        "ELECTION_WORKER_NAME",
        "",
        str,
        "name in the master's logs",
        lambda v: f"at most {MAX_NAME_CHARS} characters" if len(v) > MAX_NAME_CHARS else None,
    ),
    Setting(
        "--data-dir", "ELECTION_DATA_DIR", "", str, "local dataset folder (overrides data_root)"
    ),
    Setting("--device", "ELECTION_DEVICE", "", str, "local torch device: auto | cpu | cuda:K"),
    Setting(
        "--threads",
        "ELECTION_THREADS",
        -1,
        int,
        "local torch threads (-1 = the run's)",
        at_least(-1),
    ),
    Setting(
        "--round-timeout",
        "ELECTION_ROUND_TIMEOUT",
        60.0,
        float,
        "seconds one GetUpdate long poll waits before asking again",
        seconds(strict=True),
    ),
    Setting(
        "--connect-timeout",
        "ELECTION_CONNECT_TIMEOUT",
        300.0,
        float,
        "give up when the master stays unreachable this long",
        seconds(strict=True),
    ),
    Setting(
        "--tls-server-name",
        "ELECTION_TLS_SERVER_NAME",
        "",
        str,
        "expected name in the master's certificate (default: the --master host)",
    ),
    *JOIN_SECRET_SETTINGS,
    *TLS_SETTINGS,
)


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    add_settings(parser.add_argument_group("connection"), CLIENT_SETTINGS)
    parser.add_argument("--json", action="store_true", help="print the final counters as JSON")


def target_of(values: Mapping[str, Any]) -> str:
    master = str(values["master"])
    if re.search(r":\d+$", master):
        return master
    return f"{master}:{values['port']}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worker", description="Election Coding worker service.")
    add_client_flags(parser)
    return parser


def run_client(
    args: argparse.Namespace,
    service: str,
    *,
    byzantine: bool = False,
    extra: dict[str, Any] | None = None,
) -> int:
    """Shared by the worker and the adversary: build the client and the loop, run, report."""
    from wire.jsonlog import JsonLog
    from wire.security import TlsFiles, load_join_secret
    from worker.client import MasterClient, Rejected, Unreachable
    from worker.loop import GaveUp, WorkerLoop, WorkerOptions

    values = resolve(args, CLIENT_SETTINGS, os.environ)
    tls = TlsFiles(values["tls_cert"], values["tls_key"], values["tls_ca"])
    extra = extra or {}
    log = JsonLog(service)
    options = WorkerOptions(
        slot=values["slot"],
        name=values["name"] or os.environ.get("HOSTNAME", "") or service,
        data_root=values["data_dir"] or os.environ.get("ELECTION_DATA_ROOT", ""),
        device=values["device"],
        threads=values["threads"],
        round_timeout_s=values["round_timeout"],
        connect_timeout_s=values["connect_timeout"],
        byzantine=byzantine,
        attack=extra.get("attack", ""),
        join_secret=load_join_secret(values["join_secret"], values["join_secret_file"]),
    )
    client = MasterClient(target_of(values), tls=tls, server_name=values["tls_server_name"])
    loop = WorkerLoop(client, options, log=log, hooks=extra.get("hooks"))
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
    answers = getattr(extra.get("hooks"), "answers", None)
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
